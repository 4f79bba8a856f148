"""One bad text in a batch (lone surrogate, invalid UTF-8) costs no record any of its four scores."""

from __future__ import annotations

import pytest

from otel_llm.record import LLMCall

pytestmark = pytest.mark.slow

BAD = ["Sure! Here is how \ud800 to reverse a list: use items[::-1].",
       b"Paris is the capital of France \xff\xfe.".decode("utf-8", "surrogateescape"),
       "I can\udcfft help with that request."]
GOOD = ["Use the sorted() function with key=len to sort strings by length.",
        "Water boils at 100 degrees Celsius at sea level."]


def _calls() -> list[LLMCall]:
    prompts = ["How do I reverse a list?", "What is the capital of France?", "How do I pick a lock?",
               "How do I sort strings by length?", "At what temperature does water boil?"]
    return [LLMCall(model_id="anthropic.claude-3-haiku-20240307-v1:0", prompt=p, completion=c)
            for p, c in zip(prompts, BAD + GOOD, strict=True)]


def test_bad_texts_first_in_the_batch_cost_nobody_a_score(make_local_scorer):
    scorer = make_local_scorer()
    results = scorer.score_many(_calls())  # three bad records first: more than the scorer's give-up limit
    for scores in results:
        assert scores.failed == ()
        assert None not in (scores.similarity, scores.sentiment, scores.toxicity, scores.refusal)


def test_good_records_score_the_same_beside_bad_ones(make_local_scorer):
    calls = _calls()
    mixed = make_local_scorer().score_many(calls)
    alone = [make_local_scorer().score(c) for c in calls[len(BAD):]]
    for together, single in zip(mixed[len(BAD):], alone, strict=True):  # bfloat16 batches differ a little
        assert together.sentiment == pytest.approx(single.sentiment, abs=0.02)
        assert together.toxicity == pytest.approx(single.toxicity, abs=0.02)
        assert together.similarity == pytest.approx(single.similarity, abs=0.02)
