"""Completion toxicity from the toxicity backend: a score in [0, 1] and the categories that fired."""

from __future__ import annotations

from collections.abc import Iterable

from ... import _instruments as names
from ..._backends.base import ToxicityResult
from ...record import Evaluation, Scores
from .base import Batch, Evaluator, completions_to_judge, embeds_through, text_of


class ToxicityEvaluator(Evaluator):
    """None for an empty completion."""

    name = "toxicity"
    description = "Completion toxicity: the highest category probability."

    @classmethod
    def evaluation(cls, scores: Scores) -> Evaluation | None:
        score = scores.toxicity
        if score is None:
            return None
        label = "toxic" if scores.toxicity_categories else "not_toxic"
        return Evaluation(names.unit_interval(score), float(score), label)

    def texts_to_embed(self, call, batch: Batch) -> Iterable[str]:
        return completions_to_judge([call]) if embeds_through(batch.backends.toxicity) else ()

    def evaluate(self, batch: Batch) -> list[ToxicityResult | None]:
        texts = completions_to_judge(batch.calls)
        found = dict(zip(texts, batch.backends.toxicity.toxicity(texts), strict=True)) if texts else {}
        return [found.get(text_of(c.completion)) for c in batch.calls]

    def apply(self, result: ToxicityResult, scores) -> None:
        scores.toxicity = max(0.0, min(1.0, float(result.score)))
        scores.toxicity_categories = tuple(result.categories)
