"""Shared pieces of the family parsers: type-safe reads, semconv message parts, request params,
token usage and finish reasons. Every helper tolerates any input type and never raises."""

from __future__ import annotations

import json
from typing import Any

from ...record import SIGNAL_CONTENT_FILTER, SIGNAL_GUARDRAIL, SIGNAL_MODEL_REFUSAL, ToolCall
from .base import ParsedRequest, ParsedResponse, StreamAccumulator

MAX_TOKENS = "gen_ai.request.max_tokens"
TEMPERATURE = "gen_ai.request.temperature"
TOP_P = "gen_ai.request.top_p"
TOP_K = "gen_ai.request.top_k"
STOP_SEQUENCES = "gen_ai.request.stop_sequences"
OUTPUT_TYPE = "gen_ai.output.type"

# Finish reasons that are themselves an exact refusal signal (compared lower-cased).
_REFUSAL_REASONS = {
    "refusal": SIGNAL_MODEL_REFUSAL,
    "guardrail_intervened": SIGNAL_GUARDRAIL,
    "content_filtered": SIGNAL_CONTENT_FILTER,
    "content_filter": SIGNAL_CONTENT_FILTER,
    "error_toxic": SIGNAL_CONTENT_FILTER,
}

_ROLES = {"chatbot": "assistant", "model": "assistant", "developer": "system"}
_SYSTEM_ROLES = ("system", "developer")

# The request work on the caller's thread is bounded whatever the request holds: at most this many
# messages (or system blocks) are read, and the flattened prompt stops at this many characters (the
# record keeps at most OTEL_LLM_MAX_CONTENT_CHARS of it anyway).
MAX_PARSED_MESSAGES = 1000
MAX_PARSED_CHARS = 1 << 20


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_count(value: Any) -> int | None:
    """A token count: a non-negative int (or integral float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def first(mapping: dict, *keys: str) -> Any:
    """The value of the first key present (not None) in `mapping`."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def json_text(value: Any) -> str | None:
    """Tool arguments/results as JSON text (a fresh string: never a reference to the caller's object)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except Exception:  # unserialisable or circular: what could be read is nothing
        return None


def request_params(max_tokens: Any = None, temperature: Any = None, top_p: Any = None, top_k: Any = None,
                   stop: Any = None) -> dict[str, Any]:
    """Semconv `gen_ai.request.*` params from a body's own names; wrong types are left out."""
    params: dict[str, Any] = {}
    if as_count(max_tokens) is not None:
        params[MAX_TOKENS] = as_count(max_tokens)
    for key, value in ((TEMPERATURE, temperature), (TOP_P, top_p), (TOP_K, top_k)):
        if _number(value) is not None:
            params[key] = value
    if isinstance(stop, str):
        params[STOP_SEQUENCES] = (stop,)
    elif isinstance(stop, list):
        sequences = tuple(item for item in stop if isinstance(item, str))
        if sequences:
            params[STOP_SEQUENCES] = sequences
    return params


# --- semconv message parts -------------------------------------------------------------------------

def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": as_str(call_id) or None, "name": as_str(name),
            "arguments": json_text(arguments)}


def tool_response_part(call_id: Any, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": as_str(call_id) or None,
            "response": _tool_result_text(response)}


def _tool_result_text(content: Any) -> str | None:
    """Tool results: text and JSON blocks as text, joined; media blocks left out (no bytes copied)."""
    if isinstance(content, list):
        pieces = []
        for block in content:
            block = as_dict(block)
            piece = block.get("text") if isinstance(block.get("text"), str) else json_text(block.get("json"))
            if piece:
                pieces.append(piece)
        return "\n".join(pieces)
    return json_text(content)


