"""A fifth evaluator: by argument and through the `otel_llm.evaluators` entry point (real metadata)."""

from __future__ import annotations

import importlib.metadata
import logging
import textwrap

import pytest

from otel_llm._quality.evaluators.registry import entry_point_evaluators
from otel_llm._quality.scoring import GIVE_UP_AFTER
from otel_llm.evaluators import ENTRY_POINT_GROUP, Evaluator
from otel_llm.record import LLMCall


class QuestionAnswered(Evaluator):
    """Share of the prompt's words the completion repeats: a toy relevance score in [0, 1]."""

    name = "word_overlap"

    def evaluate(self, batch):
        results = []
        for call in batch.calls:
            words = set(call.prompt.lower().split())
            results.append(len(words & set(call.completion.lower().split())) / len(words) if words else None)
        return results


class OutOfRange(Evaluator):
    name = "too_big"

    def evaluate(self, batch):
        return [2.0 for _ in batch.calls]


class UsesEmbeddings(Evaluator):
    """Reads the completion's embedding through the shared batch (declared, so embedded with the rest)."""

    name = "embedding_norm"

    def texts_to_embed(self, call, batch):
        return (call.completion,)

    def evaluate(self, batch):
        vectors = batch.embed([c.completion for c in batch.calls])
        return [min(1.0, float((v * v).sum())) for v in vectors]


def test_custom_evaluator_by_argument_lands_in_extra(make_scorer):
    scorer = make_scorer(extra=[QuestionAnswered()])
    scores = scorer.score_many(
        [
            LLMCall("m", prompt="red apples", completion="red apples are sweet"),
            LLMCall("m", prompt="", completion="anything"),
        ]
    )
    assert scores[0].extra == {"word_overlap": 1.0}
    assert scores[1].extra == {}
    assert scores[0].similarity is not None  # the built-ins still run


def test_custom_evaluator_shares_the_one_embed_call(make_scorer, counting_embeddings):
    scorer = make_scorer(extra=[UsesEmbeddings()], evaluators=("similarity",))
    scores = scorer.score_many([LLMCall("m", prompt="q", completion="an answer")])
    assert scores[0].extra["embedding_norm"] == pytest.approx(1.0, abs=1e-4)
    assert counting_embeddings.calls == 1 and counting_embeddings.texts.count("an answer") == 1


def test_custom_score_outside_the_unit_interval_is_dropped_and_reported(make_scorer, caplog):
    caplog.set_level(logging.WARNING, logger="otel_llm")
    scores = make_scorer(extra=[OutOfRange()]).score_many([LLMCall("m", prompt="q", completion="a")])[0]
    assert "too_big" not in scores.extra
    assert scores.toxicity is not None


def test_bad_custom_evaluators_are_refused_clearly(make_scorer):
    with pytest.raises(TypeError, match=r"not an otel_llm\.evaluators\.Evaluator"):
        make_scorer(extra=[lambda batch: []])
    clash = QuestionAnswered()
    clash.name = "toxicity"
    with pytest.raises(ValueError, match="taken by a built-in"):
        make_scorer(extra=[clash])


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """An installed distribution made by hand: a module and a dist-info naming it in the entry-point group."""
    (tmp_path / "otel_llm_test_plugin.py").write_text(
        textwrap.dedent("""
        from otel_llm.evaluators import Evaluator

        class Shouting(Evaluator):
            name = "shouting"

            def evaluate(self, batch):
                texts = [c.completion for c in batch.calls]
                return [sum(ch.isupper() for ch in t) / max(1, len(t)) for t in texts]
        """)
    )
    info = tmp_path / "otel_llm_test_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: otel-llm-test-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nshouting = otel_llm_test_plugin:Shouting\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield info


def test_entry_point_evaluator_is_found_and_recorded(plugin_dir, make_scorer):
    assert "shouting" in {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    scorer = make_scorer()
    assert "shouting" in [e.name for e in scorer.evaluators]
    scores = scorer.score_many([LLMCall("m", prompt="q", completion="STOP")])[0]
    assert scores.extra == {"shouting": 1.0}


def test_broken_entry_point_is_reported_and_skipped(plugin_dir):
    (plugin_dir / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nshouting = otel_llm_test_plugin:Shouting\n"
        "broken = otel_llm_test_plugin:missing\n"
    )
    importlib.invalidate_caches()
    assert [e.name for e in entry_point_evaluators()] == ["shouting"]


class BackendDown(Evaluator):
    """Every call fails, as when the service an evaluator depends on is unreachable."""

    name = "always_down"

    def __init__(self) -> None:
        self.attempts = 0

    def evaluate(self, batch):
        self.attempts += 1
        raise ConnectionError("service unreachable")


def test_a_systemic_failure_is_not_retried_record_by_record(make_scorer):
    down = BackendDown()
    calls = [LLMCall("m", prompt="q", completion=f"answer {i}") for i in range(10)]
    scores = make_scorer(extra=[down], evaluators=()).score_many(calls)
    assert down.attempts == 1 + GIVE_UP_AFTER  # the batch, then a few records alone, then it gives up
    assert all(s.extra == {} for s in scores)
