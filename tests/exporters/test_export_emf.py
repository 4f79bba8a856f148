"""The collector-less EMF exporter: real SDK providers, output checked against the EMF schema."""

from __future__ import annotations

import io
import json
import math

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Buckets,
    ExponentialHistogramDataPoint,
    InMemoryMetricReader,
    MetricExportResult,
)

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._quality.evaluators.registry import ALL_INSTRUMENTS
from otel_llm.exporters import DIMENSION_SETS, EMFMetricExporter, cloudwatch_unit, emf_reader_from_settings
from otel_llm.exporters._distribution import Distribution, from_exponential, split

CALL_ATTRS = {names.ATTR_MODEL: "anthropic.claude-3-haiku", names.ATTR_OPERATION: "chat",
              names.ATTR_PROVIDER: "aws.bedrock"}
EXTRA_ATTRS = {names.TOKEN_USAGE: {names.ATTR_TOKEN_TYPE: "input"},
               names.REFUSALS: {names.ATTR_REFUSAL_SOURCE: "classifier"},
               names.RECORDS: {names.ATTR_OUTCOME: "scored"},
               names.SDK_ERRORS: {names.ATTR_COMPONENT: "evaluator"}}
SAMPLE = {"histogram": [0.0, 0.02, 0.3, 0.31, 0.77, 1.0], "counter": [1, 2]}


def attrs_of(name: str) -> dict[str, str]:
    return {**CALL_ATTRS, **EXTRA_ATTRS.get(name, {})}


def _record_every_instrument(meter) -> None:
    for inst in ALL_INSTRUMENTS:
        attrs = attrs_of(inst.name)
        if inst.kind == "histogram":
            hist = meter.create_histogram(inst.name, unit=inst.unit,
                                          explicit_bucket_boundaries_advisory=inst.buckets)
            for value in SAMPLE["histogram"]:
                hist.record(value, attrs)
        else:
            counter = meter.create_counter(inst.name, unit=inst.unit)
            for value in SAMPLE["counter"]:
                counter.add(value, attrs)


def _values(docs, name):
    return [doc[name] for doc in docs if name in doc]


@pytest.mark.parametrize("exponential", [True, False], ids=["exponential", "explicit"])
def test_every_instrument_becomes_a_valid_emf_metric(emf_harness, check_emf, exponential):
    harness = emf_harness(exponential_histograms=exponential)
    _record_every_instrument(harness.meter)
    docs = harness.flush()
    check_emf(docs)
    for inst in ALL_INSTRUMENTS:
        found = _values(docs, inst.name)
        assert len(found) == 1, inst.name
        (value,) = found
        if inst.kind == "histogram":
            assert value["Count"] == sum(value["Counts"]) == len(SAMPLE["histogram"])
            assert value["Min"] == 0.0 and value["Max"] == 1.0
            assert value["Sum"] == pytest.approx(sum(SAMPLE["histogram"]))
            assert all(value["Min"] <= v <= value["Max"] for v in value["Values"])
        else:
            assert value == sum(SAMPLE["counter"])
        (doc,) = (d for d in docs if inst.name in d)
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "OtelLLM"
        assert {"Name": inst.name, "Unit": cloudwatch_unit(inst.unit)} in directive["Metrics"]
        present = {*attrs_of(inst.name), "service.name"}
        expected = [list(d) for d in DIMENSION_SETS[inst.name] if present.issuperset(d)]
        assert directive["Dimensions"] == expected
        assert doc["service.name"] == "checkout"


def test_explicit_buckets_become_clamped_midpoints(emf_harness, check_emf):
    harness = emf_harness(exponential_histograms=False)
    hist = harness.meter.create_histogram(names.TOXICITY, unit="1",
                                          explicit_bucket_boundaries_advisory=names.SCORE_BUCKETS)
    for value in (0.01, 0.12, 0.13, 0.97):
        hist.record(value, CALL_ATTRS)
    (doc,) = harness.flush()
    check_emf([doc])
    dist = doc[names.TOXICITY]
    # (-inf, 0.05] clamped to min 0.01 -> 0.03; (0.10, 0.15] -> 0.125 twice;
    # (0.95, inf) clamped to max 0.97 -> 0.96
    assert dist["Values"] == pytest.approx([0.03, 0.125, 0.96])
    assert dist["Counts"] == [1, 2, 1]
    assert (dist["Min"], dist["Max"]) == (0.01, 0.97)


def test_exponential_values_stay_near_what_was_recorded(emf_harness):
    harness = emf_harness()
    hist = harness.meter.create_histogram(names.SIMILARITY, unit="1")
    recorded = [0.05, 0.25, 0.5, 0.75, 0.95]
    for value in recorded:
        hist.record(value, CALL_ATTRS)
    (doc,) = harness.flush()
    values = doc[names.SIMILARITY]["Values"]
    assert len(values) == len(recorded)
    for got, want in zip(values, recorded, strict=True):
        assert got == pytest.approx(want, rel=0.05)


