"""A record whose evaluators failed is counted as failed, not as sampled out: the dropped/failed alarm must
see a broken backend (a model that cannot load, an AWS outage)."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm import _instruments as names
from otel_llm._backends import Backends
from otel_llm._backends.local import LocalEmbeddings, LocalSentiment, LocalToxicity
from otel_llm._config import Settings
from otel_llm._quality.recorder import QualityRecorder
from otel_llm._quality.scoring import Scorer
from otel_llm.record import LLMCall


def _broken_local_backends(tmp_path) -> Backends:
    """The real local backend pointed at a directory without weights: every load fails, as on an install
    without the model."""
    embeddings = LocalEmbeddings(model_dir=tmp_path)
    return Backends(embeddings, LocalSentiment(embeddings), LocalToxicity(embeddings), "local")


def _outcomes(reader: InMemoryMetricReader) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == names.RECORDS:
                    for point in metric.data.data_points:
                        outcome = point.attributes[names.ATTR_OUTCOME]
                        counts[outcome] = counts.get(outcome, 0) + point.value
    return counts


def test_every_evaluator_failing_marks_the_scores_failed(tmp_path):
    scorer = Scorer(Settings(backend="local"), backends=_broken_local_backends(tmp_path))
    calls = [LLMCall("m", prompt="What is 2+2?", completion=f"It is {i}.") for i in range(3)]
    scores = scorer.score_many(calls)
    assert all(s.similarity is None and s.refusal is None for s in scores)
    assert all(set(s.failed) == {"similarity", "sentiment", "toxicity", "refusal"} for s in scores), scores


def test_a_sampled_out_record_is_not_failed(tmp_path):
    scorer = Scorer(Settings(backend="local", sample_rate=0.0), backends=_broken_local_backends(tmp_path))
    [scores] = scorer.score_many([LLMCall("m", prompt="q", completion="an answer")])
    assert scores.failed == ()


def test_records_whose_scoring_failed_are_counted_as_failed(tmp_path):
    reader = InMemoryMetricReader()
    recorder = QualityRecorder(MeterProvider(metric_readers=[reader]))
    scorer = Scorer(Settings(backend="local"), backends=_broken_local_backends(tmp_path))
    calls = [LLMCall("m", prompt="q", completion="an answer"), LLMCall("m", prompt="q", completion="another")]
    recorder.record_all(calls, scorer.score_many(calls))
    sampled_scorer = Scorer(Settings(backend="local", sample_rate=0.0),
                            backends=_broken_local_backends(tmp_path))
    recorder.record_all(calls[:1], sampled_scorer.score_many(calls[:1]))
    assert _outcomes(reader) == {"failed": 2, "sampled_out": 1}
