"""What happens to a failure inside the SDK: logged once per kind, counted, never raised to the user."""

from __future__ import annotations

import logging
import threading

from opentelemetry import metrics

from . import metrics as names

logger = logging.getLogger("otel_llm")

_seen: set[tuple[str, str]] = set()
_lock = threading.Lock()
_counter = None


def _errors_counter():
    global _counter
    if _counter is None:
        meter = metrics.get_meter("otel_llm")
        _counter = meter.create_counter(names.SDK_ERRORS, unit="{error}", description="Failures inside otel-llm")
    return _counter


def report_failure(component: str, exc: BaseException) -> None:
    """Log the first failure of each (component, exception type) with its traceback, count every one."""
    key = (component, type(exc).__name__)
    with _lock:
        first = key not in _seen
        _seen.add(key)
    if first:
        logger.warning("otel-llm: %s failed; the application's call is unaffected (logged once)",
                       component, exc_info=exc)
    try:
        _errors_counter().add(1, {names.ATTR_COMPONENT: component, names.ATTR_ERROR_TYPE: key[1]})
    except Exception:  # the counter itself must never be the thing that breaks a call
        pass
