"""Legacy families still in recorded traffic, through real boto3 against the emulator: AI21 Jurassic-2
completions and Cohere Command (text) streams give their completion text and exact tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm import _sidechannel as sidechannel
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.testing import BedrockEmulator, Reply

TEXT = "Tides follow the moon because its pull is strongest on the nearest water."


@pytest.fixture
def traced() -> Iterator[tuple[BedrockEmulator, InMemorySpanExporter, list[Any]]]:
    records: list[Any] = []

    class Take(SimpleSpanProcessor):
        def on_end(self, span: Any) -> None:
            super().on_end(span)
            record = sidechannel.take(span.get_span_context())
            if record is not None:
                records.append(record)

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(Take(spans))
    sidechannel.add_listener()
    BedrockInstrumentor().instrument(tracer_provider=provider, metrics_enabled=False)
    try:
        with BedrockEmulator() as emulator:
            yield emulator, spans, records
    finally:
        BedrockInstrumentor().uninstrument()
        sidechannel.remove_listener()


@pytest.mark.parametrize("model", ["ai21.j2-ultra-v1", "ai21.j2-mid-v1"])
def test_families_jurassic2_completion_text(traced: Any, model: str) -> None:
    emulator, spans, records = traced
    emulator.enqueue(Reply(text=TEXT, input_tokens=6, output_tokens=14))
    body = {"prompt": "Why are there tides?", "maxTokens": 80, "temperature": 0.3}
    answer = json.loads(emulator.client().invoke_model(modelId=model, body=json.dumps(body))["body"].read())
    assert answer["completions"][0]["data"]["text"] == TEXT
    [span] = spans.get_finished_spans()
    assert span.attributes["gen_ai.request.max_tokens"] == 80
    assert span.attributes["gen_ai.response.finish_reasons"] == ("endoftext",)
    assert span.attributes["gen_ai.usage.input_tokens"] == 6
    assert span.attributes["gen_ai.usage.output_tokens"] == 14
    [record] = records
    assert record.completion == TEXT and record.prompt == "Why are there tides?"


@pytest.mark.parametrize("model", ["cohere.command-text-v14", "cohere.command-light-text-v14"])
def test_families_cohere_command_text_stream_completion_text(traced: Any, model: str) -> None:
    emulator, spans, records = traced
    emulator.enqueue(Reply(text=TEXT, chunks=5, input_tokens=6, output_tokens=14))
    body = {"prompt": "Why are there tides?", "max_tokens": 80}
    stream = emulator.client().invoke_model_with_response_stream(modelId=model, body=json.dumps(body))["body"]
    pieces = [json.loads(e["chunk"]["bytes"])["generations"][0]["text"] for e in stream]
    assert "".join(pieces) == TEXT  # the emulator's wire format, read as AWS's examples read it
    [span] = spans.get_finished_spans()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("COMPLETE",)
    assert span.attributes["gen_ai.usage.input_tokens"] == 6
    assert span.attributes["gen_ai.usage.output_tokens"] == 14
    [record] = records
    assert record.completion == TEXT


def test_families_cohere_command_text_complete_response(traced: Any) -> None:
    emulator, _, records = traced
    emulator.enqueue(Reply(text=TEXT))
    emulator.client().invoke_model(modelId="cohere.command-text-v14",
                                   body=json.dumps({"prompt": "Why are there tides?"}))["body"].read()
    [record] = records
    assert record.completion == TEXT
