"""A thread-safe LRU cache of embeddings keyed by a content hash, in front of any embedding backend."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from ..._backends.base import EmbeddingBackend


def content_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CachedEmbeddings:
    """Embeds each distinct text once: repeated texts come from the cache, new ones go to the backend in
    one `embed()` call per request. Holds at most `size` vectors (least recently used evicted)."""

    def __init__(self, backend: EmbeddingBackend, size: int = 4096) -> None:
        self.backend = backend
        self.name = backend.name
        self.size = max(0, int(size))
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [content_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for key in keys:
                vector = self._vectors.get(key)
                if vector is not None:
                    self._vectors.move_to_end(key)
                    found[key] = vector
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing or not texts:
            fresh = np.asarray(self.backend.embed(list(missing.values())), dtype=np.float32)
            if not texts:
                return fresh
            found.update(zip(missing, fresh, strict=True))
            with self._lock:
                for key in missing:
                    self._vectors[key] = found[key]
                    self._vectors.move_to_end(key)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return np.vstack([found[k] for k in keys])

    def __len__(self) -> int:
        return len(self._vectors)
