"""The scoring worker's CPU budget: a token bucket of CPU seconds filled at `share` of one core.

The worker asks how many records of a batch it may score now (`admit`), scores them, and pays what they
cost (`spend`, in CPU seconds of the worker thread times the inference threads). What is not admitted is
sampled out and counted; nothing waits, nothing grows.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

BURST_S = 2.0  # credit saved up while idle: at most this many seconds' worth of the budget


class CpuBudget:
    """`share` of one core (0 or less: unlimited). `clock` is monotonic wall time in seconds."""

    def __init__(self, share: float, clock: Callable[[], float] = time.monotonic,
                 seed: int | None = None) -> None:
        self.share = share
        self._clock = clock
        self._capacity = max(share, 0.0) * BURST_S
        self._credit = self._capacity
        self._last = clock()
        self._per_record: float | None = None  # CPU seconds per scored record, smoothed
        self._random = random.Random(seed)
        self._warm = False

    @property
    def unlimited(self) -> bool:
        return self.share <= 0

    def _refill(self) -> None:
        now = self._clock()
        self._credit = min(self._capacity, self._credit + (now - self._last) * self.share)
        self._last = now

    def admit(self, batch: Sequence[T]) -> tuple[list[T], list[T]]:
        """(records to score, records sampled out), chosen at random so no caller is favoured."""
        if self.unlimited or not batch:
            return list(batch), []
        self._refill()
        if self._credit <= 0:
            return [], list(batch)
        if self._per_record is None:
            return list(batch), []  # the first batches measure the cost
        n = min(len(batch), max(1, int(self._credit / self._per_record)))  # credit left: at least one
        if n >= len(batch):
            return list(batch), []
        chosen = set(self._random.sample(range(len(batch)), n))
        return ([r for i, r in enumerate(batch) if i in chosen],
                [r for i, r in enumerate(batch) if i not in chosen])

    def exhausted(self) -> bool:
        """True when `admit` would take nothing now: in debt, after the cost per record is known. Safe to
        ask from any thread (it changes nothing), so callers can skip queueing what would be sampled out."""
        if self.unlimited or self._per_record is None:
            return False
        return self._credit + (self._clock() - self._last) * self.share <= 0

    def spend(self, cpu_s: float, records: int) -> None:
        """Pay `cpu_s` for `records` scored. Debt is bounded by one burst, so a slow model load does not
        starve scoring for long."""
        if self.unlimited:
            return
        if not self._warm:  # the first batch loads the model: neither a cost per record nor a debt
            self._warm = True
            return
        self._refill()
        self._credit = max(-self._capacity, self._credit - cpu_s)
        if records > 0:
            cost = cpu_s / records
            self._per_record = cost if self._per_record is None else 0.8 * self._per_record + 0.2 * cost


def lower_thread_priority(nice: int) -> None:
    """Give the calling thread (only it: Linux schedules threads apart) niceness `nice`, never raising its
    priority; elsewhere, or where the sandbox forbids it, the thread keeps the app's priority."""
    if sys.platform != "linux" or nice <= 0:
        return
    thread = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, thread) < nice:
            os.setpriority(os.PRIO_PROCESS, thread, min(nice, 19))
    except OSError:  # scoring still runs, at the app's priority
        pass
