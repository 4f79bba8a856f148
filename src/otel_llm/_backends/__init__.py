"""Scoring backends and the factory that picks one from the settings.

`local` (MiniLM + trained heads, on torch or int8 ONNX Runtime),
`lexical` (numpy only, weaker), `aws` (Titan Embeddings + Comprehend),
`auto` (local when its packages are installed, else lexical). Backends are built lazily: nothing heavy is
imported or loaded until a text is scored.
"""

from __future__ import annotations

import logging
import sys

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


def backend_choice(settings: Settings) -> str:
    """The backend `settings.backend` names, `auto` resolved (local when installed, else lexical). Imports
    nothing heavy."""
    choice = settings.backend.strip().lower()
    if choice == "auto":
        from .local import local_available
        from .onnx import onnx_available

        choice = "local" if local_available() or onnx_available() else "lexical"
    return choice


def make_backends(settings: Settings) -> Backends:
    """Build the backend `settings.backend` names; ValueError for an unknown name."""
    choice = backend_choice(settings)
    if settings.backend.strip().lower() == "auto":
        logger.info("otel-llm: backend auto -> %s%s", choice,
                    "" if choice == "local" else " (install otel-llm[local] for the more accurate backend)")
    if choice == "local":
        from .local import LocalSentiment, LocalToxicity

        embeddings = local_embeddings(settings)
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


def local_embeddings(settings: Settings) -> EmbeddingBackend:
    """The MiniLM runtime `settings.local_runtime` names, or for `auto` the fastest one installed here."""
    from .local import LocalEmbeddings, local_available
    from .onnx import OnnxEmbeddings, onnx_available

    runtime = settings.local_runtime.strip().lower()
    if runtime not in ("auto", "torch", "onnx"):
        logger.warning("otel-llm: unknown OTEL_LLM_LOCAL_RUNTIME %r; using auto", runtime)
        runtime = "auto"
    reason = "chosen"
    if runtime == "auto":
        runtime, reason = choose_runtime(local_available(), onnx_available(), _cpu_flags(),
                                         "torch" in sys.modules)
    logger.info("otel-llm: local backend runs MiniLM on %s (%s)",
                "ONNX Runtime int8" if runtime == "onnx" else "torch", reason)
    threads = settings.threads_for_inference()
    if runtime == "onnx":
        return OnnxEmbeddings(max_seq_length=settings.local_max_tokens, num_threads=threads)
    return LocalEmbeddings(max_seq_length=settings.local_max_tokens, num_threads=threads)


def choose_runtime(torch_installed: bool, onnx_installed: bool, cpu_flags: frozenset[str],
                   app_uses_torch: bool) -> tuple[str, str]:
    """(`torch` or `onnx`, why) for OTEL_LLM_LOCAL_RUNTIME=auto.

    torch in bfloat16 is faster than int8 ONNX only on CPUs with AMX tiles (`amx_bf16`); with AVX512-BF16
    alone it measured slower than float32 torch, which is slower than int8 ONNX. torch's threads are
    process-wide, so an app that imported torch itself gets ONNX, whose threads are per session.
    """
    if not onnx_installed:
        return "torch", "onnxruntime is not installed"
    if not torch_installed:
        return "onnx", "torch is not installed"
    if app_uses_torch:
        return "onnx", "the application uses torch: ONNX Runtime's threads leave torch's alone"
    if "amx_bf16" in cpu_flags:
        return "torch", "the CPU computes bfloat16 with AMX"
    return "onnx", "no AMX bfloat16 on this CPU: int8 is the fastest"


def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()
