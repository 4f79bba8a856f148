"""Call-metric records taken off the caller's thread, without weakening flush semantics.

A call appends `(histogram, value, attributes)` to a bounded queue. Every metric collection drains
the queue first: an observable instrument's callback does it, and the SDK runs those callbacks before
it collects the synchronous instruments, so `force_flush()`, `shutdown()`, a periodic export or
`InMemoryMetricReader.get_metrics_data()` right after a call includes it, with any number of readers.
Between collections a background thread drains the queue so it stays small. The observable
instrument itself observes nothing, so it exports nothing.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from .._failures import report_failure

MAX_PENDING = 16384  # entries; at ~3 per call, seconds of traffic at any realistic call rate
DRAIN_INTERVAL_S = 0.5
DRAIN_BATCH = 32  # entries recorded between GIL yields, so a drain never holds a caller up long
DRAIN_INSTRUMENT = "otel_llm.internal.call_metrics_drain"

Entry = tuple[Histogram, float, dict[str, Any]]


class MeasurementsDropped(RuntimeError):
    """The queue was full (nothing drained it): these call measurements were not recorded."""


class DeferredRecorder:
    """The queue of one `Telemetry`'s call measurements, its collection hook and its drain thread."""

    __slots__ = ("__weakref__", "_drain_lock", "_stop", "_thread", "dropped", "interval_s", "max_pending",
                 "pending")

    def __init__(self, meter: Meter, interval_s: float | None = DRAIN_INTERVAL_S,
                 max_pending: int = MAX_PENDING) -> None:
        """`interval_s=None`: no drain thread, only collections drain (tests)."""
        self.pending: deque[Entry] = deque()
        self.dropped = 0
        self.interval_s = interval_s
        self.max_pending = max_pending
        self._stop = threading.Event()
        # One drainer at a time: a collection must not finish while the drain thread still holds an
        # entry it popped but has not recorded yet.
        self._drain_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        meter.create_observable_gauge(DRAIN_INSTRUMENT, callbacks=[self._on_collect],
                                      description="Drains otel-llm's queued call metrics; observes nothing.")
        _recorders.add(self)
        self._start()

    def add(self, entries: Iterable[Entry]) -> None:
        """Queue measurements (the hot path: one bounded `deque.extend`)."""
        if len(self.pending) < self.max_pending:
            self.pending.extend(entries)
        else:
            self.dropped += 1

    def drain(self, batch: int = 0) -> None:
        """Record every queued measurement; with `batch`, yield the GIL after each `batch` of them."""
        pending = self.pending
        done = 0
        with self._drain_lock:
            try:
                while pending:
                    histogram, value, attributes = pending.popleft()
                    histogram.record(value, attributes)
                    done += 1
                    if batch and done % batch == 0:
                        time.sleep(0)
            except Exception as exc:
                report_failure("instrumentation.metrics", exc)
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            report_failure("instrumentation.metrics",
                           MeasurementsDropped(f"{dropped} calls' measurements dropped: queue full"))

    def stop(self) -> None:
        """Stop the drain thread and record what is still queued."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.drain()

    def _on_collect(self, options: CallbackOptions) -> Iterable[Observation]:
        self.drain()
        return ()

    def _start(self) -> None:
        if self.interval_s is None:
            return
        self._thread = threading.Thread(target=self._run, name="otel_llm-call-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.drain(DRAIN_BATCH)

    def _after_fork_in_child(self) -> None:
        # What is queued is the parent's to record; the child starts empty, with its own thread.
        self.pending.clear()
        self.dropped = 0
        self._drain_lock = threading.Lock()  # the parent's drain thread may have held it at the fork
        stopped, self._stop = self._stop.is_set(), threading.Event()  # the parent's may hold its lock
        if stopped:
            self._stop.set()
        else:
            self._start()


_recorders: weakref.WeakSet[DeferredRecorder] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for recorder in list(_recorders):
        recorder._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
