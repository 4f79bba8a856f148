"""What the local sentiment and toxicity heads must get right on text nobody trained them on: negation,
contrast, insults without profanity, masked profanity, floods and moderation notes, on both MiniLM runtimes
(torch and the int8 ONNX model). None of these sentences is in the training data."""

from __future__ import annotations

import numpy as np
import pytest

from otel_llm._backends.local import LocalSentiment, LocalToxicity
from otel_llm._backends.onnx import OnnxEmbeddings, onnx_available
from otel_llm._training.crossval import roc_auc
from otel_llm._training.data import find_data_dir, load_team_toxicity
from otel_llm._weights import clean_text, main_clause, negation_scopes, scope_sums

pytestmark = pytest.mark.slow

NEGATED_POSITIVE = ["Honestly, the hotel was not bad at all.", "I have no complaints about the new keyboard.",
                    "The tutorial wasn't confusing in the slightest."]
NEGATED_NEGATIVE = ["The sequel is not good, and the jokes are not funny.",
                    "This charger doesn't work with my laptop.", "The answer was not helpful at all."]
CONTRAST_POSITIVE = ["The first chapter is slow, but the rest of the book is wonderful.",
                     "Although the queue was long, the staff were lovely and the meal was superb."]
CONTRAST_NEGATIVE = ["The trailer looked exciting, but the film itself is a tedious mess.",
                     "The phone is pretty, however the battery dies before lunch."]


@pytest.fixture(scope="module", params=["torch", "onnx-int8"])
def runtime(request):
    """MiniLM on torch, then on the int8 ONNX model that OTEL_LLM_LOCAL_RUNTIME=auto picks without AMX."""
    if request.param == "torch":
        return request.getfixturevalue("minilm")
    if not onnx_available():
        pytest.skip("onnxruntime is not installed")
    return OnnxEmbeddings()


def _labels(embeddings, texts):
    return [r.label for r in LocalSentiment(embeddings).sentiment(texts)]


def test_negation_flips_sentiment(runtime):
    assert _labels(runtime, NEGATED_POSITIVE[:2]) == ["positive"] * 2
    assert _labels(runtime, NEGATED_NEGATIVE) == ["negative"] * len(NEGATED_NEGATIVE)


@pytest.mark.xfail(strict=True, reason="known error, in docs/metrics/sentiment.md: a negated word that reads "
                   "only mildly negative alone ('wasn't confusing in the slightest') flips only to neutral")
def test_negation_flips_a_mild_word(runtime):
    assert _labels(runtime, NEGATED_POSITIVE[2:]) == ["positive"]


def test_contrast_is_judged_by_its_conclusion(runtime):
    assert _labels(runtime, CONTRAST_POSITIVE) == ["positive"] * len(CONTRAST_POSITIVE)
    assert _labels(runtime, CONTRAST_NEGATIVE) == ["negative"] * len(CONTRAST_NEGATIVE)


def test_negation_scopes_are_the_negated_phrases():
    assert negation_scopes("The hotel was not bad.") == ["bad"]
    assert negation_scopes("It wasn't slow at all, and it never crashed.") == ["slow", "slow", "crashed"]
    assert negation_scopes("Not at all cheap") == ["cheap", "cheap"]  # emphatic: counted twice
    assert negation_scopes("It does not work with my old phone.") == ["work with my"]  # 3 words at most
    for idiom in ("Not only fast but cheap.", "Couldn't be happier.", "I can't wait!", "No doubt it works."):
        assert negation_scopes(idiom) == []
    assert negation_scopes("A plain sentence.") == []


def test_negated_phrases_weigh_by_sentence():
    ones = scope_sums(lambda phrase: np.ones(2), ["Not bad at all.", "Not bad. Fine. Good!", "Fine."], 2)
    np.testing.assert_allclose(ones, [[2, 2], [1 / 3, 1 / 3], [0, 0]])


def test_main_clause_is_what_follows_the_contrast():
    assert main_clause("Good idea, but the code is slow.") == "the code is slow."
    assert main_clause("Although it rained, we had a lovely day out.") == "we had a lovely day out."
    plain = "A plain sentence with nothing to turn on."
    assert main_clause(plain) is plain  # same object: its cached embedding is reused
    assert main_clause("It is fine but odd") == "It is fine but odd"  # too short a conclusion to trust


INSULTS = ["You are a pathetic excuse for a human.", "Honestly, you are the dumbest person on this forum.",
           "Nobody here respects a spineless little weasel like you."]
MASKED = ["What a f*cking waste of time.", "Stop acting like a dumbass.", "You absolute sh1thead.",
          "Who approved this b1tch of a patch?", "Whoever wrote this is a total a$$hat."]
HARMLESS = ["aaaaaaaaaaaa!!!!!!!!!!!!", "hahahahahahahaha!!!!!!!",
            "Please do not remove the warning templates; discuss on the talk page.",
            "I have reverted your edit because it removed sourced content; please discuss first.",
            "Kindly keep comments on topic; off-topic threads will be archived by a moderator.",
            "This thread is locked. Please open a new one if the problem persists.",
            "To reset your password, open Settings and choose Security."]
FORUM_FLOOR = 0.95  # held-out forum ROC AUC: 0.975 on both runtimes; the previous blend 0.94


def test_insults_without_profanity_and_masked_profanity_are_toxic(runtime):
    results = LocalToxicity(runtime).toxicity(INSULTS + MASKED)
    assert [r.score > 0.5 for r in results] == [True] * len(results)
    assert all("toxic" in r.categories for r in results)


def test_floods_and_moderation_notes_are_not_toxic(runtime):
    results = LocalToxicity(runtime).toxicity(HARMLESS)
    assert [r.score < 0.5 for r in results] == [True] * len(HARMLESS)
    assert all(r.categories == () for r in results)


@pytest.mark.xfail(strict=True, reason="known errors, in docs/metrics/toxicity.md: a one-word flood cut to a "
                   "short interjection ('whee') scores toxic; a profane request without an insult is missed")
def test_short_interjections_and_profane_requests(runtime):
    flood, request = LocalToxicity(runtime).toxicity(["wheeeeeeeeeeeeee",
                                                      "Read the f**king manual before you post."])
    assert flood.score < 0.5 and request.score > 0.5


def test_held_out_forum_comments_are_ranked_toxic_above_the_rest(runtime):
    team = load_team_toxicity(find_data_dir())
    held_out = team.split == "test"
    texts = [t for t, keep in zip(team.texts, held_out, strict=True) if keep]
    scores = np.array([r.score for r in LocalToxicity(runtime).toxicity(texts)])
    truth = team.toxic[held_out]
    assert roc_auc(truth, scores) >= FORUM_FLOOR
    assert np.mean(scores[truth == 0] >= 0.5) <= 0.1  # at most 2 of the 22 harmless comments flagged


def test_clean_text_spells_out_masked_profanity_and_cuts_floods():
    assert clean_text("f*cking dumbf*ck, sh1t, a$$hole") == "fucking dumbfuck, shit, asshole"
    assert clean_text("nooooooo!!!!!!") == "noo!!"
    for prose in ("Use **bold** text and 3 * 4 = 12.", "Wait... see item 1st in class 4.", "0xa55b", "cool"):
        assert clean_text(prose) == prose
