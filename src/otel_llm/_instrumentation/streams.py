"""The proxy around a returned EventStream: the user gets every event unchanged (same objects, same
order) while `on_event` sees each of them, and `on_end` is called exactly once: when the stream is
exhausted, closed, raises, or is abandoned (garbage collected; leaving a loop early is not abandoning:
botocore's stream resumes where the loop stopped); aiobotocore's async streams alike. The proxy knows its
callbacks, not their owner. An `on_event` that raises is reported (`report_failure`) and the event still
reaches the user: the guard is inline in the loop, not a call per event."""

from __future__ import annotations

import atexit
import gc
import os
import queue
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import wrapt

from .._failures import report_failure

OnEvent = Callable[[Any], None]  # sees one event (read only); a failure is reported, the stream goes on
OnEnd = Callable[[BaseException | None], None]  # the stream ended (with the error it raised); never raises


class StreamProxy(wrapt.ObjectProxy):
    """Behaves as the wrapped EventStream (attributes, `isinstance`), observing iteration and `close()`."""

    def __init__(self, stream: Any, on_event: OnEvent, on_end: OnEnd) -> None:
        super().__init__(stream)
        self._self_on_event = on_event
        self._self_key = _open_stream(self, on_end)

    def __iter__(self) -> Iterator[Any]:
        on_event = self._self_on_event
        with _Reading(self):
            for event in self.__wrapped__:
                try:
                    on_event(event)
                except Exception as exc:
                    report_failure("instrumentation", exc)
                yield event

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end(None)

    def _self_end(self, exc: BaseException | None) -> None:
        # Once only: a stream read to the end and then closed ended when it was exhausted.
        found = _open.pop(self._self_key, None)
        if found is not None:
            _end(found[1], exc)


class AsyncStreamProxy(StreamProxy):
    """The same for an aiobotocore `AioEventStream`: observes `async for`. A task cancelled while it waits
    for an event ends the stream with the `CancelledError`."""

    def __iter__(self) -> Iterator[Any]:
        return iter(self.__wrapped__)  # aiobotocore's own error; not an end of the stream

    async def __aiter__(self) -> AsyncIterator[Any]:
        on_event = self._self_on_event
        with _Reading(self):
            async for event in self.__wrapped__:
                try:
                    on_event(event)
                except Exception as exc:
                    report_failure("instrumentation", exc)
                yield event


class _Reading:
    """Around one loop over a stream: its end (exhausted, or the error it raised) ends the stream, except
    GeneratorExit: the caller left its loop, and may resume with the stream it still holds."""

    __slots__ = ("proxy",)

    def __init__(self, proxy: StreamProxy) -> None:
        self.proxy = proxy

    def __enter__(self) -> None:
        pass

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if not isinstance(exc, GeneratorExit):
            self.proxy._self_end(exc)


def wrap_stream(stream: Any, on_event: OnEvent, on_end: OnEnd) -> StreamProxy:
    """The stream the user receives in place of `stream` (sync or async, as `stream` is)."""
    if not _ender_started:
        _start_ender()
    if hasattr(stream, "__aiter__"):
        return AsyncStreamProxy(stream, on_event, on_end)
    return StreamProxy(stream, on_event, on_end)


# --- streams not ended yet --------------------------------------------------------------------------
# Each open stream is a weak reference to its proxy (and the `on_end` it owes), held here: one that is
# abandoned ends when its proxy is collected (the reference's callback), one still open at interpreter exit
# ends then (newest first, before the exit hooks registered earlier: the tracer provider's shutdown).
# What `weakref.finalize` does, for a fifth of its cost.

_open: dict[int, tuple[weakref.ref[Any], OnEnd]] = {}
_exit_hook_registered = False


def _open_stream(proxy: StreamProxy, on_end: OnEnd) -> int:
    ref = weakref.ref(proxy, _collected)
    key = id(ref)
    _open[key] = (ref, on_end)
    return key


def _collected(ref: weakref.ref[Any]) -> None:
    found = _open.pop(id(ref), None)
    if found is not None:
        _end(found[1], None)


def _end_open_streams() -> None:
    for key in reversed(list(_open)):
        found = _open.pop(key, None)
        if found is not None:
            _end(found[1], None)


# --- streams the garbage collector ends ----------------------------------------------------------
# A collection runs inside whichever thread allocates, at any point, even while that thread holds a lock
# that ending a call takes (the side channel's, the processor's queue's): a stream collected there hands
# its `on_end` to a thread of its own instead of calling it in place.

_collecting = False
_deferred: queue.SimpleQueue[tuple[OnEnd, BaseException | None]] = queue.SimpleQueue()
_ender_started = False
_ender_lock = threading.Lock()


def _end(on_end: OnEnd, exc: BaseException | None) -> None:
    if _collecting:
        _deferred.put((on_end, exc))  # SimpleQueue.put is safe inside the collector
    else:
        on_end(exc)


def _track_collection(phase: str, info: dict[str, Any]) -> None:
    global _collecting
    _collecting = phase == "start"


def _start_ender() -> None:
    global _ender_started, _exit_hook_registered
    with _ender_lock:
        if not _ender_started:
            threading.Thread(target=_end_deferred, name="otel_llm-stream-ender", daemon=True).start()
            _ender_started = True
        if not _exit_hook_registered:  # at the first stream, as `weakref.finalize` registers its own
            atexit.register(_end_open_streams)
            _exit_hook_registered = True


def _end_deferred() -> None:
    while True:
        on_end, exc = _deferred.get()
        on_end(exc)  # never raises: it reports its own failures


def _after_fork_in_child() -> None:
    global _ender_started, _ender_lock, _deferred
    _ender_started, _ender_lock, _deferred = False, threading.Lock(), queue.SimpleQueue()


gc.callbacks.append(_track_collection)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
