"""Bounds on remote backend calls: one time budget per call (attempts, backoff and waiting together), a
circuit breaker per backend, and daemon threads that the interpreter never waits for."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .._failures import count_event

T = TypeVar("T")

STATE_CLOSED, STATE_OPEN, STATE_HALF_OPEN = "closed", "open", "half_open"
ATTR_BREAKER_STATE = "otel_llm.breaker.state"


class BackendUnavailable(RuntimeError):
    """A backend call failed as a whole (budget spent, breaker open, connection or service errors):
    retrying the records one by one cannot help, so the scorer does not."""


class BudgetSpent(BackendUnavailable):
    """The time given to a call ran out before it ended."""


class Deadline:
    """A point in monotonic time; `remaining()` is never negative."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + max(0.0, seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0


class CircuitBreaker:
    """Opens after `failures` consecutive failed calls; after `cooldown_s` lets one probe through
    (half-open): its success closes the breaker, its failure opens it again. Every state change is
    counted in `otel_llm.sdk.errors` with the new state in `otel_llm.breaker.state`."""

    def __init__(self, name: str, failures: int = 3, cooldown_s: float = 30.0) -> None:
        self.name = name
        self.failures = max(1, failures)
        self.cooldown_s = max(0.0, cooldown_s)
        self.state = STATE_CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._probing = False
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """True when a call may go out now (closed, or the one half-open probe)."""
        with self._lock:
            if self.state == STATE_CLOSED:
                return True
            if self.state == STATE_OPEN and time.monotonic() - self._opened_at >= self.cooldown_s:
                self._change(STATE_HALF_OPEN)
            if self.state == STATE_HALF_OPEN and not self._probing:
                self._probing = True
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._probing = False
            if self.state != STATE_CLOSED:
                self._change(STATE_CLOSED)

    def failed(self) -> None:
        with self._lock:
            self._consecutive += 1
            probe_failed = self.state == STATE_HALF_OPEN
            self._probing = False
            if probe_failed or (self.state == STATE_CLOSED and self._consecutive >= self.failures):
                self._opened_at = time.monotonic()
                self._change(STATE_OPEN)

    def _change(self, state: str) -> None:
        self.state = state
        count_event(f"breaker {self.name}", "CircuitBreaker" + state.title().replace("_", ""),
                    {ATTR_BREAKER_STATE: state})


class _Run:
    """The shared state of one `run_bounded`."""

    def __init__(self, count: int) -> None:
        self.results: list[Any] = [None] * count
        self.next = 0
        self.done = 0
        self.error: BaseException | None = None
        self.cond = threading.Condition()


def run_bounded(tasks: Sequence[Callable[[], T]], deadline: Deadline, parallel: int = 1) -> list[T]:
    """Run `tasks` on at most `parallel` daemon threads and return their results in order. The first
    failure stops the rest (they are not started); when `deadline` passes first, `BackendUnavailable` is
    raised at once and the threads still running are left to end on their own (their sockets time out):
    nothing here is ever joined at interpreter exit."""
    if not tasks:
        return []
    run = _Run(len(tasks))

    def worker() -> None:
        while True:
            with run.cond:
                if run.error is not None or run.next >= len(tasks):
                    return
                index = run.next
                run.next += 1
            try:
                value = tasks[index]()
            except BaseException as exc:  # handed to the waiting thread
                with run.cond:
                    if run.error is None:
                        run.error = exc
                    run.cond.notify_all()
                return
            with run.cond:
                run.results[index] = value
                run.done += 1
                run.cond.notify_all()

    for _ in range(max(1, min(parallel, len(tasks)))):
        thread = threading.Thread(target=worker, name="otel-llm-backend", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # the interpreter is finalising: no new threads; work inline, still bounded
            worker()
            break
    with run.cond:
        while run.done < len(tasks) and run.error is None:
            left = deadline.remaining()
            if left <= 0:
                run.error = BudgetSpent("time budget spent")
                break
            run.cond.wait(left)
        error = run.error
    if error is not None:
        raise error
    return run.results


def backoff_s(attempt: int, base: float = 0.1, cap: float = 2.0) -> float:
    """Full-jitter exponential backoff before attempt `attempt` (1 = the first retry)."""
    return random.uniform(0.0, min(cap, base * (2 ** attempt)))


__all__ = ["ATTR_BREAKER_STATE", "BackendUnavailable", "BudgetSpent", "CircuitBreaker", "Deadline",
           "backoff_s", "run_bounded"]
