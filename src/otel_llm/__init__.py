"""otel-llm: OpenTelemetry instrumentation for Amazon Bedrock with LLM quality metrics.

Zero-code: ``pip install opentelemetry-distro otel-llm`` then ``opentelemetry-instrument python app.py``.
Code use::

    from otel_llm import BedrockInstrumentor, install
    BedrockInstrumentor().instrument()   # spans + GenAI call metrics, and attaches the quality processor
    install()                             # or attach the quality processor alone to your providers

Names are imported lazily so that ``import otel_llm`` never loads a model or torch.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = importlib.metadata.version("otel-llm")
except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"

_EXPORTS = {
    "BedrockInstrumentor": "otel_llm._instrumentation.instrumentor",
    "LLMMetricsSpanProcessor": "otel_llm._quality.processor",
    "install": "otel_llm._quality.processor",
    "llm_span": "otel_llm._decorators",
    "score": "otel_llm._quality.scoring",
    "score_many": "otel_llm._quality.scoring",
    "Scores": "otel_llm.record",
    "Scorer": "otel_llm._quality.scoring",
    "LLMCall": "otel_llm.record",
    "Settings": "otel_llm._config",
    "Batch": "otel_llm.evaluators",
    "ENTRY_POINT_GROUP": "otel_llm.evaluators",
    "Evaluator": "otel_llm.evaluators",
}

__all__ = [
    "ENTRY_POINT_GROUP", "Batch", "BedrockInstrumentor", "Evaluator", "LLMCall", "LLMMetricsSpanProcessor",
    "Scorer", "Scores", "Settings",
    "__version__", "install", "llm_span", "score", "score_many",
]

if TYPE_CHECKING:
    from ._config import Settings
    from ._decorators import llm_span
    from ._instrumentation.instrumentor import BedrockInstrumentor
    from ._quality.processor import LLMMetricsSpanProcessor, install
    from ._quality.scoring import Scorer, score, score_many
    from .evaluators import ENTRY_POINT_GROUP, Batch, Evaluator
    from .record import LLMCall, Scores


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'otel_llm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
