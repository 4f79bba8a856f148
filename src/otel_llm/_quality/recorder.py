"""Records quality scores as OTel instruments: one [0, 1] histogram per score, the refusal and record
counters, and optionally one `gen_ai.evaluation.result` event per score."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider, get_logger
from opentelemetry.metrics import Histogram, MeterProvider

from .. import _instruments as names
from .._failures import report_failure
from ..record import Evaluation, LLMCall, Scores

if TYPE_CHECKING:
    from .evaluators.base import Evaluator

Evaluators: TypeAlias = "Sequence[Evaluator]"  # the evaluators whose scores to record
_Recorded = tuple[str, tuple[str, str, str], Evaluation]  # (evaluation name, histogram, evaluation)

OUTCOME_SCORED = "scored"
OUTCOME_DROPPED = "dropped"
OUTCOME_FAILED = "failed"
OUTCOME_SAMPLED_OUT = "sampled_out"
OUTCOME_OFFLOADED = "offloaded"  # shipped to Kinesis by the offload sink, to be scored there
OUTCOME_REDACTED = "redacted"  # the redaction hook dropped the record
ATTR_REASON = "otel_llm.reason"  # why a record was sampled out, when it was not the configured rate
REASON_CPU_BUDGET = "cpu_budget"

SCOPE = "otel_llm"
EVALUATION_EVENT = "gen_ai.evaluation.result"

def call_attributes(call: LLMCall, backend: str | None = None) -> dict[str, str]:
    """The only attributes quality instruments carry: model, operation, provider (and backend).

    The model is the one the application asked for, as on the call metrics, so both join on one dimension.
    """
    model = call.request_model or call.model_id or "unknown"
    attrs = {names.ATTR_MODEL: model, names.ATTR_OPERATION: call.operation,
             names.ATTR_PROVIDER: call.provider}
    if backend:
        attrs[names.ATTR_BACKEND] = backend
    return attrs


class QualityRecorder:
    """Owns the quality instruments of one meter provider (the global one when None). Each evaluator
    declares its histogram (`Evaluator.histogram_name`, `unit`, `histogram_description`, `evaluation`);
    the recorder creates it on first use."""

    def __init__(self, meter_provider: MeterProvider | None = None,
                 logger_provider: LoggerProvider | None = None, events: bool = False) -> None:
        self._meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self._histograms: dict[str, Histogram] = {}
        counters = {inst.name: self._meter.create_counter(inst.name, inst.unit, inst.description)
                    for inst in names.COUNTERS if inst.name in (names.REFUSALS, names.RECORDS, names.SCORES)}
        self._refusals = counters[names.REFUSALS]
        self._records = counters[names.RECORDS]
        self._scores = counters[names.SCORES]
        self._histograms_lock = threading.Lock()
        self._event_logger = get_logger(SCOPE, logger_provider=logger_provider) if events else None

    def count(self, outcome: str, attributes: dict[str, str], amount: int = 1,
              evaluator_names: Sequence[str] = ()) -> None:
        """Add `amount` records with `outcome` to the records counter; with `evaluator_names`, also count
        each of their scores with the same outcome (a failed or dropped record loses every score)."""
        self._records.add(amount, {**attributes, names.ATTR_OUTCOME: outcome})
        for evaluator in evaluator_names:
            self._scores.add(amount, {**attributes, names.ATTR_EVALUATOR: evaluator,
                                      names.ATTR_OUTCOME: outcome})

    def record(self, call: LLMCall, scores: Scores, evaluators: Evaluators | None = None) -> str:
        """Record every score `scores` holds, through the evaluators that gave them (default: the built-in
        ones; a custom score with no evaluator given gets the custom histogram); returns the outcome."""
        attrs = call_attributes(call, scores.backend)
        # Scores computed only because they were free on a sampled-out call (an exact refusal signal) stay
        # out of the histograms, so each ratio's numerator and denominator are sampled alike.
        evaluations = [e for e in _evaluations(scores, evaluators) if e[0] not in scores.unsampled]
        for _, histogram, evaluation in evaluations:
            self._histogram(*histogram).record(evaluation.value, attrs)
        if scores.refused:  # also when sampled out: an exact signal, counted by source
            source = scores.refusal_source or "classifier"
            self._refusals.add(1, {**attrs, names.ATTR_REFUSAL_SOURCE: source})
        # a lost score makes the record failed, whatever else it got; nothing recorded: sampled out
        outcome = OUTCOME_FAILED if scores.failed else OUTCOME_SCORED if evaluations else OUTCOME_SAMPLED_OUT
        self.count(outcome, attrs)
        for evaluator, result in scores.outcomes.items():
            self._scores.add(1, {**attrs, names.ATTR_EVALUATOR: evaluator, names.ATTR_OUTCOME: result})
        if evaluations and self._event_logger is not None:
            self._emit_events(call, evaluations)
        return outcome

    def record_all(self, calls: Sequence[LLMCall], results: Sequence[Scores],
                   evaluators: Evaluators | None = None) -> None:
        """Record each call's scores; a call whose recording fails is reported and counted as failed."""
        for call, scores in zip(calls, results, strict=True):
            try:
                self.record(call, scores, evaluators)
            except BaseException as exc:  # the worker must outlive any failure
                report_failure("quality_metrics", exc)
                self.count(OUTCOME_FAILED, call_attributes(call))

    def _histogram(self, name: str, unit: str, description: str) -> Histogram:
        hist = self._histograms.get(name)
        if hist is None:
            with self._histograms_lock:
                hist = self._histograms.get(name)
                if hist is None:
                    hist = self._meter.create_histogram(
                        name, unit=unit, description=description,
                        explicit_bucket_boundaries_advisory=names.SCORE_BUCKETS)
                    self._histograms[name] = hist
        return hist

    def _emit_events(self, call: LLMCall, evaluations: list[_Recorded]) -> None:
        event_logger = self._event_logger
        if event_logger is None:
            return
        context = None
        if call.span_context is not None and call.span_context.is_valid:
            context = trace.set_span_in_context(trace.NonRecordingSpan(call.span_context))
        for name, _, evaluation in evaluations:
            attributes: dict[str, Any] = {**call_attributes(call), "gen_ai.evaluation.name": name,
                                          "gen_ai.evaluation.score.value": evaluation.score}
            if evaluation.label:
                attributes["gen_ai.evaluation.score.label"] = evaluation.label
            if call.response_id:
                attributes["gen_ai.response.id"] = call.response_id
            event_logger.emit(event_name=EVALUATION_EVENT, context=context, attributes=attributes)


