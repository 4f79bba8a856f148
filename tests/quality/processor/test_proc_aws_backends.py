"""The `aws` backend over HTTP: Titan embeddings against the Bedrock emulator, Comprehend against the local
Comprehend server; limits, splitting, throttling, timeouts, and suppression of our own calls."""

from __future__ import annotations

import numpy as np
import pytest
from botocore.exceptions import ClientError
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

from otel_llm._backends import Backends
from otel_llm._backends.aws import (
    MAX_ATTEMPTS,
    ComprehendSentiment,
    ComprehendToxicity,
    TitanEmbeddings,
    make_aws_backends,
    split_text,
)
from otel_llm._config import Settings
from otel_llm.testing import BedrockEmulator
from otel_llm.testing.comprehend import ComprehendServer


@pytest.fixture
def emulator():
    with BedrockEmulator(port=0) as emu:
        yield emu


@pytest.fixture
def comprehend():
    with ComprehendServer() as server:
        yield server


@pytest.fixture
def aws_settings(aws_env, emulator, comprehend) -> Settings:
    return Settings(backend="aws", aws_region="us-east-1", bedrock_endpoint_url=emulator.endpoint_url,
                    comprehend_endpoint_url=comprehend.endpoint_url, embedding_dimensions=256,
                    backend_timeout_s=2.0)


# --- splitting -------------------------------------------------------------------------------------
def test_split_text_cuts_multibyte_text_on_utf8_boundaries_within_the_byte_limit():
    text = "naïve café résumé 東京 😀 " * 120  # ~3.6 KB of 1-, 2-, 3- and 4-byte characters
    parts = split_text(text, 1024, 10)
    assert "".join(parts) == text  # nothing lost, nothing duplicated, no character cut in half
    assert all(0 < len(p.encode("utf-8")) <= 1024 for p in parts)
    assert len(parts) >= 4
    assert all(p.endswith(" ") for p in parts[:-1])  # cut at spaces where one is near


def test_split_text_without_spaces_and_past_the_part_limit():
    text = "😀" * 1000  # 4000 bytes, no space to cut at
    parts = split_text(text, 1024, 10)
    assert [len(p.encode()) for p in parts] == [1024, 1024, 1024, 928]
    assert split_text(text, 1024, 2) == parts[:2]  # past the limit the rest is left out
    assert split_text("abc def", 500, 8, unit="chars") == ["abc def"]
    assert split_text("   ", 500, 8) == []


