"""The three backend interfaces the evaluators use (embeddings, sentiment, toxicity) and `Backends`, the set
of the three one scorer uses."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


def well_formed(text: str) -> str:
    """`text` as valid Unicode: surrogate pairs split across code points are joined, and a lone surrogate
    (a bad JSON escape such as `\\ud800`, or invalid UTF-8 bytes decoded with `surrogateescape`) becomes
    U+FFFD. Valid text comes back unchanged (the same object): a bad text costs only its bad characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def well_formed_all(texts: Sequence[str]) -> list[str]:
    return [well_formed(t) for t in texts]


@dataclass(frozen=True, slots=True)
class SentimentResult:
    score: float  # [-1, 1]: positive minus negative
    label: str  # "positive" | "negative" | "neutral" | "mixed"


@dataclass(frozen=True, slots=True)
class ToxicityResult:
    score: float  # [0, 1]: the highest category
    categories: tuple[str, ...] = ()  # categories above their threshold


@runtime_checkable
class EmbeddingBackend(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


@runtime_checkable
class SentimentBackend(Protocol):
    name: str

    def sentiment(self, texts: Sequence[str]) -> list[SentimentResult]: ...


@runtime_checkable
class ToxicityBackend(Protocol):
    name: str

    def toxicity(self, texts: Sequence[str]) -> list[ToxicityResult]: ...


@dataclass(frozen=True)
class Backends:
    """The three providers the evaluators use, and the name recorded on metrics (`otel_llm.backend`)."""

    embeddings: EmbeddingBackend
    sentiment: SentimentBackend
    toxicity: ToxicityBackend
    name: str

    def with_embeddings(self, embeddings: EmbeddingBackend) -> Backends:
        """The same backends over `embeddings` (e.g. a caching wrapper), so heads built on the old embeddings
        share the new one and a completion is embedded once for every evaluator."""

        def rebind(backend):
            if getattr(backend, "embeddings", None) is self.embeddings:
                backend = copy.copy(backend)
                backend.embeddings = embeddings
            return backend

        return Backends(embeddings, rebind(self.sentiment), rebind(self.toxicity), self.name)
