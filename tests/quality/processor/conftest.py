"""Fixtures of the processor area: in-memory OTel providers, a small real scorer, metric readers."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm._config import Settings
from otel_llm.record import LLMCall, Scores

# The real record, with values that every histogram records.
SimpleScores = functools.partial(Scores, similarity=0.5, sentiment=0.0, sentiment_label="neutral",
                                 toxicity=0.1, refusal=0.2, refused=False, backend="test")


class RecordingScorer:
    """A real collaborator for queue and threading tests: scores from the completion's length, remembers
    every record it scored, and can be held back (`gate`) to play a slow backend."""

    def __init__(self, scores: Scores | None = None) -> None:
        self.scores = scores or SimpleScores()
        self.seen: list[LLMCall] = []
        self.batches: list[int] = []
        self.threads: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def score_many(self, calls: Sequence[LLMCall]) -> list[Scores]:
        self.gate.wait()
        with self._lock:
            self.seen.extend(calls)
            self.batches.append(len(calls))
            self.threads.add(threading.current_thread().name)
        return [self.scores for _ in calls]


class FailingScorer:
    def score_many(self, calls: Sequence[LLMCall]) -> list[Scores]:
        raise RuntimeError("backend down")


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(reader: InMemoryMetricReader) -> MeterProvider:
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(spans: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider
    provider.shutdown()


@pytest.fixture
def settings() -> Settings:
    return Settings(queue_size=10_000, batch_size=16, schedule_delay_ms=20, backend="lexical")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region: the local servers do not check signatures."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


class Collected:
    """The data points an `InMemoryMetricReader` holds, by metric name."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.points: dict[str, list] = {}
        data = reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    self.points.setdefault(metric.name, []).extend(metric.data.data_points)

    def counter(self, name: str, **attrs: str) -> int:
        """Sum of a counter's points whose attributes include `attrs` (dots spelled `__`)."""
        wanted = {k.replace("__", "."): v for k, v in attrs.items()}
        return sum(p.value for p in self.points.get(name, [])
                   if all(p.attributes.get(k) == v for k, v in wanted.items()))

    def count(self, name: str) -> int:
        """Values a histogram received."""
        return sum(p.count for p in self.points.get(name, []))


@pytest.fixture
def collect(reader: InMemoryMetricReader):
    return lambda: Collected(reader)


@pytest.fixture
def scorer() -> RecordingScorer:
    return RecordingScorer()


@pytest.fixture
def scores_type() -> Callable[..., Scores]:
    return SimpleScores


@pytest.fixture
def failing_scorer() -> FailingScorer:
    return FailingScorer()
