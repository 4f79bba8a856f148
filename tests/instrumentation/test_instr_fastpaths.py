"""The hot-path shortcuts give what the public calls they replace give, and fall back to them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from otel_llm._instrumentation.fastpaths import loads, set_attributes

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
