"""Fixtures of the instrumentation tests: the local Bedrock emulator, in-memory OTel providers, the
instrumentor (installed per test, removed after) and a collector of the side-channel records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm import _sidechannel as sidechannel
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.record import LLMCall
from otel_llm.testing import BedrockEmulator


class RecordCollector(SpanProcessor):
    """Takes the side-channel record of every span that ends, as the quality processor does."""

    def __init__(self) -> None:
        self.records: list[tuple[ReadableSpan, LLMCall]] = []

    def on_end(self, span: ReadableSpan) -> None:
        record = sidechannel.take(span.get_span_context())
        if record is not None:
            self.records.append((span, record))


@dataclass
class Harness:
    """Providers, exporters and the emulator one test works with."""

    emulator: BedrockEmulator
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    collector: RecordCollector
    settings: dict[str, Any] = field(default_factory=dict)

    def instrument(self, **settings: Any) -> BedrockInstrumentor:
        instrumentor = BedrockInstrumentor()
        instrumentor.instrument(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider,
                                metrics_enabled=False, **settings)
        return instrumentor

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def genai_spans(self) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.attributes.get("gen_ai.provider.name") == "aws.bedrock"]

    def records(self) -> list[LLMCall]:
        return [record for _, record in self.collector.records]

    def points(self, name: str) -> list[Any]:
        """Every data point of the metric `name` collected so far."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in (data.resource_metrics if data else []):
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture(scope="session")
def emulator() -> Iterator[BedrockEmulator]:
    with BedrockEmulator() as server:
        yield server


@pytest.fixture
def harness(emulator: BedrockEmulator) -> Iterator[Harness]:
    emulator.reset()
    spans = InMemorySpanExporter()
    collector = RecordCollector()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(collector)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    sidechannel.add_listener()
    try:
        yield Harness(emulator, tracer_provider, meter_provider, spans, reader, collector)
    finally:
        BedrockInstrumentor().uninstrument()
        sidechannel.remove_listener()
        emulator.reset()


@pytest.fixture
def instrumented(harness: Harness) -> Harness:
    """The harness with the instrumentor installed (content capture off, the default)."""
    harness.instrument()
    return harness
