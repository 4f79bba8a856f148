"""Embedding many texts once for training and measurement, cached on disk by backend and content."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._backends.base import EmbeddingBackend


def default_cache_dir() -> Path:
    return Path(os.environ.get("OTEL_LLM_CACHE_DIR") or Path.home() / ".cache" / "otel-llm")


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def embed_cached(backend: EmbeddingBackend, texts: Sequence[str], cache_dir: Path | None = None,
                 chunk: int = 512) -> np.ndarray:
    """`backend.embed(texts)` in chunks, each distinct text embedded once per backend across runs and lists:
    vectors are kept on disk by content hash, so a subset, a reordering or a few new texts cost only the
    texts not seen before. (A list cached whole by an older version is read too.)"""
    folder = cache_dir or default_cache_dir()
    stem = f"embeddings-{backend.name}{getattr(backend, 'variant', '')}"
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:24]
    store_path = folder / f"{stem}-by-text.npz"
    store: dict[str, np.ndarray] = {}
    if store_path.is_file():
        with np.load(store_path, allow_pickle=False) as data:
            store = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [_key(t) for t in texts]
    whole = folder / f"{stem}-{digest}.npy"
    grown = False
    if whole.is_file() and any(k not in store for k in keys):
        store.update(zip(keys, np.load(whole, allow_pickle=False), strict=True))
        grown = True
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in store))
    for i in range(0, len(missing), chunk):
        part = missing[i:i + chunk]
        store.update(zip((_key(t) for t in part), backend.embed(part), strict=True))
    if missing or grown or not store_path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = store_path.with_name(f"{store_path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(partial, keys=np.array(list(store), dtype=str),
                 vectors=np.vstack(list(store.values())) if store else np.zeros((0, 0), dtype=np.float32))
        os.replace(partial, store_path)  # atomic: a concurrent reader sees the old store or the new one
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([store[k] for k in keys]).astype(np.float32)