def test_each_export_holds_only_its_own_interval(emf_harness):
    harness = emf_harness()
    hist = harness.meter.create_histogram(names.REFUSAL, unit="1")
    counter = harness.meter.create_counter(names.RECORDS, unit="{record}")
    attrs = {**CALL_ATTRS, names.ATTR_OUTCOME: "scored"}
    for _ in range(3):
        hist.record(1.0, CALL_ATTRS)
        counter.add(1, attrs)
    first = harness.flush()
    hist.record(0.0, CALL_ATTRS)
    counter.add(1, attrs)
    second = harness.flush()
    assert _values(first, names.RECORDS) == [3] and _values(second, names.RECORDS) == [1]
    assert _values(first, names.REFUSAL)[0]["Count"] == 3
    assert _values(second, names.REFUSAL)[0] == {"Values": [0.0], "Counts": [1], "Max": 0.0, "Min": 0.0,
                                                   "Count": 1, "Sum": 0.0}
    assert harness.flush() == []  # nothing recorded: nothing written


def test_more_than_100_buckets_split_into_several_lines(emf_harness, check_emf):
    harness = emf_harness(exponential_histograms=False)
    bounds = [float(i) for i in range(1, 251)]
    hist = harness.meter.create_histogram("app.latency", unit="ms",
                                          explicit_bucket_boundaries_advisory=bounds)
    recorded = [i + 0.5 for i in range(250)]
    for value in recorded:
        hist.record(value, {"route": "/chat"})
    docs = harness.flush()
    check_emf(docs)
    parts = _values(docs, "app.latency")
    assert len(parts) == 3 and [len(p["Values"]) for p in parts] == [100, 100, 50]
    assert sum(sum(p["Counts"]) for p in parts) == len(recorded)
    assert sum(p["Sum"] for p in parts) == pytest.approx(sum(recorded))
    assert min(p["Min"] for p in parts) == 0.5 and max(p["Max"] for p in parts) == 249.5
    all_values = [v for p in parts for v in p["Values"]]
    assert all_values == sorted(all_values) and len(set(all_values)) == 250
    definition = [{"Name": "app.latency", "Unit": "Milliseconds"}]
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == definition for doc in docs)


def test_more_than_100_metrics_split_into_several_directives(emf_harness, check_emf):
    harness = emf_harness()
    for i in range(150):
        harness.meter.create_counter(f"app.counter.{i:03d}", unit="{item}").add(i + 1, {"route": "/chat"})
    docs = harness.flush()
    check_emf(docs)
    defined = [m["Name"] for doc in docs for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    assert sorted(defined) == [f"app.counter.{i:03d}" for i in range(150)]
    assert max(len(d["Metrics"]) for doc in docs for d in doc["_aws"]["CloudWatchMetrics"]) <= 100
    assert sum(doc[name] for doc in docs for name in defined if name in doc) == sum(range(1, 151))


def test_more_than_30_dimensions_split_into_several_sets(emf_harness, check_emf):
    harness = emf_harness()
    attrs = {f"k{i:02d}": f"v{i}" for i in range(44)}
    harness.meter.create_counter("app.wide", unit="1").add(5, attrs)
    (doc,) = harness.flush()
    check_emf([doc])
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    keys = [key for dims in directive["Dimensions"] for key in dims]
    assert sorted(keys) == sorted([*attrs, "service.name"]) and len(keys) == 45
    assert all(len(dims) <= 30 for dims in directive["Dimensions"])
    assert doc["app.wide"] == 5 and all(doc[k] == v for k, v in attrs.items())


def test_empty_attribute_values_are_kept_but_are_not_dimensions(emf_harness, check_emf):
    harness = emf_harness()
    harness.meter.create_counter("app.hits", unit="{hit}").add(1, {"route": "", "method": "GET"})
    (doc,) = harness.flush()
    check_emf([doc])
    assert doc["route"] == ""
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["method", "service.name"]]


