"""Prompt-completion semantic similarity: cosine of their embeddings, in [-1, 1].

The prompt side is the last user message that holds text, when the record has structured messages:
a long system prompt or an earlier turn would otherwise fill the embedding model's window (256 word
pieces) and the score would measure the answer against the wrong text. Otherwise it is the whole prompt.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ... import _instruments as names
from ...record import Evaluation, LLMCall, Scores
from .base import Batch, Evaluator, text_of


def question_of(call: LLMCall) -> str:
    """The text the completion answers: the last user message with text, else the flattened prompt."""
    for message in reversed(call.messages or ()):
        if isinstance(message, dict) and message.get("role") == "user":
            texts: list[str] = [p["content"] for p in message.get("parts") or ()
                                if isinstance(p, dict) and p.get("type") == "text"
                                and isinstance(p.get("content"), str)]
            if any(t.strip() for t in texts):
                return "\n".join(texts)
    return text_of(call.prompt)


class SimilarityEvaluator(Evaluator):
    """None when the prompt or the completion is empty."""

    name = "similarity"
    description = "Prompt-completion semantic similarity: max(0, cosine) of their embeddings."

    @classmethod
    def evaluation(cls, scores: Scores) -> Evaluation | None:
        cosine = scores.similarity
        return None if cosine is None else Evaluation(names.similarity_to_unit(cosine), float(cosine))

    def texts_to_embed(self, call, batch: Batch) -> Iterable[str]:
        question, completion = question_of(call), text_of(call.completion)
        return (question, completion) if question.strip() and completion.strip() else ()

    def evaluate(self, batch: Batch) -> list[float | None]:
        pairs = [(question_of(c), text_of(c.completion)) for c in batch.calls]
        scored = [i for i, (q, c) in enumerate(pairs) if q.strip() and c.strip()]
        results: list[float | None] = [None] * len(pairs)
        if scored:
            questions = batch.embed([pairs[i][0] for i in scored])
            completions = batch.embed([pairs[i][1] for i in scored])
            cosines = np.clip(np.sum(questions * completions, axis=1), -1.0, 1.0)
            for i, cosine in zip(scored, cosines, strict=True):
                results[i] = float(cosine)
        return results

    def apply(self, result, scores) -> None:
        scores.similarity = result
