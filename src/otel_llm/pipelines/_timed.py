"""Quality metrics stamped with each invocation's own time, for backfills and the Lambda handlers.

The SDK stamps a histogram point with the time it is collected, so a replay of last week's logs would
land as one spike "now". `TimedRecorder` is the span processor's `QualityRecorder` over a small meter of
its own that aggregates every measurement per minute of the invocation's `timestamp` (and per attribute
set): one base-2 exponential histogram per metric, model, operation and minute, one sum per counter.
`TimedRecorder.export(exporter)` then hands each minute to any SDK `MetricExporter` as ordinary
`MetricsData` whose points carry that minute as their time: `EMFMetricExporter` writes EMF distributions
(Values/Counts) stamped with it, `OTLPMetricExporter` sends OTLP points with those timestamps.

CloudWatch accepts metric data up to 14 days old and at most 2 hours ahead; records outside that window
are counted in `TimedRecorder.rejected` (by reason) and not sent.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from opentelemetry import metrics as api
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from .._quality.recorder import SCOPE, Evaluators, QualityRecorder
from ..exporters._distribution import MAX_VALUES
from ..record import LLMCall, Scores

MINUTE_MS = 60_000
MAX_AGE_MS = 14 * 24 * 3600 * 1000  # CloudWatch takes metric data up to 14 days old ...
MAX_AHEAD_MS = 2 * 3600 * 1000  # ... and at most 2 hours in the future
AGE_MARGIN_MS = 10 * MINUTE_MS  # the export happens later than the check: keep clear of the edge
TOO_OLD = "older_than_14_days"
TOO_NEW = "more_than_2h_ahead"
MAX_SCALE = 6  # buckets 1.1 % wide; merged down at export until a distribution fits one EMF array

_KEY = tuple[str, int, tuple[tuple[str, Any], ...]]  # (metric, minute in ms, sorted attributes)


def parse_timestamp_ms(value: Any) -> int | None:
    """Epoch milliseconds of an invocation-log `timestamp` (ISO 8601, `Z` or offset) or of a number of
    epoch milliseconds (a number below 1e11 is read as seconds); None when there is none or it is invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return int(value if value >= 1e11 else value * 1000)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def call_time_ms(call: LLMCall) -> int | None:
    """When the call was made, as its record says (`extra["timestamp"]`), in epoch milliseconds."""
    return parse_timestamp_ms(call.extra.get("timestamp"))


@dataclass(slots=True)
class _ExpHistogram:
    """A base-2 exponential histogram at `MAX_SCALE` (bucket i holds (base**i, base**(i+1)])."""

    positive: Counter[int] = field(default_factory=Counter)
    negative: Counter[int] = field(default_factory=Counter)
    zero: int = 0
    count: int = 0
    sum: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def add(self, value: float) -> None:
        if not math.isfinite(value):
            return
        self.count += 1
        self.sum += value
        self.min, self.max = min(self.min, value), max(self.max, value)
        if value == 0:
            self.zero += 1
        else:
            index = math.ceil(math.log2(abs(value)) * 2 ** MAX_SCALE) - 1
            (self.positive if value > 0 else self.negative)[index] += 1

    def point(self, attributes: dict[str, Any], start_ns: int, end_ns: int) -> ExponentialHistogramDataPoint:
        """As an SDK point, downscaled until each side has at most `MAX_VALUES` buckets."""
        scale = MAX_SCALE
        positive, negative = self.positive, self.negative
        while scale > -10 and max(_span(positive), _span(negative)) > MAX_VALUES:
            positive, negative, scale = _halve(positive), _halve(negative), scale - 1
        return ExponentialHistogramDataPoint(
            attributes=attributes, start_time_unix_nano=start_ns, time_unix_nano=end_ns, count=self.count,
            sum=self.sum, scale=scale, zero_count=self.zero, positive=_buckets(positive),
            negative=_buckets(negative), flags=0, min=self.min, max=self.max)


def _span(buckets: Counter[int]) -> int:
    return max(buckets) - min(buckets) + 1 if buckets else 0


