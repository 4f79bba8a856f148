"""`otel-llm evaluate`: measure the local backend on the labelled data with honest splits, and the refusal
heads' training (`scripts/train_refusal.py` writes `_weights/refusal-*.npz` with it).

Refusal is measured the way the product is used, on completions of models it was not trained on:
leave-one-model-out over XSTest's GPT-4 and Llama-2 completions and each family of the team's authored
rows (`data/refusal-authored.csv`, split `train`), and leave-one-style-out over the authored kinds; every
figure is reported with its worst fold. The authored rows of the `test` split (two whole families) are
never trained on: the shipped head is measured on them once. Every fit also sees a fixed sample of
ordinary sentences (STS-B and NYT snippets) as non-refusals; the rest of them (and tweets) measure how
often ordinary text is flagged. Scores are Platt-calibrated on leave-one-model-out scores of the training
side only, and `refused` is the calibrated probability at or above `THRESHOLD`.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend
from .._quality.evaluators.phrases import shipped_phrases
from .._quality.evaluators.refusal import (
    LEXICAL_KIND,
    MINILM_KIND,
    PROMPT_MARK,
    Anchors,
    anchor_asks,
    fuzzy_features,
    lexical_features,
    lexical_opening,
    minilm_features,
    opening,
    prompt_features,
    uses_minilm,
)
from .._weights import MODELS_DIR, LinearHead
from .crossval import Measure, roc_auc
from .logistic import fit_logistic, train_head

XSTEST = {"gpt4": "refusal-xstest-gpt4.csv", "llama2": "refusal-xstest-llama2orig.csv"}
AUTHORED = ("refusal-authored.csv", "refusal-team-hard.csv", "refusal-team-prompted.csv")
REFUSAL_LABELS = ("2_full_refusal", "3_partial_refusal")
BENIGN_KINDS = ("greeting", "offer_of_help", "helpful_answer", "ai_self_description_then_answer",
                "caveat_then_answer", "no_access_answer", "clarifying_question", "apology_then_answer",
                "sensitive_topic_answer", "premise_correction", "safety_information_answer")
JAILBROKEN = "harmful_compliance"
SEED = 0
ORDINARY_TRAINING = 300  # ordinary sentences added to every fit as non-refusals
ORDINARY_HELD_OUT = 2000  # sentences (and 1000 tweets) that measure how often ordinary text is flagged
THRESHOLD = 0.5  # on the calibrated probability: refused when a refusal is the likelier reading
CALIBRATION_FOLDS = 4
C_GRID = (0.003, 0.01, 0.03, 0.1)
# Regularisation per head, chosen by `scripts/train_refusal.py` (pooled leave-one-model-out log loss).
C_FOR_KIND = {MINILM_KIND: 0.1, LEXICAL_KIND: 0.1}
# The prompt blocks the shipped MiniLM head reads (`refusal.prompt_features`), chosen by leave-one-model-out
# and leave-one-style-out on the training split (`train_refusal.py --prompt-blocks ... --training-only`).
SHIPPED_PROMPT_BLOCKS: tuple[str, ...] = ("vector", "cosines", "product")
# The weight of each of a row's two copies (with its prompt, without) in a fit that reads the prompt
# (`train_refusal.py --dropout-weight`; 0.5 keeps prompt dropout from halving the regularisation).
DROPOUT_WEIGHT = 1.0


@dataclass(frozen=True)
class RefusalRows:
    """Labelled completions (1 = full or partial refusal), with the model or family (`group`) that wrote
    each, its kind (authored style, or `xstest`) and split (`train`, `test`)."""

    completions: list[str]
    labels: np.ndarray
    groups: np.ndarray
    kinds: np.ndarray
    splits: np.ndarray
    prompts: list[str]

    def take(self, rows: np.ndarray) -> RefusalRows:
        return RefusalRows([self.completions[i] for i in rows], self.labels[rows], self.groups[rows],
                           self.kinds[rows], self.splits[rows], [self.prompts[i] for i in rows])


def load_refusal_rows(data_dir: Path) -> RefusalRows:
    """XSTest's two models (all `train`) and the authored rows."""
    completions: list[str] = []
    prompts: list[str] = []
    labels, groups, kinds, splits = [], [], [], []
    for name, filename in XSTEST.items():
        with (Path(data_dir) / filename).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                completions.append(row["completion"])
                prompts.append(row["prompt"])
                labels.append(row["final_label"] in REFUSAL_LABELS)
                groups.append(name)
                kinds.append("xstest")
                splits.append("train")
    for filename in AUTHORED:
        with (Path(data_dir) / filename).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                completions.append(row["completion"])
                prompts.append(row["prompt"])
                labels.append(row["label"] == "1")
                groups.append(row["family"])
                kinds.append(row["kind"])
                splits.append(row["split"])
    return RefusalRows(completions, np.array(labels, dtype=np.int64), np.array(groups), np.array(kinds),
                       np.array(splits), prompts)


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


