"""Titan Text Embeddings v2 options of the `aws` backend (dimensions, normalisation) as they reach the wire,
over real boto3 against the local Bedrock emulator."""

from __future__ import annotations

import numpy as np
import pytest

from otel_llm._backends.aws import TitanEmbeddings
from otel_llm._config import Settings
from otel_llm.testing import BedrockEmulator


@pytest.fixture
def emulator(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with BedrockEmulator(port=0) as emu:
        yield emu


def _settings(emulator, **overrides) -> Settings:
    return Settings(backend="aws", aws_region="us-east-1", bedrock_endpoint_url=emulator.endpoint_url,
                    backend_timeout_s=10.0, **overrides)  # a whole call's budget: generous under load


@pytest.mark.parametrize("normalize", [True, False])
def test_titan_normalisation_is_a_setting_and_vectors_stay_unit_length(emulator, normalize):
    vectors = TitanEmbeddings(_settings(emulator, embedding_dimensions=1024, embedding_normalize=normalize),
                              threads=1).embed(["The cat sat on the mat."])
    assert vectors.shape == (1, 1024)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # cosine needs unit rows either way
    [request] = [r for r in emulator.requests if r.operation == "InvokeModel"]
    assert request.body["normalize"] is normalize and request.body["dimensions"] == 1024


def test_titan_normalisation_from_the_environment(monkeypatch):
    monkeypatch.setenv("OTEL_LLM_EMBEDDING_NORMALIZE", "false")
    assert Settings.from_env().embedding_normalize is False
