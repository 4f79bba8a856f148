"""Install and removal: clients made before and after, uninstrument, instrumenting twice, other services,
suppressed instrumentation, and the request and response bodies the user keeps."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.response import StreamingBody
from opentelemetry import trace
from opentelemetry.instrumentation.utils import (
    is_http_instrumentation_enabled,
    is_instrumentation_enabled,
    suppress_instrumentation,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_llm._instrumentation import wrappers
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.testing import Reply

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
ORIGINAL = BaseClient.__dict__["_make_api_call"]


def _converse(client: Any) -> Any:
    return client.converse(modelId=MODEL, messages=MESSAGES)


def test_instr_clients_made_before_and_after_instrument_are_traced(harness: Any) -> None:
    before = harness.emulator.client()
    harness.instrument()
    after = harness.emulator.client()

    _converse(before)
    _converse(after)

    assert len(harness.genai_spans()) == 2


def test_instr_uninstrument_restores_botocore(harness: Any) -> None:
    client = harness.emulator.client()
    harness.instrument()
    _converse(client)
    BedrockInstrumentor().uninstrument()

    assert BaseClient.__dict__["_make_api_call"] is ORIGINAL
    _converse(client)
    assert len(harness.genai_spans()) == 1


def test_instr_instrumenting_twice_traces_each_call_once(harness: Any) -> None:
    harness.instrument()
    harness.instrument()
    _converse(harness.emulator.client())

    assert len(harness.genai_spans()) == 1
    assert harness.points("gen_ai.client.operation.duration")[0].count == 1
    BedrockInstrumentor().uninstrument()
    assert BaseClient.__dict__["_make_api_call"] is ORIGINAL


def test_instr_other_services_are_left_alone(instrumented: Any) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        import boto3

        s3 = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                   region_name="us-east-1").client("s3", endpoint_url=f"http://{host}:{port}")
        s3.create_bucket(Bucket="otel-llm-untouched")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["otel-llm-untouched"]
    finally:
        server.stop()
    assert instrumented.finished() == []


def test_instr_suppressed_calls_are_not_traced_nor_scored(instrumented: Any) -> None:
    client = instrumented.emulator.client()
    with suppress_instrumentation():
        _converse(client)
        client.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "x"}))
    assert instrumented.finished() == []
    assert instrumented.records() == []
    assert instrumented.points("gen_ai.client.operation.duration") == []


@pytest.mark.parametrize("make_body", [
    lambda text: text,
    lambda text: text.encode(),
    lambda text: io.BytesIO(text.encode()),
], ids=["str", "bytes", "file"])
def test_instr_request_body_is_read_without_being_consumed(instrumented: Any, make_body: Any) -> None:
    text = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                       "messages": [{"role": "user", "content": "What is in the body?"}]})
    body = make_body(text)

    instrumented.emulator.client().invoke_model(modelId=MODEL, body=body)

    [request] = instrumented.emulator.requests
    assert request.body == json.loads(text)  # the server got the whole body
    assert "What is in the body?" in instrumented.records()[0].prompt


def test_instr_response_body_is_an_equivalent_fresh_streaming_body(instrumented: Any) -> None:
    instrumented.emulator.enqueue(Reply(text="Fresh body."))
    response = instrumented.emulator.client().invoke_model(
        modelId=MODEL, body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                                        "messages": [{"role": "user", "content": "hi"}]}))

    body = response["body"]
    assert isinstance(body, StreamingBody)
    first = body.read(5)
    rest = body.read()
    data = first + rest
    assert len(data) == int(response["ResponseMetadata"]["HTTPHeaders"]["content-length"])
    assert json.loads(data)["content"][0]["text"] == "Fresh body."
    assert instrumented.records()[0].completion == "Fresh body."


def test_instr_instrument_attaches_the_quality_processor(harness: Any) -> None:
    # Providers of its own: the harness's record collector would take the records first.
    tracer_provider = TracerProvider()
    reader = InMemoryMetricReader()
    BedrockInstrumentor().instrument(tracer_provider=tracer_provider,
                                     meter_provider=MeterProvider(metric_readers=[reader]), backend="lexical")
    harness.emulator.enqueue(Reply(text="Paris is the capital of France."))
    client = harness.emulator.client()
    client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "Capital of France?"}]}])

    assert tracer_provider.force_flush(10_000)
    metrics = {m.name: m for rm in reader.get_metrics_data().resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics}
    # the processor scored the call into the meter provider given to instrument()
    quality = {"otel_llm.similarity", "otel_llm.sentiment", "otel_llm.toxicity", "otel_llm.refusal"}
    assert quality <= set(metrics)
    [records] = metrics["otel_llm.records"].data.data_points
    assert records.attributes["otel_llm.outcome"] == "scored" and records.value == 1
    tracer_provider.shutdown()  # stops the processor's worker


def test_instr_settings_by_keyword_win_and_typos_are_named(harness: Any, caplog: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_llm._config import Settings

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    harness.instrument(settings=Settings(capture_content=False), max_content_chars=10, capture_contnet=True)
    client = harness.emulator.client()
    client.converse(modelId=MODEL, messages=MESSAGES)

    [span] = harness.genai_spans()
    assert "gen_ai.input.messages" not in span.attributes  # the explicit settings, not the environment
    assert len(harness.records()[0].completion) <= 10
    assert "capture_contnet" in caplog.text


def test_instr_huge_response_bodies_are_returned_unparsed_with_header_tokens(instrumented: Any) -> None:
    from otel_llm._instrumentation.calls import MAX_PARSED_RESPONSE_BYTES

    text = "word " * (MAX_PARSED_RESPONSE_BYTES // 5 + 10)
    instrumented.emulator.enqueue(Reply(text=text, input_tokens=5, output_tokens=7))
    response = instrumented.emulator.client().invoke_model(
        modelId=MODEL, body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                                        "messages": [{"role": "user", "content": "Say a lot."}]}))

    assert json.loads(response["body"].read())["content"][0]["text"] == text  # the user loses nothing
    [span] = instrumented.genai_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == 7
    assert instrumented.records()[0].completion == ""  # not decoded on the caller's thread


@pytest.mark.parametrize("private_key", [True, False], ids=["one-attach", "api-without-the-key"])
def test_instr_the_http_send_runs_under_our_span_without_http_instrumentation(
        instrumented: Any, monkeypatch: pytest.MonkeyPatch, private_key: bool) -> None:
    if not private_key:  # an opentelemetry-api without the private key: the public context manager
        monkeypatch.setattr(wrappers, "SUPPRESS_HTTP_KEY", None)

    seen: list[tuple[bool, bool, Any]] = []
    client = instrumented.emulator.client()
    client.meta.events.register("before-send.bedrock-runtime.*", lambda **_: seen.append(
        (is_http_instrumentation_enabled(), is_instrumentation_enabled(), trace.get_current_span())))

    _converse(client)

    [(http_enabled, enabled, current)] = seen
    [span] = instrumented.genai_spans()
    assert (http_enabled, enabled) == (False, True)
    assert current.get_span_context().span_id == span.context.span_id
    assert is_http_instrumentation_enabled()  # restored after the call


def _whole(body: Any) -> Any:
    return [body.read()]


def _parts(body: Any) -> Any:
    return [body.read(3), body.read(0), body.read(10), body.read(), body.read()]


def _chunks(body: Any) -> Any:
    return list(body.iter_chunks(7))


def _lines(body: Any) -> Any:
    return list(body.iter_lines(chunk_size=5, keepends=True))


def _managed(body: Any) -> Any:
    with body as inner:  # botocore hands out its raw stream here
        return [inner.read(4), inner.read()]


@pytest.mark.parametrize("pattern", [_whole, _parts, _chunks, _lines, _managed])
def test_instr_the_response_body_reads_as_an_uninstrumented_one(harness: Any, pattern: Any) -> None:
    text = "Line one. Line two, a little longer. Last."
    request = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                          "messages": [{"role": "user", "content": "hi"}]})
    results = []
    for instrument in (False, True):
        if instrument:
            harness.instrument()
        harness.emulator.enqueue(Reply(text=text))
        response = harness.emulator.client().invoke_model(modelId=MODEL, body=request)
        body = response["body"]
        pieces = pattern(body)  # compared by size, and whole with the message id (random) masked
        whole = re.sub(rb"msg_bdrk_[0-9a-f]+", b"id", b"".join(pieces))
        results.append((type(body), [len(p) for p in pieces], whole))
        if pattern is not _managed:  # after the context manager the stream is closed
            assert body.read() == b""
    assert results[0] == results[1]
    assert harness.records()[0].completion == text
