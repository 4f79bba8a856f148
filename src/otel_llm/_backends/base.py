"""The three backend interfaces the evaluators use: embeddings, sentiment, toxicity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


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
