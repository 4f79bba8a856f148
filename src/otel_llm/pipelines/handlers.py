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
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_plus, urlparse

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider

from .. import _instruments as names
from .._backends.resilience import BudgetSpent, Deadline, run_bounded
from .._config import Settings
from .._failures import describe, report_failure
from .._quality.interface import CallScorer
from .._quality.recorder import OUTCOME_FAILED, OUTCOME_REDACTED, QualityRecorder, call_attributes
from .._redaction import apply_redactor, load_redactor
from ..record import LLMCall
from . import _batch_operations
from ._invocation_log import Batch, InvalidRecord, Problem, gunzip, parse_json, read_log_object
from ._kinesis import KinesisItem, add_payload_object, payload_objects, read_kinesis_event

logger = logging.getLogger("otel_llm")

__all__ = ["Pipeline", "PipelineError", "ScoringFailed", "is_log_object", "kinesis_handler", "logs_handler",
           "s3_handler", "s3_objects"]

MAX_LOGGED_PROBLEMS = 20  # per invocation; the rest are counted
FLUSH_TIMEOUT_MS = 10_000
FLUSH_MARGIN_MS = 500  # left to Lambda after the flush
STOP_MARGIN_MS = 3_000  # scoring stops when less than this is left of the invocation: time to flush
# Scores that need a scoring backend (refusal also has backend-free evidence: exact signals, fuzzy match).
BACKEND_SCORES = ("similarity", "sentiment", "toxicity")


class PipelineError(RuntimeError):
    """Some objects could not be read or scored; raised after every other object was handled so that
    Lambda retries the event."""


class ScoringFailed(RuntimeError):
    """The scorer produced no score at all for a call it should have scored (its backends failed)."""


class DeadlineReached(RuntimeError):
    """The invocation's time ran out (less than `STOP_MARGIN_MS` left) before these calls were scored."""


def is_log_object(key: str) -> bool:
    """False for what Bedrock writes beside the logs: offloaded bodies (`.../data/<id>_input.json.gz`)
    and the permission-check object."""
    name = key.rsplit("/", 1)[-1]
    if "/data/" in f"/{key}" and (name.endswith(("_input.json.gz", "_output.json.gz", "_input.json",
                                                  "_output.json"))):
        return False
    return "permission-check" not in name


