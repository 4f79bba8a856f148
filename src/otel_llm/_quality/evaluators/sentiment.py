"""Completion sentiment from the sentiment backend: a score in [-1, 1] and a label."""

from __future__ import annotations

from collections.abc import Iterable

from ... import _instruments as names
from ..._backends.base import SentimentResult
from ...record import Evaluation, Scores
from .base import Batch, Evaluator, completions_to_judge, embeds_through, text_of


class SentimentEvaluator(Evaluator):
    """None for an empty completion."""

    name = "sentiment"
    description = ("Completion sentiment mapped to [0, 1]: (score + 1) / 2; 0 negative, 0.5 neutral, "
                   "1 positive.")

    @classmethod
    def evaluation(cls, scores: Scores) -> Evaluation | None:
        score = scores.sentiment
        if score is None:
            return None
        return Evaluation(names.sentiment_to_unit(score), float(score), scores.sentiment_label)

    def texts_to_embed(self, call, batch: Batch) -> Iterable[str]:
        return completions_to_judge([call]) if embeds_through(batch.backends.sentiment) else ()

    def evaluate(self, batch: Batch) -> list[SentimentResult | None]:
        texts = completions_to_judge(batch.calls)
        found = dict(zip(texts, batch.backends.sentiment.sentiment(texts), strict=True)) if texts else {}
        return [found.get(text_of(c.completion)) for c in batch.calls]

    def apply(self, result: SentimentResult, scores) -> None:
        scores.sentiment = max(-1.0, min(1.0, float(result.score)))
        scores.sentiment_label = result.label
