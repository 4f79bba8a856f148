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
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from .. import _failures as failures, _sidechannel as sidechannel
from .._config import Settings
from .._failures import report_failure, safe_call
from .._instrumentation.fastpaths import QUIET_ON_START
from .._redaction import apply_redactor, load_redactor
from ..record import LLMCall
from .budget import CpuBudget, lower_thread_priority
from .interface import CallScorer
from .recorder import (
    ATTR_REASON,
    OUTCOME_DROPPED,
    OUTCOME_FAILED,
    OUTCOME_OFFLOADED,
    OUTCOME_REDACTED,
    OUTCOME_SAMPLED_OUT,
    REASON_CPU_BUDGET,
    QualityRecorder,
    call_attributes,
)
from .span_records import record_from_attributes

logger = logging.getLogger("otel_llm")

SHUTDOWN_TIMEOUT_S = 5.0  # the default of OTEL_LLM_SHUTDOWN_TIMEOUT_S


class LLMMetricsSpanProcessor(SpanProcessor):
    """Scores every LLM call whose span ends, off the caller's thread.

    `on_end` only looks up (side channel) or builds (GenAI span attributes) the record and queues it.
    A full queue drops the record and counts it; nothing ever blocks the caller. The scorer is
    created lazily on the worker thread, so model loading never happens on the caller's thread.
    """

    def __init__(self, settings: Settings | None = None, meter_provider: MeterProvider | None = None,
                 scorer: CallScorer | None = None, logger_provider: LoggerProvider | None = None,
                 offload: Any = None) -> None:
        self._settings = settings or Settings.from_env()
        # Offload mode (OTEL_LLM_OFFLOAD_KINESIS_STREAM, or a sink with `ship(calls) -> list[bool]`):
        # records go to Kinesis to be scored there; nothing is scored here.
        if offload is None and self._settings.offload_kinesis_stream:
            from .offload import KinesisSink

            offload = KinesisSink(self._settings.offload_kinesis_stream, settings=self._settings)
        self._offload = offload
        self._recorder = QualityRecorder(meter_provider, logger_provider,
                                         events=self._settings.evaluation_events)
        self._scorer = scorer
        self._scorer_failed = False
        self._loading_since: float | None = None
        self._load_s = 0.0
        self._queue_size = max(1, self._settings.queue_size)
        self._batch_size = max(1, self._settings.batch_size)
        self._delay_s = max(0.001, self._settings.schedule_delay_ms / 1000)
        self._budget = CpuBudget(self._settings.cpu_budget)
        self._shutdown = False
        self._listening = False
        self._timeout_s = max(0.0, self._settings.shutdown_timeout_s)
        self._evaluator_names = tuple(self._settings.evaluators)
        self._redact = load_redactor(self._settings.redactor)
        failures.set_capture_content(self._settings.capture_content or None)
        self._init_worker()
        weak_wants = weakref.WeakMethod(self._wants_content)

        def wants_content() -> bool:
            wants = weak_wants()
            return wants is not None and wants()

        self._wants = wants_content
        sidechannel.add_listener(wants_content)
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
        self._over_budget: dict[tuple[str, str, str], int] = {}  # sampled out on arrival, not yet counted
        self._dropped_failed: list[LLMCall] = []  # records of a dead worker, to count as failed
        self._flush_requested = 0
        self._flush_served = 0
        self._flush_target = 0  # records some force_flush waits for: no schedule delay while one is queued
        self._scoring = False
        self._inflight: list[LLMCall] = []  # the batch being scored; emptied when it is given up
        self._claimed: list[LLMCall] | None = None  # the batch being recorded
        self._start_worker()

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._run, name="otel-llm-quality", daemon=True)
        self._worker.start()

    def _ensure_worker(self) -> None:
        """Restart the worker if it died (held under `self._cond`); what it was scoring is counted failed."""
        if self._worker.is_alive() or self._shutdown:
            return
        lost, self._inflight = self._inflight, []
        self._done += len(lost)
        self._dropped_failed.extend(lost)
        if self._claimed is not None:  # died while recording
            self._done += len(self._claimed)
            self._claimed = None
        self._scoring = False
        self._start_worker()

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

    def _wants_content(self) -> bool:
        """Whether a call starting now could be scored: not while the CPU budget is spent (asked by the
        instrumentation once a call, from the caller's thread)."""
        return self._offload is not None or not self._budget.exhausted()

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
        unread = call.extra.get(sidechannel.SAMPLED_OUT) and not call.error_type  # sampled out at its start
        if call.completion or call.refusal_signal or unread:  # else nothing to judge (errors, embeddings)
            if self._offload is not None and span.end_time and "timestamp" not in call.extra:
                call.extra["timestamp"] = span.end_time // 1_000_000  # the consumer stamps with it
            self.enqueue(call)

    def enqueue(self, call: LLMCall) -> bool:
        """Queue `call` for scoring; False (and counted as dropped) when the queue is full. Never blocks.
        While the CPU budget is spent, a call without an exact refusal signal is sampled out here, on
        arrival: tallied, counted by the worker in bulk, never queued."""
        with self._cond:
            if len(self._queue) >= self._queue_size or self._shutdown:
                _tally(self._dropped, call)
                return False
            if not call.refusal_signal and self._offload is None and (
                    call.extra.get(sidechannel.SAMPLED_OUT) or self._budget.exhausted()):
                _tally(self._over_budget, call)
                return True
            self._queue.append(call)
            self._enqueued += 1
            if len(self._queue) == self._batch_size:
                self._ensure_worker()
                self._cond.notify_all()
        return True

    def force_flush(self, timeout_millis: float | None = None) -> bool:
        """Score and record everything queued so far; False if `timeout_millis` (default
        `OTEL_LLM_SHUTDOWN_TIMEOUT_S`) ran out first."""
        timeout_s = self._timeout_s if timeout_millis is None else max(0.0, timeout_millis / 1000)
        deadline = time.monotonic() + timeout_s
        if threading.current_thread() is self._worker:
            return False  # called from scoring itself: waiting for the worker would wait forever
        with self._cond:
            if self._shutdown and not self._worker.is_alive():
                return not self._queue
            self._ensure_worker()
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

    def shutdown(self, timeout_millis: float | None = None) -> None:
        """Score what is queued, stop the worker, stop listening to the side channel. Waits at most
        `timeout_millis` (default `OTEL_LLM_SHUTDOWN_TIMEOUT_S`); what is still unscored then is counted
        as dropped."""
        timeout_s = self._timeout_s if timeout_millis is None else max(0.0, timeout_millis / 1000)
        with self._cond:
            if self._shutdown:
                return
            self._ensure_worker()
            self._shutdown = True
            self._cond.notify_all()
        if threading.current_thread() is not self._worker:
            self._worker.join(timeout_s)
        if self._worker.is_alive():
            self.abandon()
        if self._scorer is not None:  # a child process ends with the processor
            from .process_scorer import ProcessScorer

            if isinstance(self._scorer, ProcessScorer):
                safe_call("scorer", self._scorer.close)
        if self._listening:
            self._listening = False
            sidechannel.remove_listener(self._wants)

    def abandon(self) -> int:
        """Stop waiting for the worker: count everything queued, and the batch being scored (a scorer stuck
        on the network may never return), as dropped, now, from this thread. A batch on the local model is
        waited for instead, up to `EXIT_LOADING_CAP_S`: the interpreter must not exit under torch's native
        threads (the process aborts). Returns how many records were dropped."""
        remote = not self._on_local_model()
        with self._cond:
            self._shutdown = True
            lost = list(self._queue) + (self._inflight if remote else [])
            self._queue.clear()
            if remote:
                self._inflight = []
            self._done += len(lost)
            dropped, self._dropped = self._dropped, {}
            over_budget, self._over_budget = self._over_budget, {}
            failed, self._dropped_failed = self._dropped_failed, []
            self._cond.notify_all()
        for call in lost:
            _tally(dropped, call)
        try:
            self._count_dropped(dropped)
            self._count_sampled_out(over_budget)
            self._count_failed(failed)
        except BaseException as exc:  # counting must not break the exit
            report_failure("processor", exc)
        if not remote and threading.current_thread() is not self._worker:
            deadline = time.monotonic() + EXIT_LOADING_CAP_S
            with self._cond:
                while self._inflight and self._worker.is_alive() and time.monotonic() < deadline:
                    self._cond.wait(0.1)
        return len(lost)

    def _on_local_model(self) -> bool:
        """True when the scorer runs the local model (torch): a batch it started must end before exit.
        The others (`aws` on daemon threads blocked on sockets, `lexical`) can be left behind."""
        backends = getattr(self._scorer, "backends", None)
        return getattr(backends, "name", None) == "local"

    # --- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        """The worker's loop, supervised: an exception that reaches here (an asynchronous one, raised
        while waiting) is reported and the loop goes on; what was being scored is counted failed."""
        lower_thread_priority(self._settings.worker_nice)
        while True:
            try:
                self._loop()
                return
            except BaseException as exc:
                with contextlib.suppress(BaseException):
                    report_failure("processor", exc)
                    with self._cond:
                        lost, self._inflight = self._inflight, []
                        self._done += len(lost)
                        if self._claimed is not None:  # hit while recording: what was recorded stays
                            self._done += len(self._claimed)
                            self._claimed = None
                        self._scoring = False
                        self._cond.notify_all()
                    self._count_failed(lost)

    def _loop(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                if self._worker is not me:
                    return  # replaced after a fork or a restart
                if not self._work_ready():
                    self._cond.wait(self._delay_s)
                flush_request = self._flush_requested
                batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
                dropped, self._dropped = self._dropped, {}
                over_budget, self._over_budget = self._over_budget, {}
                failed, self._dropped_failed = self._dropped_failed, []
                stopping = self._shutdown
                self._scoring = bool(batch)
                self._inflight = batch
            try:
                self._count_dropped(dropped)
                self._count_sampled_out(over_budget)
                self._count_failed(failed)
                if batch:
                    self._score(batch)
            except BaseException as exc:  # the worker outlives anything, SystemExit and KeyboardInterrupt too
                report_failure("processor", exc)
                if self._claim(batch):
                    self._count_failed(batch)
            with self._cond:
                self._scoring = False
                if self._inflight is batch:  # unclaimed (all redacted away, or empty)
                    self._inflight = []
                    self._done += len(batch)
                elif self._claimed is batch:  # recorded
                    self._claimed = None
                    self._done += len(batch)
                self._flush_served = flush_request
                self._cond.notify_all()
                if stopping and not self._queue and not self._dropped and not self._over_budget:
                    return

    def _work_ready(self) -> bool:
        return (len(self._queue) >= self._batch_size or self._shutdown
                or self._flush_requested > self._flush_served or self._done < self._flush_target)

    def _count_dropped(self, dropped: dict[tuple[str, str, str], int]) -> None:
        for (model, operation, provider), amount in dropped.items():
            attrs = call_attributes(LLMCall(model_id=model, operation=operation, provider=provider))
            self._recorder.count(OUTCOME_DROPPED, attrs, amount, self._evaluator_names)

    def _count_sampled_out(self, tally: dict[tuple[str, str, str], int]) -> None:
        """Records past the CPU budget, one counter add per model, operation and provider."""
        for (model, operation, provider), amount in tally.items():
            attrs = call_attributes(LLMCall(model_id=model, operation=operation, provider=provider))
            self._recorder.count(OUTCOME_SAMPLED_OUT, {**attrs, ATTR_REASON: REASON_CPU_BUDGET}, amount)

    def _count_failed(self, calls: list[LLMCall]) -> None:
        for call in calls:
            self._recorder.count(OUTCOME_FAILED, call_attributes(call), 1, self._evaluator_names)

    def _score(self, batch: list[LLMCall]) -> None:
        todo = self._redacted(batch)  # scrubbed before it is scored or shipped
        if not todo:
            return
        if self._offload is not None:
            shipped = self._ship(todo)
            if self._claim(batch):
                for call, ok in zip(todo, shipped, strict=True):
                    self._recorder.count(OUTCOME_OFFLOADED if ok else OUTCOME_DROPPED, call_attributes(call))
            return
        scorer = self._get_scorer()
        unread = [c for c in todo if c.extra.get(sidechannel.SAMPLED_OUT)]  # their content was never read
        if unread:
            todo = [c for c in todo if not c.extra.get(sidechannel.SAMPLED_OUT)]
        todo, over = self._budget.admit(todo)
        over += unread
        start = time.thread_time()
        if over:
            self._count_over_budget(scorer, over)
        if not todo:
            return
        try:
            if scorer is None:
                raise RuntimeError("no scorer")
            if self._on_local_model():
                with self._in_process():
                    results = scorer.score_many(todo)
            else:
                results = scorer.score_many(todo)
            local = getattr(getattr(scorer, "backends", None), "name", None) == "local"
            threads = self._settings.threads_for_inference() if local else 1
            child_cpu_s = getattr(scorer, "last_cpu_s", None) or 0.0  # a scorer process's, for the batch
            self._budget.spend((time.thread_time() - start) * threads + child_cpu_s, len(todo))
            if len(results) != len(todo):
                raise ValueError(f"scorer returned {len(results)} results for {len(todo)} records")
        except BaseException as exc:  # SystemExit or KeyboardInterrupt from a scorer must not end the worker
            if scorer is not None:
                report_failure("scoring", exc)
            if self._claim(batch):
                self._count_failed(todo)
            return
        if self._claim(batch):
            self._recorder.record_all(todo, results, getattr(scorer, "evaluators", None))

    def _claim(self, batch: list[LLMCall]) -> bool:
        """Take `batch` back from `abandon()` before recording it: True when it was not given up (counted
        as dropped) meanwhile. Once claimed, `abandon()` leaves it to the worker."""
        with self._cond:
            if self._inflight is not batch:
                return False
            self._inflight = []
            self._claimed = batch  # done (for force_flush) once recorded, at the end of the loop's turn
            return True

    def _redacted(self, batch: list[LLMCall]) -> list[LLMCall]:
        """The batch after the user's redactor (`OTEL_LLM_REDACTOR`); a record it fails on is counted
        failed and not scored."""
        if self._redact is None:
            return batch
        kept: list[LLMCall] = []
        for call in batch:
            try:
                redacted = apply_redactor(self._redact, call)
            except Exception as exc:
                report_failure("redactor", exc)
                self._count_failed([call])
                continue
            if redacted is None:
                self._recorder.count(OUTCOME_REDACTED, call_attributes(call), 1, self._evaluator_names)
            else:
                kept.append(redacted)
        return kept

    def _ship(self, batch: list[LLMCall]) -> list[bool]:
        """Hand `batch` to the offload sink: whether each record was shipped."""
        try:
            shipped = [bool(ok) for ok in self._offload.ship(batch)]
            if len(shipped) != len(batch):
                raise ValueError(f"offload sink answered for {len(shipped)} of {len(batch)} records")
        except BaseException as exc:  # as scoring: nothing from the sink may end the worker
            report_failure("offload", exc)
            shipped = [False] * len(batch)
        return shipped

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
        tally: dict[tuple[str, str, str], int] = {}
        for call in calls:
            if id(call) not in recorded:
                _tally(tally, call)
        self._count_sampled_out(tally)

    def _get_scorer(self) -> CallScorer | None:
        if self._scorer is None and not self._scorer_failed:
            try:
                from .process_scorer import ProcessScorer, wanted

                scorer: Any
                if wanted(self._settings):
                    scorer = ProcessScorer(self._settings, loading=self._in_process)
                    scorer.load()  # starting the child counts as loading; failing, it scores in-thread
                else:
                    from .scoring import Scorer

                    with self._in_process():
                        scorer = Scorer(self._settings)
                        scorer.load()
                self._scorer = scorer
            except Exception as exc:
                self._scorer_failed = True  # do not retry a failing model load for every batch
                report_failure("scorer", exc)
        return self._scorer

    @contextlib.contextmanager
    def _in_process(self) -> Iterator[None]:
        """Time spent loading or running the local model (disk and CPU: it progresses, it cannot hang)."""
        with self._cond:
            self._loading_since = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                if self._loading_since is not None:
                    self._load_s += time.monotonic() - self._loading_since
                self._loading_since = None

    def loading_seconds(self) -> float:
        """Time the worker has spent building the scorer, loading and running the local model, so far."""
        with self._cond:
            since = self._loading_since
            return self._load_s + (time.monotonic() - since if since is not None else 0.0)


def _tally(counts: dict[tuple[str, str, str], int], call: LLMCall) -> None:
    """Count `call` once under its model, operation and provider (counted in bulk later)."""
    key = (call.request_model or call.model_id, call.operation, call.provider)
    counts[key] = counts.get(key, 0) + 1


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


EXIT_LOADING_CAP_S = 60.0  # the local model (loading, scoring) is waited for at exit, up to this in all
_exit_started: dict[int, tuple[float, float]] = {}


def _flush_at_exit(ref: weakref.ref[LLMMetricsSpanProcessor]) -> None:
    """Both exit hooks share one budget per processor (`OTEL_LLM_SHUTDOWN_TIMEOUT_S`, from the first hook).
    Loading and running the local model (disk and CPU, no network: it progresses) do not count against
    it, up to `EXIT_LOADING_CAP_S` in all. When the budget is spent, what is still unscored is counted as
    dropped and the exit goes on."""
    processor = ref()
    if processor is None or processor._shutdown:
        return
    start, loaded = _exit_started.setdefault(id(processor), (time.monotonic(), processor.loading_seconds()))
    while True:
        waited = time.monotonic() - start
        left = processor._timeout_s - (waited - (processor.loading_seconds() - loaded))
        if left <= 0 or waited >= max(EXIT_LOADING_CAP_S, processor._timeout_s):
            break
        if processor.force_flush(min(left, 0.5) * 1000):
            return
    processor.abandon()


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


QUIET_ON_START.add(LLMMetricsSpanProcessor.on_start)  # it does nothing: spans may start bare (fastpaths)
