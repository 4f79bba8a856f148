"""Regression tests of the request-path review: flush with more than one batch queued, decorator spans
that are not sampled or whose error quotes content, the side channel in a child forked while its lock
was held."""

from __future__ import annotations

import os
import threading

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanContext

from otel_llm import _sidechannel as sidechannel
from otel_llm._config import Settings
from otel_llm._decorators import llm_span
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.record import LLMCall


def test_proc_review_force_flush_scores_every_batch_without_waiting_for_the_schedule(scorer) -> None:
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


def test_proc_review_unsampled_decorator_span_leaves_no_side_channel_record() -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    sidechannel.add_listener()
    try:
        with llm_span(model="my-model", tracer_provider=provider) as call:
            call.prompt, call.completion = "What is 2 + 2?", "4"
        assert call.span_context is not None and call.span_context.is_valid
        # No processor sees an unsampled span end: a record left for it would never be taken.
        assert sidechannel.take(call.span_context) is None
    finally:
        sidechannel.remove_listener()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_proc_review_side_channel_works_in_a_child_forked_while_another_thread_held_its_lock() -> None:
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


def test_proc_review_decorated_error_quoting_the_completion_puts_no_content_on_the_span(
        tracer_provider, spans) -> None:
    settings = Settings(capture_content=False)
    with pytest.raises(ValueError, match="card 4111-1111") as raised, \
            llm_span(model="my-model", tracer_provider=tracer_provider, settings=settings) as call:
        call.completion = "Your card 4111-1111 is on file."
        raise ValueError(f"could not parse the answer: {call.completion!r}")  # as parsers quote input
    assert "4111-1111" in str(raised.value)  # the user's own exception is unchanged

    [span] = spans.get_finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "ValueError"
    assert "4111-1111" not in str(span.status.description)
