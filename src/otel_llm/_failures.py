"""What happens to a failure inside the SDK: logged once per kind, counted, never raised to the user.

The log line says what failed, where (the code location the exception came from) and the exception
type. Exception messages and tracebacks can quote prompt or completion text (a parser's error, an
evaluator's), so they are logged only when content capture is on
(`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`).

`safe_call` is where a hook's failure is caught, at the boundary where our code is called; the stream
proxy guards each event inline the same way (`report_failure`), without a call per event.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry import metrics

from . import _instruments as names

logger = logging.getLogger("otel_llm")

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
T = TypeVar("T")

_seen: set[tuple[str, str]] = set()
_lock = threading.Lock()
_counter = None
_capture: bool | None = None  # None: read the environment


def count_to(meter_provider: metrics.MeterProvider | None) -> None:
    """Count failures on `meter_provider` (the one `install()` was given) instead of the global one."""
    global _counter
    meter = (meter_provider or metrics.get_meter_provider()).get_meter("otel_llm")
    _counter = meter.create_counter(names.SDK_ERRORS, unit="{error}", description="Failures inside otel-llm")


def set_capture_content(capture: bool | None) -> None:
    """Whether failure logs may carry exception messages and tracebacks (None: from the environment)."""
    global _capture
    _capture = capture


def _capturing() -> bool:
    if _capture is not None:
        return _capture
    from ._config import _parse_bool

    try:
        return _parse_bool(os.environ.get(CAPTURE_ENV, ""))
    except ValueError:
        return False


def _errors_counter():
    if _counter is None:
        count_to(None)
    return _counter


def where(exc: BaseException) -> str:
    """The code location an exception was raised at (`module.py:42 in function`): never content."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if not frames:
        return "unknown location"
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"


def describe(exc: BaseException) -> str:
    """The exception's type, and its message only where that cannot quote content: AWS and OS errors
    (error codes, paths), ours marked `content_free`, or any with content capture on."""
    name = type(exc).__name__
    if _capturing() or isinstance(exc, OSError) or _is_aws_error(exc) or getattr(exc, "content_free", False):
        message = str(exc)[:300]
        return f"{name}: {message}" if message else name
    return name


def _is_aws_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("botocore.", "boto3."))


def count_event(component: str, kind: str, attributes: dict[str, str] | None = None) -> None:
    """Count one event in `otel_llm.sdk.errors` without logging it (breaker state changes)."""
    with contextlib.suppress(Exception):  # the counter itself must never be what breaks a call
        _errors_counter().add(1, {names.ATTR_COMPONENT: component, names.ATTR_ERROR_TYPE: kind,
                                  **(attributes or {})})


def report_failure(component: str, exc: BaseException, place: str | None = None) -> None:
    """Log the first failure of each (component, exception type), count every one. `place` says which
    input it was (`s3://bucket/key line 7`), never what it held."""
    key = (component, type(exc).__name__)
    with _lock:
        first = key not in _seen
        _seen.add(key)
    if first:
        with contextlib.suppress(Exception):
            at = f" on {place}" if place else ""
            if _capturing():
                logger.warning("otel-llm: %s failed%s: %s at %s; the application's call is unaffected "
                               "(logged once)", component, at, key[1], where(exc), exc_info=exc)
            else:  # AWS and OS errors keep their message (codes, paths); others only their type
                logger.warning("otel-llm: %s failed%s: %s at %s; the application's call is unaffected "
                               "(logged once)", component, at, describe(exc), where(exc))
    count_event(component, key[1])


def safe_call(component: str, function: Callable[..., T], *args: Any,
              recover: Callable[[], object] | None = None) -> T | None:
    """`function(*args)`, never raising: a failure is reported (`report_failure`), then `recover()` runs
    (guarded the same way) and None is returned."""
    try:
        return function(*args)
    except Exception as exc:
        report_failure(component, exc)
    if recover is not None:
        try:
            recover()
        except Exception as exc:
            report_failure(component, exc)
    return None
