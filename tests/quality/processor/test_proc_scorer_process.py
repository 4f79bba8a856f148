"""`OTEL_LLM_SCORER_PROCESS`: scoring in a child process gives the in-thread scores, is paid from the child's
CPU time, survives a child killed mid-batch, does not outlive shutdown or the app, and a forked app starts
its own child."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from otel_llm._config import Settings
from otel_llm._quality.process_scorer import ProcessScorer, ScorerProcessError
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm._quality.scoring import Scorer
from otel_llm.record import SIGNAL_GUARDRAIL, LLMCall

LEXICAL = Settings(backend="lexical", scorer_process="true", queue_size=1000, batch_size=8,
                   schedule_delay_ms=20)


def calls(n: int, start: int = 0) -> list[LLMCall]:
    return [LLMCall(model_id="anthropic.claude-3-haiku-20240307-v1:0", prompt=f"What is {i} plus one?",
                    completion=(f"I can't help with {i}." if i % 3 == 0 else f"{i} plus one is {i + 1}."),
                    refusal_signal=SIGNAL_GUARDRAIL if i % 5 == 4 else None)
            for i in range(start, start + n)]


@pytest.mark.parametrize("backend", ["lexical", pytest.param("local", marks=pytest.mark.needs_local)])
def test_proc_child_scores_equal_in_thread_scores(backend: str) -> None:
    settings = Settings(backend=backend)
    batch = calls(12)
    scorer = ProcessScorer(settings)
    try:
        from_child = scorer.score_many(batch)
        free = scorer.score_many(batch, free_only=True)
        assert scorer.last_cpu_s is not None and scorer.last_cpu_s >= 0
        assert scorer.backends is None  # scored by the child, not fallen back
    finally:
        scorer.close()
    in_thread = Scorer(settings)
    assert from_child == in_thread.score_many(batch)
    assert free == in_thread.score_many(batch, free_only=True)
    assert [e.name for e in scorer.evaluators] == [e.name for e in in_thread.evaluators]


def test_proc_processor_scores_through_the_child_pays_its_cpu_and_shutdown_ends_it(
        process_gone, collect, meter_provider):
    processor = LLMMetricsSpanProcessor(LEXICAL, meter_provider)
    try:
        for call in calls(40):
            assert processor.enqueue(call)
        assert processor.force_flush(30_000)
        scorer = processor._scorer
        assert isinstance(scorer, ProcessScorer) and scorer.backends is None
        pid = scorer.pid
        assert pid is not None and pid != os.getpid()
        # the budget learnt a cost per record from the child's CPU time (the worker thread only waits)
        assert processor._budget._per_record is not None and processor._budget._per_record > 0
    finally:
        processor.shutdown()
    assert process_gone(pid, 5)
    assert collect().counter("otel_llm.records", otel_llm__outcome="scored") == 40


def test_proc_a_child_killed_mid_batch_costs_that_batch_and_the_next_is_scored_by_a_new_one(
        collect, meter_provider):
    processor = LLMMetricsSpanProcessor(LEXICAL, meter_provider)
    try:
        for call in calls(8):
            processor.enqueue(call)
        assert processor.force_flush(30_000)
        first = processor._scorer.pid
        os.kill(first, signal.SIGSTOP)  # the next batch is sent and never answered...
        for call in calls(8, 100):
            processor.enqueue(call)
        deadline = time.monotonic() + 10
        while not processor._inflight and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        os.kill(first, signal.SIGKILL)  # ...and the child dies in the middle of it
        assert processor.force_flush(30_000)
        assert collect().counter("otel_llm.records", otel_llm__outcome="failed") == 8
        for call in calls(8, 200):
            processor.enqueue(call)
        assert processor.force_flush(30_000)
        assert processor._scorer.pid not in (None, first)
        assert collect().counter("otel_llm.records", otel_llm__outcome="scored") == 16
    finally:
        processor.shutdown()


def test_proc_a_hanging_child_is_killed_on_timeout_and_after_the_restarts_scoring_is_in_thread(
        process_gone) -> None:
    scorer = ProcessScorer(Settings(backend="lexical"), batch_timeout_s=0.5, max_restarts=1)
    try:
        scorer.load()
        hung = scorer.pid
        os.kill(hung, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(ScorerProcessError):
            scorer.score_many(calls(3))
        assert time.monotonic() - started < 5
        assert process_gone(hung, 5)
        assert len(scorer.score_many(calls(3))) == 3  # the one restart
        os.kill(scorer.pid, signal.SIGKILL)
        assert process_gone(scorer.pid, 5)
        try:  # the dead child is found either when the batch is sent (not scored) or when it is read (lost)
            results = scorer.score_many(calls(3))
        except ScorerProcessError:
            results = scorer.score_many(calls(3))  # no restart left: in-thread, same scores
        assert scorer.backends is not None and scorer.pid is None
        assert results == Scorer(Settings(backend="lexical")).score_many(calls(3))
    finally:
        scorer.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_proc_a_forked_app_starts_its_own_child_and_leaves_the_parents_alone(
        process_gone, meter_provider) -> None:
    processor = LLMMetricsSpanProcessor(LEXICAL, meter_provider)
    try:
        for call in calls(8):
            processor.enqueue(call)
        assert processor.force_flush(30_000)
        parents_child = processor._scorer.pid
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_end)
                for call in calls(8, 50):
                    processor.enqueue(call)
                flushed = processor.force_flush(30_000)
                mine = processor._scorer.pid
                processor.shutdown()
                os.write(write_end, json.dumps({"flushed": flushed, "child": mine}).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as fh:
            seen = json.loads(fh.read() or "{}")
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert seen["flushed"] and seen["child"] not in (None, parents_child)
        assert process_gone(seen["child"], 5)
        for call in calls(8, 300):  # the parent's child still answers
            processor.enqueue(call)
        assert processor.force_flush(30_000)
        assert processor._scorer.pid == parents_child
    finally:
        processor.shutdown()


APP = """
import json, os, sys
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall
import atexit

