"""Call metrics aggregated locally and merged at each collection: every reader sees each measurement once,
the points are exactly those `Histogram.record` gives (buckets, count, sum, min, max), what the merge cannot
match exactly (a view filtering attributes, another aggregation, exemplars sampled) is recorded per value,
and the drain instrument exports nothing."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

from otel_llm._instrumentation import deferred
from otel_llm._instrumentation.deferred import DRAIN_INSTRUMENT, DeferredRecorder

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
DURATION = "gen_ai.client.operation.duration"


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    for resource in (data.resource_metrics if data else []):
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


BOUNDS = [0.5, 1.0, 2.0, 4.0]
VALUES = [0.1, 0.5, 0.7, 3.0, 9.5, 0.30000000000000004, 1.1, 2.0, 0.2]


def _provider(**kwargs: Any) -> tuple[Any, list[InMemoryMetricReader]]:
    readers = [InMemoryMetricReader(),
               InMemoryMetricReader(preferred_temporality={Histogram: AggregationTemporality.DELTA})]
    meter = metrics.get_meter("test", meter_provider=MeterProvider(metric_readers=readers, **kwargs))
    return meter, readers


def _recorder(**kwargs: Any) -> tuple[DeferredRecorder, Any, list[InMemoryMetricReader]]:
    meter, readers = _provider(**kwargs)
    return DeferredRecorder(meter), meter.create_histogram("h", explicit_bucket_boundaries_advisory=BOUNDS), \
        readers


def _shape(points: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(sorted(p.attributes.items())), p.count, p.sum, p.min, p.max,
                   tuple(getattr(p, "bucket_counts", ())), tuple(getattr(p, "explicit_bounds", ())),
                   len(p.exemplars)) for p in points)


def _same_as_record(rounds: list[list[tuple[float, dict[str, Any]]]], merged: bool = False,
                    **kwargs: Any) -> None:
    """Each round's values through the recorder and straight through `Histogram.record`: the same points,
    per reader (cumulative and delta), after every round."""
    recorder, histogram, ours = _recorder(**kwargs)
    meter, theirs = _provider(**kwargs)
    reference = meter.create_histogram("h", explicit_bucket_boundaries_advisory=BOUNDS)
    for values in rounds:
        recorder.add([(histogram, v, a) for v, a in values])
        for v, a in values:
            reference.record(v, a, context=deferred._NO_SPAN)
        for mine, real in zip(ours, theirs, strict=True):
            assert _shape(_points(mine).get("h", [])) == _shape(_points(real).get("h", []))
    assert (recorder._boundaries[id(histogram)][1] is not None) == merged


def test_instr_call_metrics_are_in_the_collection_right_after_the_call(instrumented: Any) -> None:
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    instrumented.emulator.client().converse(modelId=MODEL, messages=messages)

    assert instrumented.meter_provider.force_flush(10_000)
    found = _points(instrumented.reader)

    assert sum(p.count for p in found[DURATION]) == 1
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in found["gen_ai.client.token.usage"]}
    assert set(tokens) == {"input", "output"} and all(v > 0 for v in tokens.values())
    assert DRAIN_INSTRUMENT not in found


def test_instr_merged_points_are_those_record_gives() -> None:
    a, b = {"k": "a"}, {"k": "b", "n": 1}
    rounds = [[(v, a) for v in VALUES] + [(7.0, b)], [], [(0.0, a), (4.0, b), (4.0, {"k": "b", "n": 1})]]
    _same_as_record(rounds, merged=True)


def test_instr_every_reader_sees_each_measurement_once() -> None:
    recorder, histogram, (first, second) = _recorder()
    assert first.get_metrics_data() is None  # the drain instrument alone exports nothing

    recorder.add([(histogram, 1.0, {"k": "v"}), (histogram, 3.0, {"k": "v"})])
    [from_first] = _points(first)["h"]
    [from_second] = _points(second)["h"]

    assert (from_first.count, from_first.sum) == (2, 4.0)
    assert (from_second.count, from_second.sum) == (2, 4.0)
    assert (from_first.bucket_counts, from_first.min, from_first.max) == ((0, 1, 0, 1, 0), 1.0, 3.0)
    assert recorder._boundaries[id(histogram)][1] == tuple(BOUNDS)  # merged, not recorded per value


def test_instr_values_record_would_drop_are_dropped() -> None:
    _same_as_record([[(1.0, {}), (-1.0, {}), (float("inf"), {}), (float("nan"), {}), (2.5, {})]], merged=True)


def test_instr_a_view_filtering_attributes_gets_each_value_recorded() -> None:
    views = [View(instrument_name="h", attribute_keys={"k"})]
    _same_as_record([[(v, {"k": "a", "drop": i}) for i, v in enumerate(VALUES)]], views=views)


def test_instr_another_aggregation_gets_each_value_recorded() -> None:
    views = [View(instrument_name="h", aggregation=ExponentialBucketHistogramAggregation())]
    _same_as_record([[(v, {"k": "a"}) for v in VALUES]], views=views)


def test_instr_an_exemplar_filter_that_samples_gets_each_value_recorded() -> None:
    _same_as_record([[(v, {"k": "a"}) for v in VALUES]], exemplar_filter=AlwaysOnExemplarFilter())


def test_instr_local_series_past_the_bound_are_merged_on_the_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deferred, "MAX_SERIES", 3)
    attrs = [{"k": i} for i in range(10)]
    _same_as_record([[(float(i % 5), attrs[i % 10]) for i in range(40)]], merged=True)


def test_instr_concurrent_callers_lose_no_measurement() -> None:
    recorder, histogram, (reader, _) = _recorder()
    attrs = {"k": "v"}

    def calls() -> None:
        for _ in range(2000):
            recorder.add([(histogram, 1.5, attrs), (histogram, 0.25, attrs)])

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(20):  # collections while callers record
        _points(reader)
    for thread in threads:
        thread.join()

    [point] = _points(reader)["h"]
    assert (point.count, point.sum, point.bucket_counts) == (16000, 14000.0, (8000, 0, 8000, 0, 0))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_instr_forked_child_starts_without_the_parents_measurements() -> None:
    recorder, histogram, (reader, _) = _recorder()
    recorder.add([(histogram, 1.0, {}), (histogram, 1.0, {})])

    pid = os.fork()
    if pid == 0:  # child: the parent's local measurements are the parent's
        ok = False
        try:
            recorder.add([(histogram, 5.0, {})])
            [point] = _points(reader)["h"]
            ok = (point.count, point.sum) == (1, 5.0)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    [point] = _points(reader)["h"]
    assert (point.count, point.sum) == (2, 2.0)


EXPONENTIAL = View(instrument_name="h", aggregation=ExponentialBucketHistogramAggregation())


@pytest.mark.parametrize("views", [[], [EXPONENTIAL]], ids=["merged", "recorded"])
def test_instr_values_added_at_once_are_those_record_gives(views: list[Any]) -> None:
    """`add_values` (a stream's times per output chunk, one call) gives the points `record` per value does."""
    recorder, histogram, ours = _recorder(views=views)
    meter, theirs = _provider(views=views)
    reference = meter.create_histogram("h", explicit_bucket_boundaries_advisory=BOUNDS)
    attributes = {"k": "a"}
    for values in ([*VALUES, -1.0, float("nan"), float("inf")], [], [0.0, 4.0, 0.1]):
        recorder.add_values(histogram, iter(values), attributes)
        recorder.add([(histogram, 0.75, attributes)])
        for value in [*values, 0.75]:
            reference.record(value, attributes, context=deferred._NO_SPAN)
        for mine, real in zip(ours, theirs, strict=True):
            assert _shape(_points(mine).get("h", [])) == _shape(_points(real).get("h", []))
    assert (recorder._boundaries[id(histogram)][1] is not None) == (not views)
