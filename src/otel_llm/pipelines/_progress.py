"""A one-line progress bar for `otel-llm replay`: records, bytes, rate and ETA, on a terminal only."""

from __future__ import annotations

import time
from typing import IO

WIDTH = 24
INTERVAL_S = 0.25


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Redraws one line on `stream` at most every 0.25 s; silent when `enabled` is False."""

    def __init__(self, stream: IO[str], enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.total_bytes = 0
        self._started = 0.0
        self._drawn = 0.0

    @classmethod
    def for_stream(cls, stream: IO[str]) -> Progress:
        """Enabled only when `stream` is a terminal: quiet when piped or redirected."""
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        return cls(stream, enabled=tty)

    def start(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self._started = time.monotonic()

    def line(self, records: int, done_bytes: int, now: float | None = None) -> str:
        """The text of the bar after `records` records and `done_bytes` bytes."""
        elapsed = max(1e-9, (time.monotonic() if now is None else now) - self._started)
        fraction = min(1.0, done_bytes / self.total_bytes) if self.total_bytes else 0.0
        filled = int(fraction * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)
        rate = records / elapsed
        eta = "?"
        if 0 < fraction < 1:
            eta = _duration(elapsed * (1 - fraction) / fraction)
        elif fraction >= 1:
            eta = "0:00:00"
        return (f"[{bar}] {100 * fraction:5.1f}%  {records:,} records  {_size(done_bytes)}/"
                f"{_size(self.total_bytes)}  {rate:,.0f} rec/s  {_size(done_bytes / elapsed)}/s  ETA {eta}")

    def update(self, records: int, done_bytes: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn < INTERVAL_S:
            return
        self._drawn = now
        self.stream.write("\r" + self.line(records, done_bytes, now) + "\x1b[K")
        self.stream.flush()

    def finish(self, records: int, done_bytes: int) -> None:
        if not self.enabled:
            return
        self.stream.write("\r" + self.line(records, done_bytes) + "\x1b[K\n")
        self.stream.flush()
