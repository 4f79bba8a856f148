"""Records quality scores as OTel instruments: one [0, 1] histogram per score, the refusal and record
counters, and optionally one `gen_ai.evaluation.result` event per score."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider, get_logger
from opentelemetry.metrics import Histogram, MeterProvider

from .. import _instruments as names
from .._failures import report_failure
from ..record import LLMCall

OUTCOME_SCORED = "scored"
OUTCOME_DROPPED = "dropped"
OUTCOME_FAILED = "failed"
OUTCOME_SAMPLED_OUT = "sampled_out"
ATTR_REASON = "otel_llm.reason"  # why a record was sampled out, when it was not the configured rate
REASON_CPU_BUDGET = "cpu_budget"

SCOPE = "otel_llm"
EVALUATION_EVENT = "gen_ai.evaluation.result"

# (score attribute of Scores, histogram name, mapping to [0, 1])
_SCORE_HISTOGRAMS = (
    ("similarity", names.SIMILARITY, names.similarity_to_unit),
    ("sentiment", names.SENTIMENT, names.sentiment_to_unit),
    ("toxicity", names.TOXICITY, names.unit_interval),
    ("refusal", names.REFUSAL, names.unit_interval),
)


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
    """Owns the quality instruments of one meter provider (the global one when None)."""

    def __init__(self, meter_provider: MeterProvider | None = None,
                 logger_provider: LoggerProvider | None = None, events: bool = False) -> None:
        self._meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self._histograms: dict[str, Histogram] = {
            inst.name: self._meter.create_histogram(
                inst.name, unit=inst.unit, description=inst.description,
                explicit_bucket_boundaries_advisory=names.SCORE_BUCKETS)
            for inst in names.QUALITY_HISTOGRAMS
        }
        counters = {inst.name: self._meter.create_counter(inst.name, inst.unit, inst.description)
                    for inst in names.COUNTERS if inst.name in (names.REFUSALS, names.RECORDS)}
        self._refusals = counters[names.REFUSALS]
        self._records = counters[names.RECORDS]
        self._extra_lock = threading.Lock()
        self._event_logger = get_logger(SCOPE, logger_provider=logger_provider) if events else None

    def count(self, outcome: str, attributes: dict[str, str], amount: int = 1) -> None:
        """Add `amount` records with `outcome` to the records counter."""
        self._records.add(amount, {**attributes, names.ATTR_OUTCOME: outcome})

    def record(self, call: LLMCall, scores: Any) -> str:
        """Record every score `scores` (`otel_llm.Scores`) holds; returns the record's outcome."""
        attrs = call_attributes(call, getattr(scores, "backend", None))
        recorded = False
        for field, name, to_unit in _SCORE_HISTOGRAMS:
            value = getattr(scores, field, None)
            if value is not None:
                self._histograms[name].record(to_unit(value), attrs)
                recorded = True
        for extra_name, value in (getattr(scores, "extra", None) or {}).items():
            if value is not None:
                self._extra_histogram(extra_name).record(names.unit_interval(value), attrs)
                recorded = True
        if getattr(scores, "refused", None):
            source = getattr(scores, "refusal_source", None) or "classifier"
            self._refusals.add(1, {**attrs, names.ATTR_REFUSAL_SOURCE: source})
        if recorded:
            outcome = OUTCOME_SCORED
        else:  # nothing recorded: because an evaluator failed (an alarm must see it), or by sampling
            outcome = OUTCOME_FAILED if getattr(scores, "failed", ()) else OUTCOME_SAMPLED_OUT
        self.count(outcome, attrs)
        if recorded and self._event_logger is not None:
            self._emit_events(call, scores)
        return outcome

    def record_all(self, calls: Sequence[LLMCall], results: Sequence[Any]) -> None:
        """Record each call's scores; a call whose recording fails is reported and counted as failed."""
        for call, scores in zip(calls, results, strict=True):
            try:
                self.record(call, scores)
            except Exception as exc:
                report_failure("quality_metrics", exc)
                self.count(OUTCOME_FAILED, call_attributes(call))

    def _extra_histogram(self, extra_name: str) -> Histogram:
        name = names.PREFIX + extra_name
        hist = self._histograms.get(name)
        if hist is None:
            with self._extra_lock:
                hist = self._histograms.get(name)
                if hist is None:
                    hist = self._meter.create_histogram(
                        name, unit="1", description=f"Custom evaluator {extra_name!r}, in [0, 1].",
                        explicit_bucket_boundaries_advisory=names.SCORE_BUCKETS)
                    self._histograms[name] = hist
        return hist

    def _emit_events(self, call: LLMCall, scores: Any) -> None:
        event_logger = self._event_logger
        if event_logger is None:
            return
        context = None
        if call.span_context is not None and call.span_context.is_valid:
            context = trace.set_span_in_context(trace.NonRecordingSpan(call.span_context))
        for name, value, label in _evaluations(scores):
            attributes: dict[str, Any] = {**call_attributes(call), "gen_ai.evaluation.name": name,
                                          "gen_ai.evaluation.score.value": value}
            if label:
                attributes["gen_ai.evaluation.score.label"] = label
            event_logger.emit(event_name=EVALUATION_EVENT, context=context, attributes=attributes)


def _evaluations(scores: Any) -> list[tuple[str, float, str | None]]:
    """(evaluation name, score as the evaluator gave it, label) for each score present."""
    out: list[tuple[str, float, str | None]] = []
    if scores.similarity is not None:
        out.append(("similarity", float(scores.similarity), None))
    if scores.sentiment is not None:
        out.append(("sentiment", float(scores.sentiment), getattr(scores, "sentiment_label", None)))
    if scores.toxicity is not None:
        categories = getattr(scores, "toxicity_categories", ()) or ()
        out.append(("toxicity", float(scores.toxicity), "toxic" if categories else "not_toxic"))
    if scores.refusal is not None:
        refused = getattr(scores, "refused", None)
        out.append(("refusal", float(scores.refusal),
                    None if refused is None else "refused" if refused else "not_refused"))
    for name, value in (getattr(scores, "extra", None) or {}).items():
        if value is not None:
            out.append((name, float(value), None))
    return out
