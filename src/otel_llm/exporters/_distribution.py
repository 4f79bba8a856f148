"""Histogram data points (explicit-bucket or base-2 exponential) as CloudWatch distributions:
`Values`/`Counts` with Min/Max/Sum/Count, so CloudWatch can compute percentiles.

Each non-empty bucket becomes one value: the midpoint of the bucket after clamping it to the
point's observed [min, max] (so an open-ended first or last bucket, and a bucket holding a single
value, are represented by what was really observed). A distribution with more values than EMF allows
in one array is split into several, never truncated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import ExponentialHistogramDataPoint, HistogramDataPoint

MAX_VALUES = 100  # EMF: at most 100 values in one array


@dataclass(frozen=True, slots=True)
class Distribution:
    values: tuple[float, ...]
    counts: tuple[int, ...]
    min: float
    max: float
    sum: float

    @property
    def count(self) -> int:
        return sum(self.counts)

    def to_emf(self) -> dict[str, object]:
        """The EMF value object (CloudWatch takes SampleCount from the sum of `Counts`)."""
        return {"Values": list(self.values), "Counts": list(self.counts), "Max": self.max, "Min": self.min,
                "Count": self.count, "Sum": self.sum}


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _build(pairs: dict[float, int], lo: float, hi: float, total: float) -> Distribution | None:
    if not pairs:
        return None
    values = sorted(pairs)
    lo = lo if _finite(lo) else values[0]
    hi = hi if _finite(hi) else values[-1]
    total = total if _finite(total) else sum(v * pairs[v] for v in values)
    return Distribution(tuple(values), tuple(pairs[v] for v in values), lo, hi, total)


def _midpoint(lo: float, hi: float, observed_min: float, observed_max: float) -> float:
    """Midpoint of the bucket (lo, hi] clamped to the observed [min, max]."""
    if _finite(observed_min):
        lo, hi = max(lo, observed_min), max(hi, observed_min)
    if _finite(observed_max):
        lo, hi = min(lo, observed_max), min(hi, observed_max)
    if not math.isfinite(lo):
        return hi
    if not math.isfinite(hi):
        return lo
    return (lo + hi) / 2


def _add(pairs: dict[float, int], value: float, count: int) -> None:
    if math.isfinite(value):
        pairs[value] = pairs.get(value, 0) + count


def from_explicit(point: HistogramDataPoint) -> Distribution | None:
    """An explicit-bucket point as a distribution (None when it holds no measurement)."""
    bounds = list(point.explicit_bounds)
    pairs: dict[float, int] = {}
    for i, count in enumerate(point.bucket_counts):
        if not count:
            continue
        lo = bounds[i - 1] if i > 0 else -math.inf
        hi = bounds[i] if i < len(bounds) else math.inf
        _add(pairs, _midpoint(lo, hi, point.min, point.max), count)
    if not pairs and point.count and _finite(point.sum):  # no usable bound: keep the mean, lose no count
        pairs[point.sum / point.count] = point.count
    return _build(pairs, point.min, point.max, point.sum)


def from_exponential(point: ExponentialHistogramDataPoint) -> Distribution | None:
    """A base-2 exponential point as a distribution: bucket index i covers (base**i, base**(i+1)]."""
    base_exp = 2.0 ** -point.scale  # base = 2 ** base_exp

    def bound(index: int) -> float:
        try:
            return 2.0 ** (index * base_exp)
        except OverflowError:
            return math.inf

    pairs: dict[float, int] = {}
    if point.zero_count:
        pairs[0.0] = point.zero_count
    for sign, buckets in ((1.0, point.positive), (-1.0, point.negative)):
        for k, count in enumerate(buckets.bucket_counts):
            if not count:
                continue
            index = buckets.offset + k
            lo, hi = (bound(index), bound(index + 1)) if sign > 0 else (-bound(index + 1), -bound(index))
            _add(pairs, _midpoint(lo, hi, point.min, point.max), count)
    return _build(pairs, point.min, point.max, point.sum)


def split(dist: Distribution, max_values: int = MAX_VALUES) -> list[Distribution]:
    """Split into distributions of at most `max_values` values whose union is `dist`.

    Counts are exact per part; Min/Max are the part's own extremes (the first and last parts keep the
    observed min and max); the Sum is shared in proportion to each part's values so the parts add up
    to the exact total.
    """
    n = len(dist.values)
    if n <= max_values:
        return [dist]
    approx = [v * c for v, c in zip(dist.values, dist.counts, strict=True)]
    approx_total = sum(approx)
    parts = []
    starts = range(0, n, max_values)
    for j, start in enumerate(starts):
        end = min(start + max_values, n)
        values, counts = dist.values[start:end], dist.counts[start:end]
        if approx_total:
            part_sum = dist.sum * sum(approx[start:end]) / approx_total
        else:
            part_sum = dist.sum if j == 0 else 0.0
        parts.append(Distribution(values, counts, dist.min if j == 0 else values[0],
                                  dist.max if end == n else values[-1], part_sum))
    return parts
