"""AWS Lambda handlers that score Amazon Bedrock calls offline, with the same scorer and the same
histograms as the in-process span processor.

- `otel_llm.pipelines.handlers.s3_handler`: invocation-log objects landing in S3 (S3 event notifications,
  directly or through SQS/SNS, or EventBridge "Object Created");
- `kinesis_handler`: prompt/completion records on Kinesis (with `ReportBatchItemFailures`);
- `logs_handler`: a CloudWatch Logs subscription of the Bedrock invocation log group.

Providers and the scorer are built once per cold start; metrics are flushed before each invocation
returns, because Lambda freezes after it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_plus, urlparse

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider

from .._config import Settings
from .._failures import report_failure
from .._quality.interface import CallScorer
from .._quality.recorder import OUTCOME_FAILED, QualityRecorder, call_attributes
from ..record import LLMCall
from ._invocation_log import Batch, InvalidRecord, Problem, gunzip, read_log_object
from ._kinesis import KinesisItem, add_payload_object, payload_objects, read_kinesis_event

logger = logging.getLogger("otel_llm")

__all__ = ["Pipeline", "PipelineError", "ScoringFailed", "is_log_object", "kinesis_handler", "logs_handler",
           "s3_handler", "s3_objects"]

MAX_LOGGED_PROBLEMS = 20  # per invocation; the rest are counted
FLUSH_TIMEOUT_MS = 10_000
FLUSH_MARGIN_MS = 500  # left to Lambda after the flush
# Scores that need a scoring backend (refusal also has backend-free evidence: exact signals, fuzzy match).
BACKEND_SCORES = ("similarity", "sentiment", "toxicity")


class PipelineError(RuntimeError):
    """Some objects could not be read or scored; raised after every other object was handled so that
    Lambda retries the event."""


class ScoringFailed(RuntimeError):
    """The scorer produced no score at all for a call it should have scored (its backends failed)."""


def is_log_object(key: str) -> bool:
    """False for what Bedrock writes beside the logs: offloaded bodies (`.../data/<id>_input.json.gz`)
    and the permission-check object."""
    name = key.rsplit("/", 1)[-1]
    if "/data/" in f"/{key}" and (name.endswith(("_input.json.gz", "_output.json.gz", "_input.json",
                                                  "_output.json"))):
        return False
    return "permission-check" not in name


def s3_objects(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(bucket, key) of every object an S3 notification, EventBridge event, or SQS/SNS envelope names."""
    if event.get("detail-type") == "Object Created" and isinstance(event.get("detail"), dict):
        detail = event["detail"]
        yield detail["bucket"]["name"], detail["object"]["key"]  # EventBridge keys are not URL-encoded
        return
    for record in event.get("Records") or []:
        if "s3" in record:
            yield record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        elif record.get("eventSource") == "aws:sqs":
            yield from s3_objects(json.loads(record["body"]))
        elif "Sns" in record:
            yield from s3_objects(json.loads(record["Sns"]["Message"]))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` to (bucket, key)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def default_meter_provider(settings: Settings) -> MeterProvider:
    """The SDK meter provider already configured (ADOT layer, `opentelemetry-instrument`, the app), else a
    new global one writing CloudWatch EMF (`OTEL_LLM_EMF_EXPORT`, default stdout, which Lambda ships to
    CloudWatch with no collector). Being global, it also carries the SDK's own failure counter."""
    provider = metrics.get_meter_provider()
    if hasattr(provider, "force_flush"):
        return provider
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider

    from ..exporters import emf_reader_from_settings

    if not settings.emf_export:
        settings = replace(settings, emf_export="stdout")
    reader = emf_reader_from_settings(settings)
    provider = SDKMeterProvider(metric_readers=[reader] if reader is not None else [])
    metrics.set_meter_provider(provider)
    return provider


class Pipeline:
    """Reads, scores and records; one per Lambda cold start (or per test, with explicit providers)."""

    def __init__(self, settings: Settings | None = None, meter_provider: MeterProvider | None = None,
                 scorer: CallScorer | None = None, s3_client: Any = None) -> None:
        self.settings = settings or Settings.from_env()
        if meter_provider is None:
            meter_provider = default_meter_provider(self.settings)
        self.meter_provider = meter_provider
        self.recorder = QualityRecorder(self.meter_provider)
        self._scorer = scorer
        self._s3 = s3_client

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    @property
    def scorer(self) -> CallScorer:
        if self._scorer is None:
            from .._quality.scoring import Scorer

            self._scorer = Scorer(self.settings)
        return self._scorer

    # --- reading ---------------------------------------------------------------------------
    def read_bytes(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def fetch_body(self, uri: str) -> Any:
        """A request or response body Bedrock stored in its own S3 object (gzip or plain JSON)."""
        raw, trouble = gunzip(self.read_bytes(*parse_s3_uri(uri)))
        if trouble:
            raise ValueError(trouble)
        return json.loads(raw)

    def read_object(self, bucket: str, key: str) -> Batch:
        """Every call in one log object; broken lines become problems."""
        return read_log_object(self.read_bytes(bucket, key), f"s3://{bucket}/{key}", self.fetch_body,
                               self.settings.max_content_chars)

    # --- scoring ---------------------------------------------------------------------------
    def score(self, calls: list[LLMCall], strict: bool = True) -> list[Any]:
        """The scores of `calls`, scored in batches. Raises if the scorer raises, or (`strict`) if a call got
        none of the backend scores because its evaluators failed (`Scores.failed`; a backend outage): the
        scorer reports such failures and leaves those scores out, and such a call is worth retrying."""
        step = max(1, self.settings.batch_size)
        results: list[Any] = []
        for start in range(0, len(calls), step):
            chunk = calls[start:start + step]
            scored = self.scorer.score_many(chunk)
            if len(scored) != len(chunk):
                raise ValueError(f"scorer returned {len(scored)} results for {len(chunk)} calls")
            results.extend(scored)
        unscored = sum(1 for scores in results if getattr(scores, "failed", ())
                       and all(getattr(scores, name, None) is None for name in BACKEND_SCORES))
        if strict and unscored:
            raise ScoringFailed(f"{unscored} of {len(calls)} calls got no score from the scoring "
                                "backends (see the otel_llm.sdk.errors metric and the log)")
        return results

    def record(self, calls: list[LLMCall], results: list[Any]) -> None:
        """Record every score with the span processor's own recorder."""
        self.recorder.record_all(calls, results, getattr(self.scorer, "evaluators", None))

    def score_and_record(self, calls: list[LLMCall]) -> None:
        """Score and record `calls`. If the scorer fails nothing is recorded but the failures, and the error
        is raised so that the input can be retried."""
        try:
            results = self.score(calls)
        except Exception as exc:
            self._failed(calls, exc)
            raise
        self.record(calls, results)

    def _failed(self, calls: list[LLMCall], exc: Exception) -> None:
        report_failure("pipeline.scoring", exc)
        for call in calls:
            self.recorder.count(OUTCOME_FAILED, call_attributes(call))

    def flush(self, context: Any = None) -> bool:
        """Export what was recorded before Lambda freezes the process (bounded by the time left)."""
        timeout = FLUSH_TIMEOUT_MS
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            timeout = max(100, min(timeout, remaining() - FLUSH_MARGIN_MS))
        force_flush = getattr(self.meter_provider, "force_flush", None)
        if force_flush is None:  # an API-only provider: nothing is buffered
            return True
        try:
            return bool(force_flush(timeout_millis=timeout))
        except Exception as exc:
            report_failure("pipeline.flush", exc)
            return False

    # --- handlers --------------------------------------------------------------------------
    def s3_handler(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Score every invocation-log object the event names. Unreadable lines are reported and skipped;
        objects that cannot be read or scored make the handler raise at the end (Lambda retries)."""
        total = Batch()
        objects, failed = 0, []
        try:
            for bucket, key in s3_objects(event):
                if not is_log_object(key):
                    continue
                objects += 1
                try:
                    batch = self.read_object(bucket, key)
                except Exception as exc:
                    report_failure("pipeline.s3", exc)
                    failed.append(f"s3://{bucket}/{key}: {type(exc).__name__}: {exc}")
                    continue
                try:
                    self.score_and_record(batch.calls)
                except Exception as exc:
                    failed.append(f"s3://{bucket}/{key}: scoring failed: {type(exc).__name__}: {exc}")
                    continue
                total.extend(batch)
        finally:
            self.flush(context)
        _log_problems(total.problems)
        summary = _summary(total, objects=objects, failed_objects=failed)
        if failed:
            raise PipelineError(f"{len(failed)} of {objects} objects failed: " + "; ".join(failed))
        return summary

    def kinesis_handler(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Score the records of a Kinesis batch; returns `batchItemFailures` for the records that could not
        be scored. Lambda retries from the first of them, so every record after it is reported too (and
        not recorded now: it will be on the retry). Unparseable records are reported and skipped."""
        try:
            items = read_kinesis_event(event, self.fetch_body, self.settings.max_content_chars)
            _log_problems([problem for item in items for problem in item.read.problems])
            failures = self._score_items(items)
        finally:
            self.flush(context)
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failures]}

    def logs_handler(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Score a CloudWatch Logs subscription batch of the Bedrock invocation log group, delivered straight
        to Lambda. Unreadable events are reported and skipped; a scoring failure raises (Lambda retries)."""
        batch = Batch()
        try:
            logs = event.get("awslogs") or {}
            try:
                objects = list(payload_objects(base64.b64decode(logs.get("data") or "", validate=True)))
            except (InvalidRecord, binascii.Error) as exc:
                batch.problems.append(Problem("cloudwatch logs subscription", f"unreadable: {exc}"))
                objects = []
            for where, obj in objects:
                add_payload_object(batch, obj, "cloudwatch logs" + where, self.fetch_body,
                                   self.settings.max_content_chars)
            _log_problems(batch.problems)
            self.score_and_record(batch.calls)
        finally:
            self.flush(context)
        return _summary(batch)

    def _score_items(self, items: list[KinesisItem]) -> list[str]:
        """Sequence numbers to retry: the first item whose scoring failed and every item after it. The
        whole batch is scored at once; only when that fails is it scored item by item, in order."""
        calls = [call for item in items for call in item.read.calls]
        try:
            results = self.score(calls)
        except Exception:
            pass
        else:
            self.record(calls, results)
            return []
        for index, item in enumerate(items):
            try:
                results = self.score(item.read.calls)
            except Exception as exc:
                self._failed(item.read.calls, exc)
                return [later.sequence_number for later in items[index:]]
            self.record(item.read.calls, results)
        return []


def _log_problems(problems: list[Problem]) -> None:
    for problem in problems[:MAX_LOGGED_PROBLEMS]:
        logger.warning("otel-llm pipeline: skipped %s", problem)
    if len(problems) > MAX_LOGGED_PROBLEMS:
        logger.warning("otel-llm pipeline: %d more unreadable records skipped",
                       len(problems) - MAX_LOGGED_PROBLEMS)


def _summary(batch: Batch, **extra: Any) -> dict[str, Any]:
    return {**extra, "scored": len(batch.calls), "skipped": dict(batch.skipped),
            "problems": [str(p) for p in batch.problems[:MAX_LOGGED_PROBLEMS]],
            "problem_count": len(batch.problems)}


_default: Pipeline | None = None


def _pipeline() -> Pipeline:
    global _default
    if _default is None:
        _default = Pipeline()
    return _default


def s3_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point for S3 / EventBridge / SQS / SNS notifications of new invocation-log objects."""
    return _pipeline().s3_handler(event, context)


def kinesis_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point for a Kinesis stream of prompt/completion pairs or invocation-log records."""
    return _pipeline().kinesis_handler(event, context)


def logs_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point for a CloudWatch Logs subscription of the Bedrock invocation log group."""
    return _pipeline().logs_handler(event, context)
