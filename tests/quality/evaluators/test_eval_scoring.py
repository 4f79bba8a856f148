"""The four evaluators on the real local backend, with answers known in advance, and the Scorer's batching."""

from __future__ import annotations

import threading

import pytest

from otel_llm.record import SIGNAL_GUARDRAIL, SIGNAL_MODEL_REFUSAL, LLMCall

BREAD_PROMPT = "How do I bake a simple loaf of bread at home?"
BREAD_ANSWER = (
    "Mix 500 g of flour, 350 ml of warm water, a packet of yeast and a teaspoon of salt. Knead for ten "
    "minutes, let the dough rise for an hour, shape it, then bake at 220 C for about 30 minutes."
)
UNRELATED = (
    "The stock market closed slightly higher on Tuesday as investors awaited the central bank decision."
)
REFUSAL = "I'm sorry, but I can't help with that request."


def call(
    prompt: str, completion: str, model_id: str = "anthropic.claude-3-haiku-20240307-v1:0", **kw
) -> LLMCall:
    return LLMCall(model_id=model_id, prompt=prompt, completion=completion, **kw)


def test_stock_refusal_is_refused_and_a_plain_answer_is_not(scorer):
    refused, answered = scorer.score_many([call(BREAD_PROMPT, REFUSAL), call(BREAD_PROMPT, BREAD_ANSWER)])
    assert refused.refused is True and refused.refusal_source == "classifier"
    assert answered.refused is False
    assert refused.refusal > answered.refusal


@pytest.mark.parametrize(
    "model_id, text",
    [
        (
            "meta.llama3-70b-instruct-v1:0",
            "I cannot fulfill your request. I'm just an AI, and providing that "
            "information would go against my guidelines.",
        ),
        ("us.amazon.nova-pro-v1:0", "Sorry, I am unable to assist you with this request."),
        (
            "mistral.mistral-large-2402-v1:0",
            "I'm sorry, but I cannot assist with that request as it may cause harm.",
        ),
    ],
)
def test_family_styled_refusals_are_refused(scorer, model_id, text):
    assert scorer.score_many([call("Tell me how to pick a lock", text, model_id)])[0].refused is True


def test_relevant_answer_is_more_similar_than_an_unrelated_one(scorer):
    relevant, unrelated = scorer.score_many([call(BREAD_PROMPT, BREAD_ANSWER), call(BREAD_PROMPT, UNRELATED)])
    assert -1.0 <= unrelated.similarity < relevant.similarity <= 1.0
    assert relevant.similarity > 0.4


def test_insult_is_more_toxic_than_a_neutral_sentence(scorer):
    insult, neutral = scorer.score_many(
        [
            call("Reply", "You are a pathetic, worthless idiot and everybody despises you."),
            call("Reply", "The weather tomorrow will be cloudy with light winds from the west."),
        ]
    )
    assert 0.0 <= neutral.toxicity < insult.toxicity <= 1.0
    assert isinstance(insult.toxicity_categories, tuple)


def test_praise_is_more_positive_than_complaint(scorer):
    good, bad = scorer.score_many(
        [
            call("Review", "This is a wonderful, delightful film, and I loved every minute of it."),
            call("Review", "A dreadful, boring mess; I hated it and want my money back."),
        ]
    )
    assert -1.0 <= bad.sentiment < 0.0 < good.sentiment <= 1.0
    assert good.sentiment_label == "positive" and bad.sentiment_label == "negative"


def test_empty_prompt_gives_no_similarity_but_every_other_score(scorer):
    scores = scorer.score_many([call("", BREAD_ANSWER)])[0]
    assert scores.similarity is None
    assert None not in (scores.sentiment, scores.toxicity, scores.refusal, scores.refused)
    assert scores.backend == "local"


def test_empty_completion_gives_no_scores(scorer):
    scores = scorer.score_many([call(BREAD_PROMPT, "")])[0]
    assert (scores.similarity, scores.sentiment, scores.toxicity, scores.refusal) == (None, None, None, None)


@pytest.mark.parametrize("signal", [SIGNAL_GUARDRAIL, SIGNAL_MODEL_REFUSAL])
def test_exact_signal_wins_over_the_classifier(scorer, signal):
    scores = scorer.score_many([call(BREAD_PROMPT, BREAD_ANSWER, refusal_signal=signal)])[0]
    assert (scores.refusal, scores.refused, scores.refusal_source) == (1.0, True, signal)
    assert scores.similarity is not None  # the other evaluators still judge the text


