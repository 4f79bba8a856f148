"""Refusal phrase sets, families, the user's phrase file, the shipped models and the decision threshold."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from otel_llm._backends import Backends
from otel_llm._quality.evaluators.phrases import (
    FAMILIES,
    PHRASES_DIR,
    family_of,
    load_phrase_sets,
    parse_phrases,
    phrases_for,
)
from otel_llm._quality.evaluators.refusal import opening
from otel_llm.record import LLMCall

ODD_REFUSAL = "Computer says no. This unit will not be processing your ticket today."


def test_parse_phrases_understands_families_comments_and_colons():
    sets = parse_phrases(
        [
            "# a comment",
            "",
            "Sorry, no.",
            "meta: I cannot fulfill that.",
            "llama: Not happening.",
            "Note: I cannot do that.",
            "openai:   I can't help.",
        ]
    )
    assert sets["generic"] == ("Sorry, no.", "Note: I cannot do that.")
    assert sets["meta"] == ("I cannot fulfill that.", "Not happening.")
    assert sets["openai"] == ("I can't help.",)
    with pytest.raises(ValueError, match="line 1"):
        parse_phrases(["anthropic:"])


def test_shipped_phrase_sets_cover_the_families():
    sets = load_phrase_sets()
    for family in ("anthropic", "meta", "amazon", "mistral", "cohere", "generic"):
        assert (PHRASES_DIR / f"{family}.txt").is_file()
        assert len(sets[family]) >= 5
    assert set(phrases_for(sets, "anthropic")) == set(sets["generic"]) | set(sets["anthropic"])
    assert phrases_for(sets, "deepseek") == sets["generic"]


@pytest.mark.parametrize(
    "call, family",
    [
        (LLMCall("us.anthropic.claude-3-5-sonnet-20240620-v1:0"), "anthropic"),
        (LLMCall("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0"), "meta"),
        (LLMCall("eu.amazon.nova-lite-v1:0"), "amazon"),
        (LLMCall("cohere.command-r-plus-v1:0"), "cohere"),
        (LLMCall("openai.gpt-oss-120b-1:0"), "openai"),
        (LLMCall("my-sagemaker-endpoint", family="llama"), "meta"),
        (LLMCall("my-gateway-model"), "generic"),
        (LLMCall(""), "generic"),
    ],
)
def test_family_of_a_call(call, family):
    assert family_of(call) == family
    assert family in FAMILIES


def test_opening_is_the_first_two_sentences():
    assert (
        opening("  I can't do that. It is unsafe! Here is why: many reasons.")
        == "I can't do that. It is unsafe!"
    )


def test_user_phrase_file_teaches_a_new_refusal_style(make_local_scorer, tmp_path):
    call = LLMCall(
        "mistral.mistral-large-2402-v1:0", prompt="Please refund my ticket", completion=ODD_REFUSAL
    )
    before = make_local_scorer().score_many([call])[0]
    phrases = tmp_path / "phrases.txt"
    phrases.write_text(
        "# our support bot's refusals\nmistral: Computer says no.\nThis unit will not be processing that.\n"
    )
    after = make_local_scorer(refusal_phrases_file=str(phrases)).score_many([call])[0]
    assert before.refused is False
    assert after.refused is True and after.refusal > before.refusal


def test_missing_phrase_file_is_reported_and_shipped_phrases_still_work(make_local_scorer, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="otel_llm")
    scorer = make_local_scorer(refusal_phrases_file=str(tmp_path / "nope.txt"))
    assert scorer.score_many([LLMCall("m", completion="I'm sorry, but I can't help with that.")])[0].refused


def test_threshold_override(make_local_scorer):
    call = LLMCall("m", completion="I'm sorry, but I can't help with that.")
    tuned = make_local_scorer().score_many([call])[0]
    strict = make_local_scorer(refusal_threshold=1.01).score_many([call])[0]
    assert tuned.refused is True and strict.refused is False and strict.refusal == tuned.refusal


class OtherEmbeddings:
    """A different embedding backend (as Titan would be): cosines on its scale mean nothing to the MiniLM
    model, so refusal falls back to the fuzzy-only model and never asks it to embed the completion."""

    name = "other"

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return np.asarray(self.inner.embed(texts))


def test_other_embedding_backends_use_the_fuzzy_model():
    from otel_llm._backends.lexical import LexicalEmbeddings, LexicalSentiment, LexicalToxicity
    from otel_llm._config import Settings
    from otel_llm._quality.scoring import Scorer

    other = OtherEmbeddings(LexicalEmbeddings())
    backends = Backends(other, LexicalSentiment(other), LexicalToxicity(other), "other")
    scorer = Scorer(Settings(evaluators=("refusal",)), backends=backends)
    refusal, answer = scorer.score_many(
        [
            LLMCall("m", completion="I'm sorry, but I can't help with that."),
            LLMCall("m", completion="Paris is the capital of France."),
        ]
    )
    assert refusal.refused is True and answer.refused is False
    assert other.texts == []


def test_shipped_models_load_without_pickle():
    from otel_llm._weights import MODELS_DIR

    for name in ("refusal-minilm", "refusal-fuzzy"):
        with np.load(MODELS_DIR / f"{name}.npz", allow_pickle=False) as data:
            assert 0.0 < float(data["thresholds"][0]) < 1.0
