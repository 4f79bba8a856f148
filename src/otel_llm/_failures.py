"""What happens to a failure inside the SDK: logged once per kind, counted, never raised to the user."""

from __future__ import annotations

import contextlib
import logging
import threading

from opentelemetry import metrics

from . import _instruments as names

logger = logging.getLogger("otel_llm")

_seen: set[tuple[str, str]] = set()
_lock = threading.Lock()
_counter = None


def count_to(meter_provider: metrics.MeterProvider | None) -> None:
    """Count failures on `meter_provider` (the one `install()` was given) instead of the global one."""
    global _counter
    meter = (meter_provider or metrics.get_meter_provider()).get_meter("otel_llm")
    _counter = meter.create_counter(names.SDK_ERRORS, unit="{error}", description="Failures inside otel-llm")


def _errors_counter():
    if _counter is None:
        count_to(None)
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
    with contextlib.suppress(Exception):  # the counter itself must never be what breaks a call
        _errors_counter().add(1, {names.ATTR_COMPONENT: component, names.ATTR_ERROR_TYPE: key[1]})
