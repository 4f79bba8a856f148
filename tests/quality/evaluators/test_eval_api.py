"""The public functions `otel_llm.score` / `score_many` and the `otel-llm evaluate` measurements."""

from __future__ import annotations

import pytest

from otel_llm._quality import scoring
from otel_llm._training import accuracy as evaluation
from otel_llm._training.data import find_data_dir


@pytest.mark.slow
@pytest.mark.needs_local
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
    """The lexical head (the aws and lexical backends' refusal model), leave-one-model-out on XSTest's two
    models and on the two authored families it never trains on."""
    measures = {m.metric: m for m in evaluation.measure_refusal(find_data_dir(), None, styles=False,
                                                                models=("gpt4", "llama2"))}
    unseen = {name: m for name, m in measures.items() if name.endswith("leave-one-model-out")}
    assert len(unseen["F1, leave-one-model-out"].values) == 2  # one fold per held-out model
    assert min(unseen["F1, leave-one-model-out"].values) >= 0.85
    assert min(unseen["ROC AUC, leave-one-model-out"].values) >= 0.93
    assert max(unseen["|ratio - true rate|, leave-one-model-out"].values) <= 0.10
    held_out = measures["F1, held-out families"]
    # 0.80-0.83 since the held-out families include refusal-team-hard.csv's template-free rows (was >= 0.85
    # on refusal-authored.csv alone): docs/metrics/refusal.md
    assert len(held_out.values) == 2 and min(held_out.values) >= 0.78
    assert max(measures["benign replies flagged, held-out families"].values) <= 0.10
    assert "worst" in held_out.note
    table = evaluation.format_report(list(measures.values()))
    assert table.splitlines()[0].startswith("| candidate | metric |") and "llama2" in table


def test_evaluate_command_says_where_the_data_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluation.main_evaluate(["--data", str(tmp_path), "--refusal-only"])
    assert exit_info.value.code == 2
    assert "labelled data not found" in capsys.readouterr().err
