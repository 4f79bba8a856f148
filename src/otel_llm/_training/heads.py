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
    LEXICAL_BLEND,
    MODELS_DIR,
    LinearHead,
    clause_average,
    clean_text,
    main_clause,
    negation_clause_average,
    negation_scopes,
    scope_sums,
    vader_compound,
)
from .crossval import Measure, accuracy, choose_c, fit_predict_logistic, roc_auc, spearman, stratified_folds
from .data import (
    NEUTRAL_BAND,
    find_data_dir,
    load_sentiment,
    load_stsb,
    load_team_sentiment,
    load_team_toxicity,
    load_toxicity,
)
from .features import embed_cached
from .logistic import fit_logistic, standardiser, train_head

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
        scopes = list(dict.fromkeys(s for t in [*texts, *clauses] for s in negation_scopes(t)))
        row = {s: i for i, s in enumerate(scopes)}
        found = embed_cached(embeddings, scopes) if scopes else np.zeros((0, vectors.shape[1]))
        dims = vectors.shape[1]
        negated = (scope_sums(lambda s: found[row[s]], texts, dims),
                   scope_sums(lambda s: found[row[s]], clauses, dims))
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


@dataclass(frozen=True)
class ToxicityRows:
    """Davidson's tweets, then the extra training-only rows (STS-B prose as non-toxic, the team's training
    comments), then the team's held-out comments; all as the heads read them (`clean_text`)."""

    texts: list[str]
    toxic: np.ndarray
    hate: np.ndarray
    part: np.ndarray  # tweets | prose | team-train | team-test

    def weights(self, rows: np.ndarray) -> np.ndarray:
        return np.where(self.part[rows] == "team-train", TEAM_WEIGHT, 1.0)


def toxicity_rows(data_dir: Path) -> ToxicityRows:
    data, team, prose = load_toxicity(data_dir), load_team_toxicity(data_dir), benign_prose(data_dir)
    texts = [clean_text(t) for t in data.texts] + prose + [clean_text(t) for t in team.texts]
    toxic = np.concatenate([data.toxic, np.zeros(len(prose), dtype=np.int64), team.toxic])
    hate = np.concatenate([data.hate, np.zeros(len(prose) + len(team.texts), dtype=np.int64)])
    part = np.concatenate([np.full(len(data.texts), "tweets"), np.full(len(prose), "prose"),
                           np.char.add("team-", team.split)])
    return ToxicityRows(texts, toxic, hate, part)


