"""Call metrics aggregated where they are recorded, handed to the SDK at each collection.

The SDK's `Histogram.record` costs about 90 K instructions a measurement (a `Measurement`, the exemplar
filter, a dict copy and a frozenset of the attributes, three locks), and a call makes 2-4 of them. So a
call adds its values to a local explicit-bucket histogram per (instrument, attribute dict): a lock, a
dict lookup, a bisect. Every metric collection merges those into the SDK's own aggregations first: an
observable instrument's callback does it, and the SDK runs those callbacks before it collects the
synchronous instruments, so `force_flush()`, `shutdown()`, a periodic export or
`InMemoryMetricReader.get_metrics_data()` right after a call includes it, with any number of readers.
The exported points are the ones `record` would give: the same bucket counts, min, max and count, and
the same sum (each collection starts the SDK's sum at 0 and ours adds the values in call order; with
several readers collecting at different times, a reader's sum may differ from it in the last bit).

The merge reaches into SDK internals, so it is used only where it provably matches: the SDK's explicit
bucket histogram aggregation with our boundaries, no attribute filter in a view, an exemplar filter
that samples nothing here (trace-based: no span is current at collection; or always-off). Anything else
(a proxy meter, a view with another aggregation, another SDK) gets `Histogram.record` per value, inline.
The observable instrument itself observes nothing, so it exports nothing.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, Observation

from .._failures import report_failure

DRAIN_INSTRUMENT = "otel_llm.internal.call_metrics_drain"
MAX_SERIES = 4096  # local series (instrument x attribute dict) before a merge is forced on the caller
# Recorded per value (the fallback): a context with no span, so exemplars are what the drain thread gave.
_NO_SPAN = Context({"otel_llm.call_metrics": True})
_SAMPLES_NOTHING = frozenset({"TraceBasedExemplarFilter", "AlwaysOffExemplarFilter"})

Entry = tuple[Histogram, float, dict[str, Any]]


class _Series:
    """One local histogram: the values of one instrument with one attribute dict since the last merge."""

    __slots__ = ("attributes", "buckets", "max", "min", "sum")

    def __init__(self, attributes: dict[str, Any], size: int) -> None:
        self.attributes = attributes  # held: the key is its id
        self.buckets = [0] * size
        self.sum: float = 0
        self.min = math.inf
        self.max = -math.inf


class DeferredRecorder:
    """One `Telemetry`'s call measurements: local histograms, merged into the SDK at each collection."""

    __slots__ = ("__weakref__", "_boundaries", "_lock", "_merge_lock", "_series")

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        self._merge_lock = threading.Lock()
        self._series: dict[tuple[int, int], tuple[Histogram, _Series]] = {}
        # per instrument: its SDK boundaries when the merge is exact for it, None to record per value
        self._boundaries: dict[int, tuple[Histogram, tuple[float, ...] | None]] = {}
        meter.create_observable_gauge(DRAIN_INSTRUMENT, callbacks=[self._on_collect],
                                      description="Merges otel-llm's call metrics; observes nothing.")
        _recorders.add(self)

    def add(self, entries: Iterable[Entry]) -> None:
        """Record measurements (the hot path)."""
        for histogram, value, attributes in entries:
            known = self._boundaries.get(id(histogram))
            boundaries = known[1] if known is not None else self._check(histogram)
            if boundaries is None:
                histogram.record(value, attributes, context=_NO_SPAN)
                continue
            if not 0 <= value < math.inf:  # what `record` drops (with a warning there)
                continue
            with self._lock:
                found = self._series.get((id(histogram), id(attributes)))
                series = found[1] if found else self._new_series(histogram, attributes, boundaries)
                series.buckets[bisect_left(boundaries, value)] += 1
                series.sum += value
                if value < series.min:
                    series.min = value
                if value > series.max:
                    series.max = value

    def add_values(self, histogram: Histogram, values: Iterable[float], attributes: dict[str, Any]) -> None:
        """Record several values of one instrument with one attribute dict, in order, as `add` would
        (one lock, one lookup: a stream's times per output chunk)."""
        known = self._boundaries.get(id(histogram))
        boundaries = known[1] if known is not None else self._check(histogram)
        if boundaries is None:
            for value in values:
                histogram.record(value, attributes, context=_NO_SPAN)
            return
        with self._lock:
            found = self._series.get((id(histogram), id(attributes)))
            series = found[1] if found else self._new_series(histogram, attributes, boundaries)
            buckets, total, low, high = series.buckets, series.sum, series.min, series.max
            for value in values:
                if not 0 <= value < math.inf:
                    continue
                buckets[bisect_left(boundaries, value)] += 1
                total += value  # one by one, in order: the sum `add` gives
                if value < low:
                    low = value
                if value > high:
                    high = value
            series.sum, series.min, series.max = total, low, high

    def _new_series(self, histogram: Histogram, attributes: dict[str, Any],
                    boundaries: tuple[float, ...]) -> _Series:
        """A new local series for (histogram, attributes); called with `_lock` held. Past `MAX_SERIES`,
        what is local is merged first."""
        if len(self._series) >= MAX_SERIES:
            self._lock.release()
            try:
                self.drain()
            finally:
                self._lock.acquire()
        series = _Series(attributes, len(boundaries) + 1)
        self._series[(id(histogram), id(attributes))] = (histogram, series)
        return series

    def drain(self) -> None:
        """Merge every local histogram into the SDK's aggregations (every reader's)."""
        with self._merge_lock:
            with self._lock:
                taken, self._series = self._series, {}
            for histogram, series in taken.values():
                try:
                    _merge(histogram, series)
                except Exception as exc:  # SDK internals changed under us: record per value from now on
                    self._boundaries[id(histogram)] = (histogram, None)
                    report_failure("instrumentation.metrics", exc)

    def stop(self) -> None:
        """Merge what is still local (on `uninstrument()`)."""
        self.drain()

    def _check(self, histogram: Histogram) -> tuple[float, ...] | None:
        try:
            boundaries = _mergeable_boundaries(histogram)
        except Exception:
            boundaries = None
        self._boundaries[id(histogram)] = (histogram, boundaries)
        return boundaries

    def _on_collect(self, options: CallbackOptions) -> Iterable[Observation]:
        self.drain()
        return ()

    def _after_fork_in_child(self) -> None:
        # What is local is the parent's to export; the child starts empty (a lock may have been held).
        self._lock, self._merge_lock, self._series = threading.Lock(), threading.Lock(), {}


