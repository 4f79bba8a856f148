"""The worker is supervised: any exception from a scorer (SystemExit and KeyboardInterrupt included) costs
only the batch it hit, counted failed; a worker that dies anyway is restarted; `shutdown()` and
`force_flush()` keep to their timeouts and count what they gave up as dropped."""

from __future__ import annotations

import ctypes
import threading

import pytest

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall


def call(n: int) -> LLMCall:
    return LLMCall(model_id="anthropic.claude-3-haiku-20240307-v1:0", prompt=f"q{n}", completion=f"a{n}")


class RaisingScorer:
    """Raises `exc` on every batch until `healed`, then scores like `inner`."""

    def __init__(self, inner, exc: type[BaseException]) -> None:
        self.inner, self.exc, self.healed = inner, exc, False

    def score_many(self, calls):
        if not self.healed:
            raise self.exc("scorer gave up")
        return self.inner.score_many(calls)


@pytest.mark.parametrize("exc", [SystemExit, KeyboardInterrupt, GeneratorExit, RuntimeError])
def test_a_scorer_raising_any_exception_loses_nothing_silently(meter_provider, settings, scorer, collect,
                                                               exc):
    raising = RaisingScorer(scorer, exc)
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=raising)
    for n in range(5):
        processor.enqueue(call(n))
    assert processor.force_flush(10_000)
    assert processor._worker.is_alive()
    raising.healed = True
    for n in range(3):
        processor.enqueue(call(n))
    assert processor.force_flush(10_000)
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="failed") == 5
    assert got.counter(names.RECORDS, otel_llm__outcome="scored") == 3
    # each lost score is counted once, per evaluator the settings run
    assert got.counter(names.SCORES, otel_llm__outcome="failed") == 5 * len(settings.evaluators)
    processor.shutdown()


def _kill(thread: threading.Thread) -> None:
    """Raise SystemExit inside `thread` (an asynchronous exception, as a signal handler's could be)."""
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    done = set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))
    assert done == 1


def test_an_asynchronous_exception_in_the_waiting_worker_is_survived(meter_provider, settings, scorer,
                                                                      collect):
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    _kill(processor._worker)
    for n in range(4):
        processor.enqueue(call(n))
    assert processor.force_flush(10_000)
    assert collect().counter(names.RECORDS, otel_llm__outcome="scored") == 4
    processor.shutdown()


def test_a_worker_that_died_anyway_is_restarted_and_its_batch_counted(meter_provider, settings, scorer,
                                                                       collect):
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    original = processor._worker
    with processor._cond:  # the real worker sees it was replaced and ends
        processor._worker = dead
        processor._cond.notify_all()
    original.join(10)
    lost = [call(100), call(101)]
    with processor._cond:  # what a worker thread killed mid-batch leaves behind
        processor._inflight = lost
    for n in range(4):
        processor.enqueue(call(n))
    assert processor.force_flush(10_000)
    assert processor._worker is not dead and processor._worker.is_alive()
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="scored") == 4
    assert got.counter(names.RECORDS, otel_llm__outcome="failed") == 2
    processor.shutdown()


def test_shutdown_keeps_to_its_timeout_and_counts_what_it_gave_up(meter_provider, settings, scorer, collect):
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    scorer.gate.clear()  # a backend that never answers
    for n in range(20):  # one batch of 16 taken by the worker, 4 left queued
        processor.enqueue(call(n))
    try:
        processor.shutdown(timeout_millis=300)
        assert collect().counter(names.RECORDS, otel_llm__outcome="dropped") == 20
        assert not processor.enqueue(call(99))  # shut down: counted as dropped, never blocks
    finally:
        scorer.gate.set()
    processor._worker.join(10)
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="scored") == 0  # the late batch is not counted twice
    assert got.counter(names.RECORDS, otel_llm__outcome="dropped") == 21


def test_force_flush_without_a_timeout_keeps_to_the_documented_default(meter_provider, scorer):
    settings = Settings(backend="lexical", batch_size=4, schedule_delay_ms=20, shutdown_timeout_s=0.3)
    processor = LLMMetricsSpanProcessor(settings, meter_provider=meter_provider, scorer=scorer)
    scorer.gate.clear()
    processor.enqueue(call(1))
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(processor.force_flush()), daemon=True)
    waiter.start()
    waiter.join(20)  # the SDK's own default would be 30 s
    scorer.gate.set()
    assert result == [False]
    assert processor.force_flush(10_000)
    processor.shutdown()
