"""make_backends: one setting picks the backend; nothing heavy is loaded until a text is scored."""

from __future__ import annotations

import pytest

from otel_llm._backends import Backends, make_backends
from otel_llm._backends.base import EmbeddingBackend, SentimentBackend, ToxicityBackend
from otel_llm._backends.lexical import LexicalEmbeddings, LexicalSentiment, LexicalToxicity
from otel_llm._backends.local import LocalEmbeddings, LocalSentiment, LocalToxicity, local_available
from otel_llm._config import Settings


def _check_protocols(backends: Backends) -> None:
    assert isinstance(backends.embeddings, EmbeddingBackend)
    assert isinstance(backends.sentiment, SentimentBackend)
    assert isinstance(backends.toxicity, ToxicityBackend)


def test_lexical_backend():
    backends = make_backends(Settings(backend="lexical"))
    assert backends.name == "lexical"
    assert isinstance(backends.embeddings, LexicalEmbeddings)
    assert isinstance(backends.sentiment, LexicalSentiment) and isinstance(backends.toxicity, LexicalToxicity)
    _check_protocols(backends)


def test_local_backend_shares_one_embedding_model_and_loads_lazily():
    backends = make_backends(Settings(backend="local"))
    assert backends.name == "local"
    assert isinstance(backends.sentiment, LocalSentiment) and isinstance(backends.toxicity, LocalToxicity)
    assert backends.sentiment.embeddings is backends.embeddings is backends.toxicity.embeddings
    assert backends.embeddings.runtime in ("torch", "onnx-int8")  # OTEL_LLM_LOCAL_RUNTIME=auto: per CPU
    torch = make_backends(Settings(backend="local", local_runtime="torch")).embeddings
    assert isinstance(torch, LocalEmbeddings) and torch._model is None
    assert backends.embeddings.max_seq_length == 256
    assert make_backends(Settings(backend="local", local_max_tokens=128)).embeddings.max_seq_length == 128
    _check_protocols(backends)


def test_auto_picks_local_when_installed(caplog):
    with caplog.at_level("INFO", logger="otel_llm"):
        backends = make_backends(Settings(backend="auto"))
    assert backends.name == ("local" if local_available() else "lexical")
    assert f"backend auto -> {backends.name}" in caplog.text


def test_names_are_case_and_space_insensitive():
    assert make_backends(Settings(backend=" Lexical ")).name == "lexical"


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown otel-llm backend 'gpu'.*auto, local, lexical, aws"):
        make_backends(Settings(backend="gpu"))


def test_with_embeddings_rebinds_the_heads():
    backends = make_backends(Settings(backend="lexical"))

    class Wrapped:
        name = "wrapped"

        def embed(self, texts):
            return backends.embeddings.embed(texts)

    wrapped = Wrapped()
    rebound = backends.with_embeddings(wrapped)
    assert rebound.embeddings is wrapped
    assert rebound.sentiment.embeddings is wrapped and rebound.toxicity.embeddings is wrapped
    assert backends.sentiment.embeddings is backends.embeddings  # the original is untouched
    assert rebound.toxicity.toxicity(["hello"])[0] == backends.toxicity.toxicity(["hello"])[0]
