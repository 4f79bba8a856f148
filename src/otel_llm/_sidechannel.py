"""Hands `LLMCall` records from the instrumentation to span processors, keyed by span context.

Content travels here, in process, never through exported span attributes. Records are kept only
while some processor listens, and the store is bounded so an unread record can never leak. A listener may
say it wants no content for calls starting now (its CPU budget is spent): when none wants it, the
instrumentation reads no prompt or completion and publishes the call marked `SAMPLED_OUT`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable

from opentelemetry.trace import SpanContext

from .record import LLMCall

MAX_PENDING = 4096
SAMPLED_OUT = "otel_llm.sampled_out"  # key in `LLMCall.extra` of a record published without its content

_lock = threading.Lock()
_pending: OrderedDict[tuple[int, int], LLMCall] = OrderedDict()
_listeners = 0
_always = 0  # listeners that want every call's content
_sometimes: tuple[Callable[[], bool], ...] = ()  # the others: each says whether it wants it now


def _key(ctx: SpanContext) -> tuple[int, int]:
    return (ctx.trace_id, ctx.span_id)


def listening() -> bool:
    """True when at least one processor will read records (the instrumentation may skip work otherwise)."""
    return _listeners > 0


def wanted() -> bool:
    """True when some listener wants the content of a call starting now (cheap: asked once a call)."""
    return _always > 0 or any(wants() for wants in _sometimes)


def add_listener(wants: Callable[[], bool] | None = None) -> None:
    """Listen for records; `wants` (default: always) says whether a call starting now should carry content."""
    global _listeners, _always, _sometimes
    with _lock:
        _listeners += 1
        if wants is None:
            _always += 1
        else:
            _sometimes = (*_sometimes, wants)


def remove_listener(wants: Callable[[], bool] | None = None) -> None:
    """Stop listening (`wants`: as given to `add_listener`)."""
    global _listeners, _always, _sometimes
    with _lock:
        _listeners = max(0, _listeners - 1)
        if wants is None:
            _always = max(0, _always - 1)
        elif wants in _sometimes:
            found = _sometimes.index(wants)
            _sometimes = _sometimes[:found] + _sometimes[found + 1:]
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
