"""Auto-instrumentation of boto3 `bedrock-runtime` (see `instrumentor.BedrockInstrumentor`)."""

from __future__ import annotations

from typing import Any

__all__ = ["BedrockInstrumentor"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing the `families` parsers does not load botocore and wrapt.
    if name == "BedrockInstrumentor":
        from .instrumentor import BedrockInstrumentor

        return BedrockInstrumentor
    raise AttributeError(name)
