"""Measuring and training the toxicity heads (used by `scripts/train_heads.py` through `heads.py`).

Rows: Davidson's tweets, STS-B prose (non-toxic, training only), the team's forum-style comments (training
part weighted 3; the held-out third never trained on). Validated by Davidson 5-fold, Davidson 5-fold with
near-duplicate tweets kept in one fold, across domains both ways (tweets -> forum comments, forum
comments -> tweets), with C chosen by inner CV inside every training set; the worst fold is reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend
from .._backends.lexical import LexicalEmbeddings
from .._weights import LinearHead, clean_text, toxicity_features
from .crossval import Measure, choose_c, roc_auc, stratified_folds
from .data import load_stsb, load_team_toxicity, load_toxicity
from .features import embed_cached
from .logistic import fit_logistic, standardiser, train_head

FOLDS, SEED = 5, 0
TEAM_WEIGHT = 3.0  # each team-written training comment counts as 3 tweets (82 rows beside 3,561)
NEAR_DUPLICATE = 0.5  # tweets whose lexical vectors' cosine reaches this share a fold
SHIPPED_KIND = "embedding+lexical+offence"  # the MiniLM head's features; the lexical backend's: below
LEXICAL_KIND = "lexical+offence"


@dataclass(frozen=True)
class ToxicityRows:
    """All rows as the heads read them (`clean_text`); `part` is tweets | prose | team-train | team-test."""

    texts: list[str]
    toxic: np.ndarray
    hate: np.ndarray
    part: np.ndarray

    def weights(self, rows: np.ndarray) -> np.ndarray:
        return np.where(self.part[rows] == "team-train", TEAM_WEIGHT, 1.0)


def benign_prose(data_dir: Path) -> list[str]:
    """Ordinary non-toxic prose (STS-B's first sentences: captions, news, forums), trained on as non-toxic
    so that the heads learn that formal, LLM-like text is not offensive."""
    return [clean_text(t) for t in load_stsb(data_dir).first]


def toxicity_rows(data_dir: Path) -> ToxicityRows:
    data, team, prose = load_toxicity(data_dir), load_team_toxicity(data_dir), benign_prose(data_dir)
    texts = [clean_text(t) for t in data.texts] + prose + [clean_text(t) for t in team.texts]
    toxic = np.concatenate([data.toxic, np.zeros(len(prose), dtype=np.int64), team.toxic])
    hate = np.concatenate([data.hate, np.zeros(len(prose) + len(team.texts), dtype=np.int64)])
    part = np.concatenate([np.full(len(data.texts), "tweets"), np.full(len(prose), "prose"),
                           np.char.add("team-", team.split)])
    return ToxicityRows(texts, toxic, hate, part)


def features_of(kind: str, embeddings: EmbeddingBackend, rows: ToxicityRows) -> np.ndarray:
    """A head of `kind`'s input rows for every row, `embeddings` (MiniLM or lexical) cached on disk."""
    lexical = LexicalEmbeddings()
    vectors = embed_cached(embeddings, rows.texts) if kind.startswith("embedding") else None
    lexical_vectors = embed_cached(lexical, rows.texts) if "lexical" in kind else None
    return toxicity_features(kind, rows.texts, vectors, lexical_vectors)


def near_duplicate_folds(vectors: np.ndarray, k: int = FOLDS, seed: int = SEED
                         ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """k folds in which tweets joined by a chain of lexical cosines >= NEAR_DUPLICATE share a fold (the
    same slur-and-handle retweets cannot sit on both sides); groups go largest first to the smallest fold."""
    parent = np.arange(len(vectors))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    similar = np.triu(vectors @ vectors.T >= NEAR_DUPLICATE, 1)
    for i, j in zip(*np.nonzero(similar), strict=True):
        parent[root(int(i))] = root(int(j))
    groups = np.array([root(i) for i in range(len(vectors))])
    names, sizes = np.unique(groups, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_of, filled = {}, np.zeros(k)
    for g in order:
        fold_of[names[g]] = int(np.argmin(filled))
        filled[fold_of[names[g]]] += sizes[g]
    assigned = np.array([fold_of[g] for g in groups])
    for fold in range(k):
        yield np.flatnonzero(assigned != fold), np.flatnonzero(assigned == fold)


def _fit(xs: Sequence[np.ndarray], rows: ToxicityRows, target: np.ndarray,
         train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(w, mean, scale, b, C) of a class-balanced head on the `train` rows of every runtime's features `xs`;
    C by inner CV on the first runtime's rows, divided by the number of runtimes (so that stacking copies
    of the rows does not weaken the regularisation)."""
    c = choose_c(xs[0][train], target[train], balanced=True)
    x = np.vstack([xi[train] for xi in xs])
    mean, scale = standardiser(x)
    w, b = fit_logistic((x - mean) / scale, np.tile(target[train], len(xs)), c=c / len(xs), balanced=True,
                        sample_weight=np.tile(rows.weights(train), len(xs)))
    return w, mean, scale, b, c


def _scores(xs: Sequence[np.ndarray], x: np.ndarray, rows: ToxicityRows, target: np.ndarray,
            train: np.ndarray, test: np.ndarray) -> np.ndarray:
    w, mean, scale, b, _ = _fit(xs, rows, target, train)
    return 1 / (1 + np.exp(-(((x[test] - mean) / scale) @ w + b)))


def measure_toxicity_kind(kind: str, embeddings: EmbeddingBackend, data_dir: Path, name: str,
                          train_on: Sequence[EmbeddingBackend] | None = None,
                          with_hate: bool = False) -> list[Measure]:
    """ROC AUC of toxic for a head of `kind` scoring rows embedded by `embeddings`, fitted on the same rows
    as embedded by each of `train_on` (default `embeddings`): Davidson 5-fold (stratified, and with near-
    duplicates together), Davidson+prose(+team-train) -> team-test, team-train+prose -> Davidson, worst."""
    rows = toxicity_rows(data_dir)
    x = features_of(kind, embeddings, rows)
    xs = [x if b is embeddings else features_of(kind, b, rows) for b in (train_on or [embeddings])]
    tweets, held_out = np.flatnonzero(rows.part == "tweets"), np.flatnonzero(rows.part == "team-test")
    extra = np.flatnonzero(np.isin(rows.part, ("prose", "team-train")))
    y = rows.toxic
    lexical = embed_cached(LexicalEmbeddings(), [rows.texts[i] for i in tweets])
    measures, worst = [], 1.0
    for label, folds in (("Davidson 5-fold", stratified_folds(y[tweets], FOLDS, SEED)),
                         ("Davidson 5-fold, near-duplicates in one fold", near_duplicate_folds(lexical))):
        values = []
        for train, test in folds:
            p = _scores(xs, x, rows, y, np.concatenate([tweets[train], extra]), tweets[test])
            values.append(roc_auc(y[tweets[test]], p))
        worst = min(worst, *values)
        measures.append(Measure(name, f"toxic ROC AUC, {label}", tuple(values),
                                f"worst fold {min(values):.3f}; STS-B prose and team training comments "
                                "in training folds only"))
    for with_team in (False, True):
        sources = ("tweets", "prose") + (("team-train",) if with_team else ())
        train = np.flatnonzero(np.isin(rows.part, sources))
        p = _scores(xs, x, rows, y, train, held_out)
        auc, truth = roc_auc(y[held_out], p), y[held_out]
        worst = min(worst, auc)
        flags, misses = np.mean(p[truth == 0] >= 0.5), np.mean(p[truth == 1] < 0.5)
        measures.append(Measure(name, f"toxic ROC AUC, Davidson+prose{'+team-train' if with_team else ''}"
                                      "->team-test", (auc,),
                                f"at 0.5: {100 * flags:.0f}% of non-toxic flagged, {100 * misses:.0f}% of "
                                f"toxic missed ({len(held_out)} comments)"))
    reverse = np.flatnonzero(np.isin(rows.part, ("team-train", "prose")))
    auc = roc_auc(y[tweets], _scores(xs, x, rows, y, reverse, tweets))
    measures.append(Measure(name, "toxic ROC AUC, team-train+prose->Davidson", (auc,),
                            "82 forum-style comments and prose only; not in the worst fold"))
    measures.append(Measure(name, "toxic ROC AUC, worst fold", (worst,),
                            "of the Davidson folds (both splits) and the two ->team-test folds"))
    if with_hate:
        hate, values = rows.hate, []
        for train, test in stratified_folds(hate[tweets], FOLDS, SEED):
            p = _scores(xs, x, rows, hate, np.concatenate([tweets[train], extra]), tweets[test])
            values.append(roc_auc(hate[tweets[test]], p))
        measures.append(Measure(name, "hate_speech ROC AUC, Davidson 5-fold", tuple(values),
                                "115 hate-speech rows only"))
    return measures


def train_toxicity_head(kind: str, embeddings: EmbeddingBackend, data_dir: Path,
                        train_on: Sequence[EmbeddingBackend] | None = None) -> tuple[LinearHead, float]:
    """Two outputs, `toxic` and `hate_speech`, class-balanced, on every row but the team's held-out ones,
    as embedded by each of `train_on` (default `embeddings`); C by inner CV on the toxic target."""
    rows = toxicity_rows(data_dir)
    xs = [features_of(kind, b, rows) for b in (train_on or [embeddings])]
    train = np.flatnonzero(rows.part != "team-test")
    c = choose_c(xs[0][train], rows.toxic[train], balanced=True)
    x = np.vstack([xi[train] for xi in xs])
    targets = {name: np.tile(target[train], len(xs)) for name, target in (("toxic", rows.toxic),
                                                                          ("hate_speech", rows.hate))}
    head = train_head(x, targets, c=c / len(xs), balanced=True, features=kind,
                      sample_weight=np.tile(rows.weights(train), len(xs)))
    return head, c
