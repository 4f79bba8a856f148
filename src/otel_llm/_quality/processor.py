"""`LLMMetricsSpanProcessor`: finds the `LLMCall` of each ending span, queues it, and scores it on a
background worker in batches, recording the quality histograms; `install()` attaches it once."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from .. import _failures as failures
from .. import _sidechannel as sidechannel
from .._config import Settings
from .._failures import report_failure, safe_call
from ..record import LLMCall
from .budget import CpuBudget
from .interface import CallScorer
from .recorder import (
    ATTR_REASON,
    OUTCOME_DROPPED,
    OUTCOME_FAILED,
    OUTCOME_SAMPLED_OUT,
    REASON_CPU_BUDGET,
    QualityRecorder,
    call_attributes,
)
from .span_records import record_from_attributes

logger = logging.getLogger("otel_llm")

SHUTDOWN_TIMEOUT_S = 30.0


class LLMMetricsSpanProcessor(SpanProcessor):
    """Scores every LLM call whose span ends, off the caller's thread.

    `on_end` only looks up (side channel) or builds (GenAI span attributes) the record and queues it.
    A full queue drops the record and counts it; nothing ever blocks the caller. The scorer is
    created lazily on the worker thread, so model loading never happens on the caller's thread.
    """

    def __init__(self, settings: Settings | None = None, meter_provider: MeterProvider | None = None,
                 scorer: CallScorer | None = None, logger_provider: LoggerProvider | None = None) -> None:
        self._settings = settings or Settings.from_env()
        self._recorder = QualityRecorder(meter_provider, logger_provider,
                                         events=self._settings.evaluation_events)
        self._scorer = scorer
        self._scorer_failed = False
        self._queue_size = max(1, self._settings.queue_size)
        self._batch_size = max(1, self._settings.batch_size)
        self._delay_s = max(0.001, self._settings.schedule_delay_ms / 1000)
        self._budget = CpuBudget(self._settings.cpu_budget)
        self._shutdown = False
        self._listening = False
        self._init_worker()
        sidechannel.add_listener()
        self._listening = True
        weak_reinit = weakref.WeakMethod(self._after_fork_in_child)

        def after_fork_in_child() -> None:
            reinit = weak_reinit()
            if reinit is not None:
                reinit()

        os.register_at_fork(after_in_child=after_fork_in_child)
        _register_exit_flush(weakref.ref(self))

    # --- state shared by the caller threads and the worker (all guarded by self._cond) ---------
    def _init_worker(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[LLMCall] = deque()
        self._enqueued = 0  # records accepted into the queue, ever
        self._done = 0  # records the worker has finished with (scored, sampled out or failed)
        self._dropped: dict[tuple[str, str, str], int] = {}  # dropped since the worker last counted them
        self._flush_requested = 0
        self._flush_served = 0
        self._flush_target = 0  # records some force_flush waits for: no schedule delay while one is queued
        self._scoring = False
        self._worker = threading.Thread(target=self._run, name="otel-llm-quality", daemon=True)
        self._worker.start()

    def _after_fork_in_child(self) -> None:
        # The parent's queued records are the parent's to score; the child starts empty. A scorer caught
        # mid-batch by the fork may hold locks that will never be released here: make a new one.
        if self._scoring:
            self._scorer = None
        if not self._shutdown:
            self._init_worker()

    # --- SpanProcessor ---------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if not self._shutdown:
            safe_call("processor", self._enqueue_span, span)

    def _enqueue_span(self, span: ReadableSpan) -> None:
        ctx = span.context
        call = sidechannel.take(ctx) if ctx is not None else None
        if call is None:
            call = record_from_attributes(span.attributes, self._settings.max_content_chars)
            if call is None:
                return
            call.span_context = ctx
        if call.completion or call.refusal_signal:  # nothing to judge otherwise (errors, embeddings)
            self.enqueue(call)

    def enqueue(self, call: LLMCall) -> bool:
        """Queue `call` for scoring; False (and counted as dropped) when the queue is full. Never blocks."""
        with self._cond:
            if len(self._queue) >= self._queue_size or self._shutdown:
                key = (call.request_model or call.model_id, call.operation, call.provider)
                self._dropped[key] = self._dropped.get(key, 0) + 1
                return False
            self._queue.append(call)
            self._enqueued += 1
            if len(self._queue) == self._batch_size:
                self._cond.notify_all()
        return True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Score and record everything queued so far; False if `timeout_millis` ran out first."""
        deadline = time.monotonic() + timeout_millis / 1000
        if threading.current_thread() is self._worker:
            return False  # called from scoring itself: waiting for the worker would wait forever
        with self._cond:
            if not self._worker.is_alive():
                return not self._queue
            target = self._enqueued
            self._flush_target = max(self._flush_target, target)
            self._flush_requested += 1
            request = self._flush_requested
            self._cond.notify_all()
            while self._done < target or self._flush_served < request:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self) -> None:
        """Score what is queued, stop the worker, stop listening to the side channel."""
        with self._cond:
            if self._shutdown:
                return
            self._shutdown = True
            self._cond.notify_all()
        self._worker.join(SHUTDOWN_TIMEOUT_S)
        if self._listening:
            self._listening = False
            sidechannel.remove_listener()

    # --- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._work_ready():
                    self._cond.wait(self._delay_s)
                flush_request = self._flush_requested
                batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
                dropped, self._dropped = self._dropped, {}
                stopping = self._shutdown
                self._scoring = bool(batch)
            try:
                self._count_dropped(dropped)
                if batch:
                    self._score(batch)
            except Exception as exc:  # the worker must outlive any failure
                report_failure("processor", exc)
            with self._cond:
                self._scoring = False
                self._done += len(batch)
                self._flush_served = flush_request
                self._cond.notify_all()
                if stopping and not self._queue and not self._dropped:
                    return

    def _work_ready(self) -> bool:
        return (len(self._queue) >= self._batch_size or self._shutdown
                or self._flush_requested > self._flush_served or self._done < self._flush_target)

    def _count_dropped(self, dropped: dict[tuple[str, str, str], int]) -> None:
        for (model, operation, provider), amount in dropped.items():
            attrs = call_attributes(LLMCall(model_id=model, operation=operation, provider=provider))
            self._recorder.count(OUTCOME_DROPPED, attrs, amount)

    def _score(self, batch: list[LLMCall]) -> None:
        scorer = self._get_scorer()
        batch, over = self._budget.admit(batch)
        start = time.thread_time()
        if over:
            self._count_over_budget(scorer, over)
        if not batch:
            return
        try:
            if scorer is None:
                raise RuntimeError("no scorer")
            results = scorer.score_many(batch)
            local = getattr(getattr(scorer, "backends", None), "name", None) == "local"
            threads = self._settings.inference_threads if local else 1
            self._budget.spend((time.thread_time() - start) * max(1, threads), len(batch))
            if len(results) != len(batch):
                raise ValueError(f"scorer returned {len(results)} results for {len(batch)} records")
        except Exception as exc:
            if scorer is not None:
                report_failure("scoring", exc)
            for call in batch:
                self._recorder.count(OUTCOME_FAILED, call_attributes(call))
            return
        self._recorder.record_all(batch, results, getattr(scorer, "evaluators", None))

    def _count_over_budget(self, scorer: CallScorer | None, calls: list[LLMCall]) -> None:
        """Records past the CPU budget: counted sampled out (reason cpu_budget); their exact refusal
        signals, which cost nothing, are still recorded."""
        free = [c for c in calls if c.refusal_signal]
        if free and scorer is not None:
            try:
                results = scorer.score_many(free, free_only=True)  # type: ignore[call-arg]
                self._recorder.record_all(free, results, getattr(scorer, "evaluators", None))
            except Exception as exc:
                report_failure("scoring", exc)
                free = []
        else:
            free = []
        recorded = {id(c) for c in free}
        for call in calls:
            if id(call) not in recorded:
                self._recorder.count(OUTCOME_SAMPLED_OUT, {**call_attributes(call),
                                                           ATTR_REASON: REASON_CPU_BUDGET})

    def _get_scorer(self) -> CallScorer | None:
        if self._scorer is None and not self._scorer_failed:
            try:
                from .scoring import Scorer

                self._scorer = Scorer(self._settings)
            except Exception as exc:
                self._scorer_failed = True  # do not retry a failing model load for every batch
                report_failure("scorer", exc)
        return self._scorer


