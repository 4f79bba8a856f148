"""Converse and ConverseStream: Bedrock's own model-independent response and event shapes."""

from __future__ import annotations

from typing import Any

from .families import Completion


def _usage(c: Completion) -> dict[str, int]:
    return {
        "inputTokens": c.input_tokens,
        "outputTokens": c.output_tokens,
        "totalTokens": c.input_tokens + c.output_tokens,
        "cacheReadInputTokens": c.cache_read_tokens,
        "cacheWriteInputTokens": c.cache_write_tokens,
    }


def converse_response(c: Completion, latency_ms: int) -> dict[str, Any]:
    """The Converse response body."""
    content: list[dict[str, Any]] = [{"text": c.text}] if c.text else []
    content += [{"toolUse": {"toolUseId": t.id, "name": t.name, "input": t.input}} for t in c.tool_calls]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": c.stop_reason,
        "usage": _usage(c),
        "metrics": {"latencyMs": latency_ms},
    }


def converse_events(c: Completion) -> list[tuple[str, dict[str, Any]]]:
    """ConverseStream events as (event type, payload), up to `messageStop` (`metadata` is sent last)."""
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    index = 0
    if c.text:
        events += [("contentBlockDelta", {"delta": {"text": p}, "contentBlockIndex": 0}) for p in c.pieces]
        events.append(("contentBlockStop", {"contentBlockIndex": 0}))
        index = 1
    for offset, tool in enumerate(c.tool_calls, start=index):
        start = {"toolUse": {"toolUseId": tool.id, "name": tool.name}}
        events.append(("contentBlockStart", {"start": start, "contentBlockIndex": offset}))
        events.append(
            (
                "contentBlockDelta",
                {"delta": {"toolUse": {"input": tool.arguments}}, "contentBlockIndex": offset},
            )
        )
        events.append(("contentBlockStop", {"contentBlockIndex": offset}))
    events.append(("messageStop", {"stopReason": c.stop_reason}))
    return events


def converse_metadata(c: Completion, latency_ms: int) -> dict[str, Any]:
    """The closing `metadata` event of a ConverseStream."""
    return {"usage": _usage(c), "metrics": {"latencyMs": latency_ms}}


def apply_guardrail_response(texts: list[str], intervened: bool, output_text: str) -> dict[str, Any]:
    """The ApplyGuardrail response body."""
    units = max(1, -(-sum(len(t) for t in texts) // 1000))
    usage = {
        "topicPolicyUnits": units,
        "contentPolicyUnits": units,
        "wordPolicyUnits": units,
        "sensitiveInformationPolicyUnits": units,
        "sensitiveInformationPolicyFreeUnits": 0,
        "contextualGroundingPolicyUnits": 0,
    }
    if not intervened:
        return {"usage": usage, "action": "NONE", "outputs": [], "assessments": [{}]}
    blocked = {
        "type": "VIOLENCE",
        "confidence": "HIGH",
        "filterStrength": "HIGH",
        "action": "BLOCKED",
        "detected": True,
    }
    return {
        "usage": usage,
        "action": "GUARDRAIL_INTERVENED",
        "actionReason": "Guardrail blocked.",
        "outputs": [{"text": output_text}],
        "assessments": [{"contentPolicy": {"filters": [blocked]}}],
    }
