"""Refusal: exact signals first (guardrail, content filter, the model's own refusal stop reason), then the
user's own refusal phrases, else a small logistic head trained by `scripts/train_refusal.py`.

The head reads the whole MiniLM embedding of the completion and of its opening (where refusals usually
are), their highest cosine to the shipped refusal phrases, two fuzzy-match scores (rapidfuzz) of the
opening against them, and hashed word and character n-grams of the opening; and the prompt (the question
similarity embeds too, so it costs no extra encoding): its embedding, its cosine to the completion and the
opening, and its element-wise product with the opening, zero with an indicator when the record has none
(rejecting a premise is a refusal only when the question asked for something). A head may read the
prompt as a few scalars instead (blocks `cosines,harm`). It was fitted on XSTest completions of two
models and on refusals and hard negatives the team wrote in Bedrock families' styles,
embedded by both MiniLM runtimes (int8 ONNX and torch: one head serves both), then Platt-calibrated on
leave-one-model-out scores: the score is a probability, and the mean of `otel_llm.refusal` estimates the
refusal rate. Every training row is seen with its prompt and without it (prompt dropout), so records
without a prompt are scored too. `refused` is that probability at or above 0.5 (the head's stored
threshold). The score does not depend on the model family. Other embedding backends (Titan, lexical)
cannot feed MiniLM's head: they use a head on the opening's n-grams and the fuzzy scores alone, computed
here. `docs/metrics/refusal.md` gives the measured figures.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from ... import _instruments as names
from ..._backends.lexical import LexicalEmbeddings
from ..._config import Settings
from ..._failures import report_failure
from ..._weights import LinearHead
from ...record import Evaluation, Scores
from .base import Batch, Evaluator, text_of
from .phrases import PhraseSets, family_of, load_user_phrases, phrases_for, shipped_phrases
from .similarity import question_of

SOURCE_CLASSIFIER = "classifier"
SOURCE_PHRASE = "phrase"  # the completion opens with one of the user's own refusal phrases
OPENING_SENTENCES = 2
OPENING_CHARS = 300
FUZZY_CHARS = 200
USER_PHRASE_MATCH = 90  # rapidfuzz partial_ratio of a user phrase within the opening that counts as a match
MINILM_KIND, LEXICAL_KIND = "minilm-embedding+phrases", "lexical+fuzzy"
# A MiniLM head that also reads the prompt names its prompt blocks after this marker, e.g.
# "minilm-embedding+phrases+prompt:vector,cosines": see `prompt_features`.
PROMPT_MARK = "+prompt:"
PROMPT_BLOCKS = ("vector", "cosines", "product", "harm")
# Requests a careful assistant declines and ordinary ones: the `harm` block's anchors.
ASKS_DIR = Path(__file__).resolve().parent / "refusal_asks"
# The head per embedding backend; any other backend (e.g. Titan) uses the lexical head, whose features
# are computed here and do not depend on the backend's embeddings.
MODEL_FOR_BACKEND = {"local": "refusal-minilm"}
FALLBACK_MODEL = "refusal-lexical"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LEXICAL = LexicalEmbeddings()


@dataclass(frozen=True, slots=True)
class RefusalResult:
    score: float  # [0, 1]
    refused: bool
    source: str


def opening(text: str) -> str:
    """The first sentences of a completion, where a refusal usually is."""
    sentences = _SENTENCE_END.split(text.strip(), maxsplit=OPENING_SENTENCES)
    return " ".join(sentences[:OPENING_SENTENCES])[:OPENING_CHARS]


def _start(text: str) -> str:
    return text.strip()[:FUZZY_CHARS].lower()


def fuzzy_features(completions: Sequence[str], phrases: Sequence[str]) -> np.ndarray:
    """(n, 2): best partial_ratio and token_set_ratio of each completion's start vs the phrases, in [0, 1]."""
    starts = [_start(c) for c in completions]
    lowered = [p.lower() for p in phrases]
    partial = process.cdist(starts, lowered, scorer=fuzz.partial_ratio, dtype=np.float32)
    token_set = process.cdist(starts, lowered, scorer=fuzz.token_set_ratio, dtype=np.float32)
    return np.column_stack([partial.max(axis=1), token_set.max(axis=1)]) / 100.0