def _toxicity_scores(x: np.ndarray, rows: ToxicityRows, target: np.ndarray, with_team: bool,
                     train_xs: Sequence[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold P(toxic) for every tweet by 5-fold CV, P(toxic) for the team's held-out comments from
    a head fitted on all tweets); prose (and, `with_team`, the team's training comments) only trained on.
    Rows are scored on `x`; the heads are fitted on the same rows of each of `train_xs` (default `x`)."""
    extra = np.flatnonzero((rows.part == "prose") | ((rows.part == "team-train") & with_team))
    tweets, held_out = np.flatnonzero(rows.part == "tweets"), np.flatnonzero(rows.part == "team-test")
    xs = list(train_xs) if train_xs is not None else [x]

    def fit(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        train = np.concatenate([train, extra])
        xtrain, ytrain = np.vstack([xi[train] for xi in xs]), np.tile(target[train], len(xs))
        c = choose_c(xtrain, ytrain, balanced=True)
        mean, scale = standardiser(xtrain)
        w, b = fit_logistic((xtrain - mean) / scale, ytrain, c=c, balanced=True,
                            sample_weight=np.tile(rows.weights(train), len(xs)))
        return 1 / (1 + np.exp(-(((x[test] - mean) / scale) @ w + b)))

    out_of_fold = np.zeros(len(tweets))
    for train, test in stratified_folds(target[tweets], FOLDS, SEED):
        out_of_fold[test] = fit(tweets[train], tweets[test])
    return out_of_fold, fit(tweets, held_out)


_PARTNER_SCORES: dict[tuple[str, Path, bool], tuple[np.ndarray, np.ndarray]] = {}


def _partner_scores(partner: EmbeddingBackend, data_dir: Path,
                    with_team: bool) -> tuple[np.ndarray, np.ndarray]:
    """`_toxicity_scores` of the blend's partner (the lexical head): the same for every MiniLM runtime."""
    key = (partner.name, data_dir, with_team)
    if key not in _PARTNER_SCORES:
        rows = toxicity_rows(data_dir)
        vectors = embed_cached(partner, rows.texts)
        _PARTNER_SCORES[key] = _toxicity_scores(vectors, rows, rows.toxic, with_team)
    return _PARTNER_SCORES[key]


def measure_toxicity(embeddings: EmbeddingBackend, data_dir: Path, partner: EmbeddingBackend | None = None,
                     train_on: Sequence[EmbeddingBackend] | None = None) -> list[Measure]:
    """ROC AUC of toxic vs. not on Davidson's tweets (5-fold CV) and, across domains, on the team's held-out
    forum-style comments, trained without and with the team's training comments; the worst of these; and
    hate speech vs. the rest on the tweets. With a `partner` (lexical vectors), the shipped blend
    (1 - w) * own head + w * partner's head too. `train_on` as in `measure_sentiment`."""
    rows = toxicity_rows(data_dir)
    tweets, held_out = rows.part == "tweets", rows.part == "team-test"
    toxic, team_toxic = rows.toxic[tweets], rows.toxic[held_out]
    own = embed_cached(embeddings, rows.texts)
    own_train = [own if b is embeddings else embed_cached(b, rows.texts) for b in (train_on or [embeddings])]
    own_name = _candidate(embeddings, train_on, "head")
    candidates = {own_name: {team: _toxicity_scores(own, rows, rows.toxic, team, own_train)
                             for team in (False, True)}}
    if partner is not None:
        mine, theirs = candidates[own_name], {team: _partner_scores(partner, data_dir, team)
                                              for team in (False, True)}
        w = LEXICAL_BLEND
        candidates[f"{partner.name} head"] = theirs
        candidates[f"{own_name} + {w:g} x {partner.name} head"] = {
            team: ((1 - w) * mine[team][0] + w * theirs[team][0],
                   (1 - w) * mine[team][1] + w * theirs[team][1]) for team in (False, True)}
    measures = []
    for name, by_team in candidates.items():
        cv, _ = by_team[True]  # as shipped: team training comments in every training fold
        folds = [roc_auc(toxic[test], cv[test]) for _, test in stratified_folds(toxic, FOLDS, SEED)]
        measures.append(Measure(name, "toxic ROC AUC, Davidson 5-fold", tuple(folds),
                                "STS-B prose and team training comments in training folds only"))
        worst = min(folds)
        for team in (False, True):
            p = by_team[team][1]
            auc = roc_auc(team_toxic, p)
            worst = min(worst, auc)
            flags, misses = np.mean(p[team_toxic == 0] >= 0.5), np.mean(p[team_toxic == 1] < 0.5)
            source = "Davidson+prose" + ("+team-train" if team else "")
            measures.append(Measure(name, f"toxic ROC AUC, {source}->team-test", (auc,),
                                    f"at 0.5: {100 * flags:.0f}% of non-toxic flagged, {100 * misses:.0f}% "
                                    f"of toxic missed ({len(team_toxic)} comments)"))
        measures.append(Measure(name, "toxic ROC AUC, worst fold", (worst,), "of the folds above"))
    hate = rows.hate[tweets]
    hate_cv = _toxicity_scores(own, rows, rows.hate, True, own_train)[0]
    measures.append(_folds_measure(own_name, "hate_speech ROC AUC, 5-fold", hate, hate_cv,
                                   roc_auc, "115 hate-speech rows only"))
    return measures


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


def benign_prose(data_dir: Path) -> list[str]:
    """Ordinary non-toxic prose (STS-B's first sentences: captions, news, forums), added to the toxicity
    training data as non-toxic so that the heads learn that formal, LLM-like text is not offensive."""
    return [clean_text(t) for t in load_stsb(data_dir).first]


def train_toxicity_head(embeddings: EmbeddingBackend, data_dir: Path,
                        train_on: Sequence[EmbeddingBackend] | None = None) -> tuple[LinearHead, float]:
    """Two outputs, `toxic` and `hate_speech`, class-balanced, on Davidson's tweets, STS-B prose (non-toxic)
    and the team's training comments (never its held-out ones), as embedded by each runtime of `train_on`
    (default `embeddings`); C by inner CV on the toxic target."""
    rows = toxicity_rows(data_dir)
    backends = list(train_on) if train_on is not None else [embeddings]
    train = np.flatnonzero(rows.part != "team-test")
    texts = [rows.texts[i] for i in train]
    x = np.vstack([embed_cached(b, texts) for b in backends])
    toxic, hate = np.tile(rows.toxic[train], len(backends)), np.tile(rows.hate[train], len(backends))
    c = choose_c(x, toxic, balanced=True)
    return train_head(x, {"toxic": toxic, "hate_speech": hate}, c=c, balanced=True,
                      sample_weight=np.tile(rows.weights(train), len(backends))), c


def measure_backend(embeddings: EmbeddingBackend, data_dir: Path | None = None, with_vader: bool = True,
                    partner: EmbeddingBackend | None = None,
                    train_on: Sequence[EmbeddingBackend] | None = None) -> list[Measure]:
    """Every measure of one embedding backend: similarity, sentiment candidates, toxicity."""
    data_dir = find_data_dir(data_dir)
    return [measure_similarity(embeddings, data_dir, named=train_on is not None),
            *measure_sentiment(embeddings, data_dir, with_vader, train_on),
            *measure_toxicity(embeddings, data_dir, partner, train_on)]


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


# sentiment candidates measured per MiniLM runtime
RUNTIME_KINDS = ("embedding", "clause-average", "clause-negation")


def measure_runtimes(runtimes: Sequence[EmbeddingBackend], data_dir: Path,
                     partner: EmbeddingBackend | None = None) -> list[Measure]:
    """MiniLM on each runtime (torch, int8 ONNX): STS-B; each runtime's rows scored by heads trained on the
    first runtime alone (how the heads were made before) and on all runtimes together (what ships)."""
    measures: list[Measure] = [measure_similarity(r, data_dir, named=True) for r in runtimes]
    vader = True
    for train in ([runtimes[0]], list(runtimes)) if len(runtimes) > 1 else ([runtimes[0]],):
        shipped = len(train) == len(runtimes)
        for test in runtimes:
            measures += measure_sentiment(test, data_dir, vader, train,
                                          RUNTIME_KINDS if shipped else ("clause-average",))
            measures += measure_toxicity(test, data_dir, partner, train)
            vader = False
    return measures


def measure_all(data_dir: str | Path | None = None,
                runtimes: Sequence[EmbeddingBackend] | None = None) -> list[Measure]:
    """Every candidate of both offline backends (local only when its extra is installed): the README table.
    With `runtimes`, the local candidates are measured per MiniLM runtime (`measure_runtimes`)."""
    from .._backends.lexical import LexicalEmbeddings
    from .._backends.local import LocalEmbeddings, local_available

    data_dir = find_data_dir(data_dir)
    lexical = LexicalEmbeddings()
    if runtimes:
        measures = measure_runtimes(runtimes, data_dir, partner=lexical)
    else:
        measures = measure_backend(LocalEmbeddings(), data_dir, partner=lexical) if local_available() else []
    return measures + measure_backend(lexical, data_dir, with_vader=False)
