"""Refusal: exact signals first (guardrail, content filter, the model's own refusal stop reason), else a
small logistic model over phrase evidence, trained by `scripts/train_refusal.py` on XSTest completions.

Evidence for one completion, against the refusal phrases of the monitored model's family:
the highest cosine of the completion's embedding to a phrase, the same for its opening sentences
(refusals open the answer), and two fuzzy-match scores (rapidfuzz) of the opening against the phrases.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from ... import _instruments as names
from ..._config import Settings
from ..._failures import report_failure
from ..._weights import LinearHead
from ...record import Evaluation, Scores
from .base import Batch, Evaluator, text_of
from .phrases import PhraseSets, family_of, load_phrase_sets, phrases_for

SOURCE_CLASSIFIER = "classifier"
OPENING_SENTENCES = 2
OPENING_CHARS = 300
FUZZY_CHARS = 200
EMBEDDING_FEATURES = ("cosine_completion", "cosine_opening", "fuzzy_partial", "fuzzy_token_set")
FUZZY_FEATURES = ("fuzzy_partial", "fuzzy_token_set")
# Trained combination per embedding backend; any other backend (e.g. Titan) uses the fuzzy-only model,
# whose features do not depend on the embeddings.
MODEL_FOR_BACKEND = {"local": "refusal-minilm"}
FUZZY_MODEL = "refusal-fuzzy"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class RefusalResult:
    score: float  # [0, 1]
    refused: bool
    source: str


def opening(text: str) -> str:
    """The first sentences of a completion, where a refusal usually is."""
    sentences = _SENTENCE_END.split(text.strip(), maxsplit=OPENING_SENTENCES)
    return " ".join(sentences[:OPENING_SENTENCES])[:OPENING_CHARS]


def fuzzy_features(completions: Sequence[str], phrases: Sequence[str]) -> np.ndarray:
    """(n, 2): best partial_ratio and token_set_ratio of each completion's start vs the phrases, in [0, 1]."""
    starts = [c.strip()[:FUZZY_CHARS].lower() for c in completions]
    lowered = [p.lower() for p in phrases]
    partial = process.cdist(starts, lowered, scorer=fuzz.partial_ratio, dtype=np.float32)
    token_set = process.cdist(starts, lowered, scorer=fuzz.token_set_ratio, dtype=np.float32)
    return np.column_stack([partial.max(axis=1), token_set.max(axis=1)]) / 100.0


def embedding_features(completion_vectors: np.ndarray, opening_vectors: np.ndarray,
                       phrase_vectors: np.ndarray) -> np.ndarray:
    """(n, 2): highest cosine of the completion, and of its opening, to any phrase."""
    return np.column_stack([(completion_vectors @ phrase_vectors.T).max(axis=1),
                            (opening_vectors @ phrase_vectors.T).max(axis=1)])


class RefusalEvaluator(Evaluator):
    """Refusal score in [0, 1] (the model's probability, or 1.0 for an exact signal) and the decision."""

    name = "refusal"
    description = "How close the completion is to a refusal; its mean is the refusal ratio."

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
                 phrase_sets: PhraseSets | None = None) -> None:
        if phrase_sets is None:
            try:
                phrase_sets = load_phrase_sets(phrases_file)
            except (OSError, ValueError) as exc:  # a bad user file must not stop the metrics
                report_failure("refusal_phrases", exc)
                phrase_sets = load_phrase_sets()
        self.phrase_sets = phrase_sets
        self.threshold_override = threshold
        self._models: dict[str, LinearHead] = {}
        self._phrase_vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def model_for(self, backend_name: str) -> LinearHead:
        name = MODEL_FOR_BACKEND.get(backend_name, FUZZY_MODEL)
        with self._lock:
            if name not in self._models:
                self._models[name] = LinearHead.load(name)
            return self._models[name]

    def uses_embeddings(self, batch: Batch) -> bool:
        return self.model_for(batch.backends.embeddings.name).features == "phrase-embedding+fuzzy"

    def is_free(self, call) -> bool:
        return bool(getattr(call, "refusal_signal", None))

    def texts_to_embed(self, call, batch: Batch) -> Iterable[str]:
        completion = text_of(call.completion)
        if call.refusal_signal or not completion.strip() or not self.uses_embeddings(batch):
            return ()
        return (completion, opening(completion))

    def evaluate(self, batch: Batch) -> list[RefusalResult | None]:
        results: list[RefusalResult | None] = [None] * len(batch.calls)
        by_family: dict[str, list[int]] = {}
        for i, call in enumerate(batch.calls):
            if call.refusal_signal:
                results[i] = RefusalResult(1.0, True, str(call.refusal_signal))
            elif text_of(call.completion).strip():
                by_family.setdefault(family_of(call), []).append(i)
        for family, indices in by_family.items():
            scores = self.probabilities([text_of(batch.calls[i].completion) for i in indices], family, batch)
            threshold = self.threshold(batch.backends.embeddings.name)
            for i, score in zip(indices, scores, strict=True):
                results[i] = RefusalResult(float(score), bool(score >= threshold), SOURCE_CLASSIFIER)
        return results

    def probabilities(self, completions: Sequence[str], family: str, batch: Batch) -> np.ndarray:
        """The model's refusal probability for each completion, judged against `family`'s phrases."""
        model = self.model_for(batch.backends.embeddings.name)
        phrases = phrases_for(self.phrase_sets, family)
        features = fuzzy_features(completions, phrases)
        if model.features == "phrase-embedding+fuzzy":
            vectors = batch.embed([*completions, *(opening(c) for c in completions)])
            n, phrase_vectors = len(completions), self.phrase_embeddings(family, batch)
            features = np.hstack([embedding_features(vectors[:n], vectors[n:], phrase_vectors), features])
        return model.probabilities(features)[:, 0]

    def phrase_embeddings(self, family: str, batch: Batch) -> np.ndarray:
        """Embeddings of `family`'s phrases, computed once."""
        vectors = self._phrase_vectors.get(family)
        if vectors is None:
            vectors = batch.embed(phrases_for(self.phrase_sets, family))
            with self._lock:
                self._phrase_vectors[family] = vectors
        return vectors

    def threshold(self, backend_name: str) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return float(self.model_for(backend_name).thresholds[0])

    def apply(self, result: RefusalResult, scores) -> None:
        scores.refusal = result.score
        scores.refused = result.refused
        scores.refusal_source = result.source
