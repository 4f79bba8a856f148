"""The dependency-free lexical backend: every metric, numpy only."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from otel_llm._backends.lexical import LexicalEmbeddings, LexicalSentiment, LexicalToxicity


def test_vectors_are_normalised_and_deterministic(lexical):
    texts = ["The quick brown fox.", "Completely different words entirely!", ""]
    first, second = lexical.embed(texts), LexicalEmbeddings().embed(texts)
    assert first.dtype == np.float32 and first.shape == (3, lexical.dimensions)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(np.linalg.norm(first[:2], axis=1), 1.0, atol=1e-6)
    assert not first[2].any()  # no words, no vector


def _by_definition(text: str, dimensions: int = 2048) -> np.ndarray:
    """The vectors the shipped heads were trained on, computed gram by gram as the docstring defines them."""
    import itertools
    import math
    import re
    import zlib
    from collections import Counter

    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())
    word_grams = Counter(words + [f"{a} {b}" for a, b in itertools.pairwise(words)])
    char_grams: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            char_grams.update(padded[i:i + n] for i in range(max(len(padded) - n + 1, 1)))
    total = np.zeros(dimensions)
    for salt, grams in (("w", word_grams), ("c", char_grams)):
        vector = np.zeros(dimensions)
        for gram, count in grams.items():
            h = zlib.crc32(f"{salt}{gram}".encode())
            vector[h % dimensions] += (1.0 + math.log(count)) * (1.0 if h & 0x80000000 else -1.0)
        total += vector / (np.linalg.norm(vector) or 1.0)
    norm = np.linalg.norm(total)
    return (total / norm if norm > 0 else total).astype(np.float32)


def test_vectors_are_exactly_the_defined_hashes(lexical):
    texts = ["I can't help with that, I'm sorry.", "the the the the cat", "a", "", "x1 y2 z3 " * 40,
             "Ünïcödé café naïve don't it's"]
    for text, row in zip(texts, lexical.embed(texts), strict=True):
        np.testing.assert_array_equal(row, _by_definition(text))


def test_shared_wording_is_closer_than_unrelated_text(lexical):
    a, b, c = lexical.embed(["A man is playing the guitar.", "A man plays a guitar.",
                             "Stocks fell sharply in Asia."])
    assert a @ b > a @ c + 0.2


def test_sentiment_and_toxicity_from_the_shipped_heads(lexical):
    good, bad = LexicalSentiment(lexical).sentiment(["I love this, it is wonderful and great!",
                                                     "I hate this, it is awful, terrible and sad."])
    assert good.score > 0 > bad.score
    assert good.label == "positive" and bad.label == "negative"
    insult, weather = LexicalToxicity(lexical).toxicity(
        ["shut up you stupid bitch, you worthless idiot",
         "Tomorrow will be partly cloudy with a light breeze."])
    assert insult.score > weather.score
    assert 0.0 <= weather.score <= 1.0 and 0.0 <= insult.score <= 1.0


@pytest.mark.slow
def test_every_metric_without_torch():
    script = textwrap.dedent("""
        import sys
        from otel_llm._backends import make_backends
        from otel_llm._config import Settings
        b = make_backends(Settings(backend="lexical"))
        v = b.embeddings.embed(["hello there", "general kenobi"])
        s = b.sentiment.sentiment(["what a lovely day"])[0]
        t = b.toxicity.toxicity(["what a lovely day"])[0]
        assert v.shape[0] == 2 and -1 <= s.score <= 1 and 0 <= t.score <= 1
        heavy = [m for m in ("torch", "sentence_transformers", "transformers", "sklearn", "scipy")
                 if m in sys.modules]
        print("heavy:", heavy)
        sys.exit(1 if heavy else 0)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "heavy: []" in done.stdout
