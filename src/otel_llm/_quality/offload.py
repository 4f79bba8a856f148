"""The offload sink: instead of scoring, the span processor ships its records to a Kinesis stream, in
the prompt/completion-pair shape `otel_llm.pipelines.handlers.kinesis_handler` reads, for a Lambda
consumer to score (the source architecture's Kinesis path, for apps that cannot spare the CPU).

Opt-in with `OTEL_LLM_OFFLOAD_KINESIS_STREAM`: prompt and completion text leave the process.
`PutRecords` calls stay within the API limits (500 records, 5 MiB per call, 1 MiB per record); the
records the API reports failed are retried, with backoff, a bounded number of times; what still fails
is dropped and counted. Memory is bounded by the processor's queue, which this runs behind.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from .._config import Settings
from .._failures import report_failure
from ..record import LLMCall
from .evaluators.similarity import question_of

logger = logging.getLogger("otel_llm")

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024  # data and partition keys of one PutRecords call
MAX_RECORD_BYTES = 1024 * 1024  # data and partition key of one record
MAX_ATTEMPTS = 4  # per record: the first try and three retries
BACKOFF_S = 0.1  # doubled each retry, with jitter
CALL_TIMEOUT_S = 5.0
# Errors retrying cannot fix: every record of the call is dropped at once.
_PERMANENT = frozenset({"ResourceNotFoundException", "AccessDeniedException", "ValidationException",
                        "InvalidArgumentException", "KMSAccessDeniedException", "KMSDisabledException",
                        "KMSNotFoundException", "UnrecognizedClientException"})


def pair_of(call: LLMCall) -> dict[str, Any]:
    """The call as the Kinesis handler's prompt/completion pair. `prompt` is the text the completion
    answers (the last user message, as the similarity evaluator reads it); `timestamp` is epoch ms."""
    pair: dict[str, Any] = {"model_id": call.request_model or call.model_id, "operation": call.operation,
                            "prompt": question_of(call), "completion": call.completion}
    if call.finish_reasons:
        pair["finish_reason"] = call.finish_reasons[0]
    if call.refusal_signal:
        pair["refusal_signal"] = call.refusal_signal
    usage = {k: v for k, v in (("input_tokens", call.input_tokens), ("output_tokens", call.output_tokens))
             if v is not None}
    if usage:
        pair["usage"] = usage
    for key in ("timestamp", "request_id"):
        if call.extra.get(key) is not None:
            pair[key] = call.extra[key]
    if call.response_id and "request_id" not in pair:
        pair["request_id"] = call.response_id
    return pair


def encode(call: LLMCall) -> bytes:
    """The record's data: JSON, gzip-compressed when plain JSON would not fit a Kinesis record."""
    data = json.dumps(pair_of(call), separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_RECORD_BYTES - 64:
        data = gzip.compress(data, compresslevel=6)
    return data


class KinesisSink:
    """Ships records to one stream. `ship(calls)` returns, per call, True when Kinesis took it."""

    def __init__(self, stream: str, client: Any = None, settings: Settings | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.stream = stream
        self._settings = settings
        self._client = client
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sleep = sleep
        self._random = random.Random()

    def _target(self) -> dict[str, str]:
        return {"StreamARN": self.stream} if self.stream.startswith("arn:") else {"StreamName": self.stream}

    def client(self) -> Any:
        with self._lock:
            if self._client is None or self._pid != os.getpid():  # a client must not cross a fork
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=CALL_TIMEOUT_S, read_timeout=CALL_TIMEOUT_S,
                                retries={"mode": "standard", "total_max_attempts": 2})
                self._client = boto3.session.Session().client("kinesis", config=config)
                self._pid = os.getpid()
            return self._client

    def ship(self, calls: Sequence[LLMCall]) -> list[bool]:
        """Put every call on the stream; False for those dropped (too large, or failing every attempt)."""
        shipped = [False] * len(calls)
        entries: list[tuple[int, dict[str, Any], int]] = []  # (index, entry, size)
        for index, call in enumerate(calls):
            try:
                data = encode(call)
            except Exception as exc:
                report_failure("offload.encode", exc)
                continue
            key = self._random.getrandbits(64).to_bytes(8, "big").hex()  # spreads records over shards
            size = len(data) + len(key)
            if size > MAX_RECORD_BYTES:
                report_failure("offload", ValueError(f"record of {size} bytes exceeds Kinesis' 1 MiB"))
                continue
            entries.append((index, {"Data": data, "PartitionKey": key}, size))
        for chunk in _chunks(entries):
            for index in self._put(chunk):
                shipped[index] = True
        return shipped

    def _put(self, chunk: list[tuple[int, dict[str, Any], int]]) -> list[int]:
        """Indices Kinesis took; failed records are retried up to MAX_ATTEMPTS with backoff."""
        taken: list[int] = []
        pending = chunk
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self._sleep(BACKOFF_S * 2 ** (attempt - 1) * (0.5 + self._random.random()))
            try:
                with suppress_instrumentation():
                    response = self.client().put_records(Records=[e for _, e, _ in pending], **self._target())
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                report_failure("offload", exc)
                if code in _PERMANENT:
                    return taken
                continue
            results = list(response.get("Records") or [])
            failed = []
            for position, item in enumerate(pending):  # results are in request order
                result = results[position] if position < len(results) else {"ErrorCode": "missing"}
                if result.get("ErrorCode"):
                    failed.append(item)
                else:
                    taken.append(item[0])
            pending = failed
            if not pending:
                break
        return taken


def _chunks(entries: list[tuple[int, dict[str, Any], int]]) -> list[list[tuple[int, dict[str, Any], int]]]:
    """PutRecords-sized groups: at most 500 records and 5 MiB each."""
    chunks: list[list[tuple[int, dict[str, Any], int]]] = []
    current: list[tuple[int, dict[str, Any], int]] = []
    size = 0
    for entry in entries:
        if current and (len(current) == MAX_RECORDS_PER_CALL or size + entry[2] > MAX_BYTES_PER_CALL):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry[2]
    if current:
        chunks.append(current)
    return chunks
