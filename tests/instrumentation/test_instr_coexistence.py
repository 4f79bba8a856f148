"""Side by side with `opentelemetry-instrumentation-botocore`, in every instrumentation and removal order:
while otel-llm is instrumented contrib skips bedrock-runtime, so every Bedrock call gets exactly what
otel-llm gives alone (one span that ends, exact tokens, TTFT, the record), streams read fully, left by
`break` or never read included; contrib keeps tracing every other service; each removal leaves the other
instrumentation working and contrib's own Bedrock extension back in place.

Run with the installed contrib here; `test_instr_contrib_versions.py` runs this file again under the
oldest contrib the dependency range admits."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor, extensions as contrib_extensions

from otel_llm._instrumentation.contrib_botocore import BOTOCORE_REGISTRIES, SERVICE
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.testing import Reply

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                   "messages": [{"role": "user", "content": "What is the capital of France?"}]})
LLAMA_BODY = json.dumps({"prompt": "What is the capital of France?", "max_gen_len": 50})
ORIGINAL = BaseClient.__dict__["_make_api_call"]
REGISTRY = next(getattr(contrib_extensions, n) for n in BOTOCORE_REGISTRIES if hasattr(contrib_extensions, n))
CONTRIB_ENTRY = REGISTRY.get(SERVICE)


@pytest.fixture
def contrib(harness: Any) -> Iterator[BotocoreInstrumentor]:
    instrumentor = BotocoreInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()
    BedrockInstrumentor().uninstrument()
    assert BaseClient.__dict__["_make_api_call"] is ORIGINAL
    assert REGISTRY.get(SERVICE) is CONTRIB_ENTRY


def _instrument_both(harness: Any, contrib: BotocoreInstrumentor, ours_first: bool) -> None:
    if ours_first:
        harness.instrument()
    contrib.instrument(tracer_provider=harness.tracer_provider, meter_provider=harness.meter_provider)
    if not ours_first:
        harness.instrument()


def _count(harness: Any, name: str) -> int:
    return sum(p.count for p in harness.points(name))


def _call(client: Any, operation: str, reading: str) -> None:
    """One call of `operation`; a stream is read fully, left after one event, or never read."""
    if operation == "converse":
        assert client.converse(modelId=MODEL, messages=MESSAGES)["output"]["message"]["content"][0]["text"]
        return
    if operation == "invoke":
        assert json.loads(client.invoke_model(modelId=MODEL, body=BODY)["body"].read())["content"]
        return
    if operation == "converse_stream":
        response = client.converse_stream(modelId=MODEL, messages=MESSAGES)
        stream = response["stream"]
    else:
        model, body = (LLAMA, LLAMA_BODY) if operation == "invoke_stream_llama" else (MODEL, BODY)
        response = client.invoke_model_with_response_stream(modelId=model, body=body)
        stream = response["body"]
    if reading == "full":
        assert len(list(stream)) >= 2
    elif reading == "break":
        for _ in stream:
            break
    del response, stream
    gc.collect()  # an abandoned stream ends its call when collected


STREAMS = ["converse_stream", "invoke_stream", "invoke_stream_llama"]
CASES = [(op, "full") for op in ["converse", "invoke", *STREAMS]] + \
        [(op, r) for op in STREAMS for r in ("break", "never")]


@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-first", "contrib-first"])
@pytest.mark.parametrize(("operation", "reading"), CASES)
def test_instr_with_contrib_bedrock_calls_get_exactly_ours(harness: Any, contrib: BotocoreInstrumentor,
                                                          ours_first: bool, operation: str,
                                                          reading: str) -> None:
    _instrument_both(harness, contrib, ours_first)
    harness.emulator.enqueue(Reply(text="Paris is the capital.", input_tokens=9, output_tokens=5))

    _call(harness.emulator.client(), operation, reading)

    [span] = harness.finished()  # ours only, ended
    assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert "rpc.system" not in span.attributes
    assert _count(harness, "gen_ai.client.operation.duration") == 1
    [(recorded_span, record)] = harness.collector.records
    assert recorded_span.get_span_context() == span.get_span_context()
    assert "capital of France" in record.prompt
    if reading == "full":
        assert span.attributes["gen_ai.usage.input_tokens"] == 9
        assert span.attributes["gen_ai.usage.output_tokens"] == 5
        assert sum(p.sum for p in harness.points("gen_ai.client.token.usage")) == 14
        assert record.completion == "Paris is the capital."
    if operation in STREAMS and reading != "never":
        assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
        assert _count(harness, "gen_ai.client.operation.time_to_first_chunk") == 1


@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-first", "contrib-first"])
def test_instr_with_contrib_other_services_keep_contribs_spans(harness: Any, contrib: BotocoreInstrumentor,
                                                               ours_first: bool) -> None:
    _instrument_both(harness, contrib, ours_first)
    client = harness.emulator.client("s3")
    with pytest.raises(Exception):  # noqa: B017 - the emulator serves no S3; the span is what matters
        client.list_buckets()

    [span] = harness.finished()
    assert span.attributes["rpc.system"] == "aws-api" and span.attributes["rpc.service"] == "S3"
    assert "gen_ai.provider.name" not in span.attributes


@pytest.mark.parametrize("ours_removed_first", [True, False])
def test_instr_removing_one_leaves_the_other_working(harness: Any, contrib: BotocoreInstrumentor,
                                                     ours_removed_first: bool) -> None:
    harness.instrument()
    contrib.instrument(tracer_provider=harness.tracer_provider, meter_provider=harness.meter_provider)
    client = harness.emulator.client()

    if ours_removed_first:
        BedrockInstrumentor().uninstrument()
        assert REGISTRY.get(SERVICE) is CONTRIB_ENTRY  # contrib's Bedrock extension is back
        client.converse(modelId=MODEL, messages=MESSAGES)
        [span] = harness.finished()
        assert span.attributes["rpc.system"] == "aws-api"  # contrib traces Bedrock again
        assert harness.records() == []
    else:
        contrib.uninstrument()
        client.converse(modelId=MODEL, messages=MESSAGES)
        [span] = harness.finished()
        assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"
        assert "rpc.system" not in span.attributes
        assert len(harness.records()) == 1
