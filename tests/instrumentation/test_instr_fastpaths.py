"""The hot-path shortcuts give what the public calls they replace give, and fall back to them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from otel_llm._instrumentation.fastpaths import loads, set_attributes, start_span

DOCUMENTS = [b'{"type": "message_stop", "n": [1, 2.5, null, true], "s": "\\u00e9\\"x"}', '{"a": {"b": []}}',
             bytearray(b'[1]'), "é".encode() + b"", b'"caf\xc3\xa9"', b' {"a": 1} ', b'{"a": 1}\n', b"0",
             b"\xef\xbb\xbf{}"]
BAD = [b"", b"{", b'{"a": 1} x', b"\xff", "{'a': 1}", b"[1,]", None, memoryview(b"{}")]


@pytest.mark.parametrize("data", DOCUMENTS)
def test_instr_fastpaths_loads_equals_json_loads(data: Any) -> None:
    try:
        expected = json.loads(data)
    except ValueError:
        with pytest.raises(ValueError):
            loads(data)
        return
    assert loads(data) == expected


@pytest.mark.parametrize("data", BAD)
def test_instr_fastpaths_loads_raises_what_json_loads_raises(data: Any) -> None:
    with pytest.raises(Exception) as expected:
        json.loads(data)
    with pytest.raises(type(expected.value)) as got:
        loads(data)
    assert str(got.value) == str(expected.value)


def _pair(limits: SpanLimits | None = None) -> tuple[Any, Any]:
    provider = TracerProvider(span_limits=limits) if limits else TracerProvider()
    tracer = provider.get_tracer("t")
    start = {"a": "x", "b": 1}
    return tracer.start_span("s", attributes=start), tracer.start_span("s", attributes=start)


@pytest.mark.parametrize("attributes", [
    {"c": 0.5, "a": "again", "d": ("end_turn",), "e": True},  # a key set again moves to the end
    {"c": ["a", "list"], "d": {"not": "plain"}},  # not stored as is: the SDK's own call
    {"c": (1, 2)},
])
def test_instr_fastpaths_set_attributes_equals_the_sdk(attributes: dict[str, Any]) -> None:
    ours, sdk = _pair()
    set_attributes(ours, attributes)
    sdk.set_attributes(attributes)
    assert list(ours.attributes.items()) == list(sdk.attributes.items())
    assert ours.dropped_attributes == sdk.dropped_attributes


def test_instr_fastpaths_set_attributes_keeps_the_limits() -> None:
    ours, sdk = _pair(SpanLimits(max_span_attributes=3, max_attribute_length=4))
    values = {"c": "long text", "d": 2}
    set_attributes(ours, values)
    sdk.set_attributes(values)
    assert list(ours.attributes.items()) == list(sdk.attributes.items())
    assert list(ours.attributes.items()) == [("b", 1), ("c", "long"), ("d", 2)]
    assert ours.dropped_attributes == sdk.dropped_attributes == 1


def test_instr_fastpaths_set_attributes_on_an_ended_span_is_ignored() -> None:
    ours, _ = _pair()
    ours.end()
    set_attributes(ours, {"c": 1})
    assert "c" not in ours.attributes


class _Seeing(SpanProcessor):
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.seen.append(dict(span.attributes))


class _ReadsAttributes(Sampler):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                      attributes: Any = None, links: Any = None, trace_state: Any = None) -> SamplingResult:
        self.seen.append(dict(attributes or {}))
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "reads attributes"


START = {"gen_ai.operation.name": "chat", "server.port": 443, "gen_ai.request.stream": True}


@pytest.mark.parametrize("sampler", [None, ParentBased(TraceIdRatioBased(0.5))])
def test_instr_fastpaths_start_span_equals_the_sdk(sampler: Any) -> None:
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    tracer = provider.get_tracer("t")
    for _ in range(20):
        ours = start_span(tracer, "s", None, SpanKind.CLIENT, START)
        sdk = tracer.start_span("s", None, kind=SpanKind.CLIENT, attributes=START)
        assert ours.is_recording() == ours.get_span_context().trace_flags.sampled
        if ours.is_recording() and sdk.is_recording():
            assert list(ours.attributes.items()) == list(sdk.attributes.items())


def test_instr_fastpaths_start_span_gives_attributes_to_whoever_reads_them_at_start() -> None:
    sampler, seeing = _ReadsAttributes(), _Seeing()
    provider = TracerProvider(sampler=sampler)
    tracer = provider.get_tracer("t")
    start_span(tracer, "s", None, SpanKind.CLIENT, START)
    assert sampler.seen == [START]
    provider = TracerProvider()
    provider.add_span_processor(seeing)
    start_span(provider.get_tracer("t"), "s", None, SpanKind.CLIENT, START)
    assert seeing.seen == [START]
