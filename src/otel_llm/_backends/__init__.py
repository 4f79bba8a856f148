"""Scoring backends and the factory that picks one from the settings.

`local` (MiniLM + trained heads), `lexical` (numpy only, weaker), `aws` (Titan Embeddings + Comprehend),
`auto` (local when its packages are installed, else lexical). Backends are built lazily: nothing heavy is
imported or loaded until a text is scored.
"""

from __future__ import annotations

import logging

from .._config import Settings
from .base import (
    Backends,
    EmbeddingBackend,
    SentimentBackend,
    SentimentResult,
    ToxicityBackend,
    ToxicityResult,
)

logger = logging.getLogger("otel_llm")

BACKEND_NAMES = ("auto", "local", "lexical", "aws")

__all__ = ["BACKEND_NAMES", "Backends", "EmbeddingBackend", "SentimentBackend", "SentimentResult",
           "ToxicityBackend", "ToxicityResult", "make_backends"]


def make_backends(settings: Settings) -> Backends:
    """Build the backend `settings.backend` names; ValueError for an unknown name."""
    choice = settings.backend.strip().lower()
    if choice == "auto":
        from .local import local_available

        choice = "local" if local_available() else "lexical"
        logger.info("otel-llm: backend auto -> %s%s", choice,
                    "" if choice == "local" else " (install otel-llm[local] for the more accurate backend)")
    if choice == "local":
        from .local import LocalEmbeddings, LocalSentiment, LocalToxicity

        embeddings = LocalEmbeddings(max_seq_length=settings.local_max_tokens)
        return Backends(embeddings, LocalSentiment(embeddings), LocalToxicity(embeddings), "local")
    if choice == "lexical":
        from .lexical import LexicalEmbeddings, LexicalSentiment, LexicalToxicity

        lexical = LexicalEmbeddings()
        return Backends(lexical, LexicalSentiment(lexical), LexicalToxicity(lexical), "lexical")
    if choice == "aws":
        from .aws import make_aws_backends

        return make_aws_backends(settings)
    raise ValueError(f"unknown otel-llm backend {settings.backend!r}: "
                     f"choose one of {', '.join(BACKEND_NAMES)}")
