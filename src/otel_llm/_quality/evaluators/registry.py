"""Which evaluators run: the built-in ones named in `Settings.evaluators`, those installed through the
`otel_llm.evaluators` entry-point group, and those passed by argument."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable

from ... import _instruments as names
from ..._config import Settings
from ..._failures import report_failure
from .base import Evaluator
from .refusal import RefusalEvaluator
from .sentiment import SentimentEvaluator
from .similarity import SimilarityEvaluator
from .toxicity import ToxicityEvaluator

logger = logging.getLogger("otel_llm")

ENTRY_POINT_GROUP = "otel_llm.evaluators"

# The built-in evaluators, one row each; each declares its own histogram.
BUILTIN: dict[str, type[Evaluator]] = {cls.name: cls for cls in (
    SimilarityEvaluator,
    SentimentEvaluator,
    ToxicityEvaluator,
    RefusalEvaluator,
)}

QUALITY_HISTOGRAMS = tuple(names.Instrument(names.PREFIX + cls.name, "histogram", cls.unit, cls.description,
                                            names.SCORE_BUCKETS) for cls in BUILTIN.values())
ALL_INSTRUMENTS = names.CALL_INSTRUMENTS + QUALITY_HISTOGRAMS + names.COUNTERS


def check_evaluator(candidate: object) -> Evaluator:
    """`candidate` itself if it is an evaluator with a custom name; TypeError/ValueError otherwise."""
    if isinstance(candidate, type) and issubclass(candidate, Evaluator):
        candidate = candidate()
    if not isinstance(candidate, Evaluator):
        raise TypeError(f"{candidate!r} is not an otel_llm.evaluators.Evaluator")
    name = candidate.name
    if not isinstance(name, str) or not name.replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"evaluator name {name!r}: use letters, digits, '_' and '.' (it names a metric)")
    if name in BUILTIN:
        raise ValueError(f"evaluator name {name!r} is taken by a built-in evaluator")
    return candidate


def entry_point_evaluators() -> list[Evaluator]:
    """Evaluators installed by other packages; one that fails to load is reported and skipped."""
    found = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append(check_evaluator(entry.load()))
        except Exception as exc:
            report_failure(f"evaluator entry point {entry.name}", exc)
    return found


def build_evaluators(settings: Settings, extra: Iterable[Evaluator] = ()) -> list[Evaluator]:
    """Built-ins named in `settings.evaluators`, then entry-point evaluators, then `extra` (which must be
    valid: a bad argument raises). A later evaluator replaces an earlier one of the same name."""
    chosen: dict[str, Evaluator] = {}
    for name in settings.evaluators:
        if name in BUILTIN:
            chosen[name] = BUILTIN[name].from_settings(settings)
        else:
            logger.warning("otel-llm: unknown evaluator %r in OTEL_LLM_EVALUATORS ignored (built-in: %s)",
                           name, ", ".join(BUILTIN))
    for evaluator in [*entry_point_evaluators(), *(check_evaluator(e) for e in extra)]:
        chosen[evaluator.name] = evaluator
    return list(chosen.values())
