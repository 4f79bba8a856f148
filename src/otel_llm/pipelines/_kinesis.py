"""Kinesis records of prompt/completion pairs (or Bedrock invocation-log records) to `LLMCall`s.

A record's data (base64 in the Lambda event) is JSON, optionally gzip-compressed, holding one of:

- a prompt/completion pair: `{"model_id": str, "prompt": str, "completion": str, "operation"?: str,
  "system"?: str, "finish_reason"?: str, "usage"?: {"input_tokens": int, "output_tokens": int},
  "refusal_signal"?: str, "timestamp"?: epoch ms or ISO 8601, "request_id"?: str}` (what the offload sink
  writes; the timestamp stamps the metrics, the request id names the record in reports);
- a Bedrock `ModelInvocationLog` record (as written by model-invocation logging);
- a CloudWatch Logs subscription batch (`messageType` DATA_MESSAGE, the Bedrock log group's events);
- a JSON array of any of these.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._bedrock.families import lookup
from .._failures import report_failure
from ..record import (
    PROVIDER_BEDROCK,
    SIGNAL_CONTENT_FILTER,
    SIGNAL_GUARDRAIL,
    SIGNAL_MODEL_REFUSAL,
    LLMCall,
)
from ._invocation_log import Batch, BodyFetcher, InvalidRecord, Problem, gunzip, parse_json
from ._kpl import deaggregate


@dataclass(slots=True)
class KinesisItem:
    """One Kinesis record: the id Lambda expects in `batchItemFailures`, and what was read from it."""

    sequence_number: str
    read: Batch = field(default_factory=Batch)


def call_from_pair(obj: dict[str, Any], max_chars: int | None = None) -> LLMCall:
    """A documented prompt/completion pair as an `LLMCall`; `InvalidRecord` says what is wrong."""
    model_id = obj.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise InvalidRecord("model_id must be a non-empty string")
    texts = {}
    for name in ("prompt", "completion", "system"):
        value = obj.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InvalidRecord(f"{name} must be a string, got {type(value).__name__}")
        texts[name] = value[:max_chars] if max_chars is not None else value
    operation = obj.get("operation") or "chat"
    usage = obj.get("usage") or {}
    if not isinstance(operation, str) or not isinstance(usage, dict):
        raise InvalidRecord("operation must be a string and usage an object")
    finish = obj.get("finish_reason")
    ref = lookup(model_id)
    return LLMCall(
        model_id=ref.model_id, request_model=model_id, operation=operation, provider=PROVIDER_BEDROCK,
        family=ref.family.name, prompt=texts["system"] + ("\n" if texts["system"] else "") + texts["prompt"],
        system=texts["system"], completion=texts["completion"],
        input_tokens=_count(usage, "input_tokens"), output_tokens=_count(usage, "output_tokens"),
        finish_reasons=(finish,) if isinstance(finish, str) else (),
        refusal_signal=_known_signal(obj.get("refusal_signal")),
        extra={key: obj[key] for key in ("timestamp", "request_id")
               if isinstance(obj.get(key), (str, int, float)) and not isinstance(obj.get(key), bool)},
    )


def _known_signal(value: Any) -> str | None:
    """An exact refusal signal the pair reports; anything else is ignored (it would count as certain)."""
    return value if value in (SIGNAL_GUARDRAIL, SIGNAL_CONTENT_FILTER, SIGNAL_MODEL_REFUSAL) else None


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRecord(f"usage.{key} must be a non-negative integer, got {value!r}")
    return value


def payload_objects(data: bytes) -> Iterator[tuple[str, Any]]:
    """(sub-location, object) for every record a Kinesis payload holds; an object that is an
    `InvalidRecord` says what is wrong with that one. Raises `InvalidRecord` for the payload as a whole."""
    raw, trouble = gunzip(data)
    if trouble:
        raise InvalidRecord(trouble)
    try:
        value = parse_json(raw)
    except InvalidRecord as exc:
        raise InvalidRecord(f"data: {exc}") from None
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        where = f" item {index + 1}" if isinstance(value, list) else ""
        if isinstance(item, dict) and "messageType" in item:  # CloudWatch Logs subscription batch
            yield from _log_events(item, where)
        else:
            yield where, item


def _log_events(batch: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    """The JSON of each event of a CloudWatch Logs subscription batch, each on its own."""
    events = batch.get("logEvents")
    if events is None:
        return
    if not isinstance(events, list):
        yield where, InvalidRecord(f"logEvents must be a list, got {type(events).__name__}")
        return
    for number, event in enumerate(events, start=1):
        place = f"{where} log event {number}"
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(message, str):
            yield place, InvalidRecord(f"log event message must be a string, got {type(message).__name__}")
            continue
        try:
            yield place, parse_json(message)
        except InvalidRecord as exc:
            yield place, InvalidRecord(f"log event: {exc}")


def read_kinesis_event(event: Any, fetch_body: BodyFetcher | None = None,
                       max_chars: int | None = None) -> list[KinesisItem]:
    """The records of a Lambda Kinesis event with the calls each holds. Each record is read on its own:
    what cannot be read goes to its item's `read.problems`, located by the record's event id (retrying
    cannot fix it), and costs no other record."""
    items: list[KinesisItem] = []
    records = event.get("Records") if isinstance(event, dict) else None
    for position, record in enumerate(records if isinstance(records, list) else [], start=1):
        kinesis = record.get("kinesis") if isinstance(record, dict) else None
        kinesis = kinesis if isinstance(kinesis, dict) else {}
        item = KinesisItem(str(kinesis.get("sequenceNumber", "")))
        items.append(item)
        event_id = record.get("eventID") if isinstance(record, dict) else None
        location = f"kinesis {event_id or item.sequence_number or f'record {position}'}"
        try:
            data = kinesis.get("data")
            if not isinstance(data, str):
                raise InvalidRecord(f"kinesis.data must be a base64 string, got {type(data).__name__}")
            parts = deaggregate(base64.b64decode(data, validate=True))
        except (InvalidRecord, binascii.Error, ValueError) as exc:
            item.read.problems.append(Problem(location, f"unreadable record: {exc}"))
            continue
        for number, part in enumerate(parts, start=1):  # KPL aggregates hold several user records
            place = location + (f" user record {number}" if len(parts) > 1 else "")
            try:
                objects = list(payload_objects(part))
            except (InvalidRecord, ValueError) as exc:
                item.read.problems.append(Problem(place, f"unreadable record: {exc}"))
                continue
            for where, obj in objects:
                try:
                    add_payload_object(item.read, obj, place + where, fetch_body, max_chars)
                except Exception as exc:  # a parser bug costs this object only
                    report_failure("pipeline.parse", exc, place + where)
                    item.read.problems.append(Problem(place + where,
                                                      f"could not be parsed ({type(exc).__name__})"))
    return items


def add_payload_object(batch: Batch, obj: Any, location: str, fetch_body: BodyFetcher | None = None,
                       max_chars: int | None = None) -> None:
    """Add one object of a payload (a pair or an invocation-log record) to `batch`, or its problem."""
    if isinstance(obj, InvalidRecord):
        batch.problems.append(Problem(location, str(obj)))
    elif isinstance(obj, dict) and "model_id" in obj:
        try:
            batch.add(call_from_pair(obj, max_chars))
        except InvalidRecord as exc:
            batch.problems.append(Problem(location, f"bad prompt/completion pair: {exc}"))
    elif isinstance(obj, dict) and ("modelId" in obj or "schemaType" in obj):
        batch.add_log_record(obj, location, fetch_body, max_chars)
    else:
        batch.problems.append(Problem(location, "neither a prompt/completion pair (model_id, prompt, "
                                      "completion) nor a Bedrock invocation-log record"))