def test_sampling_zero_skips_an_evaluator(make_scorer):
    scores = make_scorer(sample_rates=("toxicity=0",)).score_many([call(BREAD_PROMPT, BREAD_ANSWER)] * 3)
    assert all(s.toxicity is None for s in scores)
    assert all(s.sentiment is not None and s.similarity is not None for s in scores)


def test_exact_signals_count_even_when_refusal_is_sampled_out(make_scorer):
    scorer = make_scorer(sample_rates=("refusal=0",))
    blocked, plain = scorer.score_many(
        [
            call(
                BREAD_PROMPT, "Sorry, the model cannot answer this question.", refusal_signal=SIGNAL_GUARDRAIL
            ),
            call(BREAD_PROMPT, REFUSAL),
        ]
    )
    assert (blocked.refusal, blocked.refusal_source) == (1.0, SIGNAL_GUARDRAIL)
    assert plain.refusal is None and plain.similarity is not None


def test_switched_off_evaluators_do_not_run(make_scorer, counting_embeddings):
    scorer = make_scorer(evaluators=("similarity",))
    assert [e.name for e in scorer.evaluators] == ["similarity"]
    scores = scorer.score_many([call(BREAD_PROMPT, BREAD_ANSWER)])[0]
    assert (
        scores.similarity is not None and (scores.sentiment, scores.toxicity, scores.refusal) == (None,) * 3
    )


def test_a_batch_is_embedded_in_one_call_and_repeated_texts_once(make_scorer, counting_embeddings):
    scorer = make_scorer()
    scorer.score_many([call("warm up", "the refusal phrases get embedded once, here")])
    counting_embeddings.reset()
    batch = [
        call(BREAD_PROMPT, BREAD_ANSWER),
        call("Another question?", BREAD_ANSWER),
        call(BREAD_PROMPT, UNRELATED),
    ]
    first = scorer.score_many(batch)
    assert counting_embeddings.calls == 1
    assert counting_embeddings.texts.count(BREAD_ANSWER) == 1
    assert counting_embeddings.texts.count(BREAD_PROMPT) == 1
    counting_embeddings.reset()
    again = scorer.score_many(batch)  # everything cached: the model is not asked at all
    assert counting_embeddings.calls == 0
    assert [s.similarity for s in again] == [s.similarity for s in first]


def test_cache_is_bounded(make_scorer, counting_embeddings):
    scorer = make_scorer(cache_size=3)
    scorer.score_many([call(f"Question {i}?", f"Answer number {i}.") for i in range(6)])
    assert len(scorer.embeddings) == 3


def test_a_bad_record_does_not_break_the_batch(scorer):
    bad = call(BREAD_PROMPT, BREAD_ANSWER)
    bad.completion = b"bytes are not text"  # type: ignore[assignment]
    good, broken, other = scorer.score_many([call(BREAD_PROMPT, BREAD_ANSWER), bad, call("", REFUSAL)])
    assert good.similarity is not None and good.toxicity is not None and good.refused is False
    assert (broken.similarity, broken.sentiment, broken.toxicity, broken.refusal) == (None,) * 4
    assert other.refused is True


def test_scoring_from_many_threads_matches_scoring_alone(make_scorer):
    scorer = make_scorer()
    batches = [
        [call(f"Question {t}-{i}?", f"{BREAD_ANSWER} Variant {t}-{i}.") for i in range(4)] for t in range(4)
    ]
    results: dict[int, list] = {}

    def work(t: int) -> None:
        results[t] = scorer.score_many(batches[t])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    alone = make_scorer().score_many(batches[2])
    assert [s.similarity for s in results[2]] == pytest.approx([s.similarity for s in alone], abs=1e-5)
    assert all(len(results[t]) == 4 and all(s.refusal is not None for s in results[t]) for t in range(4))


def test_similarity_judges_the_answer_against_the_last_user_question(scorer):
    system = "You are a helpful assistant for a large retail bank. " * 20
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": "Hi there!"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello! How can I help?"}]},
        {"role": "user", "parts": [{"type": "text", "content": BREAD_PROMPT}]},
    ]
    flattened = "\n".join([system, "Hi there!", "Hello! How can I help?", BREAD_PROMPT])
    conversation = LLMCall("m", prompt=flattened, completion=BREAD_ANSWER, system=system, messages=messages)
    with_messages, single_turn, flattened_only = scorer.score_many(
        [conversation, call(BREAD_PROMPT, BREAD_ANSWER), call(flattened, BREAD_ANSWER)]
    )
    assert with_messages.similarity == pytest.approx(single_turn.similarity, abs=1e-6)
    assert flattened_only.similarity < single_turn.similarity