reader = InMemoryMetricReader()
def report():  # registered first: runs after the processor's exit flush
    data = reader.get_metrics_data()
    scored = sum(p.value for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                 if m.name == "otel_llm.records" for p in m.data.data_points
                 if p.attributes["otel_llm.outcome"] == "scored")
    print("SCORED", scored, flush=True)
atexit.register(report)
settings = Settings(backend="lexical", scorer_process="true", batch_size=4, schedule_delay_ms=600000)
processor = LLMMetricsSpanProcessor(settings, MeterProvider(metric_readers=[reader]))
for i in range(4):
    processor.enqueue(LLMCall(model_id="m", prompt="q", completion=f"answer {i}"))
processor.force_flush(30000)
print("CHILD", processor._scorer.pid, flush=True)
for i in range(6):  # left queued: the exit flush scores them through the child
    processor.enqueue(LLMCall(model_id="m", prompt="q", completion=f"late answer {i}"))
"""


@pytest.mark.slow
def test_proc_the_exit_flush_scores_through_the_child_and_the_child_ends_with_the_app(
        process_gone, tmp_path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_LLM_")}
    run = subprocess.run([sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert int(lines["SCORED"]) == 10
    assert process_gone(int(lines["CHILD"]), 10)


def test_proc_a_scorer_given_in_code_stays_in_the_worker_thread(scorer, meter_provider) -> None:
    processor = LLMMetricsSpanProcessor(LEXICAL, meter_provider, scorer=scorer)
    try:
        processor.enqueue(calls(1)[0])
        assert processor.force_flush(30_000)
    finally:
        processor.shutdown()
    assert processor._scorer is scorer and scorer.threads == {"otel-llm-quality"}


def test_proc_what_the_child_logs_is_logged_by_the_app(caplog) -> None:
    scorer = ProcessScorer(Settings(backend="auto"))
    with caplog.at_level("INFO", logger="otel_llm"):
        try:
            scorer.load()
        finally:
            scorer.close()
    assert any("backend auto ->" in r.getMessage() and "(in the scorer process)" in r.getMessage()
               for r in caplog.records)


SIGPIPE_APP = """
import os, signal, threading
from otel_llm._config import Settings
from otel_llm._quality.process_scorer import ProcessScorer, ScorerProcessError
from otel_llm.record import LLMCall

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as some command-line apps do: a write to a dead pipe kills
scorer = ProcessScorer(Settings(backend="lexical"))
scorer.load()
os.kill(scorer.pid, signal.SIGSTOP)  # the batch below fills the socket's buffer and waits...
threading.Timer(0.5, os.kill, (scorer.pid, signal.SIGKILL)).start()  # ...until the child dies
big = [LLMCall(model_id="m", prompt="p" * 30000, completion="c" * 30000) for _ in range(64)]
try:
    scorer.score_many(big)
except ScorerProcessError:
    print("RAISED", flush=True)
scorer.close()
print("ALIVE", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="no SIGPIPE here")
def test_proc_a_child_dying_while_the_app_sends_raises_and_never_sigpipes_the_app(tmp_path) -> None:
    app = tmp_path / "app.py"
    app.write_text(SIGPIPE_APP)
    run = subprocess.run([sys.executable, str(app)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, (run.returncode, run.stderr)
    assert run.stdout.split() == ["RAISED", "ALIVE"]


@pytest.mark.parametrize(("value", "backend", "expected"), [
    ("auto", "local", True), ("auto", "lexical", False), ("auto", "aws", False), ("false", "local", False),
    ("true", "lexical", True), ("nonsense", "lexical", False)])
def test_the_child_is_the_default_for_the_local_backend_only(value, backend, expected) -> None:
    from otel_llm._quality.process_scorer import wanted

    assert wanted(Settings(scorer_process=value, backend=backend)) is expected
