"""The scoring API: the batched `Scorer` the span processor and pipelines use, and the public
`score()` / `score_many()` functions."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._config import Settings
from .._failures import report_failure
from ..record import LLMCall, Scores
from .evaluators.base import Batch, Evaluator
from .evaluators.cache import CachedEmbeddings
from .evaluators.registry import build_evaluators

if TYPE_CHECKING:
    from .._backends import Backends


GIVE_UP_AFTER = 3  # records retried alone after a failed batch before the failure is judged systemic


class Scorer:
    """Runs the configured evaluators over batches of calls. Thread-safe; never raises for a bad record:
    what can be scored is scored, every failure goes to `otel_llm._failures.report_failure`.

    `backends` defaults to `otel_llm._backends.make_backends(settings)`; its embeddings are wrapped in a
    content-hash LRU cache shared by every evaluator, so each text is embedded once. `evaluators` are added
    to the built-in and entry-point ones.
    """

    def __init__(self, settings: Settings | None = None, backends: Backends | None = None,
                 evaluators: Iterable[Evaluator] | None = None) -> None:
        from .._backends import make_backends

        self.settings = settings or Settings.from_env()
        raw = backends if backends is not None else make_backends(self.settings)
        self.embeddings = CachedEmbeddings(raw.embeddings, self.settings.cache_size)
        self.backends = raw.with_embeddings(self.embeddings)
        self.evaluators = build_evaluators(self.settings, evaluators or ())
        self._random = random.Random()
        self._random_lock = threading.Lock()

    def score(self, call: LLMCall) -> Scores:
        return self.score_many([call])[0]

    def score_many(self, calls: Sequence[LLMCall], free_only: bool = False) -> list[Scores]:
        """One `Scores` per call, in order. All texts of the batch are embedded in one backend call.
        `free_only`: only what costs nothing (exact refusal signals)."""
        results = [Scores(backend=self.backends.name) for _ in calls]
        plan = [(e, self._sample(e, calls, free_only)) for e in self.evaluators]
        vectors = self._embed_planned(calls, plan)
        for evaluator, indices in plan:
            if indices:
                self._run(evaluator, [calls[i] for i in indices], [results[i] for i in indices], vectors)
        return results

    def _sample(self, evaluator: Evaluator, calls: Sequence[LLMCall], free_only: bool = False) -> list[int]:
        rate = 0.0 if free_only else self.settings.rate_for(evaluator.name)
        if rate >= 1.0:
            return list(range(len(calls)))
        with self._random_lock:
            drawn = [self._random.random() < rate for _ in calls]
        return [i for i, call in enumerate(calls) if drawn[i] or _is_free(evaluator, call)]

    def _batch(self, calls: Sequence[LLMCall], vectors: dict[str, np.ndarray]) -> Batch:
        return Batch(calls, self.backends, self.settings, vectors)

    def _embed_planned(self, calls: Sequence[LLMCall], plan) -> dict[str, np.ndarray]:
        """Every text the evaluators asked for, embedded together (records that fail here are left out)."""
        texts: dict[str, None] = {}
        probe = self._batch(calls, {})
        for evaluator, indices in plan:
            for i in indices:
                try:
                    texts.update(dict.fromkeys(evaluator.texts_to_embed(calls[i], probe)))
                except Exception as exc:
                    report_failure(f"evaluator {evaluator.name}", exc)
        if not texts:
            return {}
        try:
            return dict(zip(texts, self.embeddings.embed(list(texts)), strict=True))
        except Exception as exc:  # evaluators embed what they still need themselves, and report
            report_failure("embeddings", exc)
            return {}

    def _run(self, evaluator: Evaluator, calls: list[LLMCall], scores: list[Scores],
             vectors: dict[str, np.ndarray]) -> bool:
        """Evaluate the batch; if that fails, each record alone, so one bad record costs only its own score.
        When the first records fail alone too, the fault is not theirs (a backend is down): stop there."""
        try:
            outputs = list(evaluator.evaluate(self._batch(calls, vectors)))
            if len(outputs) != len(calls):
                raise ValueError(f"{evaluator.name!r} returned {len(outputs)} results for {len(calls)} calls")
        except Exception as exc:
            if len(calls) == 1:
                report_failure(f"evaluator {evaluator.name}", exc)
                scores[0].failed += (evaluator.name,)
                return False
            succeeded = False
            for n, (call, one) in enumerate(zip(calls, scores, strict=True)):
                succeeded = self._run(evaluator, [call], [one], vectors) or succeeded
                if not succeeded and n + 1 >= GIVE_UP_AFTER:
                    for untried in scores[n + 1:]:
                        untried.failed += (evaluator.name,)
                    break
            return succeeded
        for output, one in zip(outputs, scores, strict=True):
            if output is not None:
                try:
                    evaluator.apply(output, one)
                except Exception as exc:
                    report_failure(f"evaluator {evaluator.name}", exc)
                    one.failed += (evaluator.name,)
        return True


def _is_free(evaluator: Evaluator, call: LLMCall) -> bool:
    try:
        return bool(evaluator.is_free(call))
    except Exception as exc:
        report_failure(f"evaluator {evaluator.name}", exc)
        return False


_default: Scorer | None = None
_default_lock = threading.Lock()


def default_scorer() -> Scorer:
    """The process-wide scorer behind `score()` and `score_many()` (settings from the environment)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Scorer()
        return _default


def score(prompt: str, completion: str, model_id: str | None = None) -> Scores:
    """Score one prompt/completion pair with the configured evaluators (an empty prompt is valid)."""
    return score_many([(prompt, completion)], model_id)[0]


def score_many(pairs: Iterable[tuple[str, str]], model_id: str | None = None) -> list[Scores]:
    """Score (prompt, completion) pairs in batches; `model_id` picks the refusal phrases' family."""
    calls = []
    for pair in pairs:
        prompt, completion = pair
        for text in (prompt, completion):
            if not isinstance(text, str):
                raise TypeError(f"prompt and completion must be str, got {type(text).__name__}")
        calls.append(LLMCall(model_id=model_id or "", prompt=prompt, completion=completion))
    return default_scorer().score_many(calls)
