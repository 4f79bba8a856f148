"""Per-evaluator outcomes: a record whose similarity, sentiment or toxicity failed is not "scored", every lost
score is counted once in `otel_llm.scores{otel_llm.evaluator, otel_llm.outcome}`, and a failed batch
embedding is not sent again by each evaluator."""

from __future__ import annotations

from collections import Counter

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm import _instruments as names
from otel_llm._backends import Backends
from otel_llm._backends.aws import make_aws_backends
from otel_llm._config import Settings
from otel_llm._quality.recorder import QualityRecorder
from otel_llm._quality.scoring import Scorer
from otel_llm.evaluators import Evaluator
from otel_llm.record import LLMCall
from otel_llm.testing.faults import HangingServer


class AlwaysFails(Evaluator):
    name = "always_fails"

    def evaluate(self, batch):
        raise RuntimeError("this evaluator never works")


def calls(n: int) -> list[LLMCall]:
    return [LLMCall(model_id="anthropic.claude-3-haiku-20240307-v1:0", prompt=f"How do I do task {i}?",
                    completion=f"Here is a good way to do task {i}.") for i in range(n)]


def counted(reader, metric: str) -> Counter:
    data = reader.get_metrics_data()
    out: Counter = Counter()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == metric:
                    for p in m.data.data_points:
                        key = (p.attributes.get(names.ATTR_EVALUATOR), p.attributes[names.ATTR_OUTCOME])
                        out[key] += p.value
    return out


@pytest.fixture
def recorded():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield QualityRecorder(provider), reader
    provider.shutdown()


def test_an_evaluator_that_always_fails_loses_every_score_counted_once(make_scorer, recorded):
    recorder, reader = recorded
    batch = calls(40)
    results = make_scorer([AlwaysFails()]).score_many(batch)
    assert [r.outcomes["always_fails"] for r in results] == ["failed"] * 40  # not just the first few
    recorder.record_all(batch, results)
    assert counted(reader, names.RECORDS) == {(None, "failed"): 40}  # none of them "scored"
    scores = counted(reader, names.SCORES)
    assert scores[("always_fails", "failed")] == 40
    assert scores[("similarity", "scored")] == scores[("toxicity", "scored")] == 40


def test_sampled_out_and_nothing_to_judge_are_outcomes_too(make_scorer):
    empty = LLMCall(model_id="m", prompt="", completion="Only a completion.")
    [result] = make_scorer(sample_rates=("toxicity=0",)).score_many([empty])
    assert result.outcomes == {"similarity": "no_score", "sentiment": "scored", "toxicity": "sampled_out",
                               "refusal": "scored"}
    assert result.failed == ()


def test_with_the_aws_backend_down_only_refusal_is_scored_and_nothing_is_embedded_twice(monkeypatch,
                                                                                        recorded):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    recorder, reader = recorded

    class Counting:
        def __init__(self, inner):
            self.inner, self.name, self.calls = inner, inner.name, 0

        def embed(self, texts):
            self.calls += 1
            return self.inner.embed(texts)

    with HangingServer() as hanging:
        settings = Settings(backend="aws", aws_region="us-east-1", bedrock_endpoint_url=hanging.endpoint_url,
                            comprehend_endpoint_url=hanging.endpoint_url, backend_timeout_s=0.5,
                            breaker_failures=100)  # the breaker is not what spares the backend here
        aws = make_aws_backends(settings)
        titan = Counting(aws.embeddings)
        scorer = Scorer(settings, backends=Backends(titan, aws.sentiment, aws.toxicity, "aws"))
        batch = calls(8)
        results = scorer.score_many(batch)
    assert titan.calls == 1  # one shared embedding call; no evaluator, no single record, sent it again
    for result in results:
        assert result.outcomes == {"similarity": "failed", "sentiment": "failed", "toxicity": "failed",
                                   "refusal": "scored"}
    recorder.record_all(batch, results)
    assert counted(reader, names.RECORDS) == {(None, "failed"): 8}
    scores = counted(reader, names.SCORES)
    assert {k: v for k, v in scores.items() if k[1] == "failed"} == {
        ("similarity", "failed"): 8, ("sentiment", "failed"): 8, ("toxicity", "failed"): 8}
