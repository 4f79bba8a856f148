"""The interface every evaluator implements, and the batch it is handed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import _instruments as names
from ..._config import Settings
from ...record import Evaluation, LLMCall, Scores

if TYPE_CHECKING:
    from ..._backends import Backends


@dataclass
class Batch:
    """The calls one evaluator scores together, the backends, and the embeddings already computed.

    `vectors` maps each text some evaluator asked for (`Evaluator.texts_to_embed`) to its embedding:
    the scorer embeds them all in one call, so a text shared by two evaluators is embedded once.
    """

    calls: Sequence[LLMCall]
    backends: Backends
    settings: Settings
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Rows for `texts`: precomputed where possible, the rest in one backend call."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        fresh = dict(zip(missing, self.backends.embeddings.embed(missing), strict=True)) if missing else {}
        rows = [self.vectors[t] if t in self.vectors else fresh[t] for t in texts]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


class Evaluator(ABC):
    """One quality metric. Subclass it, give it a unique `name`, and implement `evaluate`.

    A custom evaluator returns one value in [0, 1] (or None: no score) per call; the scorer puts it in
    `Scores.extra[name]` and the processor records it as the histogram `otel_llm.<name>`. Register it by
    passing an instance to `Scorer(evaluators=[...])` or through the `otel_llm.evaluators` entry point.

    The evaluator declares its histogram: `histogram_name()`, `unit`, `description`, and `evaluation()`,
    which reads its score (and label) back from `Scores`. The built-in evaluators override them.
    """

    name: str = ""
    unit: str = "1"
    description: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Evaluator:
        """The evaluator as `settings` configure it (the registry builds built-ins this way)."""
        return cls()

    def histogram_name(self) -> str:
        return names.PREFIX + self.name

    def histogram_description(self) -> str:
        return self.description or f"Custom evaluator {self.name!r}, in [0, 1]."

    def evaluation(self, scores: Scores) -> Evaluation | None:
        """What `scores` holds of this evaluator, as recorded; None when it gave no score. (The built-ins
        read their own `Scores` fields, in a classmethod: the recorder also asks their classes.)"""
        value = scores.extra.get(self.name)
        return None if value is None else Evaluation(names.unit_interval(value), float(value))

    def texts_to_embed(self, call: LLMCall, batch: Batch) -> Iterable[str]:
        """Texts `evaluate` will embed through `batch.embed` (embedded together with everyone else's)."""
        return ()

    def is_free(self, call: LLMCall) -> bool:
        """True when `call` can be judged at no cost (an exact signal): it is scored even when sampled out."""
        return False

    @abstractmethod
    def evaluate(self, batch: Batch) -> Sequence[Any]:
        """One result per call of `batch.calls`, in order; None where the call gets no score."""

    def apply(self, result: Any, scores: Scores) -> None:
        """Store one result in `scores` (custom evaluators: a value in [0, 1] in `scores.extra`)."""
        value = float(result)
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ValueError(f"evaluator {self.name!r} returned {result!r}; custom scores must lie in [0, 1]")
        scores.extra[self.name] = value


def text_of(value: object) -> str:
    """A record's text field: None counts as empty; anything but a string is a bad record."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"prompt and completion must be str, got {type(value).__name__}")
    return value


def completions_to_judge(calls: Iterable[LLMCall]) -> list[str]:
    """The distinct non-blank completions of `calls`, in order."""
    return list(dict.fromkeys(t for t in (text_of(c.completion) for c in calls) if t.strip()))


def embeds_through(backend: object) -> bool:
    """True when `backend` works on our embeddings (a head), so its texts belong in the shared embed call."""
    return getattr(backend, "embeddings", None) is not None
