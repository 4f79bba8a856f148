"""Trained heads shipped with the package (.npz, loaded without pickle) and the code that applies them.

Each head is a standardised logistic layer on embedding rows: p = sigmoid(((x - mean) / scale) @ W.T + b),
one output per column of W. `scripts/train_heads.py` writes them; `report.json` holds what was measured.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._backends.base import SentimentResult, ToxicityResult

MODELS_DIR = Path(__file__).resolve().parent
LEXICAL_BLEND = 0.3  # local toxicity = 0.7 x MiniLM head + 0.3 x lexical head (measured: report.json)

_SOCIAL_NOISE = re.compile(r"\bRT\b|@\w+:?|https?://\S+")


def clean_text(text: str) -> str:
    """What the toxicity heads read: HTML entities decoded; retweet marks, @handles and URLs dropped.

    Ordinary prose (most LLM output) comes back unchanged, so its cached embedding is reused.
    """
    return _SOCIAL_NOISE.sub(" ", html.unescape(text))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


@dataclass(frozen=True)
class LinearHead:
    """Logistic outputs over standardised features; `thresholds` decide when an output fires."""

    outputs: tuple[str, ...]
    weights: np.ndarray  # (outputs, features)
    bias: np.ndarray  # (outputs,)
    mean: np.ndarray  # (features,)
    scale: np.ndarray  # (features,)
    thresholds: np.ndarray  # (outputs,)
    features: str = "embedding"  # what the columns are: "embedding" or "embedding+vader"

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(rows, outputs) probabilities."""
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return sigmoid(x @ self.weights.T + self.bias)

    def save(self, path: str | Path) -> None:
        np.savez(path, outputs=np.array(self.outputs, dtype=str), weights=self.weights, bias=self.bias,
                 mean=self.mean, scale=self.scale, thresholds=self.thresholds,
                 features=np.array(self.features))

    @classmethod
    def load(cls, name_or_path: str | Path) -> LinearHead:
        """Load a shipped head by name (`sentiment-minilm`) or any .npz path; never unpickles."""
        path = Path(name_or_path)
        if path.suffix != ".npz":
            path = MODELS_DIR / f"{name_or_path}.npz"
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key].astype(np.float64)
                      for key in ("weights", "bias", "mean", "scale", "thresholds")}
            outputs = tuple(str(o) for o in data["outputs"])
            return cls(outputs=outputs, features=str(data["features"]), **arrays)


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score per text, in [-1, 1] (needs the `vaderSentiment` package)."""
    analyzer = _vader_analyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)


@functools.cache
def _vader_analyzer():
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:
        raise ImportError("this sentiment head uses VADER: pip install 'otel-llm[local]'") from exc
    return SentimentIntensityAnalyzer()


class SentimentHead:
    """P(positive) -> score 2p-1 in [-1, 1]; |score| below the head's threshold is labelled neutral."""

    def __init__(self, head: LinearHead) -> None:
        self.head = head

    @classmethod
    def load(cls, name_or_path: str | Path) -> SentimentHead:
        return cls(LinearHead.load(name_or_path))

    def features(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        if self.head.features == "embedding+vader":
            return np.hstack([embeddings, vader_compound(texts)[:, None]])
        return embeddings

    def predict(self, embeddings: np.ndarray, texts: Sequence[str]) -> list[SentimentResult]:
        scores = 2.0 * self.head.probabilities(self.features(embeddings, texts))[:, 0] - 1.0
        band = float(self.head.thresholds[0])
        labels = np.where(scores >= band, "positive", np.where(scores <= -band, "negative", "neutral"))
        return [SentimentResult(float(s), str(label)) for s, label in zip(scores, labels, strict=True)]


class ToxicityHead:
    """Score = the highest output probability; categories = the outputs at or above their threshold."""

    def __init__(self, head: LinearHead) -> None:
        self.head = head

    @classmethod
    def load(cls, name_or_path: str | Path) -> ToxicityHead:
        return cls(LinearHead.load(name_or_path))

    def predict(self, embeddings: np.ndarray, blend: tuple[ToxicityHead, np.ndarray, float] | None = None
                ) -> list[ToxicityResult]:
        """`blend` = (other head, its features, its weight) mixes a second head's probabilities in."""
        probs = self.head.probabilities(embeddings)
        if blend is not None:
            other, features, weight = blend
            probs = (1 - weight) * probs + weight * other.head.probabilities(features)
        fired = probs >= self.head.thresholds
        return [ToxicityResult(float(row.max()) if row.size else 0.0,
                               tuple(o for o, f in zip(self.head.outputs, hit, strict=True) if f))
                for row, hit in zip(probs, fired, strict=True)]
