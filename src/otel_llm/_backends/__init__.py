"""Scoring backends and the factory that picks one from the settings.

`local` (MiniLM + trained heads), `lexical` (numpy only, weaker), `aws` (Titan Embeddings + Comprehend),
`auto` (local when its packages are installed, else lexical). Backends are built lazily: nothing heavy is
imported or loaded until a text is scored.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

from .._config import Settings
from .base import EmbeddingBackend, SentimentBackend, SentimentResult, ToxicityBackend, ToxicityResult

logger = logging.getLogger("otel_llm")

BACKEND_NAMES = ("auto", "local", "lexical", "aws")

__all__ = ["BACKEND_NAMES", "Backends", "EmbeddingBackend", "SentimentBackend", "SentimentResult",
           "ToxicityBackend", "ToxicityResult", "make_backends"]


@dataclass(frozen=True)
class Backends:
    """The three providers the evaluators use, and the name recorded on metrics (`otel_llm.backend`)."""

    embeddings: EmbeddingBackend
    sentiment: SentimentBackend
    toxicity: ToxicityBackend
    name: str

    def with_embeddings(self, embeddings: EmbeddingBackend) -> Backends:
        """The same backends over `embeddings` (e.g. a caching wrapper), so heads built on the old embeddings
        share the new one and a completion is embedded once for every evaluator."""

        def rebind(backend):
            if getattr(backend, "embeddings", None) is self.embeddings:
                backend = copy.copy(backend)
                backend.embeddings = embeddings
            return backend

        return Backends(embeddings, rebind(self.sentiment), rebind(self.toxicity), self.name)


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