def _halve(buckets: Counter[int]) -> Counter[int]:
    """The same counts one scale lower: buckets 2i and 2i+1 merge into bucket i."""
    merged: Counter[int] = Counter()
    for index, count in buckets.items():
        merged[index >> 1] += count
    return merged


def _buckets(buckets: Counter[int]) -> Any:
    from opentelemetry.sdk.metrics._internal.point import Buckets

    if not buckets:
        return Buckets(offset=0, bucket_counts=[])
    low = min(buckets)
    return Buckets(offset=low, bucket_counts=[buckets.get(i, 0) for i in range(low, max(buckets) + 1)])


class _Store:
    """Measurements by (metric, minute, attributes); the minute comes from `at()` on the recording thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.histograms: dict[_KEY, _ExpHistogram] = {}
        self.sums: dict[_KEY, float] = {}
        self.units: dict[str, tuple[str, str]] = {}  # metric -> (unit, description)

    @contextmanager
    def at(self, time_ms: int) -> Iterator[None]:
        previous = getattr(self._local, "minute", None)
        self._local.minute = time_ms - time_ms % MINUTE_MS
        try:
            yield
        finally:
            self._local.minute = previous

    def _key(self, name: str, attributes: Any) -> _KEY:
        minute = getattr(self._local, "minute", None)
        if minute is None:
            now = int(time.time() * 1000)
            minute = now - now % MINUTE_MS
        return name, minute, tuple(sorted((attributes or {}).items()))

    def record(self, name: str, value: float, attributes: Any) -> None:
        key = self._key(name, attributes)
        with self._lock:
            hist = self.histograms.get(key)
            if hist is None:
                hist = self.histograms[key] = _ExpHistogram()
            hist.add(float(value))

    def add(self, name: str, value: float, attributes: Any) -> None:
        key = self._key(name, attributes)
        with self._lock:
            self.sums[key] = self.sums.get(key, 0.0) + value

    def drain(self) -> tuple[dict[_KEY, _ExpHistogram], dict[_KEY, float]]:
        with self._lock:
            histograms, sums = self.histograms, self.sums
            self.histograms, self.sums = {}, {}
        return histograms, sums


class _Histogram(api.Histogram):
    def __init__(self, store: _Store, name: str, unit: str = "", description: str = "") -> None:
        self._store, self._name = store, name

    def record(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self._store.record(self._name, amount, attributes)


class _Counter(api.Counter):
    def __init__(self, store: _Store, name: str, unit: str = "", description: str = "") -> None:
        self._store, self._name = store, name

    def add(self, amount: int | float, attributes: Any = None, context: Any = None) -> None:
        self._store.add(self._name, amount, attributes)


class _Meter(api.NoOpMeter):
    """Histograms and counters into a `_Store`; every other instrument is a no-op."""

    def __init__(self, store: _Store, name: str) -> None:
        super().__init__(name)
        self._store = store

    def create_histogram(self, name: str, unit: str = "", description: str = "", *,
                         explicit_bucket_boundaries_advisory: Sequence[float] | None = None) -> api.Histogram:
        self._store.units[name] = (unit, description)
        return _Histogram(self._store, name, unit, description)

    def create_counter(self, name: str, unit: str = "", description: str = "") -> api.Counter:
        self._store.units[name] = (unit, description)
        return _Counter(self._store, name, unit, description)


class _MeterProvider(api.MeterProvider):
    def __init__(self, store: _Store) -> None:
        self._store = store

    def get_meter(self, name: str, version: str | None = None, schema_url: str | None = None,
                  attributes: Any = None) -> api.Meter:
        return _Meter(self._store, name)


class TimedRecorder(QualityRecorder):
    """The quality recorder, with each call's measurements stamped with the call's own minute.

    `now_ms` fixes "now" for the CloudWatch window (tests); calls without a timestamp are stamped now.
    """

    def __init__(self, resource: Resource | None = None, now_ms: int | None = None) -> None:
        self._store = _Store()
        super().__init__(_MeterProvider(self._store))
        self.resource = resource if resource is not None else Resource.create()
        self._now_ms = now_ms
        self.rejected: Counter[str] = Counter()  # reason -> records not sent (outside CloudWatch's window)
        self.untimed = 0  # records with no usable timestamp, stamped at processing time
        self.oldest_ms: int | None = None
        self.newest_ms: int | None = None

    def now_ms(self) -> int:
        return self._now_ms if self._now_ms is not None else int(time.time() * 1000)

    def window_problem(self, time_ms: int) -> str | None:
        """Why CloudWatch would not take a point stamped `time_ms`, or None."""
        now = self.now_ms()
        if time_ms < now - MAX_AGE_MS + AGE_MARGIN_MS:
            return TOO_OLD
        if time_ms > now + MAX_AHEAD_MS - AGE_MARGIN_MS:
            return TOO_NEW
        return None

    def stamp(self, call: LLMCall) -> int | None:
        """The time to record `call` at, or None (and counted in `rejected`) when CloudWatch would drop it."""
        stamp = call_time_ms(call)
        if stamp is None:
            self.untimed += 1
            return self.now_ms()
        problem = self.window_problem(stamp)
        if problem:
            self.rejected[problem] += 1
            return None
        self.oldest_ms = stamp if self.oldest_ms is None else min(self.oldest_ms, stamp)
        self.newest_ms = stamp if self.newest_ms is None else max(self.newest_ms, stamp)
        return stamp

    def record_all(self, calls: Sequence[LLMCall], results: Sequence[Scores],
                   evaluators: Evaluators | None = None) -> None:
        for call, scores in zip(calls, results, strict=True):
            stamp = self.stamp(call)
            if stamp is not None:
                with self._store.at(stamp):
                    super().record_all([call], [scores], evaluators)

    def metrics_data(self) -> Iterator[MetricsData]:
        """What was recorded since the last call, one `MetricsData` per minute, oldest first (and forgotten
        here: each minute is handed out once)."""
        histograms, sums = self._store.drain()
        by_minute: dict[int, dict[str, list[Any]]] = {}
        for (name, minute, attrs), hist in histograms.items():
            start, end = _interval(minute)
            by_minute.setdefault(minute, {}).setdefault(name, []).append(hist.point(dict(attrs), start, end))
        for (name, minute, attrs), value in sums.items():
            start, end = _interval(minute)
            by_minute.setdefault(minute, {}).setdefault(name, []).append(
                NumberDataPoint(attributes=dict(attrs), start_time_unix_nano=start, time_unix_nano=end,
                                value=int(value) if float(value).is_integer() else value))
        scope = InstrumentationScope(SCOPE)
        for minute in sorted(by_minute):
            metric_list = [Metric(name=name, description=self._store.units.get(name, ("", ""))[1],
                                  unit=self._store.units.get(name, ("", ""))[0], data=_data(points))
                           for name, points in sorted(by_minute[minute].items())]
            yield MetricsData([ResourceMetrics(self.resource, [ScopeMetrics(scope, metric_list, "")], "")])

    def export(self, exporter: MetricExporter, timeout_millis: float = 10_000) -> tuple[int, int]:
        """Hand every recorded minute to `exporter`; (minutes exported, minutes the exporter refused)."""
        sent = failed = 0
        for data in self.metrics_data():
            if exporter.export(data, timeout_millis=timeout_millis) == MetricExportResult.SUCCESS:
                sent += 1
            else:
                failed += 1
        return sent, failed


def _interval(minute_ms: int) -> tuple[int, int]:
    """A minute's delta interval; it ends 1 ms before the next minute, so the point's time is inside it."""
    start = minute_ms * 1_000_000
    return start, start + (MINUTE_MS - 1) * 1_000_000


def _data(points: list[Any]) -> Any:
    if isinstance(points[0], ExponentialHistogramDataPoint):
        return ExponentialHistogram(points, AggregationTemporality.DELTA)
    return Sum(points, AggregationTemporality.DELTA, is_monotonic=True)
