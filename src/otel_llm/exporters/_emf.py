"""`EMFMetricExporter`: an SDK metric exporter writing CloudWatch Embedded Metric Format JSON lines to
stdout (Lambda ships them to CloudWatch with no collector) or to a file.

Delta temporality for every instrument kind, so each line is one interval's own values; every
histogram becomes an EMF distribution; the EMF limits (100 metrics per directive, 30 dimensions per
set, 100 values per array) are met by splitting, never by dropping.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
    _Gauge as Gauge,
    export as points,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import Aggregation, ExponentialBucketHistogramAggregation

from .._config import Settings
from .._failures import report_failure
from . import _distribution as distribution
from ._cloudwatch import DEFAULT_NAMESPACE, SERVICE, cloudwatch_unit, dimension_sets

MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_DIMENSION_VALUE_CHARS = 1024
# CloudWatch Logs takes events of up to 256 KB; keep a margin for Lambda's line prefix.
MAX_DOCUMENT_BYTES = 200_000

_DELTA: dict[type, AggregationTemporality] = {kind: AggregationTemporality.DELTA for kind in (
    Counter, UpDownCounter, Histogram, Gauge, ObservableCounter, ObservableUpDownCounter, ObservableGauge)}


@dataclass(slots=True)
class _Group:
    """Points sharing one attribute set and one list of dimension sets: they share EMF documents."""

    properties: dict[str, str]
    dimensions: list[list[str]]
    timestamp_ms: int = 0
    items: list[tuple[int, str, str, Any]] = field(default_factory=list)  # (part, name, unit, value)


def _dimension_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_dimension_value(v) for v in value)
    return str(value)


def _chunks(keys: Sequence[str], size: int) -> list[list[str]]:
    return [list(keys[i:i + size]) for i in range(0, len(keys), size)]


def _point_values(data: object, point: Any) -> list[Any]:
    """The EMF values of one point: a number, or one or more distributions (empty: nothing to send)."""
    if isinstance(data, (points.Sum, points.Gauge)):
        return [point.value] if math.isfinite(point.value) else []
    if isinstance(data, points.Histogram):
        dist = distribution.from_explicit(point)
    elif isinstance(data, points.ExponentialHistogram):
        dist = distribution.from_exponential(point)
    else:
        return []
    if dist is None or dist.count == 0:
        return []
    return [part.to_emf() for part in distribution.split(dist)]


def to_emf_documents(metrics_data: MetricsData, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
    """The EMF documents (one per JSON line) for one export."""
    groups: dict[tuple, _Group] = {}
    for resource_metrics in metrics_data.resource_metrics:
        service = _dimension_value(resource_metrics.resource.attributes.get(SERVICE, "unknown_service"))
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                unit = cloudwatch_unit(metric.unit)
                for point in metric.data.data_points:
                    values = _point_values(metric.data, point)
                    if not values:
                        continue
                    props = {k: _dimension_value(v)[:MAX_DIMENSION_VALUE_CHARS]
                             for k, v in (point.attributes or {}).items()}
                    props.setdefault(SERVICE, service)
                    keys = {k for k, v in props.items() if v}  # CloudWatch takes no empty dimension value
                    dims = dimension_sets(metric.name, keys)
                    if not dims:  # undeclared, or no declared set filled: every attribute is a dimension
                        dims = _chunks(sorted(keys), MAX_DIMENSIONS_PER_SET)
                    key = (tuple(sorted(props.items())), tuple(map(tuple, dims)))
                    group = groups.get(key)
                    if group is None:
                        group = groups[key] = _Group(props, dims)
                    group.timestamp_ms = max(group.timestamp_ms, point.time_unix_nano // 1_000_000)
                    group.items.extend((part, metric.name, unit, value) for part, value in enumerate(values))
    documents: list[dict[str, Any]] = []
    for group in groups.values():
        documents.extend(_pack(group, namespace))
    return documents


def _pack(group: _Group, namespace: str) -> list[dict[str, Any]]:
    """Place a group's values in as few documents as the limits allow: one value per metric name per
    document, at most 100 metrics per directive, and a bounded document size."""
    base_size = len(json.dumps(group.properties)) + 200 + 40 * sum(map(len, group.dimensions))
    docs: list[tuple[dict[str, Any], list[dict[str, str]], list[int]]] = []
    for _part, name, unit, value in sorted(group.items, key=lambda item: item[0]):
        size = len(json.dumps(value)) + 2 * len(name) + 60
        for members, definitions, used in docs:
            if name not in members and len(definitions) < MAX_METRICS_PER_DIRECTIVE \
                    and used[0] + size <= MAX_DOCUMENT_BYTES:
                break
        else:
            members, definitions, used = {}, [], [base_size]
            docs.append((members, definitions, used))
        members[name] = value
        definitions.append({"Name": name, "Unit": unit})
        used[0] += size
    return [{
        "_aws": {"Timestamp": group.timestamp_ms, "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": group.dimensions, "Metrics": definitions}]},
        **group.properties,
        **members,
    } for members, definitions, _used in docs]


class EMFMetricExporter(MetricExporter):
    """Writes each export as CloudWatch EMF JSON lines to `destination`: "stdout", a file path, or an
    open text stream. Prefers delta temporality for every instrument, and exponential histograms
    (finer percentiles than fixed buckets; at most 100 buckets so one distribution fits one array)
    unless `exponential_histograms=False`.

    Without arguments, destination and namespace come from `OTEL_LLM_EMF_EXPORT` (default stdout) and
    `OTEL_LLM_EMF_NAMESPACE`: this is how `OTEL_METRICS_EXPORTER=emf` builds it under
    `opentelemetry-instrument` (entry point `opentelemetry_metrics_exporter`: `emf`)."""

    def __init__(self, destination: str | IO[str] | None = None, namespace: str | None = None,
                 exponential_histograms: bool = True) -> None:
        aggregation: dict[type, Aggregation] | None = None
        if exponential_histograms:
            aggregation = {Histogram: ExponentialBucketHistogramAggregation(max_size=distribution.MAX_VALUES)}
        super().__init__(preferred_temporality=_DELTA, preferred_aggregation=aggregation)
        if destination is None or namespace is None:
            settings = Settings.from_env()
            destination = destination if destination is not None else settings.emf_export or "stdout"
            namespace = namespace if namespace is not None else settings.emf_namespace
        self.namespace = namespace
        self._lock = threading.Lock()
        self._owned: IO[str] | None = None
        if destination == "stdout":
            self._stream: IO[str] | None = None  # resolved at write time, so redirected stdout is honoured
        elif isinstance(destination, str):
            self._owned = self._stream = open(destination, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self._stream = destination

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        try:
            lines = [json.dumps(doc, separators=(",", ":"), allow_nan=False)
                     for doc in to_emf_documents(metrics_data, self.namespace)]
            self.write_lines(lines)
            return MetricExportResult.SUCCESS
        except Exception as exc:  # an exporter failure must never reach the application
            report_failure("emf_exporter", exc)
            return MetricExportResult.FAILURE

    def write_lines(self, lines: Iterable[str]) -> None:
        text = "".join(line + "\n" for line in lines)
        if not text:
            return
        with self._lock:
            stream = self._stream or sys.stdout
            stream.write(text)
            stream.flush()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        with self._lock:
            (self._stream or sys.stdout).flush()
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        with self._lock:
            if self._owned is not None:
                self._owned.close()
                self._owned = None
                self._stream = None


def parse_lines(text: str) -> list[Mapping[str, Any]]:
    """The EMF documents in `text` (one JSON object per non-empty line): for tests and tools."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