_recorders: weakref.WeakSet[DeferredRecorder] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for recorder in list(_recorders):
        recorder._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _matches(histogram: Any) -> list[Any]:
    """The SDK's view matches of `histogram`, over every reader."""
    consumer = histogram._measurement_consumer
    found = []
    for storage in consumer._reader_storages.values():
        found.extend(storage._get_or_init_view_instrument_match(histogram))
    return found


def _mergeable_boundaries(histogram: Any) -> tuple[float, ...] | None:
    """The bucket boundaries every reader aggregates `histogram` with, when a merge gives exactly what
    `record` would; else None."""
    from opentelemetry.sdk.metrics._internal.aggregation import _ExplicitBucketHistogramAggregation
    from opentelemetry.sdk.metrics._internal.instrument import Histogram as SdkHistogram

    if not isinstance(histogram, SdkHistogram) or not histogram._is_enabled():
        return None
    consumer: Any = histogram._measurement_consumer
    if type(consumer._sdk_config.exemplar_filter).__name__ not in _SAMPLES_NOTHING:
        return None
    found: tuple[float, ...] | None = None
    matches = _matches(histogram)
    for match in matches:
        if match._view._attribute_keys is not None:
            return None
        probe = match._aggregation  # the aggregation this match creates per attribute set, made for none
        if type(probe) is not _ExplicitBucketHistogramAggregation or not probe._record_min_max:
            return None
        if found is not None and probe._boundaries != found:
            return None
        found = tuple(probe._boundaries)
        for name in ("_lock", "_attributes_aggregation", "_get_or_create_aggregation"):
            if not hasattr(match, name):
                return None
    return found if matches else None


def _merge(histogram: Any, series: _Series) -> None:
    from opentelemetry.sdk.metrics._internal import _view_instrument_match as vim

    attributes = dict(series.attributes)
    hashed = getattr(vim, "_hash_attributes", None)
    key = hashed(attributes) if hashed is not None else frozenset(attributes.items())
    for match in _matches(histogram):
        with match._lock:
            aggregation = match._attributes_aggregation.get(key)
            if aggregation is None:
                aggregation = match._get_or_create_aggregation(key, attributes)
            with aggregation._lock:
                if aggregation._value is None:
                    aggregation._value = aggregation._get_empty_bucket_counts()
                counts = aggregation._value
                for index, count in enumerate(series.buckets):
                    counts[index] += count
                aggregation._sum += series.sum
                aggregation._min = min(aggregation._min, series.min)
                aggregation._max = max(aggregation._max, series.max)
