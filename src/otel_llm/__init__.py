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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "BedrockInstrumentor": "otel_llm.instrumentation.instrumentor",
    "LLMMetricsSpanProcessor": "otel_llm.processor",
    "install": "otel_llm.processor",
    "llm_span": "otel_llm.decorators",
    "score": "otel_llm.scoring",
    "score_many": "otel_llm.scoring",
    "Scores": "otel_llm.scoring",
    "Scorer": "otel_llm.scoring",
    "LLMCall": "otel_llm.record",
    "Settings": "otel_llm.config",
}

__all__ = [
    "BedrockInstrumentor", "LLMCall", "LLMMetricsSpanProcessor", "Scorer", "Scores", "Settings",
    "__version__", "install", "llm_span", "score", "score_many",
]

if TYPE_CHECKING:
    from .config import Settings
    from .decorators import llm_span
    from .instrumentation.instrumentor import BedrockInstrumentor
    from .processor import LLMMetricsSpanProcessor, install
    from .record import LLMCall
    from .scoring import Scorer, Scores, score, score_many


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'otel_llm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
