"""`BedrockCall`: the one object that follows a Bedrock call from request to span end.

It parses the request, opens the span, reads the response,
records the call metrics and hands the `LLMCall` record to the side channel before the span ends.
Its hooks (`succeed`, `fail`, `on_event`, `end_stream`) raise freely: they are called at the boundary
through `safe_call`, which reports a failure and ends the span anyway (`end_quietly`).
"""

from __future__ import annotations

import io
from functools import partial
from itertools import islice
from operator import sub
from timeit import default_timer
from typing import Any

from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes import aws_attributes as aws, gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from .. import _sidechannel as sidechannel
from .._bedrock.exchange import apply_header_tokens, parse_request, parse_response, to_llm_call
from .._bedrock.families import (
    carries_only_content,
    finish_stream,
    lookup,
    parse_converse_event,
    parse_converse_params,
    parse_stream_chunk,
)
from .._bedrock.families.base import ParsedRequest, ParsedResponse, StreamAccumulator
from .._bedrock.families.invoke import text_only
from .._failures import report_failure, safe_call
from .._redaction import redact_exchange
from ..record import SIGNAL_GUARDRAIL, LLMCall
from .fastpaths import loads, start_span
from .semconv import (
    Telemetry,
    request_attributes,
    set_content_attributes,
    set_response_attributes,
    total_input_tokens,
)
from .streams import wrap_stream

CONVERSE = "Converse"
CONVERSE_STREAM = "ConverseStream"
INVOKE = "InvokeModel"
INVOKE_STREAM = "InvokeModelWithResponseStream"
APPLY_GUARDRAIL = "ApplyGuardrail"
OPERATIONS = frozenset({CONVERSE, CONVERSE_STREAM, INVOKE, INVOKE_STREAM, APPLY_GUARDRAIL})

OPERATION_GUARDRAIL = "apply_guardrail"
ATTR_GUARDRAIL_ACTION = "otel_llm.guardrail.action"
ATTR_GUARDRAIL_VERSION = "otel_llm.guardrail.version"
ATTR_GUARDRAIL_SOURCE = "otel_llm.guardrail.source"

# Larger InvokeModel response bodies (images, huge batches) are handed back unparsed: decoding
# megabytes of JSON on the caller's thread costs more than the record is worth. Token counts
# still come from the response headers.
MAX_PARSED_RESPONSE_BYTES = 1 << 20
# Request bodies past this (images, documents as base64) are not parsed either: a text prompt filling
# a 200k-token context stays well below it. The span then lacks the request parameters and the prompt.
MAX_PARSED_REQUEST_BYTES = 2 << 20


