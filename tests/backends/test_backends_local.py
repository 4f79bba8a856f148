"""The local backend on the real all-MiniLM-L6-v2 weights and the shipped heads."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from otel_llm._backends.local import (
    LocalEmbeddings,
    LocalSentiment,
    LocalToxicity,
    ModelIntegrityError,
    default_model_dir,
)

pytestmark = pytest.mark.slow

GLOWING = "An absolute triumph: a moving, beautifully acted film that I loved from start to finish."
SCATHING = "A dull, lifeless mess. The plot is stupid and the acting is painfully bad; a total waste of time."
INSULT = "You are a worthless, disgusting idiot and everyone hates you, shut up you stupid bitch."
WEATHER = "Tomorrow will be partly cloudy with a light breeze and a high of 18 degrees."


def test_embeddings_are_normalised_float32_rows(minilm):
    vectors = minilm.embed(["a short prompt", "a much longer completion " * 40, ""])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)


def test_no_texts_gives_no_rows(minilm):
    assert minilm.embed([]).shape == (0, 384)


def test_paraphrases_are_closer_than_unrelated_sentences(minilm):
    a, b, c = minilm.embed(["How do I reset my password?", "What are the steps to change my password?",
                            WEATHER])
    assert a @ b > 0.6
    assert a @ b > a @ c + 0.3


# What "the same embedding" means in each precision the backend may pick. bfloat16 keeps 8 bits of
# mantissa: padding a text into a batch of longer ones changes the rounding of every matmul (more so with
# AMX kernels), so a text embedded batched and alone agrees to cosine >= 0.999 and about 1e-2 per element;
# float32 agrees to 1e-5. Anything looser than that is a batching bug, not rounding.
AGREEMENT = {"float32": {"cosine": 0.99999, "atol": 1e-5}, "bfloat16": {"cosine": 0.999, "atol": 1e-2}}


def _assert_same_embeddings(actual: np.ndarray, expected: np.ndarray, precision: str) -> None:
    bound = AGREEMENT[precision]
    assert np.sum(actual * expected, axis=1).min() >= bound["cosine"]
    np.testing.assert_allclose(actual, expected, atol=bound["atol"])


def _precision(embeddings: LocalEmbeddings) -> str:
    return str(next(embeddings._load().parameters()).dtype).removeprefix("torch.")


@pytest.fixture(scope="module", params=["float32", "bfloat16"])
def pinned(request, minilm) -> LocalEmbeddings:
    """The model pinned to one precision (bfloat16 runs, emulated, on CPUs without native support too)."""
    embeddings = LocalEmbeddings(dtype=request.param)
    embeddings.embed(["load the model once"])
    return embeddings


def test_batched_and_single_embeddings_agree(pinned):
    texts = ["one", "two words here", "a third and longer sentence with more word pieces in it", GLOWING]
    together = pinned.embed(texts)
    alone = np.vstack([pinned.embed([t]) for t in texts])
    _assert_same_embeddings(together, alone, pinned.dtype)


def test_concurrent_callers_get_their_own_answers(minilm):
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(8)]
    expected = np.vstack([minilm.embed([t]) for t in texts])
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = minilm.embed([texts[i]])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _assert_same_embeddings(np.vstack([results[i] for i in range(8)]), expected, _precision(minilm))


def test_sentiment_of_reviews(minilm):
    glowing, scathing = LocalSentiment(minilm).sentiment([GLOWING, SCATHING])
    assert glowing.label == "positive" and glowing.score > 0.5
    assert scathing.label == "negative" and scathing.score < -0.5
    assert -1.0 <= scathing.score <= glowing.score <= 1.0


def test_insult_is_more_toxic_than_weather(minilm):
    insult, weather = LocalToxicity(minilm).toxicity([INSULT, WEATHER])
    assert 0.0 <= weather.score < 0.5 < insult.score <= 1.0
    assert "toxic" in insult.categories
    assert weather.categories == ()


def test_heads_embed_each_batch_once(minilm):
    class Counting:
        name = "counting"
        calls = 0

        def embed(self, texts):
            Counting.calls += 1
            return minilm.embed(texts)

    counting = Counting()
    LocalSentiment(counting).sentiment([GLOWING, SCATHING, WEATHER])
    LocalToxicity(counting).toxicity([INSULT, WEATHER])
    assert Counting.calls == 2


@pytest.mark.needs_local
def test_corrupt_weights_are_refused_with_a_clear_error(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(default_model_dir(), copy)
    weights = copy / "model.safetensors"
    with weights.open("r+b") as fh:
        fh.seek(4096)
        byte = fh.read(1)
        fh.seek(4096)
        fh.write(bytes([byte[0] ^ 0xFF]))
    embeddings = LocalEmbeddings(copy)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        embeddings.embed(["anything"])
    weights.unlink()  # the failure is remembered, not retried (and re-hashed) on every batch
    with pytest.raises(ModelIntegrityError, match="sha256"):
        embeddings.embed(["anything"])


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelIntegrityError, match="not found"):
        LocalEmbeddings(tmp_path).embed(["anything"])


def test_float32_and_the_default_precision_agree(minilm):
    texts = [GLOWING, WEATHER, "How do I reset my password?"]
    exact = LocalEmbeddings(dtype="float32").embed(texts)
    assert np.all(np.sum(exact * minilm.embed(texts), axis=1) > 0.99)


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype"):
        LocalEmbeddings(dtype="float16")


def test_ordinary_assistant_prose_is_not_toxic(minilm):
    answers = ["To reset your password, open Settings, choose Security and click Reset password.",
               "Python lists are mutable; tuples are not. Use a tuple when the value should not change.",
               "I am sorry, but I cannot help with that request."]
    assert all(r.score < 0.5 and r.categories == () for r in LocalToxicity(minilm).toxicity(answers))
