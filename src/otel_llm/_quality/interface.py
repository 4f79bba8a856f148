"""What the span processor and the pipelines need of a scorer: `Scorer` is one; tests pass their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..record import LLMCall, Scores


class CallScorer(Protocol):
    """Scores batches of calls: one `Scores` per call, in order. A scorer that also has `evaluators` (as
    `Scorer` does) has their histograms recorded as they declare them; otherwise the built-ins' are used."""

    def score_many(self, calls: Sequence[LLMCall]) -> Sequence[Scores]: ...