class BedrockCall:
    """One Bedrock call: request parsing, span, metrics and the side-channel record."""

    __slots__ = ("acc", "api", "attribute_sets", "content_wanted", "ended", "family", "first_chunk_s",
                 "request", "request_model", "response_model", "server_address", "skip_content", "span",
                 "start", "telemetry", "text_prefixes", "times")

    def __init__(self, telemetry: Telemetry, api: str, params: dict[str, Any],
                 server: tuple[str | None, int | None], context: Context | None = None) -> None:
        self.telemetry = telemetry
        self.api = api
        self.ended = False
        self.acc: StreamAccumulator | None = None
        self.first_chunk_s: float | None = None
        self.times: list[float] = []  # a stream's event arrival times
        # Neither spans (content capture off) nor a processor (none listens, or none wants this call's
        # content: its CPU budget is spent) will read prompt or completion: the request is parsed for its
        # parameters only, and a stream's content events are timed, not read.
        self.content_wanted = sidechannel.wanted()
        self.skip_content = not telemetry.capture_content and not self.content_wanted
        self.text_prefixes: tuple[bytes, ...] | None = None
        self.server_address = server[0]
        self.family: Any = None
        if api == APPLY_GUARDRAIL:
            self.request_model = str(params.get("guardrailIdentifier") or "")
            self.response_model = None
            self.request = ParsedRequest(operation=OPERATION_GUARDRAIL)
        else:
            self.request_model = str(params.get("modelId") or "")
            ref = lookup(self.request_model, telemetry.resolved_model(self.request_model))
            self.family = ref.family
            self.response_model = ref.model_id
            self.request = _parse_request(ref.family, api, params, self.skip_content)
        self.attribute_sets = sets = telemetry.attribute_sets(
            self.request.operation, self.request_model, self.request_model if api != APPLY_GUARDRAIL else "",
            server, self.response_model)
        attributes = {**sets.span, **request_attributes(self.request)}
        if api == APPLY_GUARDRAIL:
            attributes.update(_guardrail_request_attributes(params))
        else:
            guardrail = _request_guardrail(api, params)
            if guardrail:
                attributes[aws.AWS_BEDROCK_GUARDRAIL_ID] = guardrail
            if api in (CONVERSE_STREAM, INVOKE_STREAM):
                attributes[gen_ai.GEN_AI_REQUEST_STREAM] = True
        self.span = start_span(telemetry.tracer, sets.span_name, context, SpanKind.CLIENT, attributes)
        self.start = default_timer()

    # --- outcomes -------------------------------------------------------------------------------

    def succeed(self, response: dict[str, Any], body: bytes | None = None) -> None:
        """Read a complete response (or wrap its stream in place in `response`).

        `body`: InvokeModel's response body, when the caller has read and replaced it already (async
        clients: `aio.replace_async_body`); else it is read here."""
        if self.api == CONVERSE:
            self._end(parse_response(self.family, CONVERSE, response), None)
        elif self.api == INVOKE:
            data = replace_body(response) if body is None else body
            self._end(self._invoke_response(response, data), None)
        elif self.api == APPLY_GUARDRAIL:
            self._end_guardrail(response)
        else:
            key = "stream" if self.api == CONVERSE_STREAM else "body"
            if response.get(key) is not None:
                self.acc = StreamAccumulator()
                if self.skip_content:
                    self.text_prefixes = getattr(self.family, "text_chunk_prefixes", None)
                response[key] = wrap_stream(response[key], self.on_event, self.end_stream_safely)
            else:
                self._end(ParsedResponse(), None)

    def fail(self, exc: BaseException) -> None:
        """The call raised: record `error.type`, end the span (the caller re-raises `exc`)."""
        self._end(ParsedResponse(), exc)

    def on_event(self, event: Any) -> None:
        """Note one stream event's arrival and fold it (read only; the user gets the same object). Called
        by the stream proxy, which reports what this raises."""
        if self.ended:
            return
        self.times.append(default_timer())
        if self.api == CONVERSE_STREAM:
            if self.skip_content and carries_only_content(event):
                return
            parse_converse_event(event, self.acc)  # type: ignore[arg-type]
            return
        chunk = event.get("chunk") if isinstance(event, dict) else None
        data = chunk.get("bytes") if chunk else None
        if not data:
            parse_stream_chunk(self.family, None, self.acc)  # type: ignore[arg-type]
        elif self.text_prefixes is None or not text_only(self.text_prefixes, data):
            parse_stream_chunk(self.family, loads(data), self.acc)  # type: ignore[arg-type]

    def end_stream(self, exc: BaseException | None) -> None:
        """The stream is exhausted, closed, abandoned or raised `exc`: end the call once. The time per
        output chunk is each interval between consecutive events, recorded here in one go."""
        if self.ended:
            return
        times = self.times
        if times:
            self.first_chunk_s = times[0] - self.start
            if len(times) > 1:
                self.telemetry.recorder.add_values(self.telemetry.time_per_chunk,
                                                   map(sub, islice(times, 1, None), times),
                                                   self.attribute_sets.base)
        response = finish_stream(self.acc) if self.acc is not None else ParsedResponse()
        self._end(response, exc, streamed=True)

    def end_stream_safely(self, exc: BaseException | None) -> None:
        """`end_stream` at the boundary (the stream proxy's `on_end`): never raises."""
        safe_call("instrumentation", self.end_stream, exc, recover=partial(self.end_quietly, exc))

    # --- internals ------------------------------------------------------------------------------

    def _invoke_response(self, response: dict[str, Any], data: bytes | None) -> ParsedResponse:
        parsed = ParsedResponse()
        if data and len(data) <= MAX_PARSED_RESPONSE_BYTES:
            try:
                body = loads(data)
            except ValueError:
                body = None
            if isinstance(body, dict):
                parsed = parse_response(self.family, INVOKE, body)
        return apply_header_tokens(parsed, response.get("ResponseMetadata", {}).get("HTTPHeaders") or {})

    def _end(self, response: ParsedResponse, exc: BaseException | None, streamed: bool = False) -> None:
        if self.ended:
            return
        self.ended = True
        duration = default_timer() - self.start
        if self.request.operation == "embeddings":  # embeddings produce no output tokens (a header says 0)
            response.output_tokens = None
        span = self.span
        error = error_type(exc) if exc is not None else None
        telemetry = self.telemetry
        sets = self.attribute_sets
        attrs, input_attrs, output_attrs = sets.base, sets.input_tokens, sets.output_tokens
        if error is not None:
            attrs, input_attrs, output_attrs = sets.with_error(error)
        measurements = []
        if streamed and self.first_chunk_s is not None:
            measurements.append((telemetry.time_to_first_chunk, self.first_chunk_s, attrs))
        measurements.append((telemetry.duration, duration, attrs))
        input_tokens = total_input_tokens(response)
        if input_tokens is not None:
            measurements.append((telemetry.token_usage, input_tokens, input_attrs))
        if response.output_tokens is not None:
            measurements.append((telemetry.token_usage, response.output_tokens, output_attrs))
        telemetry.recorder.add(measurements)
        recording = span.is_recording()
        if recording:
            set_response_attributes(span, response, self.first_chunk_s if streamed else None)
            if response.refusal_signal == SIGNAL_GUARDRAIL:
                span.set_attribute(ATTR_GUARDRAIL_ACTION, "GUARDRAIL_INTERVENED")
            if telemetry.capture_content:
                content = (self.request, None if exc is not None else response)
                if telemetry.redact is not None:  # the user's scrubbing applies to what goes on spans too
                    content = redact_exchange(telemetry.redact, *content)  # type: ignore[assignment]
                if content is not None:
                    set_content_attributes(span, content[0], content[1], telemetry.max_chars)
            if exc is not None:
                span.set_attribute(error_attributes.ERROR_TYPE, error)
                span.set_status(Status(StatusCode.ERROR, error_description(exc, telemetry.capture_content)))
        if recording and sidechannel.listening() and self.scored:
            span_context = span.get_span_context()
            record = self._record(response, duration, error, streamed, span_context)
            if not self.content_wanted:  # counted as sampled out; an exact refusal signal still counts
                record.completion, record.tool_calls = "", []  # a whole response's text, read anyway
                record.extra[sidechannel.SAMPLED_OUT] = True
            sidechannel.publish(span_context, record)
        span.end()

    def _end_guardrail(self, response: dict[str, Any]) -> None:
        action = response.get("action")
        if isinstance(action, str) and self.span.is_recording():
            self.span.set_attribute(ATTR_GUARDRAIL_ACTION, action)
            if action == "GUARDRAIL_INTERVENED":
                self.span.set_attribute(gen_ai.GEN_AI_RESPONSE_FINISH_REASONS, ["guardrail_intervened"])
        self._end(ParsedResponse(), None)

    def end_quietly(self, exc: BaseException | None) -> None:
        """Last resort after an internal failure (the `recover` of `safe_call`): the span still ends, once."""
        if self.ended:
            return
        self.ended = True
        if exc is not None:
            description = error_description(exc, self.telemetry.capture_content)
            self.span.set_status(Status(StatusCode.ERROR, description))
        self.span.end()

    @property
    def scored(self) -> bool:
        """Whether the call yields a prompt/completion pair (guardrail checks and embeddings do not)."""
        return self.api != APPLY_GUARDRAIL and self.request.operation != "embeddings"

    def _record(self, response: ParsedResponse, duration: float, error: str | None,
                streamed: bool, span_context: SpanContext) -> LLMCall:
        return to_llm_call(self.request, response, model_id=self.response_model or self.request_model,
                           request_model=self.request_model, family=getattr(self.family, "name", None),
                           max_chars=self.telemetry.max_chars, duration_s=duration,
                           time_to_first_chunk_s=self.first_chunk_s, streamed=streamed, error_type=error,
                           server_address=self.server_address, span_context=span_context)


