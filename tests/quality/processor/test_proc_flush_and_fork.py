"""force_flush scores every batch without waiting for the schedule; the side channel works in a forked
child."""

from __future__ import annotations

import os
import threading

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.trace import SpanContext

from otel_llm import _sidechannel as sidechannel
from otel_llm._config import Settings
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall


def test_proc_force_flush_scores_every_batch_without_waiting_for_the_schedule(scorer) -> None:
    # A schedule delay far longer than the flush timeout: the flush alone must drive every batch.
    settings = Settings(batch_size=2, schedule_delay_ms=600_000, queue_size=100, backend="lexical")
    processor = LLMMetricsSpanProcessor(settings, MeterProvider(), scorer=scorer)
    try:
        scorer.gate.clear()  # hold the first batch so the rest queue up behind it
        for i in range(7):
            assert processor.enqueue(LLMCall(model_id="m", completion=f"answer {i}"))
        scorer.gate.set()
        assert processor.force_flush(20_000)
        assert len(scorer.seen) == 7
    finally:
        processor.shutdown()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_proc_side_channel_works_in_a_child_forked_while_another_thread_held_its_lock() -> None:
    sidechannel.add_listener()
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with sidechannel._lock:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait()
    try:
        pid = os.fork()
        if pid == 0:  # the child: the holder thread does not exist here, its lock must not stay taken
            code = 3
            try:
                ctx = SpanContext(trace_id=7, span_id=9, is_remote=False)
                sidechannel.publish(ctx, LLMCall(model_id="m", completion="a"))
                code = 0 if sidechannel.take(ctx) is not None else 1
            finally:
                os._exit(code)
        release.set()
        holder.join()
        _, status = os.waitpid(pid, 0) if _exits_within(pid, 30) else (pid, -1)
        assert status != -1, "the child hung on the side channel's lock"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        sidechannel.remove_listener()


def _exits_within(pid: int, seconds: float) -> bool:
    """True once `pid` has exited (not reaped); kills it after `seconds`."""
    done = threading.Event()

    def watch() -> None:
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        finally:
            done.set()

    threading.Thread(target=watch, daemon=True).start()
    if done.wait(seconds):
        return True
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return False
