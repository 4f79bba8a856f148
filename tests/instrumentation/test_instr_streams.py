"""Streams: the user gets every event unchanged and the call ends exactly once, however the stream ends."""

from __future__ import annotations

import copy
import gc
import json
from typing import Any

import pytest
from botocore.eventstream import EventStream
from botocore.exceptions import EventStreamError

from otel_llm.testing import Reply

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                   "messages": [{"role": "user", "content": "Tell me about Paris."}]})
TEXT = "Paris is the capital of France and its largest city by far."
MESSAGES = [{"role": "user", "content": [{"text": "Tell me about Paris."}]}]


def _open(harness: Any, kind: str, **reply: Any) -> Any:
    harness.emulator.enqueue(Reply(text=TEXT, chunks=6, **reply))
    client = harness.emulator.client()
    if kind == "converse":
        return client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
    return client.invoke_model_with_response_stream(modelId=MODEL, body=BODY)["body"]


def _text(kind: str, events: list[dict[str, Any]]) -> str:
    if kind == "converse":
        deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
        return "".join(d.get("text", "") for d in deltas)
    pieces = []
    for event in events:
        chunk = json.loads(event["chunk"]["bytes"])
        if chunk.get("type") == "content_block_delta":
            pieces.append(chunk["delta"].get("text", ""))
    return "".join(pieces)


KINDS = ["converse", "invoke"]


@pytest.mark.parametrize("kind", KINDS)
def test_instr_stream_events_are_those_of_an_uninstrumented_stream(harness: Any, kind: str) -> None:
    bare = list(_open(harness, kind))
    harness.instrument()
    stream = _open(harness, kind)
    assert isinstance(stream, EventStream)  # the proxy passes for the real thing
    seen = list(stream)
    held = copy.deepcopy(seen)

    assert [list(e) for e in seen] == [list(e) for e in bare]
    assert _text(kind, seen) == _text(kind, bare) == TEXT
    assert seen == held  # nothing the caller holds changed when the stream ended
    [span] = harness.genai_spans()
    assert harness.records()[0].completion == TEXT
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


@pytest.mark.parametrize("kind", KINDS)
def test_instr_stream_closed_early_ends_the_span_once(instrumented: Any, kind: str) -> None:
    stream = _open(instrumented, kind)
    iterator = iter(stream)
    first = [next(iterator) for _ in range(3)]
    assert instrumented.genai_spans() == []  # still open while the user reads

    stream.close()
    stream.close()  # closing twice is harmless

    [span] = instrumented.genai_spans()
    assert span.status.status_code.name != "ERROR"
    [record] = instrumented.records()
    assert TEXT.startswith(record.completion) and record.completion != TEXT
    assert record.completion == _text(kind, first)
    assert len(instrumented.points("gen_ai.client.operation.duration")) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_instr_stream_abandoned_mid_way_ends_the_span_when_collected(instrumented: Any, kind: str) -> None:
    stream = _open(instrumented, kind)
    for _ in stream:
        break
    assert instrumented.genai_spans() == []  # the caller may resume reading the stream it still holds
    del stream  # dropped mid-way: the call ends
    assert len(instrumented.genai_spans()) == 1

    stream = _open(instrumented, kind)
    del stream  # never iterated
    gc.collect()
    assert len(instrumented.genai_spans()) == 2
    assert len(instrumented.records()) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_instr_stream_error_mid_way_is_recorded_and_reraised_unchanged(instrumented: Any, kind: str) -> None:
    stream = _open(instrumented, kind, error="ThrottlingException", error_after_chunks=4)
    received = []
    with pytest.raises(EventStreamError) as raised:
        for event in stream:
            received.append(event)

    assert raised.value.response["Error"]["Code"] == "throttlingException"
    assert len(received) == 4
    [span] = instrumented.genai_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "ThrottlingException"  # the same as an HTTP 429's
    [duration] = instrumented.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "ThrottlingException"
    assert instrumented.records()[0].error_type == "ThrottlingException"
    # what arrived before the error is kept
    assert instrumented.records()[0].completion == _text(kind, received) != ""


def test_instr_stream_fully_consumed_then_closed_ends_once(instrumented: Any) -> None:
    stream = _open(instrumented, "converse")
    events = list(stream)
    stream.close()
    del stream
    gc.collect()

    assert len(events) > 3
    assert len(instrumented.genai_spans()) == 1
    assert len(instrumented.records()) == 1
    [duration] = instrumented.points("gen_ai.client.operation.duration")
    assert duration.count == 1


@pytest.mark.parametrize("kind", KINDS)
def test_instr_stream_fold_failing_is_reported_and_the_stream_goes_on(
        instrumented: Any, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy guards each event inline: a failing fold is counted, every event still reaches the user,
    and the span still ends."""
    from otel_llm import _failures
    from otel_llm._instrumentation import calls

    failures: list[str] = []
    def count(_component: str, kind: str, _attributes: Any = None) -> None:
        failures.append(kind)

    monkeypatch.setattr(_failures, "count_event", count)

    def broken(*args: Any) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(calls, "parse_converse_event", broken)
    monkeypatch.setattr(calls, "parse_stream_chunk", broken)
    plain = list(_open(instrumented, kind))
    assert _text(kind, plain) == TEXT
    [span] = instrumented.genai_spans()
    assert span.end_time is not None
    assert failures and set(failures) == {"ZeroDivisionError"}
    assert len(failures) == len(plain)  # counted once per event, each event delivered