# (completions, their prompts) -> (features with the prompt, features of the same rows without it, or None)
Featuriser = Callable[[Sequence[str], Sequence[str]], tuple[np.ndarray, np.ndarray | None]]


def featuriser(embeddings: EmbeddingBackend | None,
               blocks: Sequence[str] = SHIPPED_PROMPT_BLOCKS) -> tuple[str, Featuriser]:
    """The evaluator's features: the MiniLM head's with `embeddings` (reading the prompt blocks `blocks`),
    else the lexical fallback's."""
    phrases = shipped_phrases()
    if embeddings is None:
        return LEXICAL_KIND, lambda texts, _: (lexical_features(texts, fuzzy_features(texts, phrases)), None)
    from .features import embed_cached

    phrase_vectors = embeddings.embed(list(phrases))
    harmful, benign = anchor_asks()
    anchors = Anchors(embeddings.embed(list(harmful)), embeddings.embed(list(benign)), phrase_vectors)
    kind = MINILM_KIND + (PROMPT_MARK + ",".join(blocks) if blocks else "")

    def features(texts: Sequence[str], prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        openings = [opening(t) for t in texts]
        asked = [p for p in prompts if p.strip()] if blocks else []
        unique = list(dict.fromkeys([*texts, *openings, *asked]))
        row = {text: i for i, text in enumerate(unique)}
        vectors = embed_cached(embeddings, unique)
        completion, start = vectors[[row[t] for t in texts]], vectors[[row[o] for o in openings]]
        x = minilm_features(completion, start, phrase_vectors, fuzzy_features(texts, phrases),
                            lexical_opening(texts))
        if not blocks:
            return x, None
        present = np.array([bool(p.strip()) for p in prompts])
        prompt_vectors = np.vstack([vectors[row[p]] if p.strip() else np.zeros(vectors.shape[1])
                                    for p in prompts]) if prompts else np.zeros_like(completion)
        absent = np.zeros(len(texts), dtype=bool)
        return (np.hstack([x, prompt_features(prompt_vectors, present, completion, start, blocks, anchors)]),
                np.hstack([x, prompt_features(prompt_vectors, absent, completion, start, blocks, anchors)]))

    return kind, features


@dataclass(frozen=True)
class RefusalData:
    """Every labelled row and the ordinary sentences, featurised once (with one embedding runtime)."""

    kind: str
    rows: RefusalRows
    x: np.ndarray
    ordinary_training: np.ndarray
    ordinary_held_out: np.ndarray
    runtime: str = "lexical"
    x_bare: np.ndarray | None = None  # the rows' features without their prompts (a head that reads them)

    def training(self) -> RefusalData:
        """The rows of the `train` split only."""
        train = np.flatnonzero(self.rows.splits == "train")
        return replace(self, rows=self.rows.take(train), x=self.x[train],
                       x_bare=None if self.x_bare is None else self.x_bare[train])

    def without_prompts(self) -> RefusalData:
        """The same rows scored as if their records carried no prompt."""
        assert self.x_bare is not None
        return replace(self, x=self.x_bare, runtime=f"{self.runtime} (no prompt)")


def featurise(data_dir: Path, embeddings: EmbeddingBackend | None,
              blocks: Sequence[str] = SHIPPED_PROMPT_BLOCKS) -> RefusalData:
    kind, features = featuriser(embeddings, blocks)
    rows = load_refusal_rows(data_dir)
    training, held_out = ordinary_sentences(data_dir)
    xstest = int(np.sum(rows.kinds == "xstest"))  # featurised apart, so that their cached embeddings
    parts = [features(rows.completions[:xstest], rows.prompts[:xstest]),  # survive edits
             features(rows.completions[xstest:], rows.prompts[xstest:])]
    bares = [b for _, b in parts if b is not None]
    bare = np.vstack(bares) if len(bares) == len(parts) else None
    runtime = "lexical" if embeddings is None else getattr(embeddings, "runtime", embeddings.name)
    no_prompts = [""] * max(len(training), len(held_out))  # ordinary sentences are never asked for
    return RefusalData(kind, rows, np.vstack([p[0] for p in parts]),
                       features(training, no_prompts[:len(training)])[0],
                       features(held_out, no_prompts[:len(held_out)])[0], runtime, bare)


def stack(datas: Sequence[RefusalData]) -> RefusalData:
    """The same rows featurised by several runtimes, each row once per runtime: a head fitted on it learns
    what survives the runtimes' differences (torch vs int8 ONNX vectors). Its held-out sentences are the
    first runtime's."""
    if len(datas) == 1:
        return datas[0]
    labels, groups, kinds, splits = (np.concatenate([getattr(d.rows, f) for d in datas])
                                     for f in ("labels", "groups", "kinds", "splits"))
    rows = RefusalRows([t for d in datas for t in d.rows.completions], labels, groups, kinds, splits,
                       [p for d in datas for p in d.rows.prompts])
    bare = [d.x_bare for d in datas if d.x_bare is not None]
    return RefusalData(datas[0].kind, rows, np.vstack([d.x for d in datas]),
                       np.vstack([d.ordinary_training for d in datas]), datas[0].ordinary_held_out,
                       "+".join(d.runtime for d in datas),
                       np.vstack(bare) if len(bare) == len(datas) else None)


def f1_score(labels: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum((labels == 1) & predicted))
    fp, fn = float(np.sum((labels == 0) & predicted)), float(np.sum((labels == 1) & ~predicted))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _fit(x: np.ndarray, y: np.ndarray, c: float, kind: str, weight: np.ndarray | None = None) -> LinearHead:
    return train_head(x, {"refusal": y}, c=c, features=kind, sample_weight=weight)


def _logits(head: LinearHead, x: np.ndarray) -> np.ndarray:
    return ((x - head.mean) / head.scale) @ head.weights[0] + head.bias[0]


def platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(a, b) of p = sigmoid(a * logit + b), fitted on out-of-fold logits (barely regularised)."""
    w, b = fit_logistic(logits[:, None], labels, c=100.0)
    return float(w[0]), b


def calibrated_fit(x: np.ndarray, y: np.ndarray, groups: np.ndarray, extra: np.ndarray, c: float,
                   kind: str, x_bare: np.ndarray | None = None) -> LinearHead:
    """A head on (x, y) plus the `extra` rows as non-refusals, Platt-calibrated on leave-one-group-out
    logits of these rows (groups dealt into `CALIBRATION_FOLDS` folds), with the calibration folded into
    its weights; threshold `THRESHOLD`. With `x_bare` (the same rows without their prompts), every row is
    seen both ways, each copy at weight `DROPOUT_WEIGHT` (prompt dropout), so the head also scores records
    that carry no prompt."""
    weight = np.ones(len(y))
    if x_bare is not None:
        x, y, groups = np.vstack([x, x_bare]), np.concatenate([y, y]), np.concatenate([groups, groups])
        weight = np.full(len(y), DROPOUT_WEIGHT)
    ones = np.ones(len(extra))
    oof = np.zeros(len(y))
    names = list(dict.fromkeys(groups.tolist()))
    bucket = np.array([names.index(g) % CALIBRATION_FOLDS for g in groups.tolist()])
    for k in range(min(CALIBRATION_FOLDS, len(names))):
        inside = bucket != k
        head = _fit(np.vstack([x[inside], extra]), np.concatenate([y[inside], np.zeros(len(extra), int)]),
                    c, kind, np.concatenate([weight[inside], ones]))
        oof[~inside] = _logits(head, x[~inside])
    a, b = platt(oof, y)
    head = _fit(np.vstack([x, extra]), np.concatenate([y, np.zeros(len(extra), int)]), c, kind,
                np.concatenate([weight, ones]))
    return replace(head, weights=a * head.weights, bias=a * head.bias + b, thresholds=np.array([THRESHOLD]))


def _probabilities(head: LinearHead, x: np.ndarray) -> np.ndarray:
    return head.probabilities(x)[:, 0]


@dataclass(frozen=True)
class Fold:
    """One held-out model or style: its rows' calibrated probabilities and the ordinary sentences'."""

    name: str
    rows: RefusalRows
    p: np.ndarray
    ordinary: np.ndarray


def leave_one_out(data: RefusalData, key: str, c: float, only: Sequence[str] = (),
                  tests: Sequence[RefusalData] = (), unseen_prompts: bool = False) -> list[list[Fold]]:
    """Hold out each value of `key` (`groups` or `kinds`) of the training split in turn (or just those in
    `only`); the head and its calibration see only the other values (and the ordinary training sentences),
    and with `unseen_prompts` none of the rows that answer a prompt of the held-out value (XSTest's two
    models and the authored families share prompts: a head that reads the prompt could learn them).
    Each held-out head is scored on each of `tests` (the same rows by other runtimes; default `data`)."""
    train = data.training()
    targets = [t.training() for t in (tests or (data,))]
    values = getattr(train.rows, key)
    prompts = np.array(train.rows.prompts)
    folds: list[list[Fold]] = [[] for _ in targets]
    for value in dict.fromkeys(getattr(targets[0].rows, key).tolist()):
        if (key == "kinds" and value == "xstest") or (only and value not in only):
            continue
        inside = values != value
        if unseen_prompts:
            inside &= ~np.isin(prompts, prompts[~inside])
        head = calibrated_fit(train.x[inside], train.rows.labels[inside], train.rows.groups[inside],
                              train.ordinary_training, c, train.kind,
                              None if train.x_bare is None else train.x_bare[inside])
        for target, out in zip(targets, folds, strict=True):
            held = np.flatnonzero(getattr(target.rows, key) == value)
            out.append(Fold(value, target.rows.take(held), _probabilities(head, target.x[held]),
                            _probabilities(head, target.ordinary_held_out)))
    return folds


def held_out_split(data: RefusalData, c: float,
                   tests: Sequence[RefusalData] = ()) -> tuple[LinearHead, list[list[Fold]]]:
    """The head trained on the whole training split, measured on each family of the `test` split (of each
    of `tests`, default `data`)."""
    head = shipped_head(data, c)
    folds: list[list[Fold]] = []
    for target in tests or (data,):
        test = target.rows.splits == "test"
        folds.append([])
        for family in dict.fromkeys(target.rows.groups[test].tolist()):
            rows = np.flatnonzero(test & (target.rows.groups == family))
            folds[-1].append(Fold(family, target.rows.take(rows), _probabilities(head, target.x[rows]),
                                  _probabilities(head, target.ordinary_held_out)))
    return head, folds


def shipped_head(data: RefusalData, c: float) -> LinearHead:
    train = data.training()
    return calibrated_fit(train.x, train.rows.labels, train.rows.groups, train.ordinary_training, c,
                          data.kind, train.x_bare)


def _benign(rows: RefusalRows) -> np.ndarray:
    return np.isin(rows.kinds, BENIGN_KINDS)


def fold_figures(fold: Fold) -> dict[str, float]:
    """Every figure one held-out model supports (NaN where it has no such rows)."""
    y, p, decided = fold.rows.labels, fold.p, fold.p >= THRESHOLD
    both = 0 < y.sum() < len(y)
    benign, refusal = _benign(fold.rows), y == 1
    jail = fold.rows.kinds == JAILBROKEN
    nan = float("nan")
    return {
        "F1": f1_score(y, decided) if y.sum() else nan,
        "ROC AUC": roc_auc(y, p) if both else nan,
        "recall": float(decided[refusal].mean()) if refusal.any() else nan,
        "|ratio - true rate|": abs(float(p.mean() - y.mean())),
        "F1 refusals vs jailbroken compliance": (f1_score(y[refusal | jail], decided[refusal | jail])
                                                 if jail.any() and refusal.any() else nan),
        "benign replies flagged": float(decided[benign].mean()) if benign.any() else nan,
        "mean score, benign replies": float(p[benign].mean()) if benign.any() else nan,
        "ordinary sentences flagged": float(np.mean(fold.ordinary >= THRESHOLD)),
    }


WORST_IS_HIGH = {"|ratio - true rate|", "benign replies flagged", "mean score, benign replies",
                 "ordinary sentences flagged", "flagged"}


def summarise(candidate: str, split: str, folds: Sequence[Fold]) -> list[Measure]:
    """One Measure per figure over `folds`, its worst fold named in the note."""
    table = {f.name: fold_figures(f) for f in folds}
    measures = []
    for metric in next(iter(table.values())):
        values = {name: figures[metric] for name, figures in table.items() if not np.isnan(figures[metric])}
        if not values:
            continue
        worst = (max if metric in WORST_IS_HIGH else min)(values, key=values.__getitem__)
        detail = ", ".join(f"{name} {v:.3f}" for name, v in values.items())
        measures.append(Measure(candidate, f"{metric}, {split}", tuple(values.values()),
                                f"worst {worst} {values[worst]:.4f}; {detail}"))
    return measures


def style_measures(candidate: str, folds: Sequence[Fold]) -> list[Measure]:
    """Leave-one-style-out: recall on each held-out refusal style, flags on each held-out benign style."""
    recall = {f.name: float(np.mean(f.p >= THRESHOLD)) for f in folds if f.rows.labels.all()}
    flagged = {f.name: float(np.mean(f.p >= THRESHOLD)) for f in folds if not f.rows.labels.any()}
    measures = []
    for metric, values, worst in (("recall", recall, min), ("flagged", flagged, max)):
        name = worst(values, key=values.__getitem__)
        detail = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
        measures.append(Measure(candidate, f"{metric}, leave-one-style-out", tuple(values.values()),
                                f"worst {name} {values[name]:.4f}; {detail}"))
    return measures


def c_for(kind: str) -> float:
    return C_FOR_KIND[MINILM_KIND if uses_minilm(kind) else kind]


def measure_refusal(data_dir: Path, embeddings: EmbeddingBackend | Sequence[EmbeddingBackend] | None,
                    styles: bool = True, models: Sequence[str] = (),
                    train_on: Sequence[EmbeddingBackend] = (), blocks: Sequence[str] = SHIPPED_PROMPT_BLOCKS,
                    held_out: bool = True, unseen_prompts: bool = False) -> list[Measure]:
    """The head of `embeddings` (MiniLM; one runtime or several, reading the prompt blocks `blocks`) or,
    without, the lexical fallback: leave-one-model-out over the training split (every model, or those in
    `models`), the untouched test families (unless not `held_out`: when choosing features), and (with
    `styles`) leave-one-style-out (with `unseen_prompts`, the folds leave out of training every row that
    answers a held-out prompt). The heads are fitted on the embeddings of `train_on` (default: the
    runtimes measured, all together) and measured on each runtime's own, with the rows' prompts and (a
    head that reads them) without."""
    measured = [embeddings] if embeddings is None or not isinstance(embeddings, Sequence) else embeddings
    tests = [featurise(data_dir, b, blocks) for b in measured]
    by_runtime = {t.runtime: t for t in tests}
    train = stack([by_runtime.get(getattr(b, "runtime", b.name)) or featurise(data_dir, b, blocks)
                   for b in train_on] if train_on else tests)
    tests += [t.without_prompts() for t in tests if t.x_bare is not None]
    c = c_for(train.kind)
    names = [f"{t.runtime} embeddings, head fitted on {train.runtime}" if uses_minilm(t.kind)
             else "lexical head (aws, lexical)" for t in tests]
    measures: list[Measure] = []
    unseen = ", prompts unseen" if unseen_prompts else ""
    by_model = leave_one_out(train, "groups", c, models, tests, unseen_prompts)
    parts = [("leave-one-model-out" + unseen, by_model)]
    if held_out:
        parts.append(("held-out families", held_out_split(train, c, tests)[1]))
    for split, per_test in parts:
        for name, folds in zip(names, per_test, strict=True):
            measures += summarise(name, split, folds)
    if styles:
        by_style = leave_one_out(train, "kinds", c, tests=tests, unseen_prompts=unseen_prompts)
        for name, folds in zip(names, by_style, strict=True):
            measures += style_measures(name + unseen, folds)
    return measures


def choose_refusal_c(data: RefusalData, grid: Sequence[float] = C_GRID) -> tuple[float, dict[float, float]]:
    """The C with the lowest pooled leave-one-model-out log loss of the calibrated head."""
    losses = {}
    for c in grid:
        [folds] = leave_one_out(data, "groups", c)
        y = np.concatenate([f.rows.labels for f in folds])
        p = np.clip(np.concatenate([f.p for f in folds]), 1e-6, 1 - 1e-6)
        losses[c] = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return min(losses, key=losses.__getitem__), losses


def train_refusal_models(data_dir: Path, embeddings: EmbeddingBackend | Sequence[EmbeddingBackend],
                         out_dir: Path = MODELS_DIR, choose_c: bool = True,
                         blocks: Sequence[str] = SHIPPED_PROMPT_BLOCKS) -> dict:
    """Fit the shipped heads (MiniLM, on the embeddings of every runtime given, and lexical) on the
    training split, write them as .npz, and return what was written, with the log loss of every C tried
    (`choose_c`)."""
    runtimes = list(embeddings) if isinstance(embeddings, Sequence) else [embeddings]
    written = {}
    for name, data in (("refusal-minilm", stack([featurise(data_dir, b, blocks) for b in runtimes])),
                       ("refusal-lexical", featurise(data_dir, None))):
        best, losses = choose_refusal_c(data) if choose_c else (None, {})
        head = shipped_head(data, c_for(data.kind))
        head.save(out_dir / f"{name}.npz")
        written[name] = {"features": data.kind, "columns": int(head.weights.shape[1]),
                         "embeddings": data.runtime,
                         "c": c_for(data.kind), "c_by_log_loss": best,
                         "log_loss_by_c": {str(k): round(v, 4) for k, v in losses.items()},
                         "threshold": THRESHOLD,
                         "training_rows": int(np.sum(data.rows.splits == "train"))
                         + len(data.ordinary_training)}
    return written


def run_evaluation(data_dir: str | Path | None = None, with_heads: bool = True) -> list[Measure]:
    """Every measure: refusal (on each MiniLM runtime installed), then similarity, sentiment and toxicity
    of both offline backends."""
    from .._backends.local import LocalEmbeddings, local_available
    from .._backends.onnx import OnnxEmbeddings, onnx_available
    from .data import find_data_dir

    folder = find_data_dir(data_dir)
    if data_dir is not None and Path(data_dir).resolve() != folder.resolve():
        raise FileNotFoundError(f"labelled data not found in {str(data_dir)!r}")
    missing = [name for name in (*XSTEST.values(), *AUTHORED) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"labelled data incomplete in {str(folder)!r}: missing {', '.join(missing)}")
    runtimes: list[EmbeddingBackend] = [OnnxEmbeddings()] if onnx_available() else []
    runtimes += [LocalEmbeddings()] if local_available() or not runtimes else []
    measures = measure_refusal(folder, runtimes) + measure_refusal(folder, None)
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
