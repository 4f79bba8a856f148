"""Trained heads shipped with the package (.npz, loaded without pickle) and the code that applies them.

Each head is a standardised logistic layer on embedding rows: p = sigmoid(((x - mean) / scale) @ W.T + b),
one output per column of W. `scripts/train_heads.py` writes them; `report.json` holds what was measured.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._backends.base import SentimentResult, ToxicityResult
from .offence import offence_features

MODELS_DIR = Path(__file__).resolve().parent

_SOCIAL_NOISE = re.compile(r"\bRT\b|@\w+:?|https?://\S+")
_FLOOD = re.compile(r"([a-z!?])\1{3,}", re.IGNORECASE)  # "aaaaaa!!!!!!" -> "aa!!"
_MASK = "*#%@$!0-9"
_HEX = re.compile(r"[0-9a-f]+", re.IGNORECASE)  # "a55b" is a number, not a word
_MASKING = re.compile(f"[{_MASK}]")
_MASKED_WORD = re.compile(rf"\b[a-z][a-z{_MASK}]*[{_MASK}][a-z{_MASK}]*", re.IGNORECASE)
_PROFANE_ROOTS = ("fuck", "shit", "bitch", "cunt", "dick", "cock", "prick", "bastard", "piss", "twat",
                  "slut", "whore", "ass", "damn", "crap")
_LOOKS_LIKE = {"a": "a@4", "e": "e3", "i": "i1!", "o": "o0", "s": "s$5", "t": "t7"}


def _masked(root: str) -> re.Pattern[str]:
    """The root with its first letter kept and every other one possibly masked or written as a look-alike."""
    rest = "".join(f"[{_LOOKS_LIKE.get(c, c)}*#%]" for c in root[1:])
    return re.compile(f"{root[0]}{rest}", re.IGNORECASE)


_UNMASK = [(root, _masked(root)) for root in _PROFANE_ROOTS]
_LEADING_CONCESSION = re.compile(
    r"^\s*(?:although|though|even though|even if|while|whereas|despite)\b[^,;]*[,;]\s*", re.IGNORECASE)
_CONTRAST = re.compile(r"\b(?:but|however|yet|nevertheless|nonetheless)\b[,:]?\s*", re.IGNORECASE)
_MIN_CLAUSE_CHARS = 10
_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|neither|nor|hardly|barely|without|cannot|\w+n['\u2019]t)\b\s+"
    r"(?!(?:only|just|to mention|doubt|wonder|matter|but|be \w+er\b|be more|be less|wait|help)\b)"
    r"(?=([^,.;:!?]+))", re.IGNORECASE)
_SCOPE_END = re.compile(r"\b(?:but|and|yet|so|because|although|though|while|however)\b", re.IGNORECASE)
_EMPHATIC = re.compile(r"\b(?:at all|in the slightest|whatsoever|in any way|one bit|by any means)\b",
                       re.IGNORECASE)
_SCOPE_WORDS = 3
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
NEGATION_WEIGHT = 1.0  # how much of a negated phrase's embedding a "clause-negation" head takes away


def clean_text(text: str) -> str:
    """What the toxicity heads read: HTML entities decoded; retweet marks, @handles and URLs dropped;
    floods of one letter or mark cut to two; masked profanity spelled out ("f*cking", "sh1t", "a$$").

    Ordinary prose (most LLM output) comes back unchanged, so its cached embedding is reused.
    """
    text = _FLOOD.sub(r"\1\1", _SOCIAL_NOISE.sub(" ", html.unescape(text)))
    return _MASKED_WORD.sub(_unmask, text) if _MASKING.search(text) else text


def _unmask(word: re.Match[str]) -> str:
    """A word with masking characters, with the first profane root it spells (masked) written out."""
    text = word.group(0)
    if _HEX.fullmatch(text):
        return text
    for root, pattern in _UNMASK:
        found = pattern.search(text)
        if found and found.group(0).lower() != root:
            return text[:found.start()] + root + text[found.end():]
    return text


def main_clause(text: str) -> str:
    """The part of `text` that carries its overall sentiment when it turns on a contrast: what follows its
    last "but" / "however" / "yet", or what follows a leading "Although ...," / "Despite ...," clause.
    Text without a contrast comes back unchanged (the same object)."""
    lead = _LEADING_CONCESSION.match(text)
    if lead and len(text) - lead.end() > _MIN_CLAUSE_CHARS:
        return text[lead.end():]
    parts = _CONTRAST.split(text)
    if len(parts) > 1 and len(parts[-1].strip()) > _MIN_CLAUSE_CHARS:
        return parts[-1]
    return text


def negation_scopes(text: str) -> list[str]:
    """The phrases `text` negates: what follows each "not" / "no" / "never" / "...n't", up to the next mark,
    conjunction, "at all"-like phrase or 3 words ("The hotel was not bad." -> ["bad"]). A negation made
    emphatic ("not bad at all", "not in the slightest") lists its phrase twice. Idioms whose negation does
    not flip the tone ("not only", "no doubt", "couldn't be happier", "can't wait") give none."""
    scopes = []
    for found in _NEGATION.finditer(text):
        reach = _SCOPE_END.split(found.group(1))[0]
        emphatic = _EMPHATIC.search(reach)
        if emphatic:  # "not bad at all" -> "bad"; "not at all bad" -> "bad"
            reach = reach[:emphatic.start()] if reach[:emphatic.start()].strip() else reach[emphatic.end():]
        scope = " ".join(reach.split()[:_SCOPE_WORDS])
        if len(scope) > 1:
            scopes += [scope, scope] if emphatic else [scope]
    return scopes


def scope_sums(vectors: Callable[[str], np.ndarray], texts: Sequence[str], dimensions: int,
               scopes_of: Sequence[list[str]] | None = None) -> np.ndarray:
    """Per text, the sum of `vectors(phrase)` over its `negation_scopes` (`scopes_of`, when the caller has
    them already) divided by its number of sentences (a text's embedding is about the mean of its
    sentences'); zero when it negates nothing."""
    out = np.zeros((len(texts), dimensions))
    for row, text in enumerate(texts):
        scopes = negation_scopes(text) if scopes_of is None else scopes_of[row]
        for scope in scopes:
            out[row] += vectors(scope)
        if scopes:
            out[row] /= max(1, len(_SENTENCE_END.findall(text.strip())))
    return out


def negation_clause_average(whole: np.ndarray, clause: np.ndarray, whole_negated: np.ndarray,
                            clause_negated: np.ndarray, weight: float = NEGATION_WEIGHT) -> np.ndarray:
    """Unit rows of (whole - weight x its negated phrases) + (clause - weight x its negated phrases): the
    `*_negated` rows are the sums of the embeddings of each text's `negation_scopes` (zero rows if none)."""
    return clause_average(np.asarray(whole, dtype=np.float64) - weight * np.asarray(whole_negated),
                          np.asarray(clause, dtype=np.float64) - weight * np.asarray(clause_negated))


def clause_average(whole: np.ndarray, clause: np.ndarray) -> np.ndarray:
    """Unit rows of whole + clause embedding: a contrast's conclusion counts twice, the rest once."""
    rows = np.asarray(whole, dtype=np.float64) + np.asarray(clause, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


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
    # sentiment: "embedding", "embedding+vader", "clause-average", "clause-negation"; toxicity: "embedding",
    # "offence", "lexical+offence", "embedding+lexical+offence" (`toxicity_features`)
    features: str = "embedding"

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
    """P(positive) -> score 2p-1 in [-1, 1]; |score| below the head's threshold is labelled neutral.

    A "clause-average" head reads `clause_average` of each text's embedding and its `main_clause`'s, so
    "The cast is great, but the script is dull." is judged mostly by its second half.
    """

    def __init__(self, head: LinearHead) -> None:
        self.head = head

    @classmethod
    def load(cls, name_or_path: str | Path) -> SentimentHead:
        return cls(LinearHead.load(name_or_path))

    @property
    def reads_clauses(self) -> bool:
        return self.head.features in ("clause-average", "clause-negation")

    @property
    def reads_negation(self) -> bool:
        return self.head.features == "clause-negation"

    def features(self, embeddings: np.ndarray, texts: Sequence[str], clauses: np.ndarray | None = None,
                 negated: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """The head's input rows; `clauses` (embeddings of each text's `main_clause`) for a clause head, and
        `negated` (`scope_sums` of the texts and of their main clauses) for a negation head."""
        if self.head.features == "embedding+vader":
            return np.hstack([embeddings, vader_compound(texts)[:, None]])
        if self.reads_clauses:
            if clauses is None or (self.reads_negation and negated is None):
                raise ValueError("this sentiment head needs the embeddings of the texts' main clauses"
                                 + (" and negated phrases" if self.reads_negation else ""))
            if negated is not None and self.reads_negation:
                return negation_clause_average(embeddings, clauses, *negated)
            return clause_average(embeddings, clauses)
        return embeddings

    def judge(self, embed: Callable[[Sequence[str]], np.ndarray],
              texts: Sequence[str]) -> list[SentimentResult]:
        """Results for `texts`, embedded by `embed` in one call (with main clauses and negated phrases, for
        the heads that read them)."""
        texts = list(texts)
        if not self.reads_clauses:
            return self.predict(embed(texts), texts)
        clauses = [main_clause(t) for t in texts]
        extra = [c for c, t in zip(clauses, texts, strict=True) if c is not t]
        scopes = [negation_scopes(text) for text in texts + clauses] if self.reads_negation else []
        extra = list(dict.fromkeys(extra + [scope for found in scopes for scope in found]))
        vectors = embed(texts + extra)
        row = {text: i for i, text in enumerate(texts)} | {c: len(texts) + i for i, c in enumerate(extra)}
        negated = None
        if self.reads_negation:
            dims, n = vectors.shape[1], len(texts)
            negated = (scope_sums(lambda p: vectors[row[p]], texts, dims, scopes[:n]),
                       scope_sums(lambda p: vectors[row[p]], clauses, dims, scopes[n:]))
        return self.predict(vectors[:len(texts)], texts, vectors[[row[c] for c in clauses]], negated)

    def predict(self, embeddings: np.ndarray, texts: Sequence[str], clauses: np.ndarray | None = None,
                negated: tuple[np.ndarray, np.ndarray] | None = None) -> list[SentimentResult]:
        features = self.features(embeddings, texts, clauses, negated)
        scores = 2.0 * self.head.probabilities(features)[:, 0] - 1.0
        band = float(self.head.thresholds[0])
        labels = np.where(scores >= band, "positive", np.where(scores <= -band, "negative", "neutral"))
        return [SentimentResult(float(s), str(label)) for s, label in zip(scores, labels, strict=True)]


def toxicity_features(kind: str, texts: Sequence[str], embeddings: np.ndarray | None = None,
                      lexical: np.ndarray | None = None) -> np.ndarray:
    """A toxicity head of `kind`'s input rows: the parts its name lists ("embedding", "lexical",
    "offence"), side by side, for `texts` (already cleaned) and their MiniLM / lexical vectors."""
    parts = []
    for part in kind.split("+"):
        if part == "offence":
            parts.append(offence_features(texts))
            continue
        vectors = {"embedding": embeddings, "lexical": lexical}[part]
        if vectors is None:
            raise ValueError(f"a {kind!r} toxicity head reads the texts' {part} vectors")
        parts.append(np.asarray(vectors, dtype=np.float64))
    return np.hstack(parts)


class ToxicityHead:
    """Score = the highest output probability; categories = the outputs at or above their threshold.

    The head reads, per text (as `clean_text` leaves it), the features its kind names side by side: the
    MiniLM embedding, the hashed n-gram vector (`LexicalEmbeddings`) and `offence_features`.
    """

    def __init__(self, head: LinearHead) -> None:
        self.head = head

    @classmethod
    def load(cls, name_or_path: str | Path) -> ToxicityHead:
        return cls(LinearHead.load(name_or_path))

    @property
    def reads_embedding(self) -> bool:
        return "embedding" in self.head.features.split("+")

    @property
    def reads_lexical(self) -> bool:
        return "lexical" in self.head.features.split("+")

    def features(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                 lexical: np.ndarray | None = None) -> np.ndarray:
        """The head's input rows for `texts` (already cleaned), from the vectors its kind reads."""
        return toxicity_features(self.head.features, texts, embeddings, lexical)

    def predict(self, features: np.ndarray) -> list[ToxicityResult]:
        """Results from the head's input rows (`features`)."""
        probs = self.head.probabilities(features)
        fired = probs >= self.head.thresholds
        return [ToxicityResult(float(row.max()) if row.size else 0.0,
                               tuple(o for o, f in zip(self.head.outputs, hit, strict=True) if f))
                for row, hit in zip(probs, fired, strict=True)]
