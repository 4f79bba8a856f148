"""The scoring worker's CPU budget: past it, records are sampled out and counted, never queued longer."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence

import pytest

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._quality.budget import BURST_S, CpuBudget
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm._quality.scoring import Scorer
from otel_llm.record import SIGNAL_GUARDRAIL, LLMCall


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_admits_what_the_share_pays_for_and_samples_out_the_rest() -> None:
    clock = Clock()
    budget = CpuBudget(0.1, clock=clock, seed=1)
    admitted = 0
    for _ in range(200):  # 200 batches of 10 records, one batch every 0.1 s, 10 ms of CPU per record
        clock.now += 0.1
        scored, skipped = budget.admit(list(range(10)))
        assert len(scored) + len(skipped) == 10
        admitted += len(scored)
        budget.spend(0.01 * len(scored), len(scored))
    # 20 s at 0.1 of a core pays for 200 records (plus the burst and the free first batch), not 2,000
    assert 150 <= admitted <= 200 + BURST_S * 0.1 / 0.01 + 10


def test_budget_off_admits_everything() -> None:
    budget = CpuBudget(0.0)
    budget.spend(100.0, 1)
    assert budget.admit([1, 2, 3]) == ([1, 2, 3], [])


class BurningScorer:
    """Spends `cost_s` of its own thread's CPU per record, as a model would."""

    def __init__(self, cost_s: float) -> None:
        self.cost_s = cost_s
        self.scored = 0

    def score_many(self, calls: Sequence[LLMCall]):
        end = time.thread_time() + self.cost_s * len(calls)
        while time.thread_time() < end:
            pass
        self.scored += len(calls)
        from otel_llm.record import Scores

        return [Scores(similarity=0.5) for _ in calls]


def test_worker_over_its_budget_counts_sampled_out_with_the_reason(meter_provider, collect) -> None:
    # niceness 0: on a busy machine a niceness-19 thread burning its CPU seconds can take longer than the
    # flush's 30 s of wall time (the budget's accounting is the point here, not the priority)
    settings = Settings(queue_size=10_000, batch_size=8, schedule_delay_ms=5, cpu_budget=0.05, worker_nice=0)
    scorer = BurningScorer(0.01)
    processor = LLMMetricsSpanProcessor(settings=settings, meter_provider=meter_provider, scorer=scorer)
    for n in range(160):
        assert processor.enqueue(LLMCall(model_id="m", prompt=f"q{n}", completion=f"a{n}"))
    assert processor.force_flush(30_000)
    processor.shutdown()
    got = collect()
    over = got.counter(names.RECORDS, otel_llm__outcome="sampled_out", otel_llm__reason="cpu_budget")
    scored = got.counter(names.RECORDS, otel_llm__outcome="scored")
    assert scored == scorer.scored
    assert over > 0 and scored + over == 160


def test_exact_refusal_signals_are_recorded_even_over_the_budget(meter_provider, collect) -> None:
    settings = Settings(backend="lexical", batch_size=4, schedule_delay_ms=5, cpu_budget=0.001)
    processor = LLMMetricsSpanProcessor(settings=settings, meter_provider=meter_provider,
                                        scorer=Scorer(settings))
    processor._budget.spend(0.0, 1)  # warmed up
    processor._budget.spend(10.0, 1)  # and deep in debt: nothing is admitted now
    processor.enqueue(LLMCall(model_id="m", prompt="q", completion="Blocked.",
                              refusal_signal=SIGNAL_GUARDRAIL))
    processor.enqueue(LLMCall(model_id="m", prompt="q", completion="An answer."))
    assert processor.force_flush(10_000)
    processor.shutdown()
    got = collect()
    assert got.counter(names.REFUSALS) == 1
    assert got.count(names.SIMILARITY) == 0
    assert got.counter(names.RECORDS, otel_llm__outcome="sampled_out", otel_llm__reason="cpu_budget") == 1


def test_past_the_budget_calls_are_sampled_out_on_arrival_counted_in_bulk(meter_provider, collect) -> None:
    seen: list[str] = []

    def redactor(call: LLMCall) -> LLMCall:
        seen.append(call.prompt)  # the first thing the worker does with a queued record
        return call

    settings = Settings(backend="lexical", batch_size=4, schedule_delay_ms=5, cpu_budget=0.001,
                        redactor=redactor)
    processor = LLMMetricsSpanProcessor(settings=settings, meter_provider=meter_provider,
                                        scorer=Scorer(settings))
    processor._budget.spend(0.0, 1)  # warmed up
    processor._budget.spend(10.0, 1)  # and deep in debt
    for n in range(30):
        assert processor.enqueue(LLMCall(model_id="a", prompt=f"a{n}", completion="An answer."))
    for n in range(20):
        assert processor.enqueue(LLMCall(model_id="b", prompt=f"b{n}", completion="An answer."))
    assert processor.force_flush(10_000)
    processor.shutdown()
    got = collect()
    assert seen == []  # never queued, so never redacted, scored or held
    assert got.counter(names.RECORDS, gen_ai__request__model="a", otel_llm__outcome="sampled_out",
                       otel_llm__reason="cpu_budget") == 30
    assert got.counter(names.RECORDS, gen_ai__request__model="b", otel_llm__outcome="sampled_out") == 20
    assert got.count(names.SIMILARITY) == 0


class NiceRecordingScorer:
    """Notes the niceness of the thread that scores."""

    def __init__(self) -> None:
        self.nice: list[int] = []

    def score_many(self, calls: Sequence[LLMCall]):
        from otel_llm.record import Scores

        self.nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return [Scores(similarity=0.5) for _ in calls]


@pytest.mark.skipif(sys.platform != "linux", reason="threads are reniced alone on Linux only")
@pytest.mark.parametrize(("setting", "expected"), [(19, 19), (7, 7), (0, None)])
def test_the_worker_alone_runs_at_the_configured_niceness(meter_provider, setting, expected) -> None:
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    scorer = NiceRecordingScorer()
    processor = LLMMetricsSpanProcessor(settings=Settings(worker_nice=setting, schedule_delay_ms=5),
                                        meter_provider=meter_provider, scorer=scorer)
    processor.enqueue(LLMCall(model_id="m", prompt="q", completion="a"))
    assert processor.force_flush(10_000)
    processor.shutdown()
    assert scorer.nice == [max(mine, expected if expected is not None else mine)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the app's thread untouched
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == mine
