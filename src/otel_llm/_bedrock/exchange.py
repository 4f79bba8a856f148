"""A Bedrock exchange (operation, request, response or stream events, headers) read as an `LLMCall`: the
one way from what Bedrock saw to the record, used by the instrumentation (live calls) and the pipelines
(model-invocation logs), so both parse with the same parsers and bound content the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..record import PROVIDER_BEDROCK, LLMCall
from .families import (
    Family,
    ParsedRequest,
    ParsedResponse,
    StreamAccumulator,
    finish_stream,
    parse_converse_event,
    parse_converse_request,
    parse_converse_response,
    parse_request_body,
    parse_response_body,
    parse_stream_chunk,
)
from .families.invoke import INVOCATION_METRICS

CONVERSE_OPERATIONS = frozenset({"Converse", "ConverseStream"})
STREAM_OPERATIONS = frozenset({"ConverseStream", "InvokeModelWithResponseStream"})

HEADER_TOKENS = (
    ("input_tokens", "x-amzn-bedrock-input-token-count"),
    ("output_tokens", "x-amzn-bedrock-output-token-count"),
    ("cache_read_tokens", "x-amzn-bedrock-cache-read-input-token-count"),
    ("cache_write_tokens", "x-amzn-bedrock-cache-write-input-token-count"),
)


def parse_request(family: Family, operation: str, request: dict[str, Any]) -> ParsedRequest:
    """The Converse parameters or the InvokeModel body, read by the Converse parser or the family's."""
    if operation in CONVERSE_OPERATIONS:
        return parse_converse_request(request)
    return parse_request_body(family, request)


def parse_response(family: Family, operation: str, response: dict[str, Any]) -> ParsedResponse:
    """A complete Converse response or InvokeModel body."""
    if operation in CONVERSE_OPERATIONS:
        return parse_converse_response(response)
    return parse_response_body(family, response)


def fold_event(family: Family, operation: str, event: Any, acc: StreamAccumulator) -> bool:
    """Fold one stream event (a Converse event, or an InvokeModel chunk's decoded JSON) into `acc`;
    True when it is the stream's last (the one carrying the metrics)."""
    if operation in CONVERSE_OPERATIONS:
        parse_converse_event(event, acc)
        return isinstance(event, dict) and "metadata" in event
    parse_stream_chunk(family, event, acc)
    return isinstance(event, dict) and INVOCATION_METRICS in event


def parse_events(family: Family, operation: str, events: Iterable[Any]) -> ParsedResponse:
    """A whole stream's response, its events folded in order."""
    acc = StreamAccumulator()
    for event in events:
        fold_event(family, operation, event, acc)
    return finish_stream(acc)


def apply_header_tokens(response: ParsedResponse, headers: Mapping[str, str]) -> ParsedResponse:
    """Token counts from Bedrock's `x-amzn-bedrock-*-token-count` response headers, where present."""
    for attr, header in HEADER_TOKENS:
        value = headers.get(header)
        if value is not None and value.isdigit():
            setattr(response, attr, int(value))
    return response


def to_llm_call(request: ParsedRequest, response: ParsedResponse, *, model_id: str, request_model: str,
                family: str | None, max_chars: int | None, **known: Any) -> LLMCall:
    """The record of one exchange; prompt, completion, system prompt and messages bounded by `max_chars`
    (None: unbounded). `known` sets the other `LLMCall` fields (duration, server, span context...)."""
    return LLMCall(
        model_id=model_id,
        operation=request.operation,
        provider=PROVIDER_BEDROCK,
        family=family,
        request_model=request_model,
        prompt=_bound(request.prompt, max_chars),
        completion=_bound(response.completion, max_chars),
        system=_bound(request.system, max_chars),
        messages=request.messages if max_chars is None else bounded_messages(request.messages, max_chars),
        output_messages=[],
        tool_calls=response.tool_calls,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cache_read_tokens=response.cache_read_tokens,
        cache_write_tokens=response.cache_write_tokens,
        finish_reasons=response.finish_reasons,
        refusal_signal=response.refusal_signal,
        response_id=response.response_id,
        **known,
    )


def _bound(text: str, max_chars: int | None) -> str:
    return text[:max_chars] if max_chars is not None and len(text) > max_chars else text


def bounded_messages(messages: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """`messages` whose strings (text, tool arguments and results) total at most `limit` characters, the
    latest kept first: the record must not hold a huge prompt in full. Parts that fit are not copied."""
    budget = limit
    kept: list[dict[str, Any]] = []
    for message in reversed(messages):
        if budget <= 0:
            break
        parts = message.get("parts") or []
        cut = []
        for part in reversed(parts):
            for key in ("content", "arguments", "response"):
                value = part.get(key)
                if isinstance(value, str):
                    if len(value) > budget:
                        part = {**part, key: value[:budget]}
                    budget -= len(part[key])
            cut.append(part)
        cut.reverse()
        unchanged = all(a is b for a, b in zip(cut, parts, strict=True))
        kept.append(message if unchanged else {**message, "parts": cut})
    kept.reverse()
    return kept
