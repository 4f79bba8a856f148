"""The interface every model family implements: request, response and stream-chunk parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ...record import ToolCall


@dataclass(slots=True)
class ParsedRequest:
    """What a request body says. `params` maps GenAI semconv attribute names
    (gen_ai.request.max_tokens, .temperature, .top_p, .top_k, .stop_sequences) to values."""

    operation: str = "chat"  # gen_ai.operation.name: chat | text_completion | embeddings
    system: str = ""
    prompt: str = ""  # flattened: system prompt and every message, in order
    messages: list[dict[str, Any]] = field(default_factory=list)  # semconv gen_ai.input.messages shape
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ParsedResponse:
    """What a complete (non-streamed) response body says; also the result of a finished stream."""

    completion: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reasons: tuple[str, ...] = ()
    response_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None  # output tokens spent reasoning, where the usage says so
    refusal_signal: str | None = None  # record.SIGNAL_* when the response itself marks a refusal


class StreamAccumulator:
    """Collects a stream's pieces from copies of what each chunk carries (never the user's objects)."""

    __slots__ = ("finish_reasons", "response", "text_parts", "tool_parts")

    def __init__(self) -> None:
        self.response = ParsedResponse()
        self.text_parts: list[str] = []
        self.tool_parts: dict[int, dict[str, Any]] = {}  # index -> {"name", "id", "arguments": [str]}
        self.finish_reasons: list[str] = []

    def finish(self) -> ParsedResponse:
        """The accumulated response."""
        result = self.response
        result.completion = "".join(self.text_parts)
        if self.finish_reasons:
            result.finish_reasons = tuple(self.finish_reasons)
        if self.tool_parts:
            result.tool_calls = [
                ToolCall(name=p.get("name") or "", id=p.get("id"),
                         arguments="".join(p.get("arguments", [])) or None)
                for _, p in sorted(self.tool_parts.items())
            ]
        return result


class Family(Protocol):
    """One model family's InvokeModel / InvokeModelWithResponseStream body formats."""

    name: str  # e.g. "anthropic"
    # Optional: raw-JSON openings of stream chunks that carry only text or tool arguments (a content
    # delta), e.g. `(b'{"type":"content_block_delta"',)`; see `invoke.text_only`.

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest: ...

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse: ...

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        """Fold one decoded stream chunk (the JSON inside `chunk.bytes`) into `acc`."""
        ...
