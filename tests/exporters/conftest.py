"""Fixtures of the export tests: the EMF schema check, SDK providers wired to our exporter."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from otel_llm.exporters import EMFMetricExporter

SCHEMA = json.loads((Path(__file__).parent / "emf.schema.json").read_text())


def emf_problems(doc: dict[str, Any]) -> list[str]:
    """Every way `doc` breaks the EMF specification (empty when valid)."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = [e.message for e in validator.iter_errors(doc)]
    if problems:
        return problems
    defs = SCHEMA["$defs"]
    value_validator = jsonschema.Draft202012Validator({**defs["MetricValue"], "$defs": defs})
    dim_validator = jsonschema.Draft202012Validator(defs["DimensionValue"])
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        for dims in directive["Dimensions"]:
            for key in dims:
                if key not in doc:
                    problems.append(f"dimension {key!r} has no root member")
                else:
                    problems += [f"dimension {key!r}: {e.message}"
                                 for e in dim_validator.iter_errors(doc[key])]
        names = [m["Name"] for m in directive["Metrics"]]
        if len(names) != len(set(names)):
            problems.append("a metric is defined twice in one directive")
        for name in names:
            if name not in doc:
                problems.append(f"metric {name!r} has no root member")
            else:
                problems += [f"metric {name!r}: {e.message}" for e in value_validator.iter_errors(doc[name])]
                value = doc[name]
                if isinstance(value, dict) and len(value["Values"]) != len(value["Counts"]):
                    problems.append(f"metric {name!r}: Values and Counts differ in length")
    return problems


@pytest.fixture(name="emf_problems")
def emf_problems_fixture() -> Callable[[dict[str, Any]], list[str]]:
    return emf_problems


@pytest.fixture
def check_emf() -> Callable[[list[dict[str, Any]]], None]:
    def check(docs: list[dict[str, Any]]) -> None:
        assert docs, "no EMF document"
        for doc in docs:
            problems = emf_problems(doc)
            assert not problems, (problems, doc)
    return check


class EMFHarness:
    """A meter provider whose only reader exports EMF into a string buffer, flushed on demand."""

    def __init__(self, **exporter_args: Any) -> None:
        self.buffer = io.StringIO()
        self.exporter = EMFMetricExporter(self.buffer, **exporter_args)
        self.reader = PeriodicExportingMetricReader(self.exporter, export_interval_millis=3_600_000)
        self.provider = MeterProvider(metric_readers=[self.reader],
                                      resource=Resource.create({"service.name": "checkout"}))
        self.meter = self.provider.get_meter("otel_llm.tests")

    def flush(self) -> list[dict[str, Any]]:
        """Export now; the documents written by this export."""
        start = self.buffer.tell()
        self.provider.force_flush()
        self.buffer.seek(start)
        text = self.buffer.read()
        return [json.loads(line) for line in text.splitlines() if line]


@pytest.fixture
def emf_harness() -> Iterator[Callable[..., EMFHarness]]:
    made: list[EMFHarness] = []

    def make(**exporter_args: Any) -> EMFHarness:
        made.append(EMFHarness(**exporter_args))
        return made[-1]

    yield make
    for harness in made:
        harness.provider.shutdown()
