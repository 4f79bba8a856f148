"""Builds an `LLMCall` from the attributes of a span another GenAI instrumentation produced, when it
carries content: `gen_ai.input.messages` / `gen_ai.output.messages` (JSON, current conventions) or the
older indexed `gen_ai.prompt.N.content` / `gen_ai.completion.N.content`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..record import LLMCall

INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
_FIRST_PROMPT = "gen_ai.prompt.0.content"
_FIRST_COMPLETION = "gen_ai.completion.0.content"
_MAX_INDEXED = 256


def record_from_attributes(attrs: Mapping[str, Any] | None, max_chars: int = 32768) -> LLMCall | None:
    """The record a span's attributes describe, or None when they carry no completion text.

    Cheap for every other span: two dictionary lookups decide.
    """
    if not attrs:
        return None
    if OUTPUT_MESSAGES in attrs:
        prompt = _join([_text_of(SYSTEM_INSTRUCTIONS, attrs), _messages_text(attrs.get(INPUT_MESSAGES))])
        completion = _messages_text(attrs.get(OUTPUT_MESSAGES))
    elif _FIRST_COMPLETION in attrs:
        prompt = _join(_indexed(attrs, "gen_ai.prompt"))
        completion = _join(_indexed(attrs, "gen_ai.completion"))
    else:
        return None
    if not completion:
        return None
    model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model") or "unknown"
    return LLMCall(
        model_id=str(model),
        request_model=_str_or_none(attrs.get("gen_ai.request.model")),
        operation=str(attrs.get("gen_ai.operation.name") or "chat"),
        provider=str(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system") or "unknown"),
        prompt=prompt[:max_chars],
        completion=completion[:max_chars],
        input_tokens=_int_or_none(_first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
        output_tokens=_int_or_none(
            _first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
        finish_reasons=tuple(str(r) for r in attrs.get("gen_ai.response.finish_reasons") or ()),
        response_id=_str_or_none(attrs.get("gen_ai.response.id")),
        error_type=_str_or_none(attrs.get("error.type")),
    )


def _indexed(attrs: Mapping[str, Any], prefix: str) -> list[str]:
    texts = []
    for i in range(_MAX_INDEXED):
        content = attrs.get(f"{prefix}.{i}.content")
        if content is None:
            break
        texts.append(str(content))
    return texts


def _text_of(key: str, attrs: Mapping[str, Any]) -> str:
    """Text of a JSON list of parts (system instructions)."""
    value = _loads(attrs.get(key))
    return _join(_part_texts(value)) if isinstance(value, list) else ""


def _messages_text(raw: Any) -> str:
    messages = _loads(raw)
    if messages is None and isinstance(raw, str):
        return raw  # plain text, not JSON
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        return ""
    texts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        if "parts" in message:
            texts.extend(_part_texts(message["parts"]))
        elif isinstance(message.get("content"), str):
            texts.append(message["content"])
        elif isinstance(message.get("content"), list):
            texts.extend(_part_texts(message["content"]))
    return _join(texts)


def _part_texts(parts: Any) -> list[str]:
    """Text of the text parts: semconv `{"type": "text", "content": ...}` or `{"text": ...}`."""
    out = []
    for part in parts if isinstance(parts, list) else ():
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and part.get("type", "text") == "text":
            text = part.get("content", part.get("text"))
            if isinstance(text, str):
                out.append(text)
    return out


def _loads(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _join(texts: list[str]) -> str:
    return "\n".join(t for t in texts if t)


def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    return next((attrs[k] for k in keys if k in attrs), None)


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
