"""Measure every scoring candidate with cross-validation and train the shipped heads.

Used by `scripts/train_heads.py` (measure + write `src/otel_llm/_weights/*.npz` and `report.json`) and meant
for `otel-llm evaluate` (measure only). Everything is seeded, so the numbers repeat run to run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend
from .._weights import (
    MODELS_DIR,
    LinearHead,
    clause_average,
    main_clause,
    negation_clause_average,
    negation_scopes,
    scope_sums,
    vader_compound,
)
from .crossval import Measure, accuracy, choose_c, fit_predict_logistic, spearman, stratified_folds
from .data import (
    NEUTRAL_BAND,
    find_data_dir,
    load_sentiment,
    load_stsb,
    load_team_sentiment,
)
from .features import embed_cached
from .logistic import fit_logistic, standardiser
from .toxicity import LEXICAL_KIND, SHIPPED_KIND, measure_toxicity_kind

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


def measure_similarity(embeddings: EmbeddingBackend, data_dir: Path, named: bool = False) -> Measure:
    """Spearman of cosine vs. the human 0-5 scores on STS-B dev (no training: folds only give the spread)."""
    data = load_stsb(data_dir)
    first, second = embed_cached(embeddings, data.first), embed_cached(embeddings, data.second)
    cosine = np.sum(first * second, axis=1)
    whole = spearman(cosine, data.scores)
    buckets = np.round(data.scores).astype(int)
    values = [spearman(cosine[test], data.scores[test]) for _, test in stratified_folds(buckets, FOLDS, SEED)]
    name = f"{embeddings.name} cosine" + (f" on {runtime_tag([embeddings])}" if named else "")
    return Measure(name, "STS-B dev Spearman", tuple(values), f"whole set {whole:.4f}")


SENTIMENT_FOLDS = ((("tweets",), "nyt"), (("nyt",), "tweets"), (("tweets", "nyt"), "team-test"),
                   (("tweets", "team-train"), "nyt"), (("nyt", "team-train"), "tweets"),
                   (("tweets", "nyt", "team-train"), "team-test"))
TEAM_WEIGHT = 3.0  # each team-written training sentence counts as 3 tweets (134 rows beside 6,400)
SENTIMENT_FEATURES = ("embedding", "embedding+vader", "clause-average", "clause-negation")


@dataclass(frozen=True)
class SentimentRows:
    """Every binary sentiment row: VADER's tweets and NYT snippets (near-neutral dropped) and the team set."""

    texts: list[str]
    labels: np.ndarray
    domains: np.ndarray  # tweets | nyt | team-train | team-test
    team_domains: np.ndarray  # per team row: movie | product | support | explanation
    first_team: int  # index of the first team row

    def weights(self, rows: np.ndarray) -> np.ndarray:
        return np.where(self.domains[rows] == "team-train", TEAM_WEIGHT, 1.0)


def sentiment_rows(data_dir: Path) -> SentimentRows:
    data, team = load_sentiment(data_dir), load_team_sentiment(data_dir)
    texts, y, domains, _ = data.binary()
    domains = np.concatenate([domains, np.char.add("team-", team.split)])
    labels = np.concatenate([y, team.labels])
    return SentimentRows(texts + team.texts, labels, domains, team.domains, len(texts))


def sentiment_features(embeddings: EmbeddingBackend, texts: list[str], kind: str) -> np.ndarray:
    """The rows a sentiment head of `kind` (one of SENTIMENT_FEATURES) reads, embeddings cached on disk."""
    vectors = embed_cached(embeddings, texts)
    if kind == "embedding+vader":
        return np.hstack([vectors, vader_compound(texts)[:, None]])
    clauses = [main_clause(t) for t in texts]
    if kind == "clause-average":
        return clause_average(vectors, embed_cached(embeddings, clauses))
    if kind == "clause-negation":
        per_text = [negation_scopes(t) for t in [*texts, *clauses]]
        scopes = list(dict.fromkeys(s for found in per_text for s in found))
        row = {s: i for i, s in enumerate(scopes)}
        found = embed_cached(embeddings, scopes) if scopes else np.zeros((0, vectors.shape[1]))
        dims, n = vectors.shape[1], len(texts)
        negated = (scope_sums(lambda s: found[row[s]], texts, dims, per_text[:n]),
                   scope_sums(lambda s: found[row[s]], clauses, dims, per_text[n:]))
        return negation_clause_average(vectors, embed_cached(embeddings, clauses), *negated)
    return vectors