def lexical_opening(completions: Sequence[str]) -> np.ndarray:
    """(n, 2048): hashed word and character n-grams of each completion's opening (numpy, in process)."""
    return _LEXICAL.embed([opening(c) for c in completions])


def minilm_features(completion_vectors: np.ndarray, opening_vectors: np.ndarray, phrase_vectors: np.ndarray,
                    fuzzy: np.ndarray, lexical: np.ndarray) -> np.ndarray:
    """(n, 2 x 384 + 4 + 2048): both embeddings, their highest cosine to a phrase, the fuzzy scores and
    the opening's n-grams."""
    # einsum, not `@`: a product this small is slower on BLAS's worker threads than on this one
    cosines = np.column_stack([np.einsum("ij,kj->ik", completion_vectors, phrase_vectors).max(axis=1),
                               np.einsum("ij,kj->ik", opening_vectors, phrase_vectors).max(axis=1)])
    return np.hstack([completion_vectors, opening_vectors, cosines, fuzzy, lexical])


def prompt_blocks(kind: str) -> tuple[str, ...]:
    """The prompt blocks a head of feature kind `kind` reads (none for a head without the prompt)."""
    _, mark, blocks = kind.partition(PROMPT_MARK)
    named = tuple(b for b in blocks.split(",") if b) if mark else ()
    if any(b not in PROMPT_BLOCKS for b in named):
        raise ValueError(f"unknown prompt block in refusal head kind {kind!r}")
    return named


def uses_minilm(kind: str) -> bool:
    return kind.partition(PROMPT_MARK)[0] == MINILM_KIND


