"""The `aws` backend against fault servers on loopback, through real boto3 clients: a socket that accepts and
never answers, a server that throttles everything. Each call is bounded by one budget, a circuit breaker
keeps calls away from a failing service, and no thread is left for the interpreter to join."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm import _failures as failures, _instruments as names
from otel_llm._backends.aws import MAX_ATTEMPTS, make_aws_backends
from otel_llm._backends.resilience import (
    ATTR_BREAKER_STATE,
    BackendUnavailable,
    BudgetSpent,
    CircuitBreaker,
    Deadline,
    run_bounded,
)
from otel_llm._config import Settings
from otel_llm.testing import BedrockEmulator
from otel_llm.testing.faults import HangingServer, ThrottlingServer


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def errors():
    """`otel_llm.sdk.errors` on a reader of its own, for the duration of one test."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    failures.count_to(provider)
    yield reader
    failures.count_to(None)
    provider.shutdown()


def _points(reader, metric):
    data = reader.get_metrics_data()
    return [p for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
            for m in sm.metrics if m.name == metric for p in m.data.data_points]


def settings_for(url: str, **more) -> Settings:
    values = {"backend_timeout_s": 0.5, "breaker_failures": 2, "breaker_cooldown_s": 60.0, **more}
    return Settings(backend="aws", aws_region="us-east-1", bedrock_endpoint_url=url,
                    comprehend_endpoint_url=url, **values)


def test_a_hanging_backend_fails_each_call_within_its_budget_then_the_breaker_keeps_calls_away(
        credentials, errors):
    with HangingServer() as hanging:
        backends = make_aws_backends(settings_for(hanging.endpoint_url))
        for _ in range(2):  # two calls, each given up when its budget is spent
            with pytest.raises(BudgetSpent):
                backends.embeddings.embed(["one", "two", "three"])
        reached = hanging.connections
        assert reached >= 1
        with pytest.raises(BackendUnavailable, match="circuit breaker open"):
            backends.embeddings.embed(["four"])
        assert hanging.connections == reached  # the open breaker sent nothing
        # Comprehend has a breaker of its own, shared by sentiment and toxicity.
        with pytest.raises(BudgetSpent):
            backends.sentiment.sentiment(["fine"])
        with pytest.raises(BudgetSpent):
            backends.toxicity.toxicity(["fine"])
        with pytest.raises(BackendUnavailable, match="circuit breaker open"):
            backends.sentiment.sentiment(["fine"])
    opened = [p for p in _points(errors, names.SDK_ERRORS) if p.attributes.get(ATTR_BREAKER_STATE) == "open"]
    assert sorted(p.attributes[names.ATTR_COMPONENT] for p in opened) == ["breaker bedrock-runtime",
                                                                          "breaker comprehend"]


def test_throttling_is_retried_within_the_budget_then_reported_unavailable(credentials):
    with ThrottlingServer() as throttling:
        backends = make_aws_backends(settings_for(throttling.endpoint_url, backend_timeout_s=5.0))
        with pytest.raises(BackendUnavailable) as caught:
            backends.sentiment.sentiment(["great"])
        assert "ThrottlingException" in repr(caught.value.__cause__)
        assert 1 < throttling.requests <= MAX_ATTEMPTS


def test_no_thread_is_left_for_the_interpreter_to_join(credentials):
    before = set(threading.enumerate())
    with HangingServer() as hanging:
        backends = make_aws_backends(settings_for(hanging.endpoint_url))
        with pytest.raises(BudgetSpent):
            backends.embeddings.embed([f"text {i}" for i in range(10)])
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        assert left and all(t.daemon for t in left)  # still blocked on the socket, and daemon


def test_the_breaker_half_opens_after_its_cooldown_and_a_good_probe_closes_it(credentials, errors):
    from otel_llm.testing import Reply

    with BedrockEmulator(port=0) as emulator:
        settings = settings_for(emulator.endpoint_url, backend_timeout_s=5.0, breaker_failures=1,
                                breaker_cooldown_s=0.0)
        embeddings = make_aws_backends(settings).embeddings
        for _ in range(MAX_ATTEMPTS):
            emulator.enqueue(Reply(error="ThrottlingException"))
        with pytest.raises(BackendUnavailable):
            embeddings.embed(["hello"])
        assert embeddings._client.breaker.state == "open"
        assert embeddings.embed(["hello"]).shape[0] == 1  # the cool-down is over: a probe, and it works
        assert embeddings._client.breaker.state == "closed"
    states = [p.attributes[ATTR_BREAKER_STATE] for p in _points(errors, names.SDK_ERRORS)
              if p.attributes.get(names.ATTR_COMPONENT) == "breaker bedrock-runtime"]
    assert sorted(states) == ["closed", "half_open", "open"]


def test_a_failed_probe_opens_the_breaker_again_and_only_one_probe_goes_out():
    breaker = CircuitBreaker("x", failures=2, cooldown_s=0.0)
    breaker.failed()
    assert breaker.state == "closed"  # one failure is not a pattern
    breaker.failed()
    assert breaker.state == "open"
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # one probe at a time
    breaker.failed()
    assert breaker.state == "open"


def test_run_bounded_stops_at_the_first_failure():
    started = []

    def task(i):
        def run():
            started.append(i)
            if i == 0:
                raise ValueError("first")
            return i
        return run

    with pytest.raises(ValueError, match="first"):
        run_bounded([task(i) for i in range(20)], Deadline(5.0), parallel=1)
    assert started == [0]
    assert run_bounded([task(i) for i in range(1, 6)], Deadline(5.0), parallel=3) == [1, 2, 3, 4, 5]