def _weighted_fit_predict(x: np.ndarray, y: np.ndarray, weights: np.ndarray, test: np.ndarray) -> np.ndarray:
    c = choose_c(x, y)
    mean, scale = standardiser(x)
    w, b = fit_logistic((x - mean) / scale, y, c=c, sample_weight=weights)
    return 1 / (1 + np.exp(-(((test - mean) / scale) @ w + b)))


def runtime_tag(backends: Sequence[EmbeddingBackend]) -> str:
    """"torch+onnx-int8": the MiniLM runtimes whose embeddings a head was trained on."""
    return "+".join(getattr(b, "runtime", b.name) for b in backends)


def _candidate(embeddings: EmbeddingBackend, train_on: Sequence[EmbeddingBackend] | None, what: str) -> str:
    """`local head (kind)`, or with the runtimes: `local head (kind) on onnx-int8, trained on torch`."""
    if train_on is None:
        return f"{embeddings.name} {what}"
    return f"{embeddings.name} {what} on {runtime_tag([embeddings])}, trained on {runtime_tag(train_on)}"


def measure_sentiment(embeddings: EmbeddingBackend, data_dir: Path, with_vader: bool = True,
                      train_on: Sequence[EmbeddingBackend] | None = None,
                      kinds: Sequence[str] = SENTIMENT_FEATURES) -> list[Measure]:
    """Binary accuracy across domains (train on some, test on another: tweets, NYT, the team's held-out
    LLM-style sentences), per fold and the worst fold, for each feature kind; VADER alone for reference.
    `train_on`: the runtimes whose embeddings of the training rows the heads are fitted on (stacked; default
    `embeddings` alone); the test rows are always embedded by `embeddings`, as at inference."""
    rows = sentiment_rows(data_dir)
    kinds = [k for k in kinds if with_vader or k != "embedding+vader"]
    sources_of = list(train_on) if train_on is not None else [embeddings]
    movie_test = np.flatnonzero(rows.domains == "team-test")
    movie_test = movie_test[np.asarray(rows.team_domains)[movie_test - rows.first_team] == "movie"]
    measures = []
    if with_vader:
        vader = vader_compound(rows.texts)
        for target in ("nyt", "tweets", "team-test"):
            test = rows.domains == target
            measures.append(Measure("vader compound > 0", f"accuracy on {target}",
                                    (accuracy(rows.labels[test], vader[test] > 0),), "no training"))
        measures.append(Measure("vader compound > 0", "accuracy on team-test movie rows",
                                (accuracy(rows.labels[movie_test], vader[movie_test] > 0),), "no training"))
    for kind in kinds:
        x = sentiment_features(embeddings, rows.texts, kind)
        xs = [x if b is embeddings else sentiment_features(b, rows.texts, kind) for b in sources_of]
        name, values = _candidate(embeddings, train_on, f"head ({kind})"), []
        folds = [*SENTIMENT_FOLDS, (("tweets", "nyt", "team-train"), "team-test movie rows")]
        for sources, target in folds:
            train = np.flatnonzero(np.isin(rows.domains, sources))
            test = movie_test if target.endswith("movie rows") else np.flatnonzero(rows.domains == target)
            weights = np.tile(rows.weights(train), len(xs))
            xtrain = np.vstack([xi[train] for xi in xs])
            p = _weighted_fit_predict(xtrain, np.tile(rows.labels[train], len(xs)), weights, x[test])
            values.append(_binary_accuracy(rows.labels[test], p))
            note = f"team-train rows weigh {TEAM_WEIGHT:g}" if "team-train" in sources else ""
            if target.endswith("movie rows"):
                note += f"; {len(test)} rows, SST-2-like check"
            measures.append(Measure(name, f"accuracy, {'+'.join(sources)}->{target}", (values[-1],), note))
        measures.append(Measure(name, "accuracy, worst cross-domain fold", (min(values),),
                                f"of {len(values)} folds above"))
    return measures


