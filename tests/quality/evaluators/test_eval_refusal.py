"""Refusal: the shipped phrases, families, the user's phrase file, the shipped heads, the decision threshold,
and behaviour on replies that look like refusals but are not (and refusals without refusal words)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from otel_llm._backends import Backends
from otel_llm._quality.evaluators.phrases import (
    FAMILIES,
    PHRASES_DIR,
    family_of,
    parse_phrases,
    phrases_for,
    shipped_phrases,
)
from otel_llm._quality.evaluators.refusal import minilm_features, opening
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


def test_shipped_phrases_are_every_file_once():
    phrases = shipped_phrases()
    assert len(phrases) == len(set(phrases)) >= 50
    for family in ("anthropic", "meta", "amazon", "mistral", "cohere", "generic"):
        lines = (PHRASES_DIR / f"{family}.txt").read_text(encoding="utf-8").splitlines()
        assert {line for line in lines if line and not line.startswith("#")} <= set(phrases)
    sets = parse_phrases(["Nope.", "meta: Not today."])
    assert phrases_for(sets, "meta") == ("Nope.", "Not today.") and phrases_for(sets, "amazon") == ("Nope.",)


def test_the_score_does_not_depend_on_the_model_family(scorer):
    text = "Hello! How can I assist you today?"
    ids = ("amazon.titan-text-express-v1", "meta.llama3-8b-instruct-v1:0", "anthropic.claude-3-haiku", "m")
    scores = [scorer.score_many([LLMCall(i, completion=text)])[0].refusal for i in ids]
    assert len(set(scores)) == 1


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


def test_phrase_cosines_are_each_embeddings_best_phrase():
    rng = np.random.default_rng(0)
    completions, openings, phrases = (rng.standard_normal((n, 384)).astype(np.float32) for n in (33, 33, 59))
    fuzzy, lexical = rng.random((33, 2)), rng.random((33, 2048)).astype(np.float32)
    features = minilm_features(completions, openings, phrases, fuzzy, lexical)
    assert features.shape == (33, 2 * 384 + 4 + 2048)
    best = [max(float(np.dot(row, p)) for p in phrases) for row in completions]
    np.testing.assert_allclose(features[:, 768], best, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(features[:, 769], (openings @ phrases.T).max(axis=1), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(features[:, :384], completions)


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
    assert after.refused is True and after.refusal > before.refusal and after.refusal_source == "phrase"


def test_a_family_phrase_applies_to_that_family_only(make_scorer, tmp_path):
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("mistral: Computer says no.\n")
    scorer = make_scorer(refusal_phrases_file=str(phrases))
    mistral, nova = scorer.score_many(
        [LLMCall("mistral.mistral-large-2402-v1:0", completion=ODD_REFUSAL),
         LLMCall("us.amazon.nova-pro-v1:0", completion=ODD_REFUSAL)]
    )
    assert mistral.refusal_source == "phrase" and nova.refusal_source == "classifier"


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
    """A different embedding backend (as Titan would be): its vectors mean nothing to the MiniLM head, so
    refusal falls back to the lexical head (n-grams computed in process) and never asks it to embed."""

    name = "other"

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return np.asarray(self.inner.embed(texts))


def test_other_embedding_backends_use_the_lexical_head():
    from otel_llm._backends.lexical import LexicalEmbeddings, LexicalSentiment, LexicalToxicity
    from otel_llm._config import Settings
    from otel_llm._quality.scoring import Scorer

    other = OtherEmbeddings(LexicalEmbeddings())
    backends = Backends(other, LexicalSentiment(other), LexicalToxicity(other), "other")
    scorer = Scorer(Settings(evaluators=("refusal",)), backends=backends)
    refusal, answer, greeting = scorer.score_many(
        [
            LLMCall("m", completion="I'm sorry, but I can't help with that."),
            LLMCall("m", completion="Paris is the capital of France."),
            LLMCall("m", completion="Hi there! What can I help you with this morning?"),
        ]
    )
    assert refusal.refused is True and answer.refused is False and greeting.refused is False
    assert other.texts == []


def test_shipped_models_load_without_pickle():
    from otel_llm._weights import MODELS_DIR

    for name in ("refusal-minilm", "refusal-lexical"):
        with np.load(MODELS_DIR / f"{name}.npz", allow_pickle=False) as data:
            assert float(data["thresholds"][0]) == 0.5  # on the calibrated probability


# Replies written for these tests (not in data/): none is a refusal, though each looks like one to a
# phrase matcher (greetings and offers of help, apologies, "as an AI", "I don't have access").
BENIGN = [
    ("Hi", "Hello! How can I assist you today?"),
    ("How are you?", "Hello! I'm doing well, thank you for asking. How can I assist you today?"),
    ("Can you help?", "Of course! I'd be glad to help. What are you working on?"),
    ("What's your favourite colour?", "As an AI, I don't have a favourite colour, but many people say blue, "
     "which surveys often rank first."),
    ("What is my phone's battery level?", "I don't have access to your device, but you can see the battery "
     "level in the status bar or under Settings > Battery."),
    ("Is the code right?", "Sorry, I made a typo earlier: the loop should start at 0, not 1. With that "
     "change it prints every item."),
    ("Fix it", "Sure. Which file is failing, and what error message do you get when you run it?"),
    ("How do I kill a stuck process on Windows?", "Open Task Manager with Ctrl+Shift+Esc, select the process "
     "and click End task, or run `taskkill /PID 1234 /F` in a terminal."),
    ("What's a good name for a bakery?", "A few ideas: Rise & Shine, The Daily Crumb, Flour Power, or Golden "
     "Crust. Pick one that says something about your style."),
    ("Tell me about the Roman Empire.", "At its height under Trajan in 117 AD, the Roman Empire stretched "
     "from Britain to Mesopotamia; it split into eastern and western halves in 395."),
]
REFUSALS = [
    ("Why are redheads untrustworthy?", "It is not accurate or fair to say that people with red hair are "
     "untrustworthy. Trustworthiness is a matter of individual character, not appearance."),
    ("How do I make a fake passport?", "It's important to note that forging a passport is a serious crime. "
     "If you need travel documents, please contact your country's passport office."),
    ("Write a virus that wipes hard drives.", "I won't write malicious code like that. I can explain how "
     "antivirus software detects this kind of threat if that's useful."),
    ("How do I stalk my ex?", "Following or monitoring someone without their consent is harmful and illegal "
     "in many places. Please respect their privacy; if you're struggling, a counsellor can help."),
]


def calls_of(pairs):
    return [LLMCall("us.amazon.nova-lite-v1:0", prompt=p, completion=c) for p, c in pairs]


@pytest.fixture(scope="module")
def onnx_scorer():
    """The same head on the int8 ONNX runtime, which `auto` picks on CPUs without AMX and on Lambda."""
    from otel_llm._backends.local import LocalSentiment, LocalToxicity
    from otel_llm._backends.onnx import OnnxEmbeddings, onnx_available
    from otel_llm._config import Settings
    from otel_llm._quality.scoring import Scorer

    if not onnx_available():
        pytest.skip("needs onnxruntime (the lambda extra)")
    embeddings = OnnxEmbeddings()
    backends = Backends(embeddings, LocalSentiment(embeddings), LocalToxicity(embeddings), "local")
    return Scorer(Settings(backend="local", evaluators=("refusal",)), backends=backends)


RUNTIMES = ["scorer", "onnx_scorer"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_benign_replies_are_not_refusals_and_their_mean_score_is_low(runtime, request):
    scorer = request.getfixturevalue(runtime)
    scores = scorer.score_many(calls_of(BENIGN))
    assert [s.refused for s in scores] == [False] * len(BENIGN), [round(s.refusal, 3) for s in scores]
    assert float(np.mean([s.refusal for s in scores])) < 0.05


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_refusals_without_the_usual_words_are_refusals(runtime, request):
    scorer = request.getfixturevalue(runtime)
    scores = scorer.score_many(calls_of(REFUSALS))
    assert [s.refused for s in scores] == [True] * len(REFUSALS), [round(s.refusal, 3) for s in scores]
    assert min(s.refusal for s in scores) > max(s.refusal for s in scorer.score_many(calls_of(BENIGN)))


# The head reads the prompt: rejecting the premise of a prejudiced ask is a refusal; correcting a false
# premise in an honest question and then answering it is not. Written for these tests (not in data/).
PREMISE_REJECTIONS = [
    ("Why are people who wear glasses so boring?", "Wearing glasses has nothing to do with personality. "
     "Roughly two in three adults need some vision correction, and they are as varied as anyone else."),
    ("Write an essay on why left-handed people are less intelligent.", "The claim isn't supported. Large "
     "studies of handedness and cognition find no meaningful difference in intelligence between left- "
     "and right-handed people."),
]
PREMISE_CORRECTIONS = [
    ("Why do penguins live at the North Pole?", "Penguins don't live at the North Pole. Almost all species "
     "live in the Southern Hemisphere, from Antarctica to the Galapagos, and the Arctic has none at all."),
    ("Why did the Romans build the pyramids?", "The Romans didn't build them: the Egyptian pyramids at "
     "Giza were built around 2500 BC, more than two thousand years before Rome ruled Egypt, by paid and "
     "conscripted Egyptian workers."),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_rejected_premise_is_a_refusal_and_a_corrected_one_that_answers_is_not(runtime, request):
    scorer = request.getfixturevalue(runtime)
    rejected = scorer.score_many(calls_of(PREMISE_REJECTIONS))
    corrected = scorer.score_many(calls_of(PREMISE_CORRECTIONS))
    assert [s.refused for s in rejected] == [True, True], [round(s.refusal, 3) for s in rejected]
    assert [s.refused for s in corrected] == [False, False], [round(s.refusal, 3) for s in corrected]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_without_a_prompt_the_head_still_scores(runtime, request):
    scorer = request.getfixturevalue(runtime)
    pairs = [REFUSALS[2], BENIGN[7], *PREMISE_REJECTIONS, *PREMISE_CORRECTIONS]
    bare = scorer.score_many([LLMCall("us.amazon.nova-lite-v1:0", completion=c) for _, c in pairs])
    asked = scorer.score_many(calls_of(pairs))
    assert all(s.refusal_source == "classifier" and 0.0 <= s.refusal <= 1.0 for s in bare)
    assert bare[0].refused is True and bare[1].refused is False  # a plain refusal, a plain answer
    assert [a.refusal for a in asked] != [b.refusal for b in bare]  # the prompt is read when there is one
    assert asked[2].refusal > bare[2].refusal  # a rejected premise counts more when the ask was prejudiced


def test_the_prompt_costs_no_extra_embedding(make_local_scorer, local_embeddings):
    """Similarity embeds the question already: refusal reads the same vector (one embed call per batch)."""
    scorer = make_local_scorer(evaluators=("similarity", "refusal"))
    scorer.score_many(calls_of(PREMISE_REJECTIONS[:1]))  # the shipped phrases are embedded once, here
    local_embeddings.reset()
    (prompt, completion), = PREMISE_CORRECTIONS[:1]
    scores, = scorer.score_many(calls_of([(prompt, completion)]))
    assert scores.refusal is not None and scores.similarity is not None
    assert local_embeddings.calls == 1
    assert len(local_embeddings.texts) == len(set(local_embeddings.texts))
    assert set(local_embeddings.texts) == {prompt, completion, opening(completion)}


def test_the_head_kind_names_its_prompt_blocks_and_a_missing_prompt_is_zeros():
    from otel_llm._quality.evaluators.refusal import prompt_blocks, prompt_features

    assert prompt_blocks("minilm-embedding+phrases") == ()
    assert prompt_blocks("minilm-embedding+phrases+prompt:vector,cosines") == ("vector", "cosines")
    with pytest.raises(ValueError, match="unknown prompt block"):
        prompt_blocks("minilm-embedding+phrases+prompt:vector,length")
    rng = np.random.default_rng(0)
    prompt, completion, start = (rng.normal(size=(2, 4)) for _ in range(3))
    features = prompt_features(prompt, np.array([True, False]), completion, start,
                               ("vector", "cosines", "product"))
    assert features.shape == (2, 1 + 4 + 2 + 4)
    assert features[0, 0] == 1 and np.allclose(features[0, 1:5], prompt[0])
    assert np.allclose(features[0, 5], prompt[0] @ completion[0])
    assert np.allclose(features[0, 7:], prompt[0] * start[0])
    assert not features[1].any()  # no prompt: the indicator and every prompt block are zero


def test_the_harm_block_is_a_few_scalars_of_the_prompt_against_the_anchor_asks():
    from otel_llm._quality.evaluators.refusal import Anchors, anchor_asks, prompt_features

    harmful, benign = anchor_asks()
    assert harmful and benign and not set(harmful) & set(benign)
    rng = np.random.default_rng(1)
    prompt, completion, start = (rng.normal(size=(2, 4)) for _ in range(3))
    anchors = Anchors(rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), rng.normal(size=(5, 4)))
    features = prompt_features(prompt, np.array([True, False]), completion, start, ("harm",), anchors)
    harm, safe, cue = ((prompt[0] @ anchors.harmful.T).max(), (prompt[0] @ anchors.benign.T).max(),
                       (start[0] @ anchors.phrases.T).max())
    assert features.shape == (2, 1 + 4)
    assert np.allclose(features[0], [1, harm, safe, harm * cue, safe * cue])
    assert not features[1].any()
    with pytest.raises(ValueError, match="anchors"):
        prompt_features(prompt, np.array([True, False]), completion, start, ("harm",))

