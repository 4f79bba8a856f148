"""Evaluators: one module per quality metric behind one interface (`Evaluator`), and their registry."""

from __future__ import annotations

from .base import Batch, Evaluator
from .registry import BUILTIN, ENTRY_POINT_GROUP, build_evaluators

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "Batch", "Evaluator", "build_evaluators"]