def content_parts(content: Any) -> list[dict[str, Any]]:
    """Semconv parts from message content in any of Bedrock's shapes: a string; Anthropic / OpenAI
    typed blocks (`{"type": "text", "text"}`, `tool_use`, `tool_result`); Converse / Nova blocks
    (`{"text"}`, `{"toolUse"}`, `{"toolResult"}`). Media becomes a part naming its kind, no bytes."""
    if isinstance(content, str):
        return [text_part(content)] if content else []
    parts: list[dict[str, Any]] = []
    for block in bounded_list(as_list(content)):
        if isinstance(block, str):
            parts.append(text_part(block))
            continue
        block = as_dict(block)
        kind = as_str(block.get("type"))
        if isinstance(block.get("text"), str) and kind in ("", "text", "input_text", "output_text"):
            parts.append(text_part(block["text"]))
        elif kind == "tool_use":
            parts.append(tool_call_part(block.get("id"), block.get("name"), block.get("input")))
        elif kind == "tool_result":
            parts.append(tool_response_part(block.get("tool_use_id"), block.get("content")))
        elif "toolUse" in block:
            use = as_dict(block["toolUse"])
            parts.append(tool_call_part(use.get("toolUseId"), use.get("name"), use.get("input")))
        elif "guardContent" in block:  # Converse: text a guardrail checks, still part of the prompt
            text = system_text([block])
            if text:
                parts.append(text_part(text))
        elif "toolResult" in block:
            result = as_dict(block["toolResult"])
            parts.append(tool_response_part(result.get("toolUseId"), result.get("content")))
        elif kind in ("thinking", "redacted_thinking", "reasoning") or "reasoningContent" in block:
            continue  # the model's reasoning is neither prompt nor answer
        elif kind:
            parts.append({"type": kind.removesuffix("_url")})
        else:
            media = next((key for key in ("image", "document", "video", "audio") if key in block), None)
            if media:
                parts.append({"type": media})
    return parts


def parse_messages(messages: Any) -> tuple[str, list[dict[str, Any]]]:
    """(system text, semconv messages) from a list of chat messages of any family's shape.
    System/developer-role messages become the system text; OpenAI-style `tool_calls` and
    `tool` messages become tool_call / tool_call_response parts."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for message in bounded_list(as_list(messages)):
        message = as_dict(message)
        role = as_str(message.get("role")).lower() or "user"
        parts = content_parts(message.get("content"))
        if role in _SYSTEM_ROLES:
            system.extend(p["content"] for p in parts if p["type"] == "text")
            continue
        if role == "tool" and message.get("tool_call_id") is not None:
            parts = [tool_response_part(message.get("tool_call_id"), message.get("content"))]
        for call in as_list(message.get("tool_calls")):
            call = as_dict(call)
            function = as_dict(call.get("function"))
            parts.append(tool_call_part(call.get("id"), function.get("name"), function.get("arguments")))
        out.append({"role": _ROLES.get(role, role), "parts": parts})
    return "\n".join(system), out


def system_text(system: Any) -> str:
    """A system prompt given as a string, or as a list of text blocks (Anthropic, Nova, Converse)."""
    if isinstance(system, str):
        return system
    texts = []
    for block in bounded_list(as_list(system)):
        block = as_dict(block)
        text = block.get("text")
        if not isinstance(text, str):  # Converse guardContent: {"guardContent": {"text": {"text": "..."}}}
            text = as_dict(as_dict(as_dict(block.get("guardContent")).get("text"))).get("text")
        if isinstance(text, str) and text:
            texts.append(text)
    return "\n".join(texts)


def build_request(operation: str, system: str, messages: list[dict[str, Any]],
                  params: dict[str, Any]) -> ParsedRequest:
    """A ParsedRequest whose `prompt` is the system text then every message's text parts, in order."""
    pieces = [system[:MAX_PARSED_CHARS]] if system else []
    budget = MAX_PARSED_CHARS - len(pieces[0]) if pieces else MAX_PARSED_CHARS
    for message in messages:
        for part in message["parts"]:
            if budget > 0 and part["type"] == "text" and part["content"]:
                pieces.append(part["content"][:budget])
                budget -= len(pieces[-1])
    return ParsedRequest(operation=operation, system=system, prompt="\n".join(pieces), messages=messages,
                         params=params)


def bounded_list(items: list[Any]) -> list[Any]:
    """At most `MAX_PARSED_MESSAGES` items: the first (where a system message sits) and the latest."""
    if len(items) <= MAX_PARSED_MESSAGES:
        return items
    return [items[0], *items[len(items) - MAX_PARSED_MESSAGES + 1:]]