def _parse_request(family: Any, api: str, params: dict[str, Any], params_only: bool) -> ParsedRequest:
    """The request as parsed (`params_only`: its operation and parameters, where the family can read
    just those); a request the parsers cannot read (any error: a RecursionError on deeply nested JSON, a
    broken family parser) still gets its span, without request details."""
    try:
        if api in (CONVERSE, CONVERSE_STREAM):
            return parse_converse_params(params) if params_only else parse_request(family, api, params)
        body = load_json_body(params.get("body"))
        if body is None:
            return ParsedRequest()
        parse_params = getattr(family, "parse_params", None) if params_only else None
        return parse_params(body) if parse_params is not None else parse_request(family, api, body)
    except Exception as exc:
        report_failure("instrumentation.request", exc)
        return ParsedRequest()


def _request_guardrail(api: str, params: dict[str, Any]) -> str | None:
    """The guardrail a model call applies: Converse `guardrailConfig`, InvokeModel `guardrailIdentifier`."""
    if api in (CONVERSE, CONVERSE_STREAM):
        config = params.get("guardrailConfig")
        value = config.get("guardrailIdentifier") if isinstance(config, dict) else None
    else:
        value = params.get("guardrailIdentifier")
    return value if isinstance(value, str) and value else None


def _guardrail_request_attributes(params: dict[str, Any]) -> dict[str, Any]:
    attributes = {aws.AWS_BEDROCK_GUARDRAIL_ID: str(params.get("guardrailIdentifier") or "")}
    for key, name in ((ATTR_GUARDRAIL_VERSION, "guardrailVersion"), (ATTR_GUARDRAIL_SOURCE, "source")):
        if isinstance(params.get(name), str):
            attributes[key] = params[name]
    return attributes