# --- Titan embeddings ----------------------------------------------------------------------------
def test_titan_embeddings_over_http(aws_settings, emulator):
    embeddings = TitanEmbeddings(aws_settings)
    texts = ["The cat sat on the mat.", "A cat was sitting on a mat.", "Quarterly revenue grew 4%.", ""]
    vectors = embeddings.embed(texts)
    assert vectors.shape == (4, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()  # an empty text is not sent (Titan rejects it)
    assert np.allclose(embeddings.embed(texts[:1]), vectors[:1])  # deterministic
    calls = [r for r in emulator.requests if r.operation == "InvokeModel"]
    assert len(calls) == 4  # one text per call; the second embed() re-sends the first text
    assert all(r.model_id == "amazon.titan-embed-text-v2:0" for r in calls)
    assert all(r.body["dimensions"] == 256 and r.body["normalize"] is True for r in calls)


def test_titan_retries_throttling_then_succeeds(aws_settings, emulator):
    from otel_llm.testing import Reply

    emulator.enqueue(Reply(error="ThrottlingException"))
    vectors = TitanEmbeddings(aws_settings, threads=1).embed(["hello"])
    assert vectors.shape == (1, 256)
    assert len(emulator.requests) == 2


def test_backend_calls_are_invisible_to_instrumentation(aws_settings, emulator, comprehend, tracer_provider,
                                                        spans):
    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        backends = make_aws_backends(aws_settings)
        backends.embeddings.embed(["one", "two"])
        backends.sentiment.sentiment(["fine"])
        backends.toxicity.toxicity(["fine"])
        assert spans.get_finished_spans() == ()
        # The same client code outside the backend is traced: the suppression is what hid the calls above.
        emulator.client().invoke_model(modelId="amazon.titan-embed-text-v2:0", body=b'{"inputText": "x"}')
        assert len(spans.get_finished_spans()) == 1
    finally:
        instrumentor.uninstrument()


def test_clients_are_bounded_in_time_and_retries(aws_settings):
    backends = make_aws_backends(aws_settings)
    assert isinstance(backends, Backends) and backends.name == "aws"
    for backend in (backends.embeddings, backends.sentiment, backends.toxicity):
        config = backend._client.get().meta.config
        assert (config.connect_timeout, config.read_timeout) == (2.0, 2.0)
        assert config.retries["total_max_attempts"] == MAX_ATTEMPTS


# --- Comprehend sentiment -------------------------------------------------------------------------
def test_sentiment_batches_25_documents_per_request(aws_settings, comprehend):
    texts = ["I love this, it is great."] * 20 + ["This is terrible and bad."] * 10 + ["", "The sky is blue."]
    results = ComprehendSentiment(aws_settings).sentiment(texts)
    assert [len(r.body["TextList"]) for r in comprehend.requests] == [25, 6]  # the empty text is not sent
    assert all(r.label == "positive" and r.score > 0.5 for r in results[:20])
    assert all(r.label == "negative" and r.score < -0.5 for r in results[20:30])
    assert results[30].score == 0.0 and results[30].label == "neutral"
    assert results[31].label == "neutral"


def test_long_text_is_chunked_so_more_than_the_first_500_characters_count(aws_settings, comprehend):
    opening = "The weather report says it will be cloudy with light winds today. " * 8  # neutral, >500 chars
    verdict = "This answer is terrible, awful and useless. " * 4
    [result] = ComprehendSentiment(aws_settings).sentiment([opening + verdict])
    sent = comprehend.requests[0].body["TextList"]
    assert len(sent) > 1 and all(len(chunk) <= 500 for chunk in sent)
    assert result.score < 0  # Comprehend alone would have read only the neutral opening


def test_sentiment_throttling_is_retried_a_bounded_number_of_times(aws_settings, comprehend):
    sentiment = ComprehendSentiment(aws_settings)
    comprehend.throttle(2)
    assert sentiment.sentiment(["great"])[0].label == "positive"
    assert len(comprehend.requests) == 3
    comprehend.reset()
    comprehend.throttle(100, code="TooManyRequestsException")
    with pytest.raises(ClientError) as caught:
        sentiment.sentiment(["great"])
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert len(comprehend.requests) == MAX_ATTEMPTS


# --- Comprehend toxicity --------------------------------------------------------------------------
def test_toxicity_splits_multibyte_text_over_1kb_and_takes_the_worst_segment(aws_settings, comprehend):
    long_text = "Ceci est un résumé très détaillé du café. " * 60 + "You are an idiot."  # 2.6 KB, insult last
    results = ComprehendToxicity(aws_settings).toxicity([long_text, "Have a nice day."])
    [request] = comprehend.requests
    segments = [s["Text"] for s in request.body["TextSegments"]]
    assert len(segments) > 2
    assert all(len(s.encode("utf-8")) <= 1024 for s in segments)
    assert "".join(segments[:-1]) == long_text and segments[-1] == "Have a nice day."
    assert results[0].score == pytest.approx(0.9)
    assert results[0].categories == ("insult",)
    assert results[1].score < 0.1 and results[1].categories == ()


def test_toxicity_packs_at_most_10_segments_per_request(aws_settings, comprehend):
    texts = [f"Message number {i} is polite." for i in range(23)] + ["I will hurt you, damn it"]
    results = ComprehendToxicity(aws_settings).toxicity(texts)
    assert [len(r.body["TextSegments"]) for r in comprehend.requests] == [10, 10, 4]
    assert all(r.body["LanguageCode"] == "en" for r in comprehend.requests)
    assert results[-1].categories == ("profanity", "violence_or_threat")
    assert max(r.score for r in results[:-1]) < 0.1