def s3_objects(event: Any, problems: list[Problem] | None = None, where: str = "event"
               ) -> Iterator[tuple[str, str]]:
    """(bucket, key) of every object an S3 notification, EventBridge event, or SQS/SNS envelope names.
    A record of the event that names no object is added to `problems` (when given) and skipped."""
    def bad(place: str, exc: Exception) -> None:
        if problems is not None:
            problems.append(Problem(place, f"names no S3 object ({type(exc).__name__})"))

    if not isinstance(event, dict):
        bad(where, TypeError())
        return
    if event.get("detail-type") == "Object Created" and isinstance(event.get("detail"), dict):
        try:
            detail = event["detail"]
            found = (_text(detail["bucket"]["name"]), _text(detail["object"]["key"]))  # not URL-encoded
        except (KeyError, TypeError, ValueError) as exc:
            bad(where, exc)
            return
        yield found
        return
    records = event.get("Records") or []
    for number, record in enumerate(records if isinstance(records, list) else [None], start=1):
        place = f"{where} record {number}"
        try:
            if not isinstance(record, dict):
                raise TypeError("not an object")
            if "s3" in record:
                s3 = record["s3"]
                found = (_text(s3["bucket"]["name"]), unquote_plus(_text(s3["object"]["key"])))
            elif record.get("eventSource") == "aws:sqs":
                inner = parse_json(_text(record["body"]))
            elif "Sns" in record:
                inner = parse_json(_text(record["Sns"]["Message"]))
            else:
                raise KeyError("s3")
        except (KeyError, TypeError, ValueError) as exc:  # InvalidRecord is a ValueError
            bad(place, exc)
            continue
        if "s3" in record:
            yield found
        else:
            yield from s3_objects(inner, problems, place)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


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
                 scorer: CallScorer | None = None, s3_client: Any = None,
                 recorder: QualityRecorder | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.timed_exporter: Any = None
        if meter_provider is None:
            if recorder is None and not hasattr(metrics.get_meter_provider(), "force_flush"):
                # No SDK provider (no ADOT layer): EMF stamped with each invocation's own time.
                from ..exporters import EMFMetricExporter
                from ._timed import TimedRecorder

                recorder = TimedRecorder()
                self.timed_exporter = EMFMetricExporter(self.settings.emf_export or "stdout",
                                                        namespace=self.settings.emf_namespace)
            meter_provider = default_meter_provider(self.settings)
        self.meter_provider = meter_provider
        self.recorder = recorder if recorder is not None else QualityRecorder(self.meter_provider)
        self._scorer = scorer
        self._s3 = s3_client
        self._redact = load_redactor(self.settings.redactor)

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

            threads = self.settings.threads_for_inference(whole_process=True)  # scoring is all it does
            self._scorer = Scorer(replace(self.settings, inference_threads=threads))
        return self._scorer

    # --- reading ---------------------------------------------------------------------------
    def read_bytes(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def fetch_body(self, uri: str) -> Any:
        """A request or response body Bedrock stored in its own S3 object (gzip or plain JSON)."""
        raw, trouble = gunzip(self.read_bytes(*parse_s3_uri(uri)))
        if trouble:
            raise ValueError(trouble)
        return parse_json(raw)

    def read_object(self, bucket: str, key: str) -> Batch:
        """Every call in one log object; broken lines become problems."""
        return read_log_object(self.read_bytes(bucket, key), f"s3://{bucket}/{key}", self.fetch_body,
                               self.settings.max_content_chars)

    # --- scoring ---------------------------------------------------------------------------
    def deadline(self, context: Any) -> Deadline | None:
        """When scoring must stop in this invocation: `STOP_MARGIN_MS` before Lambda's own deadline."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return None
        try:
            left_ms = float(remaining())
        except Exception as exc:
            report_failure("pipeline.deadline", exc)
            return None
        return Deadline((left_ms - STOP_MARGIN_MS) / 1000)

    def score(self, calls: list[LLMCall], strict: bool = True, deadline: Deadline | None = None) -> list[Any]:
        """The scores of `calls`, scored in batches. Raises if the scorer raises, `DeadlineReached` when
        `deadline` passes first, or (`strict`) if a call got none of the backend scores because its
        evaluators failed (`Scores.failed`; a backend outage): the scorer reports such failures and leaves
        those scores out, and such a call is worth retrying."""
        step = max(1, self.settings.batch_size)
        results: list[Any] = []
        for start in range(0, len(calls), step):
            chunk = calls[start:start + step]
            scored = self._score_chunk(chunk, deadline)
            if len(scored) != len(chunk):
                raise ValueError(f"scorer returned {len(scored)} results for {len(chunk)} calls")
            results.extend(scored)
        unscored = sum(1 for scores in results if getattr(scores, "failed", ())
                       and all(getattr(scores, name, None) is None for name in BACKEND_SCORES))
        if strict and unscored:
            raise ScoringFailed(f"{unscored} of {len(calls)} calls got no score from the scoring "
                                "backends (see the otel_llm.sdk.errors metric and the log)")
        return results

    def _score_chunk(self, chunk: list[LLMCall], deadline: Deadline | None) -> list[Any]:
        if deadline is None:
            return list(self.scorer.score_many(chunk))
        if deadline.expired():
            raise DeadlineReached(f"no time left to score {len(chunk)} calls")
        try:  # on a daemon thread, so that the wait ends at the deadline whatever the scorer does
            return list(run_bounded([lambda: self.scorer.score_many(chunk)], deadline)[0])
        except BudgetSpent:
            raise DeadlineReached(f"the invocation's time ran out scoring {len(chunk)} calls") from None

    def record(self, calls: list[LLMCall], results: list[Any]) -> None:
        """Record every score with the span processor's own recorder."""
        self.recorder.record_all(calls, results, getattr(self.scorer, "evaluators", None))

    def score_and_record(self, calls: list[LLMCall], deadline: Deadline | None = None) -> None:
        """Score and record `calls`. If the scorer fails nothing is recorded but the failures, and the error
        is raised so that the input can be retried."""
        try:
            results = self.score(calls, deadline=deadline)
        except Exception as exc:
            self._failed(calls, exc)
            raise
        self.record(calls, results)

    def _failed(self, calls: list[LLMCall], exc: Exception) -> None:
        report_failure("pipeline.scoring", exc)
        for call in calls:
            self.recorder.count(OUTCOME_FAILED, call_attributes(call), 1, self.settings.evaluators)

    def prepare(self, batch: Batch) -> None:
        """Before scoring: count the records that could not be read as failed, and run the user's
        redactor (`OTEL_LLM_REDACTOR`) on each call; a call it fails on is a problem of its own."""
        lost = sum(1 for problem in batch.problems if problem.lost)
        if lost:
            self.recorder.count(OUTCOME_FAILED, {names.ATTR_MODEL: "unknown"}, lost)
        if self._redact is None:
            return
        kept = []
        for call in batch.calls:
            try:
                redacted = apply_redactor(self._redact, call)
            except Exception as exc:
                where = str(call.extra.get("log_location") or "a record")
                report_failure("redactor", exc, where)
                batch.problems.append(Problem(where, f"the redactor failed ({type(exc).__name__})"))
                self.recorder.count(OUTCOME_FAILED, call_attributes(call), 1, self.settings.evaluators)
                continue
            if redacted is None:
                self.recorder.count(OUTCOME_REDACTED, call_attributes(call), 1, self.settings.evaluators)
            else:
                kept.append(redacted)
        batch.calls = kept

    def flush(self, context: Any = None) -> bool:
        """Export what was recorded before Lambda freezes the process (bounded by the time left)."""
        timeout = FLUSH_TIMEOUT_MS
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            timeout = max(100, min(timeout, remaining() - FLUSH_MARGIN_MS))
        export = getattr(self.recorder, "export", None)  # a TimedRecorder: its minutes go out now
        if self.timed_exporter is not None and callable(export):
            try:
                export(self.timed_exporter, timeout_millis=timeout)
            except Exception as exc:
                report_failure("pipeline.flush", exc)
            rejected = getattr(self.recorder, "rejected", None)
            if rejected:
                logger.warning("otel-llm pipeline: records outside CloudWatch's window (14 days old, 2 h "
                               "ahead) not sent: %s", dict(rejected))
                rejected.clear()
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
        """Score every invocation-log object the event names, each on its own. Unreadable lines are
        reported and skipped; objects that cannot be read or scored, or that the invocation's time did not
        reach, make the handler raise at the end (Lambda retries). An S3 Batch Operations event (a
        backfill) is answered task by task instead."""
        if _batch_operations.is_batch_operations_event(event):
            return _batch_operations.handle(self, event, context, is_log_object)
        deadline = self.deadline(context)
        total = Batch()
        objects, failed = 0, []
        try:
            for bucket, key in s3_objects(event, total.problems):
                if not is_log_object(key):
                    continue
                objects += 1
                where = f"s3://{bucket}/{key}"
                if deadline is not None and deadline.expired():
                    failed.append(f"{where}: not scored, the invocation's time ran out")
                    continue
                try:
                    batch = self.read_object(bucket, key)
                except Exception as exc:
                    report_failure("pipeline.s3", exc, where)
                    failed.append(f"{where}: unreadable ({describe(exc)})")
                    continue
                self.prepare(batch)
                try:
                    self.score_and_record(batch.calls, deadline)
                except Exception as exc:
                    failed.append(f"{where}: scoring failed ({describe(exc)})")
                    total.problems.extend(batch.problems)
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
        """Score the records of a Kinesis batch, each read on its own; returns `batchItemFailures` for the
        records that could not be scored (a scorer failure, or the invocation's time running out). Lambda
        retries from the first of them, so every record after it is reported too (and not recorded now:
        it will be on the retry). Unreadable records are reported with their place, counted failed and
        skipped: retrying cannot fix them, and they cost no other record."""
        deadline = self.deadline(context)
        try:
            items = read_kinesis_event(event, self.fetch_body, self.settings.max_content_chars)
            for item in items:
                self.prepare(item.read)
            _log_problems([problem for item in items for problem in item.read.problems])
            failures = self._score_items(items, deadline)
        finally:
            self.flush(context)
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failures]}

    def logs_handler(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Score a CloudWatch Logs subscription batch of the Bedrock invocation log group, delivered straight
        to Lambda. Unreadable events are reported and skipped, each on its own; a scoring failure, or the
        invocation's time running out, raises (Lambda retries)."""
        deadline = self.deadline(context)
        batch = Batch()
        try:
            logs = event.get("awslogs") if isinstance(event, dict) else None
            data = logs.get("data") if isinstance(logs, dict) else None
            try:
                if not isinstance(data, str):
                    raise InvalidRecord(f"awslogs.data must be a base64 string, got {type(data).__name__}")
                objects = list(payload_objects(base64.b64decode(data, validate=True)))
            except (InvalidRecord, binascii.Error, ValueError) as exc:
                batch.problems.append(Problem("cloudwatch logs subscription", f"unreadable: {exc}"))
                objects = []
            for where, obj in objects:
                try:
                    add_payload_object(batch, obj, "cloudwatch logs" + where, self.fetch_body,
                                       self.settings.max_content_chars)
                except Exception as exc:  # a parser bug costs this event only
                    report_failure("pipeline.parse", exc, "cloudwatch logs" + where)
                    batch.problems.append(Problem("cloudwatch logs" + where,
                                                  f"could not be parsed ({type(exc).__name__})"))
            self.prepare(batch)
            _log_problems(batch.problems)
            self.score_and_record(batch.calls, deadline)
        finally:
            self.flush(context)
        return _summary(batch)

    def _score_items(self, items: list[KinesisItem], deadline: Deadline | None = None) -> list[str]:
        """Sequence numbers to retry: the first item whose scoring failed or was not reached in time, and
        every item after it. Items are scored together in groups of about a batch; only when a group fails
        is it scored item by item, in order."""
        step = max(1, self.settings.batch_size)
        start = 0
        while start < len(items):
            end, size = start, 0
            while end < len(items) and (end == start or size + len(items[end].read.calls) <= step):
                size += len(items[end].read.calls)
                end += 1
            group = items[start:end]
            calls = [call for item in group for call in item.read.calls]
            try:
                results = self.score(calls, deadline=deadline)
            except DeadlineReached as exc:
                self._unscored(items[start:], exc)
                return [item.sequence_number for item in items[start:]]
            except Exception:
                failed_at = self._score_one_by_one(group, deadline)
                if failed_at is not None:
                    return [item.sequence_number for item in items[start + failed_at:]]
            else:
                self.record(calls, results)
            start = end
        return []

    def _score_one_by_one(self, group: list[KinesisItem], deadline: Deadline | None) -> int | None:
        """Score and record the items of `group` in order; the index of the first that fails, else None."""
        for index, item in enumerate(group):
            try:
                results = self.score(item.read.calls, deadline=deadline)
            except Exception as exc:
                self._failed(item.read.calls, exc)
                return index
            self.record(item.read.calls, results)
        return None

    def _unscored(self, items: list[KinesisItem], exc: Exception) -> None:
        report_failure("pipeline.deadline", exc)
        for item in items:
            for call in item.read.calls:
                self.recorder.count(OUTCOME_FAILED, call_attributes(call), 1, self.settings.evaluators)


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
