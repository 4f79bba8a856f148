"""Hands `LLMCall` records from the instrumentation to span processors, keyed by span context.

Content travels here, in process, never through exported span attributes. Records are kept only
while some processor listens, and the store is bounded so an unread record can never leak.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from opentelemetry.trace import SpanContext

from .record import LLMCall

MAX_PENDING = 4096

_lock = threading.Lock()
_pending: OrderedDict[tuple[int, int], LLMCall] = OrderedDict()
_listeners = 0


def _key(ctx: SpanContext) -> tuple[int, int]:
    return (ctx.trace_id, ctx.span_id)


def listening() -> bool:
    """True when at least one processor will read records (the instrumentation may skip work otherwise)."""
    return _listeners > 0


def add_listener() -> None:
    global _listeners
    with _lock:
        _listeners += 1


def remove_listener() -> None:
    global _listeners
    with _lock:
        _listeners = max(0, _listeners - 1)
        if _listeners == 0:
            _pending.clear()


def publish(ctx: SpanContext, record: LLMCall) -> None:
    """Leave `record` for the processor that will see the span `ctx` end. Call before `span.end()`."""
    if not _listeners:
        return
    with _lock:
        _pending[_key(ctx)] = record
        while len(_pending) > MAX_PENDING:
            _pending.popitem(last=False)


def _after_fork_in_child() -> None:
    # A thread of the parent may have held the lock at the fork; it does not exist here to release it.
    # Its pending records belong to spans that end in the parent.
    global _lock
    _lock = threading.Lock()
    _pending.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def take(ctx: SpanContext) -> LLMCall | None:
    """Remove and return the record published for `ctx`, if any."""
    if not _pending:
        return None
    with _lock:
        return _pending.pop(_key(ctx), None)
