"""What the emulator is told to answer (`Reply`), what it received (`EmulatorRequest`), and its errors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..record import ToolCall

# Bedrock Runtime's error shapes and their HTTP status codes (from the service model).
HTTP_ERRORS: dict[str, int] = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}
# Exception events a response stream may carry (members of ResponseStream / ConverseStreamOutput).
STREAM_ERRORS = frozenset(
    {
        "internalServerException",
        "modelStreamErrorException",
        "validationException",
        "throttlingException",
        "modelTimeoutException",
        "serviceUnavailableException",
    }
)
DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ModelTimeoutException": "Model has timed out in processing the request. Try your request again.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "ModelStreamErrorException": "The model stream was interrupted. Try your request again.",
    "InternalServerException": "The server encountered an internal error. Try your request again.",
}
STOP_REASONS = (
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "guardrail_intervened",
    "content_filtered",
)
GUARDRAIL_BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."


class BedrockError(Exception):
    """An error the emulator answers with, in Bedrock's shape (`code` is e.g. "ValidationException")."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code[0].upper() + code[1:]
        self.message = message or DEFAULT_ERROR_MESSAGES.get(
            self.code, f"{self.code} raised by the emulator."
        )
        super().__init__(f"{self.code}: {self.message}")

    @property
    def status(self) -> int:
        return HTTP_ERRORS.get(self.code, 400)

    @property
    def stream_code(self) -> str:
        """The event-stream exception type (lower camel case)."""
        return self.code[0].lower() + self.code[1:]


@dataclass(slots=True)
class ToolUse:
    """A tool call the scripted model makes."""

    name: str
    input: dict[str, Any]
    id: str

    @property
    def arguments(self) -> str:
        return json.dumps(self.input)


def _tool_use(call: ToolCall | dict[str, Any]) -> ToolUse:
    raw: Any
    if isinstance(call, ToolCall):
        name, raw, tool_id = call.name, call.arguments, call.id
    elif isinstance(call, dict) and "name" in call:
        name, raw, tool_id = call["name"], call.get("input", call.get("arguments")), call.get("id")
    else:
        raise ValueError(f"tool call must be a ToolCall or a dict with 'name' and 'input', got {call!r}")
    arguments = raw if raw is not None else {}
    if isinstance(raw, str):
        try:
            arguments = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ValueError(f"tool call {name!r}: arguments are not JSON: {raw!r}") from exc
    if not isinstance(arguments, dict):
        raise ValueError(f"tool call {name!r}: input must be a JSON object, got {arguments!r}")
    if not tool_id:
        digest = hashlib.sha256(f"{name}{json.dumps(arguments, sort_keys=True)}".encode()).hexdigest()
        tool_id = f"tooluse_{digest[:22]}"
    return ToolUse(name=name, input=arguments, id=tool_id)


@dataclass
class Reply:
    """One scripted answer.

    text: the completion (None = a deterministic reply derived from the prompt; with
      `guardrail_intervened`, Bedrock's blocked message). stop_reason: Converse vocabulary
      ("end_turn", "tool_use", "max_tokens", "stop_sequence", "guardrail_intervened",
      "content_filtered"), mapped to each family's own words; any other value is sent as is
      (e.g. "refusal" for Anthropic). tool_calls: `record.ToolCall`s or dicts
      {"name", "input" (dict or JSON text), "id"?}. latency_s: wait before answering;
      chunk_delay_s: wait between stream events; chunks: number of text pieces in a stream.
    error: answer with this Bedrock error instead (HTTP status per the service model), or, with
      `error_after_chunks=N` on a streaming call, send N events then this exception event.
    input_tokens / output_tokens: override the word counts.
    """

    text: str | None = None
    stop_reason: str | None = None
    tool_calls: list[Any] = field(default_factory=list)
    latency_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunks: int | None = None
    error: str | None = None
    error_after_chunks: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    guardrail_intervened: bool = False
    error_message: str | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.text is not None and not isinstance(self.text, str):
            raise ValueError(f"Reply.text must be a string or None, got {type(self.text).__name__}")
        for name in ("latency_s", "chunk_delay_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"Reply.{name} must be >= 0")
        for name in ("chunks", "error_after_chunks", "input_tokens", "output_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < (1 if name == "chunks" else 0)):
                raise ValueError(
                    f"Reply.{name} must be a {'positive' if name == 'chunks' else 'non-negative'} int"
                )
        if self.error_after_chunks is not None and self.error is None:
            raise ValueError("Reply.error_after_chunks needs Reply.error (e.g. 'modelStreamErrorException')")
        if self.error is not None:
            code = self.error[:1].upper() + self.error[1:]
            if code not in HTTP_ERRORS:
                raise ValueError(
                    f"unknown Bedrock error {self.error!r}; known: {', '.join(sorted(HTTP_ERRORS))}"
                )
            if self.error_after_chunks is not None and code[0].lower() + code[1:] not in STREAM_ERRORS:
                raise ValueError(
                    f"{self.error!r} cannot occur inside a stream; use one of {sorted(STREAM_ERRORS)}"
                )
        self.tool_calls = [call if isinstance(call, ToolUse) else _tool_use(call) for call in self.tool_calls]

    def resolved_stop_reason(self) -> str:
        """The stop reason in Converse vocabulary (or the given custom value)."""
        if self.stop_reason:
            return self.stop_reason
        if self.guardrail_intervened:
            return "guardrail_intervened"
        return "tool_use" if self.tool_calls else "end_turn"


@dataclass
class EmulatorRequest:
    """One request the emulator received."""

    operation: str  # InvokeModel | InvokeModelWithResponseStream | Converse | ConverseStream | ApplyGuardrail
    model_id: str | None  # as sent (URL-decoded); the guardrail id for ApplyGuardrail
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    base_model_id: str | None = None  # region prefix and ARN parts removed
    family: str | None = None  # the response format chosen, e.g. "anthropic", "nova"
    prompt: str = ""  # every text of the request, flattened, in order
    last_text: str = ""  # the last text in the request (usually the user's question)
