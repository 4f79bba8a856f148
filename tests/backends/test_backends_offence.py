"""The profanity / insult signal the toxicity heads read: masked, leetspeak and compound spellings count,
ordinary words that contain a profane root do not."""

from __future__ import annotations

import numpy as np
import pytest

from otel_llm._weights import toxicity_features
from otel_llm._weights.offence import OFFENCE_FEATURES, is_insult, is_profane, offence_features


@pytest.mark.parametrize("word", ["f*cking", "fuuuuck", "sh1t", "bullsh*t", "a$$hole", "dumbass", "jackass",
                                  "d1ckhead", "b*tch", "pr1ck", "F***", "motherf*cker", "shitheads"])
def test_masked_and_compound_profanity_is_profane(word):
    assert is_profane(word)


@pytest.mark.parametrize("word", ["class", "assistant", "passing", "cocktail", "peacock", "scrap", "shoe",
                                  "Dickens", "therapist", "title", "arsenal", "hello", "****", "1234"])
def test_ordinary_words_are_not_profane(word):
    assert not is_profane(word)


def test_insults_need_no_profanity():
    assert is_insult("moron") and is_insult("Worthless") and is_insult("halfw1t".replace("1", "i"))
    assert not is_insult("moderator") and not is_insult("warning")


def test_offence_features_count_profanity_insults_and_address():
    rows = offence_features(["You are a f*cking moron.", "The moderator archived the thread.", "", "sh1t"])
    assert rows.shape == (4, OFFENCE_FEATURES)
    np.testing.assert_allclose(rows[0], [np.log(2), np.log(2), 1.0, 2 / 5])
    np.testing.assert_array_equal(rows[1], 0.0)
    np.testing.assert_array_equal(rows[2], 0.0)
    assert rows[3, 0] > 0 and rows[3, 2] == 0.0  # profane, but addressed to nobody


def test_toxicity_features_put_the_parts_side_by_side():
    texts, embeddings, lexical = ["you idiot", "hello"], np.ones((2, 3)), np.zeros((2, 5))
    both = toxicity_features("embedding+lexical+offence", texts, embeddings, lexical)
    assert both.shape == (2, 3 + 5 + OFFENCE_FEATURES)
    np.testing.assert_array_equal(both[:, 8:], offence_features(texts))
    with pytest.raises(ValueError, match="lexical"):
        toxicity_features("embedding+lexical+offence", texts, embeddings)
