"""The tracer, the GenAI call instruments and the span attributes one instrumentor run writes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, TracerProvider

from .. import _instruments as names
from .._bedrock.families import output_messages
from .._bedrock.families.base import ParsedRequest, ParsedResponse
from .._config import Settings
from .._redaction import load_redactor
from ..record import PROVIDER_BEDROCK
from .deferred import DeferredRecorder
from .fastpaths import set_attributes
from .profiles import InferenceProfileResolver, is_application_profile

SCOPE = "otel_llm.instrumentation.bedrock"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
MAX_CACHED_ATTRIBUTE_SETS = 1024  # (operation, model, server) combinations; beyond, built per call
MAX_CACHED_ERROR_TYPES = 32  # per attribute set; error.type is low-cardinality
TOKEN_INPUT = {gen_ai.GEN_AI_TOKEN_TYPE: "input"}
TOKEN_OUTPUT = {gen_ai.GEN_AI_TOKEN_TYPE: "output"}


class Telemetry:
    """What one `instrument()` call records with: settings, tracer and the four call histograms."""

    __slots__ = ("_attribute_sets", "capture_content", "duration", "max_chars", "recorder", "redact",
                 "resolver", "settings", "time_per_chunk", "time_to_first_chunk", "token_usage", "tracer")

    def __init__(self, settings: Settings, tracer_provider: TracerProvider | None = None,
                 meter_provider: MeterProvider | None = None,
                 resolver: InferenceProfileResolver | None = None) -> None:
        self.settings = settings
        self.resolver = resolver
        self.capture_content = settings.capture_content
        self.redact = load_redactor(settings.redactor) if settings.capture_content else None
        self.max_chars = settings.max_content_chars
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider, schema_url=SCHEMA_URL)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider, schema_url=SCHEMA_URL)
        made = {i.name: _histogram(meter, i) for i in names.CALL_INSTRUMENTS}
        self.token_usage = made[names.TOKEN_USAGE]
        self.duration = made[names.OPERATION_DURATION]
        self.time_to_first_chunk = made[names.TIME_TO_FIRST_CHUNK]
        self.time_per_chunk = made[names.TIME_PER_OUTPUT_CHUNK]
        self.recorder = DeferredRecorder(meter)
        self._attribute_sets: dict[tuple[Any, ...], AttributeSets] = {}

    def attribute_sets(self, operation: str, model: str, metric_model: str,
                       server: tuple[str | None, int | None], response_model: str | None) -> AttributeSets:
        """The attribute dicts of calls like this one, built once (shared: never mutate them)."""
        key = (operation, model, metric_model, server, response_model)
        found = self._attribute_sets.get(key)
        if found is None:
            found = AttributeSets(*key)
            if len(self._attribute_sets) < MAX_CACHED_ATTRIBUTE_SETS:
                self._attribute_sets[key] = found
        return found

    def stop(self) -> None:
        """Merge the call metrics still held locally into the SDK (on `uninstrument()`)."""
        self.recorder.stop()

    def resolved_model(self, model_id: str) -> str | None:
        """The model behind an application inference profile ARN, once resolved (opt-in), else None."""
        if self.resolver is not None and is_application_profile(model_id):
            return self.resolver.cached(model_id)
        return None


class AttributeSets:
    """What calls with one (operation, model, server) share: the span name, the span's request-side
    attributes known before parsing, and the metric attributes, plain and with each token type."""

    __slots__ = ("_errors", "base", "input_tokens", "output_tokens", "span", "span_name")

    def __init__(self, operation: str, model: str, metric_model: str, server: tuple[str | None, int | None],
                 response_model: str | None) -> None:
        base: dict[str, Any] = {gen_ai.GEN_AI_OPERATION_NAME: operation,
                                gen_ai.GEN_AI_PROVIDER_NAME: PROVIDER_BEDROCK}
        if metric_model:
            base[gen_ai.GEN_AI_REQUEST_MODEL] = metric_model
        if server[0]:
            base[server_attributes.SERVER_ADDRESS] = server[0]
        if server[1] is not None:
            base[server_attributes.SERVER_PORT] = server[1]
        if response_model:
            base[gen_ai.GEN_AI_RESPONSE_MODEL] = response_model
        self.base = base
        self.input_tokens = {**base, **TOKEN_INPUT}
        self.output_tokens = {**base, **TOKEN_OUTPUT}
        self.span = dict(base)
        self.span_name = f"{operation} {model}".rstrip()
        self._errors: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}

    def with_error(self, error: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """`base`, `input_tokens` and `output_tokens` with `error.type`, built once per error type."""
        found = self._errors.get(error)
        if found is None:
            attrs = {**self.base, error_attributes.ERROR_TYPE: error}
            found = (attrs, {**attrs, **TOKEN_INPUT}, {**attrs, **TOKEN_OUTPUT})
            if len(self._errors) < MAX_CACHED_ERROR_TYPES:
                self._errors[error] = found
        return found


def _histogram(meter: metrics.Meter, instrument: names.Instrument) -> Histogram:
    return meter.create_histogram(
        instrument.name, unit=instrument.unit, description=instrument.description,
        explicit_bucket_boundaries_advisory=list(instrument.buckets or ()),
    )


def request_attributes(request: ParsedRequest) -> dict[str, Any]:
    """The request parameters a family parser found, as span attributes (None values dropped)."""
    return {k: v for k, v in request.params.items() if v is not None}


def total_input_tokens(response: ParsedResponse) -> int | None:
    """Input tokens as the conventions count them: cached ones included. Bedrock (Converse, Anthropic)
    reports prompt-cache reads and writes apart from `inputTokens`, so they are added back here."""
    if response.input_tokens is None:
        return None
    return response.input_tokens + (response.cache_read_tokens or 0) + (response.cache_write_tokens or 0)


def set_response_attributes(span: Span, response: ParsedResponse,
                            time_to_first_chunk: float | None = None) -> None:
    """Response id, finish reasons, token usage and a stream's time to first chunk on `span` (one
    `set_attributes` call, unvalidated where the SDK would store them as they are: `fastpaths`)."""
    attributes: dict[str, Any] = {}
    if time_to_first_chunk is not None:
        attributes[gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = time_to_first_chunk
    if response.response_id:
        attributes[gen_ai.GEN_AI_RESPONSE_ID] = response.response_id
    if response.finish_reasons:
        attributes[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = response.finish_reasons
    for key, value in (
        (gen_ai.GEN_AI_USAGE_INPUT_TOKENS, total_input_tokens(response)),
        (gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS, response.output_tokens),
        (gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, response.cache_read_tokens),
        (gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, response.cache_write_tokens),
        (gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, response.reasoning_tokens),
    ):
        if value is not None:
            attributes[key] = value
    set_attributes(span, attributes)


def set_content_attributes(span: Span, request: ParsedRequest, response: ParsedResponse | None,
                           max_chars: int) -> None:
    """The opt-in content attributes (`gen_ai.input.messages` etc.) as JSON strings, each bounded.

    Messages whose JSON would exceed `max_chars` are replaced by one user message holding the
    flattened prompt cut to `max_chars`, so the attribute stays valid JSON.
    """
    if request.system:
        span.set_attribute(gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS,
                           _dumps([{"type": "text", "content": request.system[:max_chars]}]))
    if request.messages:
        text = _dumps(request.messages)
        if len(text) > max_chars:
            flattened = {"type": "text", "content": request.prompt[:max_chars]}
            text = _dumps([{"role": "user", "parts": [flattened]}])
        span.set_attribute(gen_ai.GEN_AI_INPUT_MESSAGES, text)
    if response is not None:
        if len(response.completion) > max_chars:
            response = dataclasses.replace(response, completion=response.completion[:max_chars])
        span.set_attribute(gen_ai.GEN_AI_OUTPUT_MESSAGES, _dumps(output_messages(response)))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
