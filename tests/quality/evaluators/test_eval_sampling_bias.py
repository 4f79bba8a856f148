"""The refusal ratio under sampling: the mean of otel_llm.refusal must see exact refusal signals at the
same rate as every other record, while otel_llm.refusals still counts each exact signal by its source."""

from __future__ import annotations

from collections import Counter

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm import _instruments as names
from otel_llm._quality.recorder import QualityRecorder
from otel_llm.record import SIGNAL_GUARDRAIL, LLMCall

PROMPT = "How do I bake a simple loaf of bread at home?"
ANSWER = "Mix flour, water, yeast and salt, knead, let it rise, then bake at 220 C for 30 minutes."


def _points(reader: InMemoryMetricReader, metric: str, key: str, field: str) -> Counter:
    totals: Counter = Counter()
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for m in scope.metrics:
                if m.name == metric:
                    for point in m.data.data_points:
                        totals[point.attributes.get(key)] += getattr(point, field)
    return totals


def test_a_sampled_out_exact_refusal_is_counted_but_not_in_the_ratio(make_scorer):
    scorer = make_scorer(sample_rate=0.0)
    blocked = LLMCall("m", prompt=PROMPT, completion="Blocked.", refusal_signal=SIGNAL_GUARDRAIL)
    plain = LLMCall("m", prompt=PROMPT, completion=ANSWER)
    results = scorer.score_many([blocked, plain])
    assert results[0].unsampled == ("refusal",) and results[0].refusal_source == SIGNAL_GUARDRAIL
    assert results[1].unsampled == () and results[1].refusal is None

    reader = InMemoryMetricReader()
    recorder = QualityRecorder(MeterProvider(metric_readers=[reader]))
    outcomes = [recorder.record(call, scores) for call, scores in zip([blocked, plain], results, strict=True)]

    assert outcomes == ["sampled_out", "sampled_out"]  # neither is in any histogram's denominator
    assert _points(reader, names.REFUSAL, names.ATTR_MODEL, "count") == Counter()
    assert _points(reader, names.REFUSALS, names.ATTR_REFUSAL_SOURCE, "value") == {SIGNAL_GUARDRAIL: 1}


def test_a_drawn_exact_refusal_is_in_the_ratio(make_scorer):
    scorer = make_scorer()
    blocked = LLMCall("m", prompt=PROMPT, completion="Blocked.", refusal_signal=SIGNAL_GUARDRAIL)
    (scores,) = scorer.score_many([blocked])
    reader = InMemoryMetricReader()
    QualityRecorder(MeterProvider(metric_readers=[reader])).record(blocked, scores)
    assert scores.unsampled == ()
    assert _points(reader, names.REFUSAL, names.ATTR_MODEL, "sum") == {"m": 1.0}
