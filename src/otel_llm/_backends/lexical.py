"""The `lexical` backend: dependency-free (numpy only) and measurably weaker than `local`.

Embeddings are signed hashes of word uni/bigrams and character 3-5-grams (sublinear counts,
L2-normalised); the sentiment and toxicity heads are logistic layers trained on those same vectors
by `scripts/train_heads.py`.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from .._weights import SentimentHead, ToxicityHead, clean_text
from .base import EmbeddingBackend, SentimentResult, ToxicityResult

DIMENSIONS = 2048
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _grams(text: str) -> tuple[Counter[str], Counter[str]]:
    words = _WORD.findall(text.lower())
    word_grams = Counter(words)
    word_grams.update([f"{a} {b}" for a, b in pairwise(words)])
    char_grams: Counter[str] = Counter()
    for word in words:
        char_grams.update(_char_grams(word))
    return word_grams, char_grams


@functools.lru_cache(maxsize=8192)
def _char_grams(word: str) -> tuple[str, ...]:
    """The word's character 3-, 4- and 5-grams, padded with a space each side."""
    padded = f" {word} "
    return tuple(padded[i:i + n] for n in (3, 4, 5) for i in range(max(len(padded) - n + 1, 1)))


def _hashed(grams: Counter[str], dimensions: int, salt: str) -> np.ndarray:
    """Sum of +-(1 + log count) per gram at its crc32 bucket (the sign from the hash's top bit), unit norm.
    `np.bincount` adds the weights in the grams' order, as a loop would: the same float64 sums."""
    hashes = np.fromiter((zlib.crc32(f"{salt}{g}".encode()) for g in grams), dtype=np.uint32,
                         count=len(grams))
    weights = np.fromiter((1.0 + _log(c) for c in grams.values()), dtype=np.float64, count=len(grams))
    signed = np.where(hashes & 0x80000000, weights, -weights)
    vector = np.bincount(hashes % dimensions, weights=signed, minlength=dimensions)
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


@functools.lru_cache(maxsize=256)
def _log(count: int) -> float:
    return math.log(count)


class LexicalEmbeddings:
    """Hashed word and character n-gram vectors: similar wording, not similar meaning. Deterministic."""

    name = "lexical"
    dimensions = DIMENSIONS

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text (words and characters weigh equally)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            words, chars = _grams(text)
            vector = _hashed(words, DIMENSIONS, "w") + _hashed(chars, DIMENSIONS, "c")
            norm = np.linalg.norm(vector)
            if norm > 0:
                out[row] = vector / norm
        return out


class LexicalSentiment:
    """Sentiment from the shipped head on lexical vectors."""

    name = "lexical"

    def __init__(self, embeddings: EmbeddingBackend, head: SentimentHead | None = None) -> None:
        self.embeddings = embeddings
        self.head = head or SentimentHead.load("sentiment-lexical")

    def sentiment(self, texts: Sequence[str]) -> list[SentimentResult]:
        return self.head.judge(self.embeddings.embed, texts)


class LexicalToxicity:
    """Toxicity from the shipped head on lexical vectors and the masked-profanity / insult signal."""

    name = "lexical"

    def __init__(self, embeddings: EmbeddingBackend, head: ToxicityHead | None = None) -> None:
        self.embeddings = embeddings
        self.head = head or ToxicityHead.load("toxicity-lexical")

    def toxicity(self, texts: Sequence[str]) -> list[ToxicityResult]:
        cleaned = [clean_text(t) for t in texts]
        vectors = self.embeddings.embed(cleaned)  # this backend's embedding is the lexical vector
        return self.head.predict(self.head.features(cleaned, vectors, vectors))