def measure_toxicity(embeddings: EmbeddingBackend, data_dir: Path,
                     train_on: Sequence[EmbeddingBackend] | None = None) -> list[Measure]:
    """The toxicity candidates of one backend (`toxicity.measure_toxicity_kind`): on MiniLM, its embedding
    alone and the shipped head (embedding + lexical vector + offence signal); on lexical, its vector alone,
    the offence signal alone and the two together (the lexical backend's head)."""
    if embeddings.name == "lexical":
        kinds = {"lexical head": "embedding", "offence signal head": "offence",
                 "lexical+offence head": LEXICAL_KIND}
    else:
        kinds = {_candidate(embeddings, train_on, "head"): "embedding",
                 _candidate(embeddings, train_on, "+lexical+offence head"): SHIPPED_KIND}
    return [m for name, kind in kinds.items()
            for m in measure_toxicity_kind(kind, embeddings, data_dir, name, train_on,
                                           with_hate=kind in (SHIPPED_KIND, LEXICAL_KIND))]


def _neutral_band(head: LinearHead, features: np.ndarray, ratings: np.ndarray) -> float:
    """The |score| below which the label is neutral, chosen for 3-way accuracy on the training data."""
    scores = 2 * head.probabilities(features)[:, 0] - 1
    truth = np.where(ratings >= NEUTRAL_BAND, 1, np.where(ratings <= -NEUTRAL_BAND, -1, 0))
    bands = np.linspace(0.0, 0.9, 19)
    hits = [np.mean(np.where(scores >= b, 1, np.where(scores <= -b, -1, 0)) == truth) for b in bands]
    return float(bands[int(np.argmax(hits))])


def train_sentiment_head(embeddings: EmbeddingBackend, data_dir: Path, kind: str,
                         train_on: Sequence[EmbeddingBackend] | None = None) -> tuple[LinearHead, float]:
    """Fit on every non-neutral tweet and NYT row and the team's training sentences (never its held-out
    ones), as embedded by each runtime of `train_on` (default `embeddings`), C by inner CV; the neutral
    band is tuned on all tweet and NYT rows."""
    rows = sentiment_rows(data_dir)
    backends = list(train_on) if train_on is not None else [embeddings]
    train = np.flatnonzero(rows.domains != "team-test")
    texts = [rows.texts[i] for i in train]
    x = np.vstack([sentiment_features(b, texts, kind) for b in backends])
    y = np.tile(rows.labels[train], len(backends))
    c = choose_c(x, y)
    mean, scale = standardiser(x)
    w, b = fit_logistic((x - mean) / scale, y, c=c, sample_weight=np.tile(rows.weights(train), len(backends)))
    head = LinearHead(("positive",), w[None, :], np.array([b]), mean, scale, np.array([0.5]), kind)
    data = load_sentiment(data_dir)
    features = np.vstack([sentiment_features(e, data.texts, kind) for e in backends])
    band = _neutral_band(head, features, np.tile(data.ratings, len(backends)))
    return dataclasses.replace(head, thresholds=np.array([band])), c


def worst_fold(measures: list[Measure], candidate: str) -> float:
    """The candidate's worst cross-domain sentiment accuracy (what train_heads.py chooses by)."""
    return min(m.mean for m in measures
               if m.candidate == candidate and m.metric.endswith("worst cross-domain fold"))


HEADS = ("sentiment", "toxicity")


