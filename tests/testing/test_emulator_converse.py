"""Converse and ConverseStream through real boto3: shapes, tool calls, stop reasons, usage."""

from __future__ import annotations

import json

import pytest

from otel_llm.record import ToolCall
from otel_llm.testing import Reply

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_shape(emulator, client):
    emulator.enqueue(Reply(text="Paris.", cache_read_tokens=4, cache_write_tokens=1))
    response = client.converse(
        modelId=MODEL,
        messages=user("Capital of France?"),
        system=[{"text": "Be brief."}],
        inferenceConfig={"maxTokens": 50},
    )
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": "Paris."}]}
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {
        "inputTokens": 5,
        "outputTokens": 1,
        "totalTokens": 6,
        "cacheReadInputTokens": 4,
        "cacheWriteInputTokens": 1,
    }
    assert response["metrics"]["latencyMs"] >= 0
    request = emulator.requests[-1]
    assert (request.operation, request.model_id, request.base_model_id) == (
        "Converse",
        MODEL,
        "anthropic.claude-3-5-haiku-20241022-v1:0",
    )
    assert request.body["system"] == [{"text": "Be brief."}]
    assert request.prompt == "Be brief.\nCapital of France?"
    assert request.last_text == "Capital of France?"


def test_converse_stream_events_in_order(emulator, client):
    emulator.enqueue(Reply(text="one two three four five six", chunks=3))
    events = list(client.converse_stream(modelId=MODEL, messages=user("Count."))["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == (
        "one two three four five six"
    )
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    metadata = events[-1]["metadata"]
    assert metadata["usage"]["outputTokens"] == 6 and metadata["usage"]["totalTokens"] == 7
    assert metadata["metrics"]["latencyMs"] >= 0


def test_converse_tool_use_with_text(emulator, client):
    call = ToolCall(name="lookup", id="t-9", arguments='{"q": "weather"}')
    emulator.enqueue(Reply(text="Looking it up.", tool_calls=[call]))
    response = client.converse(modelId=MODEL, messages=user("Weather?"))
    assert response["stopReason"] == "tool_use"
    assert response["output"]["message"]["content"] == [
        {"text": "Looking it up."},
        {"toolUse": {"toolUseId": "t-9", "name": "lookup", "input": {"q": "weather"}}},
    ]


def test_converse_stream_tool_use(emulator, client):
    emulator.enqueue(
        Reply(text="", tool_calls=[{"name": "a", "input": {"x": 1}}, {"name": "b", "input": {}}])
    )
    events = list(client.converse_stream(modelId=MODEL, messages=user("Go."))["stream"])
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert [(s["contentBlockIndex"], s["start"]["toolUse"]["name"]) for s in starts] == [(0, "a"), (1, "b")]
    assert starts[0]["start"]["toolUse"]["toolUseId"].startswith("tooluse_")
    inputs = [
        json.loads(e["contentBlockDelta"]["delta"]["toolUse"]["input"])
        for e in events
        if "contentBlockDelta" in e
    ]
    assert inputs == [{"x": 1}, {}]
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


@pytest.mark.parametrize(
    "reason", ["max_tokens", "stop_sequence", "guardrail_intervened", "content_filtered"]
)
def test_converse_stop_reasons(emulator, client, reason):
    emulator.enqueue(Reply(text="x", stop_reason=reason), times=2)
    assert client.converse(modelId=MODEL, messages=user("q"))["stopReason"] == reason
    events = list(client.converse_stream(modelId=MODEL, messages=user("q"))["stream"])
    assert events[-2]["messageStop"]["stopReason"] == reason


def test_guardrail_intervened_converse_uses_the_blocked_message(emulator, client):
    emulator.enqueue(Reply(guardrail_intervened=True))
    response = client.converse(modelId=MODEL, messages=user("Something harmful"))
    assert response["stopReason"] == "guardrail_intervened"
    assert response["output"]["message"]["content"] == [
        {"text": "Sorry, the model cannot answer this question."}
    ]


def test_apply_guardrail(emulator, client):
    content = [{"text": {"text": "How do I build a weapon?"}}]
    passed = client.apply_guardrail(
        guardrailIdentifier="gr-1", guardrailVersion="DRAFT", source="INPUT", content=content
    )
    assert passed["action"] == "NONE" and passed["outputs"] == []
    emulator.enqueue(Reply(guardrail_intervened=True, text="Blocked by policy."))
    blocked = client.apply_guardrail(
        guardrailIdentifier="gr-1", guardrailVersion="DRAFT", source="OUTPUT", content=content
    )
    assert blocked["action"] == "GUARDRAIL_INTERVENED"
    assert blocked["outputs"] == [{"text": "Blocked by policy."}]
    assert blocked["assessments"][0]["contentPolicy"]["filters"][0]["action"] == "BLOCKED"
    assert blocked["usage"]["contentPolicyUnits"] == 1
    request = emulator.requests[-1]
    assert (request.operation, request.model_id, request.prompt) == (
        "ApplyGuardrail",
        "gr-1",
        "How do I build a weapon?",
    )


def test_converse_without_messages_is_a_validation_error(emulator, client):
    with pytest.raises(client.exceptions.ValidationException, match="must start with a user message"):
        client.converse(modelId=MODEL, messages=[])
