"""What happens to a failure inside the SDK: logged once per kind, counted, never raised to the user.
`safe_call` is the one place a hook's failure is caught, at the boundary where our code is called."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry import metrics

from . import _instruments as names

logger = logging.getLogger("otel_llm")

T = TypeVar("T")

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
