"""Prompt-completion semantic similarity: cosine of their embeddings, in [-1, 1]."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .base import Batch, Evaluator, text_of


class SimilarityEvaluator(Evaluator):
    """None when the prompt or the completion is empty."""

    name = "similarity"

    def texts_to_embed(self, call, batch: Batch) -> Iterable[str]:
        prompt, completion = text_of(call.prompt), text_of(call.completion)
        return (prompt, completion) if prompt.strip() and completion.strip() else ()

    def evaluate(self, batch: Batch) -> list[float | None]:
        pairs = [(text_of(c.prompt), text_of(c.completion)) for c in batch.calls]
        scored = [i for i, (p, c) in enumerate(pairs) if p.strip() and c.strip()]
        results: list[float | None] = [None] * len(pairs)
        if scored:
            prompts = batch.embed([pairs[i][0] for i in scored])
            completions = batch.embed([pairs[i][1] for i in scored])
            cosines = np.clip(np.sum(prompts * completions, axis=1), -1.0, 1.0)
            for i, cosine in zip(scored, cosines, strict=True):
                results[i] = float(cosine)
        return results

    def apply(self, result, scores) -> None:
        scores.similarity = result
