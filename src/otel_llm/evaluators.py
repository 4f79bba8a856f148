"""The custom-evaluator API: subclass `Evaluator`, read your calls from the `Batch` it is handed, and pass an
instance to `Scorer(evaluators=[...])` or register it under the `ENTRY_POINT_GROUP` entry-point group.

The same names are exported from `otel_llm`; the built-in evaluators live in `otel_llm._quality`.
"""

from __future__ import annotations

from ._quality.evaluators.base import Batch, Evaluator
from ._quality.evaluators.registry import ENTRY_POINT_GROUP

__all__ = ["ENTRY_POINT_GROUP", "Batch", "Evaluator"]