def error_type(exc: BaseException) -> str:
    """A low-cardinality `error.type`: the AWS error code for service errors, else the class name.

    Errors raised mid-stream carry the event name (`throttlingException`); it is capitalised so one
    error has one `error.type` wherever it happened.
    """
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code") or "")
        if code:
            return code[0].upper() + code[1:]
    return type(exc).__qualname__


def error_description(exc: BaseException, capture_content: bool) -> str:
    """The span status description: the error's message only when content capture is on, else its
    `error.type`. Messages quote content: botocore's parameter validation prints the invalid value, and
    the service's own (a ValidationException, an error event mid-stream) can quote the prompt."""
    return str(exc) if capture_content else error_type(exc)


def load_json_body(body: Any) -> dict[str, Any] | None:
    """The request body as a dict, from bytes, str or a seekable file (rewound: nothing consumed);
    None when it is not a JSON object or larger than `MAX_PARSED_REQUEST_BYTES`."""
    if isinstance(body, (bytes, bytearray, str)):
        data = body
    elif hasattr(body, "read") and hasattr(body, "seek") and getattr(body, "seekable", lambda: False)():
        position = body.tell()
        try:
            data = body.read(MAX_PARSED_REQUEST_BYTES + 1)
        finally:
            body.seek(position)
    else:
        return None
    if len(data) > MAX_PARSED_REQUEST_BYTES:
        return None
    try:
        value = loads(data)
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        return None
    return value if isinstance(value, dict) else None


def replace_body(response: dict[str, Any]) -> bytes | None:
    """Read the response's StreamingBody and leave it unread for the user: botocore's own body, its raw
    stream swapped for the bytes read (same object, same content-length check); any other body is
    replaced by an equivalent fresh StreamingBody."""
    body = response.get("body")
    if body is None or not hasattr(body, "read"):
        return None
    in_place = type(body) is StreamingBody and hasattr(body, "_raw_stream") and hasattr(body, "_amount_read")
    raw = body._raw_stream if in_place else body
    try:
        data = body.read()
    except Exception as exc:  # what was read is lost: the user's read must fail the same way
        if in_place:
            body._raw_stream = _FailedRead(exc)
        else:
            response["body"] = StreamingBody(_FailedRead(exc), None)
        raise
    if in_place:
        body._raw_stream, body._amount_read = io.BytesIO(data), 0
    else:
        response["body"] = StreamingBody(io.BytesIO(data), len(data))
    try:
        raw.close()
    except Exception as exc:
        report_failure("instrumentation", exc)
    return data


class _FailedRead:
    """The raw stream of a response body whose reading failed: every read raises that same error."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def read(self, *args: Any) -> bytes:
        raise self.exc

    def close(self) -> None:
        pass
