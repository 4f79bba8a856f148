"""The public functions `otel_llm.score` / `score_many` and the `otel-llm evaluate` measurements."""

from __future__ import annotations

import pytest

from otel_llm._backends.local import local_available
from otel_llm._quality import scoring
from otel_llm._training import accuracy as evaluation
from otel_llm._training.data import find_data_dir


@pytest.mark.slow
@pytest.mark.skipif(not local_available(), reason="needs the local extra: pip install 'otel-llm[local]'")
def test_public_score_functions_use_the_configured_evaluators(monkeypatch):
    monkeypatch.setenv("OTEL_LLM_BACKEND", "local")
    monkeypatch.setenv("OTEL_LLM_EVALUATORS", "similarity,refusal")
    one = scoring.score("", "I'm sorry, but I can't help with that.", model_id="us.anthropic.claude-3-haiku")
    assert one.similarity is None and one.refused is True and one.sentiment is None
    pair = scoring.score_many(
        [
            ("What is the capital of France?", "Paris is the capital of France."),
            ("What is the capital of France?", "I like turtles."),
        ]
    )
    assert pair[0].similarity > pair[1].similarity
    assert pair[0].refused is False


def test_public_score_many_rejects_non_text_clearly():
    with pytest.raises(TypeError, match="must be str"):
        scoring.score_many([("prompt", None)])


def test_refusal_measures_hold_across_models_without_embeddings():
    measures = {m.metric: m for m in evaluation.measure_refusal(find_data_dir(), None)}
    assert set(measures) == {"F1, gpt4->llama2", "F1, llama2->gpt4", "F1, 5-fold CV on both"}
    assert all(0.85 <= m.mean <= 1.0 for m in measures.values())
    assert len(measures["F1, 5-fold CV on both"].values) == 5
    table = evaluation.format_report(list(measures.values()))
    assert table.splitlines()[0].startswith("| candidate | metric |") and "gpt4->llama2" in table


def test_evaluate_command_says_where_the_data_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluation.main_evaluate(["--data", str(tmp_path), "--refusal-only"])
    assert exit_info.value.code == 2
    assert "labelled data not found" in capsys.readouterr().err
