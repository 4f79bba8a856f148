"""Side by side with `opentelemetry-instrumentation-botocore`, in every install and removal order: contrib
owns the span and the gen_ai.client.* metrics, we add the quality record to its span, nothing is counted
twice and each removal leaves the other instrumentation working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.testing import Reply

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                   "messages": [{"role": "user", "content": "What is the capital of France?"}]})
ORIGINAL = BaseClient.__dict__["_make_api_call"]


@pytest.fixture
def contrib(harness: Any) -> Iterator[BotocoreInstrumentor]:
    instrumentor = BotocoreInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()
    BedrockInstrumentor().uninstrument()
    assert BaseClient.__dict__["_make_api_call"] is ORIGINAL


def _instrument_contrib(harness: Any, contrib: BotocoreInstrumentor) -> None:
    contrib.instrument(tracer_provider=harness.tracer_provider, meter_provider=harness.meter_provider)


def _duration_count(harness: Any) -> int:
    return sum(p.count for p in harness.points("gen_ai.client.operation.duration"))


@pytest.mark.parametrize("ours_first", [True, False])
@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke", "invoke_stream"])
def test_instr_with_contrib_one_span_one_count_and_our_record(harness: Any, contrib: BotocoreInstrumentor,
                                                              ours_first: bool, operation: str) -> None:
    if ours_first:
        harness.instrument()
        _instrument_contrib(harness, contrib)
    else:
        _instrument_contrib(harness, contrib)
        harness.instrument()
    harness.emulator.enqueue(Reply(text="Paris.", input_tokens=9, output_tokens=2))
    client = harness.emulator.client()

    if operation == "converse":
        answer = client.converse(modelId=MODEL, messages=MESSAGES)
        assert answer["output"]["message"]["content"][0]["text"] == "Paris."
    elif operation == "converse_stream":
        events = list(client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])
        assert any("contentBlockDelta" in e for e in events)
    elif operation == "invoke":
        body = client.invoke_model(modelId=MODEL, body=BODY)["body"].read()
        assert json.loads(body)["content"][0]["text"] == "Paris."
    else:
        assert len(list(client.invoke_model_with_response_stream(modelId=MODEL, body=BODY)["body"])) > 2

    [span] = harness.finished()  # contrib's span only
    assert span.attributes["rpc.system"] == "aws-api"
    assert _duration_count(harness) == 1
    assert sum(p.count for p in harness.points("gen_ai.client.token.usage")) == 2  # input + output, once
    # contrib records no chunk timings; ours are there for streams
    assert len(harness.points("gen_ai.client.operation.time_to_first_chunk")) == operation.endswith("stream")
    [(recorded_span, record)] = harness.collector.records
    assert recorded_span.get_span_context() == span.get_span_context()
    assert record.completion == "Paris." and "capital of France" in record.prompt
    assert record.input_tokens == 9 and record.output_tokens == 2


@pytest.mark.parametrize("ours_removed_first", [True, False])
def test_instr_removing_one_leaves_the_other_working(harness: Any, contrib: BotocoreInstrumentor,
                                                     ours_removed_first: bool) -> None:
    harness.instrument()
    _instrument_contrib(harness, contrib)
    client = harness.emulator.client()

    if ours_removed_first:
        BedrockInstrumentor().uninstrument()
        client.converse(modelId=MODEL, messages=MESSAGES)
        [span] = harness.finished()
        assert span.attributes["rpc.system"] == "aws-api"  # contrib still traces
        assert harness.records() == []
    else:
        contrib.uninstrument()
        client.converse(modelId=MODEL, messages=MESSAGES)
        [span] = harness.finished()
        assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"  # ours, owning the span again
        assert "rpc.system" not in span.attributes
        assert len(harness.records()) == 1
    assert _duration_count(harness) == 1
