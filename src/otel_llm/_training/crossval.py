"""Stratified k-fold splits, the measures we report (accuracy, ROC AUC, Spearman), C chosen by inner CV."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .logistic import fit_logistic, standardiser

C_GRID = (0.001, 0.01, 0.1, 1.0)


def stratified_folds(labels: np.ndarray, k: int = 5,
                     seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs; each class is spread evenly over the k folds, shuffled with `seed`."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        fold_of[members] = (np.arange(len(members)) + rng.integers(k)) % k
    for fold in range(k):
        yield np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2
    return ranks


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney U statistic, ties counted half)."""
    labels = np.asarray(labels).astype(bool)
    positives, negatives = labels.sum(), (~labels).sum()
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs both classes")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.asarray(labels) == np.asarray(predicted)))


@dataclass(frozen=True)
class Measure:
    """mean ± std of one metric over folds."""

    candidate: str
    metric: str
    values: tuple[float, ...]
    note: str = ""

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values))

    def row(self) -> dict:
        return {"candidate": self.candidate, "metric": self.metric, "mean": round(self.mean, 4),
                "std": round(self.std, 4), "folds": len(self.values), "note": self.note}


def choose_c(x: np.ndarray, y: np.ndarray, balanced: bool = False, grid: Sequence[float] = C_GRID,
             k: int = 3, seed: int = 1) -> float:
    """The regularisation strength with the best mean inner-CV log loss on (x, y)."""
    losses = np.zeros(len(grid))
    for train, test in stratified_folds(y, k, seed):
        mean, scale = standardiser(x[train])
        ztrain, ztest = (x[train] - mean) / scale, (x[test] - mean) / scale
        for i, c in enumerate(grid):
            w, b = fit_logistic(ztrain, y[train], c=c, balanced=balanced)
            p = np.clip(1 / (1 + np.exp(-(ztest @ w + b))), 1e-12, 1 - 1e-12)
            losses[i] -= np.mean(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))
    return float(grid[int(np.argmin(losses))])


FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def fit_predict_logistic(balanced: bool = False) -> FitPredict:
    """fit(train x, train y) with C from inner CV, then P(y=1) for the test rows."""

    def run(xtrain: np.ndarray, ytrain: np.ndarray, xtest: np.ndarray) -> np.ndarray:
        c = choose_c(xtrain, ytrain, balanced)
        mean, scale = standardiser(xtrain)
        w, b = fit_logistic((xtrain - mean) / scale, ytrain, c=c, balanced=balanced)
        return 1 / (1 + np.exp(-(((xtest - mean) / scale) @ w + b)))

    return run