def text_request(prompt: Any, params: dict[str, Any], operation: str = "text_completion") -> ParsedRequest:
    """A single-prompt (text-completion) request."""
    prompt = as_str(prompt)
    messages = [{"role": "user", "parts": [text_part(prompt)]}] if prompt else []
    return build_request(operation, "", messages, params)


# --- responses and streams -------------------------------------------------------------------------

def refusal_signal(reason: str) -> str | None:
    """The record.SIGNAL_* a finish reason stands for, if it is an exact refusal signal."""
    return _REFUSAL_REASONS.get(reason.lower())


def set_finish(response: ParsedResponse, reasons: list[Any]) -> None:
    """Record the provider's finish reasons (kept as given) and any refusal signal among them."""
    kept = tuple(r for r in reasons if isinstance(r, str) and r)
    if kept:
        response.finish_reasons = kept
    for reason in kept:
        response.refusal_signal = response.refusal_signal or refusal_signal(reason)


def add_finish(acc: StreamAccumulator, reason: Any) -> None:
    """Fold a stream's finish reason into `acc`."""
    if isinstance(reason, str) and reason:
        acc.finish_reasons.append(reason)
        acc.response.refusal_signal = acc.response.refusal_signal or refusal_signal(reason)


def add_text(acc: StreamAccumulator, text: Any) -> None:
    if isinstance(text, str) and text:
        acc.text_parts.append(text)


def add_tool_piece(acc: StreamAccumulator, index: Any, call_id: Any = None, name: Any = None,
                   arguments: Any = None) -> None:
    """Fold a piece of a streamed tool call (its id/name when it starts, argument text as it comes)."""
    if not isinstance(index, int) or isinstance(index, bool):
        index = -1 if not acc.tool_parts else max(acc.tool_parts)
    part = acc.tool_parts.setdefault(index, {"name": None, "id": None, "arguments": []})
    if isinstance(call_id, str) and call_id:
        part["id"] = call_id
    if isinstance(name, str) and name:
        part["name"] = name
    if isinstance(arguments, str) and arguments:
        part["arguments"].append(arguments)


def tool_call(call_id: Any, name: Any, arguments: Any) -> ToolCall:
    return ToolCall(name=as_str(name), id=as_str(call_id) or None, arguments=json_text(arguments))


def read_usage(usage: Any, response: ParsedResponse) -> None:
    """Token counts from a usage object of any family's naming; absent keys leave values as they are."""
    if not usage or not isinstance(usage, dict):
        return
    for attr, keys in _USAGE_KEYS:
        for key in keys:  # the first key present (not None) decides, as `first` would
            value = usage.get(key)
            if value is not None:
                count = value if type(value) is int and value >= 0 else as_count(value)
                if count is not None:
                    setattr(response, attr, count)
                break
    reasoning = as_count(as_dict(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    if reasoning is not None:  # OpenAI's shape (gpt-oss)
        response.reasoning_tokens = reasoning


def output_type(response_format: Any) -> str | None:
    """`gen_ai.output.type` from an OpenAI-style `response_format`: json for json_object / json_schema."""
    kind = as_str(as_dict(response_format).get("type"))
    return "json" if kind.startswith("json") else "text" if kind == "text" else None


_USAGE_KEYS = (
    ("input_tokens", ("input_tokens", "inputTokens", "prompt_tokens", "inputTokenCount")),
    ("output_tokens", ("output_tokens", "outputTokens", "completion_tokens", "outputTokenCount")),
    ("cache_read_tokens", ("cache_read_input_tokens", "cacheReadInputTokens", "cacheReadInputTokenCount")),
    ("cache_write_tokens",
     ("cache_creation_input_tokens", "cacheWriteInputTokens", "cacheWriteInputTokenCount")),
)


def output_messages(response: ParsedResponse) -> list[dict[str, Any]]:
    """The response in the semconv `gen_ai.output.messages` shape: one assistant message."""
    parts = [text_part(response.completion)] if response.completion else []
    parts.extend({"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
                 for call in response.tool_calls)
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    if response.finish_reasons:
        message["finish_reason"] = response.finish_reasons[-1]
    return [message]