def _evaluations(scores: Scores, evaluators: Evaluators | None) -> list[_Recorded]:
    """(evaluation name, histogram, evaluation) for each score present, in the evaluators' order; then the
    custom scores no given evaluator declares, on the custom histogram `otel_llm.<name>`."""
    out: list[_Recorded] = []
    if evaluators is None:
        from .evaluators.registry import BUILTIN, QUALITY_HISTOGRAMS

        for cls, inst in zip(BUILTIN.values(), QUALITY_HISTOGRAMS, strict=True):
            evaluation = cls.evaluation(scores)  # type: ignore[call-arg, arg-type]  # a classmethod
            if evaluation is not None:
                out.append((cls.name, (inst.name, inst.unit, inst.description), evaluation))
        evaluators = ()
    for evaluator in evaluators:
        evaluation = evaluator.evaluation(scores)
        if evaluation is not None:
            histogram = (evaluator.histogram_name(), evaluator.unit, evaluator.histogram_description())
            out.append((evaluator.name, histogram, evaluation))
    declared = {name for name, _, _ in out} | {evaluator.name for evaluator in evaluators}
    for name, value in scores.extra.items():
        if value is not None and name not in declared:
            histogram = (names.PREFIX + name, "1", f"Custom evaluator {name!r}, in [0, 1].")
            out.append((name, histogram, Evaluation(names.unit_interval(value), float(value))))
    return out
