"""Fixtures of the evaluator tests: one real local model per session, behind a counting subclass."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from otel_llm.backends import Backends
from otel_llm.backends.local import LocalEmbeddings, LocalSentiment, LocalToxicity
from otel_llm.config import Settings
from otel_llm.scoring import Scorer


class CountingEmbeddings(LocalEmbeddings):
    """The real MiniLM backend, counting how often it is asked to embed and which texts."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return super().embed(texts)

    def reset(self) -> None:
        self.calls, self.texts = 0, []


@pytest.fixture(scope="session")
def counting_embeddings() -> CountingEmbeddings:
    return CountingEmbeddings()


@pytest.fixture(scope="session")
def local_backends(counting_embeddings) -> Backends:
    return Backends(
        counting_embeddings, LocalSentiment(counting_embeddings), LocalToxicity(counting_embeddings), "local"
    )


@pytest.fixture
def make_scorer(local_backends, counting_embeddings):
    """A fresh Scorer (empty cache) over the shared local model: `extra` evaluators, keyword settings."""

    def make(extra=None, **settings) -> Scorer:
        counting_embeddings.reset()
        return Scorer(Settings(backend="local", **settings), backends=local_backends, evaluators=extra)

    return make


@pytest.fixture(scope="session")
def scorer(local_backends) -> Scorer:
    """One default-settings Scorer shared by the tests that only read scores."""
    return Scorer(Settings(backend="local"), backends=local_backends)
