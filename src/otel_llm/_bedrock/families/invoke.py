"""The InvokeModel entry points the instrumentation calls: each family's parser behind one guard,
plus what Bedrock adds to every family's body, handled once here: the stream's
`amazon-bedrock-invocationMetrics` (exact token counts) and `amazon-bedrock-guardrailAction`."""

from __future__ import annotations

import re
from typing import Any

from ..._failures import report_failure
from ...record import SIGNAL_GUARDRAIL
from .base import Family, ParsedRequest, ParsedResponse, StreamAccumulator
from .common import read_usage

INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"
GUARDRAIL_ACTION = "amazon-bedrock-guardrailAction"

# A completion that opens with the model's reasoning (gpt-oss `<reasoning>`, DeepSeek-R1 `<think>`,
# whose opening tag may be missing): the answer is what follows the closing tag.
_LEADING_REASONING = re.compile(r"\s*(?:<(?:reasoning|think)>)?.*?</(?:reasoning|think)>\s*", re.DOTALL)


def parse_request_body(family: Family, body: Any) -> ParsedRequest:
    """The decoded InvokeModel request body, parsed by `family`; never raises."""
    try:
        return family.parse_request(body)
    except Exception as exc:  # a parser bug must not cost the user's call
        report_failure(f"families.{getattr(family, 'name', '?')}", exc)
        return ParsedRequest()


def parse_response_body(family: Family, body: Any) -> ParsedResponse:
    """The decoded InvokeModel response body, parsed by `family`; never raises."""
    try:
        response = family.parse_response(body)
    except Exception as exc:
        report_failure(f"families.{getattr(family, 'name', '?')}", exc)
        response = ParsedResponse()
    if isinstance(body, dict) and body.get(GUARDRAIL_ACTION) == "INTERVENED":
        response.refusal_signal = SIGNAL_GUARDRAIL
    response.completion = strip_reasoning(response.completion)
    return response


def text_only(prefixes: tuple[bytes, ...], data: bytes) -> bool:
    """Whether a stream chunk's raw JSON surely holds nothing but completion text or tool-call arguments:
    it opens with one of the family's `text_chunk_prefixes` (its top-level type names a content delta) and
    carries nothing Bedrock adds (`amazon-bedrock-*`). Then a caller that keeps no content need not
    decode it. False says nothing: decode it."""
    return type(data) is bytes and data.startswith(prefixes) and b"amazon-bedrock-" not in data


def parse_stream_chunk(family: Family, chunk: Any, acc: StreamAccumulator) -> None:
    """Fold one decoded InvokeModelWithResponseStream chunk (the JSON in `chunk.bytes`); never raises."""
    try:
        family.parse_chunk(chunk, acc)
    except Exception as exc:
        report_failure(f"families.{getattr(family, 'name', '?')}", exc)
    if not isinstance(chunk, dict):
        return
    read_usage(chunk.get(INVOCATION_METRICS), acc.response)  # exact counts: they win over the body's
    if chunk.get(GUARDRAIL_ACTION) == "INTERVENED":
        acc.response.refusal_signal = SIGNAL_GUARDRAIL


def finish_stream(acc: StreamAccumulator) -> ParsedResponse:
    """The response a finished (or abandoned) stream adds up to."""
    response = acc.finish()
    response.completion = strip_reasoning(response.completion)
    return response


def strip_reasoning(text: str) -> str:
    """`text` without a leading reasoning section (see `_LEADING_REASONING`)."""
    if "</reasoning>" not in text and "</think>" not in text:
        return text
    match = _LEADING_REASONING.match(text)
    return text[match.end():] if match else text
