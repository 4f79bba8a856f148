"""Kinesis records of prompt/completion pairs (or Bedrock invocation-log records) to `LLMCall`s.

A record's data (base64 in the Lambda event) is JSON, optionally gzip-compressed, holding one of:

- a prompt/completion pair: `{"model_id": str, "prompt": str, "completion": str, "operation"?: str,
  "system"?: str, "finish_reason"?: str, "usage"?: {"input_tokens": int, "output_tokens": int}}`;
- a Bedrock `ModelInvocationLog` record (as written by model-invocation logging);
- a CloudWatch Logs subscription batch (`messageType` DATA_MESSAGE, the Bedrock log group's events);
- a JSON array of any of these.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._bedrock.families import lookup
from ..record import PROVIDER_BEDROCK, LLMCall
from ._invocation_log import Batch, BodyFetcher, InvalidRecord, Problem, gunzip


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
    )


def _count(usage: dict[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidRecord(f"usage.{key} must be a non-negative integer, got {value!r}")
    return value


def payload_objects(data: bytes) -> Iterator[tuple[str, Any]]:
    """(sub-location, object) for every record a Kinesis payload holds. Raises `InvalidRecord`."""
    raw, trouble = gunzip(data)
    if trouble:
        raise InvalidRecord(trouble)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidRecord(f"data is not JSON ({exc})") from None
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        where = f" item {index + 1}" if isinstance(value, list) else ""
        if isinstance(item, dict) and "messageType" in item:  # CloudWatch Logs subscription batch
            for number, event in enumerate(item.get("logEvents") or [], start=1):
                message = event.get("message") if isinstance(event, dict) else None
                try:
                    yield f"{where} log event {number}", json.loads(message or "")
                except ValueError as exc:
                    yield f"{where} log event {number}", InvalidRecord(f"log event is not JSON ({exc})")
        else:
            yield where, item


def read_kinesis_event(event: dict[str, Any], fetch_body: BodyFetcher | None = None,
                       max_chars: int | None = None) -> list[KinesisItem]:
    """The records of a Lambda Kinesis event with the calls each holds. What cannot be read goes to the
    item's `read.problems`, located by the record's event id: retrying cannot fix it."""
    items: list[KinesisItem] = []
    for record in event.get("Records") or []:
        kinesis = record.get("kinesis") or {}
        item = KinesisItem(str(kinesis.get("sequenceNumber", "")))
        items.append(item)
        location = f"kinesis {record.get('eventID') or item.sequence_number}"
        try:
            objects = list(payload_objects(base64.b64decode(kinesis.get("data") or "", validate=True)))
        except (InvalidRecord, binascii.Error) as exc:
            item.read.problems.append(Problem(location, f"unreadable record: {exc}"))
            continue
        for where, obj in objects:
            add_payload_object(item.read, obj, location + where, fetch_body, max_chars)
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
