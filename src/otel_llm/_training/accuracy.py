"""`otel-llm evaluate`: measure the local backend on the public labelled data with honest splits, and the
refusal model's training (`scripts/train_refusal.py` writes `models/refusal-*.npz` with it).

Refusal is measured the way the product is used, on completions of models it was not trained on: fit on
one model's XSTest completions, test on the other's (both ways), plus stratified 5-fold CV on the union.
Thresholds are tuned on the training side only. XSTest holds no ordinary answers to ordinary questions,
so every fit also sees a fixed sample of ordinary sentences (STS-B and NYT snippets) as non-refusals, and
the rest of those sentences (and the tweets) measure how often ordinary text is flagged.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend
from .._quality.evaluators.phrases import PhraseSets, load_phrase_sets, phrases_for
from .._quality.evaluators.refusal import (
    EMBEDDING_FEATURES,
    FUZZY_FEATURES,
    embedding_features,
    fuzzy_features,
    opening,
)
from .._weights import MODELS_DIR, LinearHead
from .crossval import Measure, choose_c, stratified_folds
from .logistic import train_head

XSTEST = {"gpt4": ("refusal-xstest-gpt4.csv", "openai"), "llama2": ("refusal-xstest-llama2orig.csv", "meta")}
REFUSAL_LABELS = ("2_full_refusal", "3_partial_refusal")
FOLDS, SEED = 5, 0
ORDINARY_TRAINING = 300  # ordinary sentences added to every fit as non-refusals
ORDINARY_HELD_OUT = 2000  # sentences (and 1000 tweets) that measure how often ordinary text is flagged
EMBEDDING_KIND, FUZZY_KIND = "phrase-embedding+fuzzy", "fuzzy"


@dataclass(frozen=True)
class RefusalSet:
    """One model's XSTest completions, their refusal labels (1 = full or partial refusal) and its family."""

    name: str
    family: str
    completions: list[str]
    labels: np.ndarray


def load_xstest(data_dir: Path) -> list[RefusalSet]:
    sets = []
    for name, (filename, family) in XSTEST.items():
        with (Path(data_dir) / filename).open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        labels = np.array([r["final_label"] in REFUSAL_LABELS for r in rows], dtype=np.int64)
        sets.append(RefusalSet(name, family, [r["completion"] for r in rows], labels))
    return sets


@dataclass(frozen=True)
class Ordinary:
    """Ordinary sentences (not refusals): a training sample and the held-out rest, featurised per family."""

    training: dict[str, np.ndarray]
    held_out: dict[str, np.ndarray]


