"""Measure every scoring candidate with cross-validation and train the shipped heads.

Used by `scripts/train_heads.py` (measure + write `src/otel_llm/_weights/*.npz` and `report.json`) and meant
for `otel-llm evaluate` (measure only). Everything is seeded, so the numbers repeat run to run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend
from .._weights import LEXICAL_BLEND, MODELS_DIR, LinearHead, clean_text, vader_compound
from .crossval import Measure, accuracy, choose_c, fit_predict_logistic, roc_auc, spearman, stratified_folds
from .data import NEUTRAL_BAND, find_data_dir, load_sentiment, load_stsb, load_toxicity
from .features import embed_cached
from .logistic import train_head

FOLDS = 5
SEED = 0


def _folds_measure(name: str, metric: str, y: np.ndarray, scores: np.ndarray,
                   measure: Callable[[np.ndarray, np.ndarray], float], note: str = "") -> Measure:
    """`measure(y, scores)` on each of the stratified 5 test folds."""
    values = [measure(y[test], scores[test]) for _, test in stratified_folds(y, FOLDS, SEED)]
    return Measure(name, metric, tuple(values), note)


def out_of_fold(x: np.ndarray, y: np.ndarray, balanced: bool = False,
                extra: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """P(y=1) for every row from a head (C by inner CV) trained on the other 4 of the 5 folds
    (plus the `extra` rows, which are only ever trained on, never scored)."""
    fit_predict = fit_predict_logistic(balanced)
    scores = np.zeros(len(y))
    for train, test in stratified_folds(y, FOLDS, SEED):
        xtrain, ytrain = x[train], y[train]
        if extra is not None:
            xtrain, ytrain = np.vstack([xtrain, extra[0]]), np.concatenate([ytrain, extra[1]])
        scores[test] = fit_predict(xtrain, ytrain, x[test])
    return scores


def _binary_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return accuracy(y, (p >= 0.5).astype(int))


def measure_similarity(embeddings: EmbeddingBackend, data_dir: Path) -> Measure:
    """Spearman of cosine vs. the human 0-5 scores on STS-B dev (no training: folds only give the spread)."""
    data = load_stsb(data_dir)
    first, second = embed_cached(embeddings, data.first), embed_cached(embeddings, data.second)
    cosine = np.sum(first * second, axis=1)
    whole = spearman(cosine, data.scores)
    buckets = np.round(data.scores).astype(int)
    values = [spearman(cosine[test], data.scores[test]) for _, test in stratified_folds(buckets, FOLDS, SEED)]
    return Measure(f"{embeddings.name} cosine", "STS-B dev Spearman", tuple(values), f"whole set {whole:.4f}")


def measure_sentiment(embeddings: EmbeddingBackend, data_dir: Path, with_vader: bool = True) -> list[Measure]:
    """Binary accuracy (ratings with |mean| < 0.5 dropped) by 5-fold CV on both files, and across domains."""
    data = load_sentiment(data_dir)
    _, y, domains, keep = data.binary()
    vectors = embed_cached(embeddings, data.texts)[keep]
    candidates = {f"{embeddings.name} head": vectors}
    measures = []
    if with_vader:
        vader = vader_compound([data.texts[i] for i in keep])
        candidates[f"{embeddings.name}+vader head"] = np.hstack([vectors, vader[:, None]])
        measures.append(_folds_measure("vader compound > 0", "accuracy, 5-fold", y, (vader > 0).astype(float),
                                       _binary_accuracy, "no training: same test folds"))
    for name, x in candidates.items():
        measures.append(_folds_measure(name, "accuracy, 5-fold", y, out_of_fold(x, y), _binary_accuracy,
                                       "C by inner 3-fold CV"))
    fit_predict = fit_predict_logistic()
    for source, target in (("tweets", "nyt"), ("nyt", "tweets")):
        train, test = domains == source, domains == target
        if with_vader:
            measures.append(Measure("vader compound > 0", f"accuracy, {source}->{target}",
                                    (accuracy(y[test], vader[test] > 0),), "no training"))
        for name, x in candidates.items():
            p = fit_predict(x[train], y[train], x[test])
            measures.append(Measure(name, f"accuracy, {source}->{target}", (_binary_accuracy(y[test], p),),
                                    "trained on one domain, tested on the other"))
    return measures


def measure_toxicity(embeddings: EmbeddingBackend, data_dir: Path,
                     partner: EmbeddingBackend | None = None) -> list[Measure]:
    """ROC AUC of toxic (Davidson class 0 or 1) vs. neither, and of hate speech vs. the rest, by 5-fold CV.

    With a `partner` (the lexical vectors), also the shipped blend: (1 - w) * own head + w * partner's head.
    """
    data = load_toxicity(data_dir)
    texts = [clean_text(t) for t in data.texts]
    x = embed_cached(embeddings, texts)
    toxic, hate = data.toxic, data.hate
    prose = benign_prose(data_dir)
    extra = embed_cached(embeddings, prose), np.zeros(len(prose))
    name = f"{embeddings.name} head"
    toxic_scores = out_of_fold(x, toxic, balanced=True, extra=extra)  # as shipped
    hate_scores = out_of_fold(x, hate, balanced=True, extra=extra)
    measures = [
        _folds_measure(name, "toxic ROC AUC, 5-fold", toxic, out_of_fold(x, toxic), roc_auc,
                       "Davidson rows only, C by inner 3-fold CV"),
        _folds_measure(f"{name}, balanced, + prose", "toxic ROC AUC, 5-fold", toxic, toxic_scores, roc_auc,
                       "class weights n/(2*count); STS-B prose as non-toxic, in training folds only"),
    ]
    name = f"{name}, balanced, + prose"
    if partner is not None:
        w = LEXICAL_BLEND
        xp = embed_cached(partner, texts)
        partner_extra = embed_cached(partner, prose), extra[1]
        toxic_scores = (1 - w) * toxic_scores + w * out_of_fold(xp, toxic, balanced=True, extra=partner_extra)
        hate_scores = (1 - w) * hate_scores + w * out_of_fold(xp, hate, balanced=True, extra=partner_extra)
        name = f"{embeddings.name} head + {w} x {partner.name} head, balanced, + prose"
        measures.append(_folds_measure(name, "toxic ROC AUC, 5-fold", toxic, toxic_scores, roc_auc,
                                       "blend weight chosen from {0.3, 0.5} on these folds"))
    measures.append(_folds_measure(name, "hate_speech ROC AUC, 5-fold", hate, hate_scores, roc_auc,
                                   "115 hate-speech rows only"))
    return measures


def _neutral_band(head: LinearHead, features: np.ndarray, ratings: np.ndarray) -> float:
    """The |score| below which the label is neutral, chosen for 3-way accuracy on the training data."""
    scores = 2 * head.probabilities(features)[:, 0] - 1
    truth = np.where(ratings >= NEUTRAL_BAND, 1, np.where(ratings <= -NEUTRAL_BAND, -1, 0))
    bands = np.linspace(0.0, 0.9, 19)
    hits = [np.mean(np.where(scores >= b, 1, np.where(scores <= -b, -1, 0)) == truth) for b in bands]
    return float(bands[int(np.argmax(hits))])


def train_sentiment_head(embeddings: EmbeddingBackend, data_dir: Path,
                         use_vader: bool) -> tuple[LinearHead, float]:
    """Fit on every non-neutral row of both files, C by inner CV; the neutral band is tuned on all rows."""
    data = load_sentiment(data_dir)
    _, y, _, keep = data.binary()
    every = embed_cached(embeddings, data.texts)
    if use_vader:
        every = np.hstack([every, vader_compound(data.texts)[:, None]])
    c = choose_c(every[keep], y)
    head = train_head(every[keep], {"positive": y}, c=c,
                      features="embedding+vader" if use_vader else "embedding")
    band = _neutral_band(head, every, data.ratings)
    return dataclasses.replace(head, thresholds=np.array([band])), c


def benign_prose(data_dir: Path) -> list[str]:
    """Ordinary non-toxic prose (STS-B's first sentences: captions, news, forums), added to the toxicity
    training data as non-toxic so that the heads learn that formal, LLM-like text is not offensive."""
    return [clean_text(t) for t in load_stsb(data_dir).first]


def train_toxicity_head(embeddings: EmbeddingBackend, data_dir: Path) -> tuple[LinearHead, float]:
    """Two outputs, `toxic` and `hate_speech`, class-balanced; C by inner CV on the toxic target."""
    data = load_toxicity(data_dir)
    prose = benign_prose(data_dir)
    tweets = embed_cached(embeddings, [clean_text(t) for t in data.texts])
    x = np.vstack([tweets, embed_cached(embeddings, prose)])
    toxic, hate = (np.concatenate([y, np.zeros(len(prose), dtype=y.dtype)]) for y in (data.toxic, data.hate))
    c = choose_c(x, toxic, balanced=True)
    return train_head(x, {"toxic": toxic, "hate_speech": hate}, c=c, balanced=True), c


def measure_backend(embeddings: EmbeddingBackend, data_dir: Path | None = None, with_vader: bool = True,
                    partner: EmbeddingBackend | None = None) -> list[Measure]:
    """Every measure of one embedding backend: similarity, sentiment candidates, toxicity."""
    data_dir = find_data_dir(data_dir)
    return [measure_similarity(embeddings, data_dir), *measure_sentiment(embeddings, data_dir, with_vader),
            *measure_toxicity(embeddings, data_dir, partner)]


def format_table(measures: list[Measure]) -> str:
    """A Markdown table: candidate, metric, mean ± std, note."""
    lines = ["| candidate | metric | mean ± std | note |", "|---|---|---|---|"]
    for m in measures:
        spread = f"{m.mean:.4f} ± {m.std:.4f}" if len(m.values) > 1 else f"{m.mean:.4f}"
        lines.append(f"| {m.candidate} | {m.metric} | {spread} | {m.note} |")
    return "\n".join(lines)


def write_report(measures: list[Measure], shipped: dict, path: Path = MODELS_DIR / "report.json") -> None:
    report = {"measures": [m.row() for m in measures], "shipped": shipped}
    path.write_text(json.dumps(report, indent=1) + "\n")


def measure_all(data_dir: str | Path | None = None) -> list[Measure]:
    """Every candidate of both offline backends (local only when its extra is installed): the README table."""
    from .._backends.lexical import LexicalEmbeddings
    from .._backends.local import LocalEmbeddings, local_available

    data_dir = find_data_dir(data_dir)
    lexical = LexicalEmbeddings()
    measures = measure_backend(LocalEmbeddings(), data_dir, partner=lexical) if local_available() else []
    return measures + measure_backend(lexical, data_dir, with_vader=False)