def measure_backend(embeddings: EmbeddingBackend, data_dir: Path | None = None, with_vader: bool = True,
                    train_on: Sequence[EmbeddingBackend] | None = None,
                    heads: Sequence[str] = HEADS) -> list[Measure]:
    """Every measure of one embedding backend: similarity and the sentiment candidates (with "sentiment" in
    `heads`), the toxicity candidates (with "toxicity")."""
    data_dir = find_data_dir(data_dir)
    measures = []
    if "sentiment" in heads:
        measures += [measure_similarity(embeddings, data_dir, named=train_on is not None),
                     *measure_sentiment(embeddings, data_dir, with_vader, train_on)]
    if "toxicity" in heads:
        measures += measure_toxicity(embeddings, data_dir, train_on)
    return measures


def format_table(measures: list[Measure]) -> str:
    """A Markdown table: candidate, metric, mean ± std, note."""
    lines = ["| candidate | metric | mean ± std | note |", "|---|---|---|---|"]
    for m in measures:
        spread = f"{m.mean:.4f} ± {m.std:.4f}" if len(m.values) > 1 else f"{m.mean:.4f}"
        lines.append(f"| {m.candidate} | {m.metric} | {spread} | {m.note} |")
    return "\n".join(lines)


def write_report(measures: list[Measure], shipped: dict, path: Path = MODELS_DIR / "report.json",
                 heads: Sequence[str] = HEADS) -> None:
    """Write the measures and shipped heads; when only some `heads` were refitted, the other heads' rows of
    the existing report are kept as they are."""
    kept_measures: list[dict] = []
    kept_shipped: dict = {}
    if set(heads) != set(HEADS) and path.is_file():
        old = json.loads(path.read_text())
        kept_measures = [r for r in old["measures"] if _head_of(r["metric"]) not in heads]
        kept_shipped = {k: v for k, v in old["shipped"].items() if k.split("-")[0] not in heads}
    report = {"measures": kept_measures + [m.row() for m in measures], "shipped": kept_shipped | shipped}
    path.write_text(json.dumps(report, indent=1) + "\n")


def _head_of(metric: str) -> str:
    return "toxicity" if metric.startswith(("toxic", "hate_speech")) else "sentiment"


# sentiment candidates measured per MiniLM runtime
RUNTIME_KINDS = ("embedding", "clause-average", "clause-negation")


def measure_runtimes(runtimes: Sequence[EmbeddingBackend], data_dir: Path,
                     heads: Sequence[str] = HEADS) -> list[Measure]:
    """MiniLM on each runtime (torch, int8 ONNX): STS-B; each runtime's rows scored by sentiment heads
    trained on the first runtime alone (how the heads were made before) and on all runtimes together (what
    ships), and by toxicity heads trained on the first runtime (what ships)."""
    measures: list[Measure] = []
    if "sentiment" in heads:
        measures += [measure_similarity(r, data_dir, named=True) for r in runtimes]
        vader = True
        for train in ([runtimes[0]], list(runtimes)) if len(runtimes) > 1 else ([runtimes[0]],):
            shipped = len(train) == len(runtimes)
            for test in runtimes:
                measures += measure_sentiment(test, data_dir, vader, train,
                                              RUNTIME_KINDS if shipped else ("clause-average",))
                vader = False
    if "toxicity" in heads:
        for test in runtimes:
            measures += measure_toxicity(test, data_dir, [runtimes[0]])
    return measures


def measure_all(data_dir: str | Path | None = None, runtimes: Sequence[EmbeddingBackend] | None = None,
                heads: Sequence[str] = HEADS) -> list[Measure]:
    """Every candidate of both offline backends (local only when its extra is installed): the README table.
    With `runtimes`, the local candidates are measured per MiniLM runtime (`measure_runtimes`)."""
    from .._backends.lexical import LexicalEmbeddings
    from .._backends.local import LocalEmbeddings, local_available

    data_dir = find_data_dir(data_dir)
    if runtimes:
        measures = measure_runtimes(runtimes, data_dir, heads)
    else:
        measures = measure_backend(LocalEmbeddings(), data_dir, heads=heads) if local_available() else []
    return measures + measure_backend(LexicalEmbeddings(), data_dir, with_vader=False, heads=heads)