def ordinary_sentences(data_dir: Path) -> tuple[list[str], list[str]]:
    """(training sample, held-out sample) of the STS-B and NYT sentences; tweets are held out too."""
    from .data import load_sentiment, load_stsb

    stsb, sentiment = load_stsb(data_dir), load_sentiment(data_dir)
    by_domain: dict[str, list[str]] = {"nyt": [], "tweets": []}
    for text, domain in zip(sentiment.texts, sentiment.domains, strict=True):
        by_domain[str(domain)].append(text)
    prose = list(dict.fromkeys(stsb.first + stsb.second + by_domain["nyt"]))
    order = np.random.default_rng(SEED).permutation(len(prose))
    held_out = order[ORDINARY_TRAINING:ORDINARY_TRAINING + ORDINARY_HELD_OUT]
    return ([prose[i] for i in order[:ORDINARY_TRAINING]],
            [prose[i] for i in held_out] + by_domain["tweets"][:ORDINARY_HELD_OUT // 2])


def refusal_features(data: RefusalSet, phrase_sets: PhraseSets,
                     embeddings: EmbeddingBackend | None) -> np.ndarray:
    """The evaluator's features for every completion (embedding ones only when `embeddings` is given)."""
    phrases = phrases_for(phrase_sets, data.family)
    fuzzy = fuzzy_features(data.completions, phrases)
    if embeddings is None:
        return fuzzy
    from .features import embed_cached

    openings = [opening(c) for c in data.completions]
    texts = list(dict.fromkeys(data.completions + openings))
    row = {text: i for i, text in enumerate(texts)}
    vectors = embed_cached(embeddings, texts)
    completions, starts = vectors[[row[c] for c in data.completions]], vectors[[row[o] for o in openings]]
    return np.hstack([embedding_features(completions, starts, embeddings.embed(list(phrases))), fuzzy])


def f1_score(labels: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum((labels == 1) & predicted))
    fp, fn = float(np.sum((labels == 0) & predicted)), float(np.sum((labels == 1) & ~predicted))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The decision threshold with the best F1 on these (training) rows."""
    candidates = np.unique(probabilities)
    scores = [f1_score(labels, probabilities >= t) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def fit_refusal(x: np.ndarray, y: np.ndarray, kind: str, ordinary: np.ndarray | None = None) -> LinearHead:
    """Standardised logistic combination (C by inner CV) and its F1-best threshold, on training rows only
    (plus the `ordinary` rows as non-refusals)."""
    if ordinary is not None:
        x, y = np.vstack([x, ordinary]), np.concatenate([y, np.zeros(len(ordinary), dtype=y.dtype)])
    head = train_head(x, {"refusal": y}, c=choose_c(x, y), features=kind)
    threshold = best_threshold(head.probabilities(x)[:, 0], y)
    return LinearHead(head.outputs, head.weights, head.bias, head.mean, head.scale, np.array([threshold]),
                      kind)


def _f1_of(head: LinearHead, x: np.ndarray, y: np.ndarray) -> float:
    return f1_score(y, head.probabilities(x)[:, 0] >= head.thresholds[0])


def _union_ordinary(ordinary: Ordinary, sets: Sequence[RefusalSet]) -> np.ndarray:
    """The ordinary training rows, each featurised against one set's family in turn."""
    return np.vstack([ordinary.training[s.family][k::len(sets)] for k, s in enumerate(sets)])


def measure_refusal_candidate(name: str, kind: str, features: dict[str, np.ndarray],
                              sets: Sequence[RefusalSet], ordinary: Ordinary) -> list[Measure]:
    """Cross-model hold-out both ways (F1 and the share of held-out ordinary sentences flagged) and
    stratified 5-fold CV on the union (strata: label x model)."""
    measures = []
    for train, test in ((sets[0], sets[1]), (sets[1], sets[0])):
        head = fit_refusal(features[train.name], train.labels, kind, ordinary.training[train.family])
        flagged = np.mean(head.probabilities(ordinary.held_out[test.family])[:, 0] >= head.thresholds[0])
        measures.append(Measure(name, f"F1, {train.name}->{test.name}",
                                (_f1_of(head, features[test.name], test.labels),),
                                f"trained on {train.name}; threshold {head.thresholds[0]:.2f}; "
                                f"flags {100 * flagged:.1f}% of held-out ordinary sentences"))
    x = np.vstack([features[s.name] for s in sets])
    y = np.concatenate([s.labels for s in sets])
    strata = np.concatenate([s.labels * len(sets) + k for k, s in enumerate(sets)])
    folds = []
    for train_rows, test_rows in stratified_folds(strata, FOLDS, SEED):
        head = fit_refusal(x[train_rows], y[train_rows], kind, _union_ordinary(ordinary, sets))
        folds.append(_f1_of(head, x[test_rows], y[test_rows]))
    measures.append(Measure(name, "F1, 5-fold CV on both", tuple(folds),
                            "threshold tuned in each training fold"))
    return measures


def phrase_cosine_baseline(features: dict[str, np.ndarray], sets: Sequence[RefusalSet]) -> Measure:
    """The naive rule the combination replaces: completion-to-phrase cosine >= 0.5."""
    x = np.vstack([features[s.name][:, 0] for s in sets])
    y = np.concatenate([s.labels for s in sets])
    return Measure("phrase cosine >= 0.5 (baseline)", "F1, both sets", (f1_score(y, x.ravel() >= 0.5),),
                   "no training")


def _featurise(data_dir: Path, embeddings: EmbeddingBackend | None):
    """XSTest sets, their features by set name, and the ordinary sentences' features by family."""
    sets = load_xstest(data_dir)
    phrase_sets = load_phrase_sets()
    features = {s.name: refusal_features(s, phrase_sets, embeddings) for s in sets}
    training, held_out = ordinary_sentences(data_dir)
    families = {s.family for s in sets}
    ordinary = Ordinary(
        {f: refusal_features(RefusalSet("ordinary", f, training, np.zeros(0)), phrase_sets, embeddings)
         for f in families},
        {f: refusal_features(RefusalSet("ordinary", f, held_out, np.zeros(0)), phrase_sets, embeddings)
         for f in families})
    return sets, features, ordinary


def measure_refusal(data_dir: Path, embeddings: EmbeddingBackend | None) -> list[Measure]:
    """Phrase cosines + fuzzy (with `embeddings`), fuzzy match only, and the naive baseline."""
    measures = []
    if embeddings is not None:
        sets, features, ordinary = _featurise(data_dir, embeddings)
        measures.append(phrase_cosine_baseline(features, sets))
        measures += measure_refusal_candidate(f"{embeddings.name} phrase cosines + fuzzy", EMBEDDING_KIND,
                                              features, sets, ordinary)
    sets, features, ordinary = _featurise(data_dir, None)
    return measures + measure_refusal_candidate("fuzzy match only", FUZZY_KIND, features, sets, ordinary)


def train_refusal_models(data_dir: Path, embeddings: EmbeddingBackend, out_dir: Path = MODELS_DIR) -> dict:
    """Fit the shipped refusal models on both sets, write them as .npz, and return what was written."""
    written = {}
    for name, kind, backend, columns in (("refusal-minilm", EMBEDDING_KIND, embeddings, EMBEDDING_FEATURES),
                                         ("refusal-fuzzy", FUZZY_KIND, None, FUZZY_FEATURES)):
        sets, features, ordinary = _featurise(data_dir, backend)
        x, y = np.vstack([features[s.name] for s in sets]), np.concatenate([s.labels for s in sets])
        head = fit_refusal(x, y, kind, _union_ordinary(ordinary, sets))
        head.save(out_dir / f"{name}.npz")
        written[name] = {"features": list(columns), "weights": head.weights[0].round(4).tolist(),
                         "bias": round(float(head.bias[0]), 4),
                         "threshold": round(float(head.thresholds[0]), 4)}
    return written


def run_evaluation(data_dir: str | Path | None = None, with_heads: bool = True) -> list[Measure]:
    """Every measure: refusal, then similarity, sentiment and toxicity of both offline backends."""
    from .._backends.local import LocalEmbeddings
    from .data import find_data_dir

    folder = find_data_dir(data_dir)
    if data_dir is not None and Path(data_dir).resolve() != folder.resolve():
        raise FileNotFoundError(f"labelled data not found in {str(data_dir)!r}")
    missing = [name for name, _ in XSTEST.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"labelled data incomplete in {str(folder)!r}: missing {', '.join(missing)}")
    embeddings = LocalEmbeddings()
    measures = measure_refusal(folder, embeddings)
    if with_heads:
        from .heads import measure_all

        measures += measure_all(folder)
    return measures


def format_report(measures: Sequence[Measure]) -> str:
    from .heads import format_table

    return format_table(list(measures))


def main_evaluate(argv: Sequence[str] | None = None) -> int:
    """`otel-llm evaluate [--data DIR] [--json] [--refusal-only]`: print the accuracy table."""
    parser = argparse.ArgumentParser(prog="otel-llm evaluate",
                                     description="Measure the local backend on the public labelled data.")
    parser.add_argument("--data",
                        help="labelled-data folder (default: $OTEL_LLM_DATA_DIR or the checkout's data/)")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    parser.add_argument("--refusal-only", action="store_true", help="measure the refusal model only (faster)")
    args = parser.parse_args(argv)
    try:
        measures = run_evaluation(args.data, with_heads=not args.refusal_only)
    except (FileNotFoundError, ImportError) as exc:
        parser.exit(2, f"otel-llm evaluate: {exc}\n")
    print(json.dumps([m.row() for m in measures], indent=1) if args.json else format_report(measures))
    return 0