def test_the_schema_rejects_what_breaks_the_limits(emf_problems):
    good = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["a"]],
                                                            "Metrics": [{"Name": "m", "Unit": "Count"}]}]},
            "a": "x", "m": 1}
    assert emf_problems(good) == []
    too_many_values = json.loads(json.dumps(good))
    too_many_values["m"] = {"Values": list(range(101)), "Counts": [1] * 101, "Max": 100, "Min": 0,
                            "Count": 101, "Sum": 5050}
    wide = json.loads(json.dumps(good))
    wide["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [[f"d{i}" for i in range(31)]]
    wide.update({f"d{i}": "v" for i in range(31)})
    bad_unit = json.loads(json.dumps(good))
    bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "{token}"
    dangling = json.loads(json.dumps(good))
    del dangling["a"]
    for bad in (too_many_values, wide, bad_unit, dangling):
        assert emf_problems(bad), bad


def test_split_keeps_every_count_and_the_exact_sum():
    dist = Distribution(tuple(float(v) for v in range(1, 251)), (2,) * 250, 0.5, 250.2, 62_760.0)
    parts = split(dist, max_values=100)
    assert [len(p.values) for p in parts] == [100, 100, 50]
    assert sum(p.count for p in parts) == dist.count
    assert math.isclose(sum(p.sum for p in parts), dist.sum)
    assert parts[0].min == 0.5 and parts[-1].max == 250.2


def test_units_map_to_cloudwatch_units():
    assert {inst.name: cloudwatch_unit(inst.unit) for inst in ALL_INSTRUMENTS} == {
        names.TOKEN_USAGE: "Count", names.OPERATION_DURATION: "Seconds", names.TIME_TO_FIRST_CHUNK: "Seconds",
        names.TIME_PER_OUTPUT_CHUNK: "Seconds", names.SIMILARITY: "None", names.SENTIMENT: "None",
        names.TOXICITY: "None", names.REFUSAL: "None", names.REFUSALS: "Count", names.RECORDS: "Count",
        names.SDK_ERRORS: "Count"}
    assert cloudwatch_unit("ms") == "Milliseconds" and cloudwatch_unit("furlong") == "None"


def test_a_broken_destination_fails_the_export_not_the_app():
    reader = InMemoryMetricReader()
    MeterProvider(metric_readers=[reader]).get_meter("t").create_counter("app.hits").add(1)
    closed = io.StringIO()
    closed.close()
    assert EMFMetricExporter(closed).export(reader.get_metrics_data()) is MetricExportResult.FAILURE
    good = io.StringIO()
    assert EMFMetricExporter(good).export(reader.get_metrics_data()) is MetricExportResult.SUCCESS
    assert json.loads(good.getvalue())["app.hits"] == 1


def test_one_env_var_turns_emf_on(tmp_path):
    assert emf_reader_from_settings(Settings.from_env({})) is None
    target = tmp_path / "emf.log"
    settings = Settings.from_env({"OTEL_LLM_EMF_EXPORT": str(target), "OTEL_LLM_EMF_NAMESPACE": "Team/Bot"})
    reader = emf_reader_from_settings(settings)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter(names.SDK_ERRORS).add(2, {names.ATTR_COMPONENT: "processor"})
    provider.shutdown()
    (line,) = target.read_text().splitlines()
    doc = json.loads(line)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Team/Bot" and doc[names.SDK_ERRORS] == 2


def test_stdout_destination_writes_lines_to_stdout(capsys):
    exporter = EMFMetricExporter("stdout")
    exporter.write_lines(['{"a":1}'])
    assert capsys.readouterr().out == '{"a":1}\n'


def test_without_arguments_the_exporter_follows_the_environment(tmp_path, monkeypatch):
    target = tmp_path / "out.emf"
    monkeypatch.setenv("OTEL_LLM_EMF_EXPORT", str(target))
    monkeypatch.setenv("OTEL_LLM_EMF_NAMESPACE", "Env/Space")
    exporter = EMFMetricExporter()
    reader = InMemoryMetricReader()
    MeterProvider(metric_readers=[reader]).get_meter("t").create_counter("app.hits").add(4)
    assert exporter.export(reader.get_metrics_data()) is MetricExportResult.SUCCESS
    exporter.shutdown()
    doc = json.loads(target.read_text())
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Env/Space" and doc["app.hits"] == 4


def test_exponential_zero_and_negative_buckets_are_kept():
    # The SDK's Histogram instrument refuses negative values, but OTLP data may carry them: build the point.
    point = ExponentialHistogramDataPoint(
        attributes={}, start_time_unix_nano=0, time_unix_nano=1, count=4, sum=1.0, scale=0, zero_count=2,
        positive=Buckets(offset=1, bucket_counts=[1]),  # (2, 4]
        negative=Buckets(offset=0, bucket_counts=[0, 1]),  # [-4, -2)
        flags=0, min=-2.5, max=3.0)
    dist = from_exponential(point)
    # [-4, -2) clamped to min -2.5 -> -2.25; the zero bucket -> 0; (2, 4] clamped to max 3 -> 2.5
    assert dist.counts == (1, 2, 1) and dist.values == (-2.25, 0.0, 2.5)
    assert (dist.min, dist.max, dist.sum, dist.count) == (-2.5, 3.0, 1.0, 4)
