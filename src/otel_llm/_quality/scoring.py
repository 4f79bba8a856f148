"""The scoring API: the batched `Scorer` the span processor and pipelines use, and the public
`score()` / `score_many()` functions."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._backends.resilience import BackendUnavailable
from .._config import Settings
from .._failures import report_failure
from ..record import LLMCall, Scores
from .evaluators.base import Batch, Evaluator
from .evaluators.cache import CachedEmbeddings
from .evaluators.registry import build_evaluators

if TYPE_CHECKING:
    from .._backends import Backends


GIVE_UP_AFTER = 3  # records retried alone after a failed batch before the failure is judged systemic

SCORED, FAILED, SAMPLED_OUT, NO_SCORE = "scored", "failed", "sampled_out", "no_score"


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

    def load(self) -> None:
        """Load what the backends load lazily (the local model) now; a no-op for the others."""
        load = getattr(self.embeddings.backend, "load", None)
        if callable(load):
            load()

    def score(self, call: LLMCall) -> Scores:
        return self.score_many([call])[0]

    def score_many(self, calls: Sequence[LLMCall], free_only: bool = False) -> list[Scores]:
        """One `Scores` per call, in order. All texts of the batch are embedded in one backend call.
        `free_only`: only what costs nothing (exact refusal signals)."""
        results = [Scores(backend=self.backends.name) for _ in calls]
        sampled = [(e, *self._sample(e, calls, free_only)) for e in self.evaluators]
        plan = [(e, indices) for e, indices, _free in sampled]
        guard = EmbedGuard()
        vectors = self._embed_planned(calls, plan, guard)
        for evaluator, indices, free in sampled:
            for one in results:
                one.outcomes[evaluator.name] = SAMPLED_OUT
            for i in indices:
                results[i].outcomes[evaluator.name] = NO_SCORE
            if indices:
                self._run(evaluator, [calls[i] for i in indices], [results[i] for i in indices], vectors,
                          guard)
            for i in free:  # judged for free (counted by source), but sampled out of the histograms
                results[i].unsampled += (evaluator.name,)
                results[i].outcomes[evaluator.name] = SAMPLED_OUT
        return results

    def _sample(self, evaluator: Evaluator, calls: Sequence[LLMCall],
                free_only: bool = False) -> tuple[list[int], list[int]]:
        """(indices `evaluator` runs on, those of them it runs on only because it judges them for free):
        the calls drawn at its rate (none with `free_only`), and the free ones sampling left out."""
        rate = 0.0 if free_only else self.settings.rate_for(evaluator.name)
        if rate >= 1.0:
            return list(range(len(calls))), []
        with self._random_lock:
            drawn = [self._random.random() < rate for _ in calls]
        free = [i for i, call in enumerate(calls) if not drawn[i] and _is_free(evaluator, call)]
        chosen = sorted({i for i in range(len(calls)) if drawn[i]} | set(free))
        return chosen, free

    def _batch(self, calls: Sequence[LLMCall], vectors: dict[str, np.ndarray],
               guard: EmbedGuard | None = None) -> Batch:
        return Batch(calls, self.backends, self.settings, vectors, guard)

    def _embed_planned(self, calls: Sequence[LLMCall], plan, guard: EmbedGuard) -> dict[str, np.ndarray]:
        """Every text the evaluators asked for, embedded together (records that fail here are left out).
        When that call fails, `guard` remembers it: no evaluator embeds those texts again in this batch."""
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
            return dict(zip(texts, guard.embed(self.embeddings, list(texts)), strict=True))
        except Exception as exc:  # the evaluators that needed these texts fail, without re-embedding them
            report_failure("embeddings", exc)
            return {}

    def _run(self, evaluator: Evaluator, calls: list[LLMCall], scores: list[Scores],
             vectors: dict[str, np.ndarray], guard: EmbedGuard) -> bool:
        """Evaluate the batch; if that fails, each record alone, so one bad record costs only its own score.
        When a backend is unavailable, or the first records fail alone too, the fault is not theirs: stop.
        Every record whose score is lost is marked failed exactly once."""
        try:
            outputs = list(evaluator.evaluate(self._batch(calls, vectors, guard)))
            if len(outputs) != len(calls):
                raise ValueError(f"{evaluator.name!r} returned {len(outputs)} results for {len(calls)} calls")
        except Exception as exc:
            if len(calls) == 1 or isinstance(exc, BackendUnavailable):
                report_failure(f"evaluator {evaluator.name}", exc)
                for one in scores:
                    _fail(one, evaluator.name)
                return False
            succeeded = False
            for n, (call, one) in enumerate(zip(calls, scores, strict=True)):
                succeeded = self._run(evaluator, [call], [one], vectors, guard) or succeeded
                if not succeeded and (n + 1 >= GIVE_UP_AFTER or guard.down):
                    for untried in scores[n + 1:]:
                        _fail(untried, evaluator.name)
                    break
            return succeeded
        for output, one in zip(outputs, scores, strict=True):
            if output is not None:
                try:
                    evaluator.apply(output, one)
                    one.outcomes[evaluator.name] = SCORED
                except Exception as exc:
                    report_failure(f"evaluator {evaluator.name}", exc)
                    _fail(one, evaluator.name)
        return True


class EmbedGuard:
    """What failed to embed within one `score_many`: after a backend outage nothing is embedded again,
    and a text whose embedding failed is not sent a second time (each evaluator would otherwise retry)."""

    def __init__(self) -> None:
        self.down = False
        self._failed: set[str] = set()
        self._lock = threading.Lock()

    def embed(self, backend, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self.down or any(t in self._failed for t in texts):
                raise BackendUnavailable("embedding already failed in this batch")
        try:
            return backend.embed(texts)
        except BackendUnavailable:
            self.down = True
            raise
        except Exception:
            with self._lock:
                self._failed.update(texts)
            raise


def _fail(scores: Scores, evaluator: str) -> None:
    if evaluator not in scores.failed:
        scores.failed += (evaluator,)
    scores.outcomes[evaluator] = FAILED


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
