"""Amazon Bedrock model-invocation log records (S3 `.json.gz` JSON Lines, CloudWatch Logs events) to
`LLMCall`s.

The record format is Bedrock's `ModelInvocationLog` (schemaVersion 1.0): `modelId`, `operation`,
`input.inputBodyJson` / `input.inputBodyS3Path` (bodies over 100 KB live in their own S3 object),
`output.outputBodyJson` (a list of chunk JSONs for streamed calls), token counts, `errorCode`.
Bodies are read with the same family parsers as the in-process instrumentation.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._bedrock.exchange import STREAM_OPERATIONS, parse_events, parse_request, parse_response, to_llm_call
from .._bedrock.families import Family, ParsedRequest, ParsedResponse, lookup
from .._bedrock.families.invoke import INVOCATION_METRICS
from .._failures import report_failure
from ..record import PROVIDER_BEDROCK, LLMCall

SCHEMA_TYPE = "ModelInvocationLog"
GZIP_MAGIC = b"\x1f\x8b"

BodyFetcher = Callable[[str], Any]  # an s3:// URI -> the decoded JSON body stored there


class InvalidRecord(ValueError):
    """A record that cannot be read as what it claims to be; retrying cannot fix it."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be read, and where: `s3://bucket/key line 7`."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(slots=True)
class Batch:
    """Calls read from one or more sources, what was skipped on purpose, and what could not be read."""

    calls: list[LLMCall] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> records with nothing to score

    def extend(self, other: Batch) -> None:
        self.calls.extend(other.calls)
        self.problems.extend(other.problems)
        self.skipped.update(other.skipped)

    def add(self, call: LLMCall) -> None:
        """Keep `call` if it has something to score, else count why not."""
        reason = skip_reason(call)
        if reason:
            self.skipped[reason] += 1
        else:
            self.calls.append(call)

    def add_log_record(self, record: Any, location: str, fetch_body: BodyFetcher | None = None,
                       max_chars: int | None = None) -> None:
        """Parse one invocation-log record; a bad one becomes a `Problem` and nothing else is lost."""
        def problem(reason: str) -> None:
            self.problems.append(Problem(location, reason))

        try:
            call = call_from_log_record(record, fetch_body, max_chars, on_problem=problem)
        except InvalidRecord as exc:
            self.problems.append(Problem(location, str(exc)))
            return
        except Exception as exc:  # a parser bug must not lose the other records
            report_failure("pipeline.parse", exc)
            self.problems.append(Problem(location, f"could not be parsed ({type(exc).__name__}: {exc})"))
            return
        call.extra["log_location"] = location
        self.add(call)


def skip_reason(call: LLMCall) -> str | None:
    """Why a well-formed call has nothing to score (failed call, embeddings, no text), or None."""
    if call.error_type:
        return "error"
    if call.operation == "embeddings":
        return "embeddings"
    if not call.completion.strip() and call.refusal_signal is None:
        return "no_completion_text"
    return None


def gunzip(data: bytes) -> tuple[bytes, str | None]:
    """`data` unzipped when it is gzip (every member). A truncated or corrupt stream keeps what could be
    read and says what went wrong; plain data is returned as is."""
    if data[:2] != GZIP_MAGIC:
        return data, None
    parts: list[bytes] = []
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            parts.append(inflater.decompress(data))
        except zlib.error as exc:
            return b"".join(parts), f"corrupt gzip data ({exc}); the records before it were read"
        if not inflater.eof:
            parts.append(inflater.flush())
            return b"".join(parts), "gzip stream ends early (truncated object); the complete lines were read"
        data = inflater.unused_data
    return b"".join(parts), None


def read_log_object(data: bytes, source: str, fetch_body: BodyFetcher | None = None,
                    max_chars: int | None = None) -> Batch:
    """Every record of one log object: gzip or plain JSON Lines (also one JSON document or array).

    Each broken line is reported with its location (`source line N`) and skipped.
    """
    batch = Batch()
    raw, trouble = gunzip(data)
    if trouble:
        batch.problems.append(Problem(source, trouble))
    stripped = raw.strip()
    whole = _whole_document(stripped)
    if whole is not None:
        items = whole if isinstance(whole, list) else [whole]
        for index, record in enumerate(items, start=1):
            batch.add_log_record(record, f"{source} item {index}", fetch_body, max_chars)
        return batch
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        location = f"{source} line {number}"
        try:
            record = json.loads(line)
        except ValueError as exc:  # also UnicodeDecodeError
            batch.problems.append(Problem(location, f"not valid JSON ({exc})"))
            continue
        batch.add_log_record(record, location, fetch_body, max_chars)
    return batch


