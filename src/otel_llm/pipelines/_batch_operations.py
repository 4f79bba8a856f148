"""S3 Batch Operations (`LambdaInvoke`) events for the S3 handler: backfills past one machine.

A Batch Operations job lists the log objects (a manifest, or one it generates from a prefix and dates)
and invokes the handler once per task; the handler answers each task with `Succeeded`,
`TemporaryFailure` (S3 retries it: throttling, a scoring backend outage) or `PermanentFailure` (the
object is gone or unreadable), and S3 writes the completion report. Schema 1.0 names the bucket by ARN,
2.0 by name; keys are URL-encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote

from .._failures import report_failure
from ._invocation_log import Batch


class _Pipeline(Protocol):
    """What this needs of `handlers.Pipeline`."""

    def read_object(self, bucket: str, key: str) -> Batch: ...
    def score_and_record(self, calls: Any) -> None: ...
    def flush(self, context: Any = None) -> bool: ...

SUCCEEDED, TEMPORARY, PERMANENT = "Succeeded", "TemporaryFailure", "PermanentFailure"
# S3 errors retrying cannot fix.
_PERMANENT_ERRORS = frozenset({"NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidObjectState",
                               "404", "403"})
MAX_RESULT_CHARS = 1000


def is_batch_operations_event(event: Any) -> bool:
    return isinstance(event, dict) and "invocationSchemaVersion" in event and "tasks" in event


def task_object(task: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key) of one task, in either schema."""
    bucket = task.get("s3Bucket") or str(task.get("s3BucketArn", "")).rsplit(":::", 1)[-1]
    return bucket, unquote(task["s3Key"])


def handle(pipeline: _Pipeline, event: dict[str, Any], context: Any,
           is_log_object: Callable[[str], bool]) -> dict[str, Any]:
    """Score each task's log object with the pipeline; the Batch Operations response."""
    results = []
    try:
        for task in event.get("tasks") or []:
            code, text = _one(pipeline, task, is_log_object)
            results.append({"taskId": task.get("taskId"), "resultCode": code,
                            "resultString": text[:MAX_RESULT_CHARS]})
    finally:
        pipeline.flush(context)
    return {"invocationSchemaVersion": event["invocationSchemaVersion"],
            "treatMissingKeysAs": PERMANENT, "invocationId": event.get("invocationId"), "results": results}


def _one(pipeline: _Pipeline, task: dict[str, Any],
         is_log_object: Callable[[str], bool]) -> tuple[str, str]:
    try:
        bucket, key = task_object(task)
    except (KeyError, TypeError) as exc:
        return PERMANENT, f"not a Batch Operations task ({type(exc).__name__})"
    if not is_log_object(key):
        return SUCCEEDED, "not an invocation-log object: skipped"
    try:
        batch = pipeline.read_object(bucket, key)
    except Exception as exc:
        report_failure("pipeline.batch_operations", exc)
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return (PERMANENT if code in _PERMANENT_ERRORS else TEMPORARY), f"unreadable: {type(exc).__name__}"
    try:
        pipeline.score_and_record(batch.calls)
    except Exception as exc:  # a scoring outage: S3 retries the task later
        return TEMPORARY, f"scoring failed: {type(exc).__name__}"
    skipped = sum(batch.skipped.values())
    return SUCCEEDED, (f"scored {len(batch.calls)}, nothing to score in {skipped}, "
                       f"unreadable {len(batch.problems)}")
