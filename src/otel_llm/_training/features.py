"""Embedding many texts once for training and measurement, cached on disk by backend and content."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend


def default_cache_dir() -> Path:
    return Path(os.environ.get("OTEL_LLM_CACHE_DIR") or Path.home() / ".cache" / "otel-llm")


def embed_cached(backend: EmbeddingBackend, texts: Sequence[str], cache_dir: Path | None = None,
                 chunk: int = 512) -> np.ndarray:
    """`backend.embed(texts)` in chunks, reusing an earlier result for the same backend and texts."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:24]
    variant = getattr(backend, "variant", "")
    path = (cache_dir or default_cache_dir()) / f"embeddings-{backend.name}{variant}-{digest}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    rows = [backend.embed(texts[i:i + chunk]) for i in range(0, len(texts), chunk)]
    vectors = np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors, allow_pickle=False)
    return vectors