def _whole_document(stripped: bytes) -> Any:
    """A pretty-printed record or a JSON array of records (not JSON Lines), else None."""
    if b"\n" not in stripped or stripped[:1] not in (b"[", b"{"):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def call_from_log_record(record: Any, fetch_body: BodyFetcher | None = None, max_chars: int | None = None,
                         on_problem: Callable[[str], None] | None = None) -> LLMCall:
    """One `ModelInvocationLog` record as an `LLMCall`.

    Raises `InvalidRecord` when it is not such a record. A body stored in S3 that cannot be fetched is
    reported through `on_problem` and the call keeps what the record itself holds.
    """
    if not isinstance(record, dict):
        raise InvalidRecord(f"expected a JSON object, got {type(record).__name__}")
    schema = record.get("schemaType")
    if schema is not None and schema != SCHEMA_TYPE:
        raise InvalidRecord(f"schemaType is {schema!r}, not {SCHEMA_TYPE!r}")
    model_id = record.get("modelId")
    if not isinstance(model_id, str) or not model_id:
        raise InvalidRecord("no modelId: not a Bedrock model-invocation log record")
    operation = record.get("operation") or "InvokeModel"
    if not isinstance(operation, str):
        raise InvalidRecord(f"operation must be a string, got {operation!r}")
    section_in = _section(record, "input")
    section_out = _section(record, "output")
    region = record.get("region")
    server = f"bedrock-runtime.{region}.amazonaws.com" if isinstance(region, str) else None
    ref = lookup(model_id)
    known: dict[str, Any] = {"streamed": operation in STREAM_OPERATIONS, "extra": _metadata(record),
                             "server_address": server}
    if record.get("errorCode"):
        return LLMCall(model_id=ref.model_id, request_model=model_id, provider=PROVIDER_BEDROCK,
                       family=ref.family.name, error_type=str(record["errorCode"]), **known)

    def problem(reason: str) -> None:
        if on_problem is not None:
            on_problem(reason)

    request = _body(section_in, "inputBodyJson", "inputBodyS3Path", fetch_body, problem)
    response = _body(section_out, "outputBodyJson", "outputBodyS3Path", fetch_body, problem)
    parsed_request, parsed_response = _parse(ref.family, operation, request, response)
    call = to_llm_call(parsed_request, parsed_response, model_id=ref.model_id, request_model=model_id,
                       family=ref.family.name, max_chars=max_chars, **known)
    call.input_tokens = _int(section_in.get("inputTokenCount"), call.input_tokens)
    call.output_tokens = _int(section_out.get("outputTokenCount"), call.output_tokens)
    call.cache_read_tokens = _int(section_in.get("cacheReadInputTokenCount"), call.cache_read_tokens)
    call.cache_write_tokens = _int(section_in.get("cacheWriteInputTokenCount"), call.cache_write_tokens)
    latency_ms, first_byte_ms = _latencies(response)
    call.duration_s = latency_ms / 1000 if latency_ms is not None else None
    call.time_to_first_chunk_s = first_byte_ms / 1000 if first_byte_ms is not None else None
    return call


def _parse(family: Family, operation: str, request: Any,
           response: Any) -> tuple[ParsedRequest, ParsedResponse]:
    """Parse bodies with the Converse parser or the model family's (stream chunks folded in order)."""
    parsed_request = parse_request(family, operation, request if isinstance(request, dict) else {})
    if isinstance(response, list):
        return parsed_request, parse_events(family, operation, _chunks(response))
    return parsed_request, parse_response(family, operation, response if isinstance(response, dict) else {})


def _chunks(items: list[Any]) -> list[dict[str, Any]]:
    """Stream chunks as logged: JSON objects (or JSON text of objects); anything else is left out."""
    chunks = []
    for item in items:
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except ValueError:
                continue
        if isinstance(item, dict):
            chunks.append(item)
    return chunks


def _section(record: dict[str, Any], name: str) -> dict[str, Any]:
    value = record.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRecord(f"{name!r} must be a JSON object, got {type(value).__name__}")
    return value


def _body(section: dict[str, Any], inline_key: str, path_key: str, fetch_body: BodyFetcher | None,
          problem: Callable[[str], None]) -> Any:
    """The inline body, else the one stored in S3 (fetched when a fetcher is given)."""
    if section.get(inline_key) is not None:
        return section[inline_key]
    path = section.get(path_key)
    if not path:
        return None
    if fetch_body is None:
        problem(f"{path_key} {path} not fetched (no S3 access here); scored without it")
        return None
    try:
        return fetch_body(path)
    except Exception as exc:
        problem(f"{path_key} {path} could not be read ({type(exc).__name__}: {exc}); scored without it")
        return None


def _latencies(response: Any) -> tuple[float | None, float | None]:
    """(total, first byte) latency in ms from a Converse `metrics` block or a stream's invocation metrics."""
    if isinstance(response, dict):
        return _number((response.get("metrics") or {}).get("latencyMs")), None
    if isinstance(response, list):
        for chunk in reversed(_chunks(response)):
            metrics = chunk.get(INVOCATION_METRICS)
            if isinstance(metrics, dict):
                return _number(metrics.get("invocationLatency")), _number(metrics.get("firstByteLatency"))
            meta = chunk.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("metrics"), dict):
                return _number(meta["metrics"].get("latencyMs")), None
    return None, None


def _metadata(record: dict[str, Any]) -> dict[str, Any]:
    keys = (("requestId", "request_id"), ("timestamp", "timestamp"), ("accountId", "account_id"),
            ("region", "region"), ("inferenceRegion", "inference_region"), ("operation", "log_operation"))
    return {ours: record[theirs] for theirs, ours in keys if record.get(theirs) is not None}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any, default: int | None) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