def anchor_asks() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(harmful, benign) anchor requests of the `harm` block."""
    def read(name: str) -> tuple[str, ...]:
        lines = (line.strip() for line in (ASKS_DIR / name).read_text(encoding="utf-8").splitlines())
        return tuple(line for line in lines if line and not line.startswith("#"))

    return read("harmful.txt"), read("benign.txt")


@dataclass(frozen=True, slots=True)
class Anchors:
    """Embeddings the `harm` block compares with: the anchor requests and the shipped refusal phrases."""

    harmful: np.ndarray
    benign: np.ndarray
    phrases: np.ndarray


def prompt_features(prompt_vectors: np.ndarray, present: np.ndarray, completion_vectors: np.ndarray,
                    opening_vectors: np.ndarray, blocks: Sequence[str],
                    anchors: Anchors | None = None) -> np.ndarray:
    """The prompt's part of the features: an indicator that there is a prompt, then per block `vector`
    (its embedding), `cosines` (its cosine to the completion and to the opening: does the reply address
    it), `product` (its element-wise product with the opening) and `harm` (its highest cosine to harmful
    and to benign anchor requests, and each times the opening's highest cosine to a refusal phrase: a few
    scalars, so a prompt's identity, and how one model answered it, cannot be learnt). Zero where there
    is no prompt."""
    prompts = prompt_vectors * present[:, None]
    parts = [present[:, None].astype(np.float64)]
    for block in blocks:
        if block == "vector":
            parts.append(prompts)
        elif block == "cosines":
            parts.append(np.column_stack([np.sum(prompts * completion_vectors, axis=1),
                                          np.sum(prompts * opening_vectors, axis=1)]))
        elif block == "product":
            parts.append(prompts * opening_vectors)
        else:
            if anchors is None:
                raise ValueError("the harm block needs the anchors' embeddings")
            harmful = np.einsum("ij,kj->ik", prompts, anchors.harmful).max(axis=1)
            benign = np.einsum("ij,kj->ik", prompts, anchors.benign).max(axis=1)
            cue = np.einsum("ij,kj->ik", opening_vectors, anchors.phrases).max(axis=1)
            parts.append(np.column_stack([harmful, benign, harmful * cue, benign * cue]))
    return np.hstack(parts)


def lexical_features(completions: Sequence[str], fuzzy: np.ndarray) -> np.ndarray:
    """(n, 2048 + 2): the opening's n-grams and the fuzzy scores."""
    return np.hstack([lexical_opening(completions), fuzzy])


def asked(call) -> str:
    """The question the completion answers (as similarity embeds it); "" when the record's prompt is bad:
    the completion is then judged as if there were no prompt."""
    try:
        return question_of(call)
    except TypeError:
        return ""


def user_phrase_matches(completions: Sequence[str], phrases: Sequence[str]) -> np.ndarray:
    """(n,) bool: the completion's start contains (fuzzily) one of `phrases`."""
    if not phrases or not completions:
        return np.zeros(len(completions), dtype=bool)
    starts = [_start(c) for c in completions]
    lowered = [p.lower() for p in phrases]
    scores = process.cdist(starts, lowered, scorer=fuzz.partial_ratio, dtype=np.float32)
    fits = np.array([[len(p) <= len(s) for p in lowered] for s in starts])  # a phrase inside the text
    return np.any((scores >= USER_PHRASE_MATCH) & fits, axis=1)


class RefusalEvaluator(Evaluator):
    """Refusal probability in [0, 1] (1.0 for an exact signal or a user phrase) and the decision."""

    name = "refusal"
    description = "Calibrated probability that the completion is a refusal; its mean is the refusal ratio."

    @classmethod
    def from_settings(cls, settings: Settings) -> RefusalEvaluator:
        return cls(settings.refusal_phrases_file, settings.refusal_threshold)

    @classmethod
    def evaluation(cls, scores: Scores) -> Evaluation | None:
        score = scores.refusal
        if score is None:
            return None
        refused = scores.refused
        label = None if refused is None else "refused" if refused else "not_refused"
        return Evaluation(names.unit_interval(score), float(score), label)

    def __init__(self, phrases_file: str | None = None, threshold: float | None = None,
                 user_phrases: PhraseSets | None = None) -> None:
        if user_phrases is None:
            try:
                user_phrases = load_user_phrases(phrases_file)
            except (OSError, ValueError) as exc:  # a bad user file must not stop the metrics
                report_failure("refusal_phrases", exc)
                user_phrases = {}
        self.user_phrases = user_phrases
        self.phrases = shipped_phrases()
        self.threshold_override = threshold
        self._models: dict[str, LinearHead] = {}
        self._phrase_vectors: np.ndarray | None = None
        self._anchors: Anchors | None = None
        self._lock = threading.Lock()

    def model_for(self, backend_name: str) -> LinearHead:
        name = MODEL_FOR_BACKEND.get(backend_name, FALLBACK_MODEL)
        with self._lock:
            if name not in self._models:
                self._models[name] = LinearHead.load(name)
            return self._models[name]

    def uses_embeddings(self, batch: Batch) -> bool:
        return uses_minilm(self.model_for(batch.backends.embeddings.name).features)

    def reads_prompt(self, batch: Batch) -> bool:
        return bool(prompt_blocks(self.model_for(batch.backends.embeddings.name).features))

    def is_free(self, call) -> bool:
        return bool(getattr(call, "refusal_signal", None))

    def texts_to_embed(self, call, batch: Batch) -> Iterable[str]:
        completion = text_of(call.completion)
        if call.refusal_signal or not completion.strip() or not self.uses_embeddings(batch):
            return ()
        texts = (completion, opening(completion))
        question = asked(call) if self.reads_prompt(batch) else ""
        # the question is the text similarity embeds too: the shared embed call embeds it once
        return (*texts, question) if question.strip() else texts

    def evaluate(self, batch: Batch) -> list[RefusalResult | None]:
        results: list[RefusalResult | None] = [None] * len(batch.calls)
        judged = [i for i, call in enumerate(batch.calls)
                  if not call.refusal_signal and text_of(call.completion).strip()]
        for i, call in enumerate(batch.calls):
            if call.refusal_signal:
                results[i] = RefusalResult(1.0, True, str(call.refusal_signal))
        if not judged:
            return results
        completions = [text_of(batch.calls[i].completion) for i in judged]
        scores = self.probabilities(completions, batch, [asked(batch.calls[i]) for i in judged])
        threshold = self.threshold(batch.backends.embeddings.name)
        matched = self.user_matches(judged, completions, batch)
        for i, score, user in zip(judged, scores, matched, strict=True):
            results[i] = (RefusalResult(1.0, True, SOURCE_PHRASE) if user
                          else RefusalResult(float(score), bool(score >= threshold), SOURCE_CLASSIFIER))
        return results

    def user_matches(self, judged: Sequence[int], completions: Sequence[str], batch: Batch) -> np.ndarray:
        """Which completions open with one of the user's phrases for their call's family (or for all)."""
        matched = np.zeros(len(judged), dtype=bool)
        if not self.user_phrases:
            return matched
        by_family: dict[str, list[int]] = {}
        for k, i in enumerate(judged):
            by_family.setdefault(family_of(batch.calls[i]), []).append(k)
        for family, ks in by_family.items():
            matched[ks] = user_phrase_matches([completions[k] for k in ks],
                                              phrases_for(self.user_phrases, family))
        return matched

    def probabilities(self, completions: Sequence[str], batch: Batch,
                      prompts: Sequence[str] = ()) -> np.ndarray:
        """The head's calibrated refusal probability for each completion (given its call's question, or
        none: a head that reads the prompt scores prompt-less completions too)."""
        model = self.model_for(batch.backends.embeddings.name)
        fuzzy = fuzzy_features(completions, self.phrases)
        if uses_minilm(model.features):
            n = len(completions)
            blocks = prompt_blocks(model.features)
            asked = (list(prompts) or [""] * n) if blocks else []
            vectors = batch.embed([*completions, *(opening(c) for c in completions),
                                   *(p for p in asked if p.strip())])
            features = minilm_features(vectors[:n], vectors[n:2 * n], self.phrase_embeddings(batch), fuzzy,
                                       lexical_opening(completions))
            if blocks:
                present = np.array([bool(p.strip()) for p in asked])
                prompt_vectors = np.zeros_like(vectors[:n])
                prompt_vectors[present] = vectors[2 * n:]
                anchors = self.anchors(batch) if "harm" in blocks else None
                features = np.hstack([features, prompt_features(prompt_vectors, present, vectors[:n],
                                                                vectors[n:2 * n], blocks, anchors)])
        else:
            features = lexical_features(completions, fuzzy)
        return model.probabilities(features)[:, 0]

    def phrase_embeddings(self, batch: Batch) -> np.ndarray:
        """Embeddings of the shipped phrases, computed once."""
        vectors = self._phrase_vectors
        if vectors is None:
            vectors = batch.embed(self.phrases)
            with self._lock:
                self._phrase_vectors = vectors
        return vectors

    def anchors(self, batch: Batch) -> Anchors:
        """The `harm` block's anchors (the anchor requests embedded once, with the shipped phrases')."""
        anchors = self._anchors
        if anchors is None:
            harmful, benign = anchor_asks()
            vectors = batch.embed([*harmful, *benign])
            anchors = Anchors(vectors[:len(harmful)], vectors[len(harmful):], self.phrase_embeddings(batch))
            with self._lock:
                self._anchors = anchors
        return anchors

    def threshold(self, backend_name: str) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return float(self.model_for(backend_name).thresholds[0])

    def apply(self, result: RefusalResult, scores) -> None:
        scores.refusal = result.score
        scores.refused = result.refused
        scores.refusal_source = result.source
