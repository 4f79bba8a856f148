"""The two records every stage shares: `LLMCall` (parsers produce it, evaluators consume it) and `Scores`
(what the evaluators said about one call; the recorder turns it into histograms), and `Evaluation`, one
score as it is recorded. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanContext

__all__ = ["PROVIDER_BEDROCK", "SIGNAL_CONTENT_FILTER", "SIGNAL_GUARDRAIL", "SIGNAL_MODEL_REFUSAL",
           "Evaluation", "LLMCall", "Scores", "ToolCall"]

PROVIDER_BEDROCK = "aws.bedrock"

# Values of LLMCall.refusal_signal: an exact refusal the response itself reports.
SIGNAL_GUARDRAIL = "guardrail_intervened"
SIGNAL_CONTENT_FILTER = "content_filtered"
SIGNAL_MODEL_REFUSAL = "model_refusal"


@dataclass(slots=True)
class ToolCall:
    """A tool call the model asked for (name, id, arguments as JSON text)."""

    name: str
    id: str | None = None
    arguments: str | None = None


@dataclass(slots=True)
class LLMCall:
    """One prompt/completion pair and what is known about the call that produced it.

    `prompt` is the flattened text the evaluators judge against (system prompt and every
    message, in order); `messages`/`output_messages` keep the structured form in the GenAI
    semantic-conventions shape, used only when the user opts in to content capture.
    """

    model_id: str
    operation: str = "chat"
    provider: str = PROVIDER_BEDROCK
    family: str | None = None
    request_model: str | None = None
    prompt: str = ""
    completion: str = ""
    system: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    output_messages: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    finish_reasons: tuple[str, ...] = ()
    refusal_signal: str | None = None
    response_id: str | None = None
    duration_s: float | None = None
    time_to_first_chunk_s: float | None = None
    streamed: bool = False
    error_type: str | None = None
    server_address: str | None = None
    span_context: SpanContext | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Scores:
    """What the evaluators said about one call; None where an evaluator was off, sampled out or had nothing
    to judge. Sentiment, toxicity and refusal judge the completion; similarity compares it with the prompt."""

    similarity: float | None = None  # cosine, [-1, 1]
    sentiment: float | None = None  # [-1, 1]
    sentiment_label: str | None = None
    toxicity: float | None = None  # [0, 1]
    toxicity_categories: tuple[str, ...] = ()
    refusal: float | None = None  # [0, 1]
    refused: bool | None = None
    refusal_source: str | None = None  # guardrail_intervened | content_filtered | model_refusal | classifier
    extra: dict[str, float] = field(default_factory=dict)  # custom evaluators, each in [0, 1]
    backend: str = ""
    failed: tuple[str, ...] = ()  # evaluators that failed on this call (each reported through report_failure)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One score as it is recorded: `value` on the evaluator's histogram (in [0, 1]); `score` as the
    evaluator gave it and its `label`, on the `gen_ai.evaluation.result` event."""

    value: float
    score: float
    label: str | None = None