def _register_exit_flush(ref: weakref.ref[LLMMetricsSpanProcessor]) -> None:
    """Score what is still queued at exit, twice. First at threading shutdown, while concurrent.futures still
    takes work (a model loads through it; importing it registers its own hook first, and threading runs
    these hooks last-in first-out). Then, for records of threads joined after that, at atexit: registered
    after the SDK providers' hooks, so it runs before their last export."""
    import concurrent.futures.process
    import concurrent.futures.thread  # noqa: F401  (imported for its exit hook)

    with contextlib.suppress(AttributeError, RuntimeError):  # another Python, or already shutting down
        threading._register_atexit(_flush_at_exit, ref)  # type: ignore[attr-defined]
    atexit.register(_flush_at_exit, ref)


def _flush_at_exit(ref: weakref.ref[LLMMetricsSpanProcessor]) -> None:
    processor = ref()
    if processor is not None and not processor._shutdown:
        processor.force_flush(int(SHUTDOWN_TIMEOUT_S * 1000))


# --- install() -----------------------------------------------------------------------------------
_install_lock = threading.Lock()
_installed: weakref.WeakKeyDictionary[Any, LLMMetricsSpanProcessor] = weakref.WeakKeyDictionary()


def install(tracer_provider: Any = None, meter_provider: MeterProvider | None = None,
            settings: Settings | None = None) -> LLMMetricsSpanProcessor | None:
    """Attach the quality processor to `tracer_provider` (default: the global SDK one), once per provider.

    Returns the attached processor (the existing one when already installed), or None when there is no
    SDK tracer provider to attach to (the global is still the API's proxy or no-op provider).
    """
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    if not hasattr(provider, "add_span_processor"):
        logger.debug("otel-llm: %s takes no span processors; quality metrics not installed",
                     type(provider).__name__)
        return None
    with _install_lock:
        existing = _installed.get(provider)
        if existing is not None:
            return existing
        processor = LLMMetricsSpanProcessor(settings=settings, meter_provider=meter_provider)
        provider.add_span_processor(processor)
        if meter_provider is not None:
            failures.count_to(meter_provider)
        _installed[provider] = processor
    return processor
