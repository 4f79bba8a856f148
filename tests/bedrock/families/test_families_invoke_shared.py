"""Fields Bedrock adds to every family: guardrail interventions, invocation metrics; JSON round trips."""

from __future__ import annotations

import json

from otel_llm._bedrock.families import (
    parse_request_body,
    parse_response_body,
    resolve_family_name,
)
from otel_llm.record import SIGNAL_GUARDRAIL
from otel_llm.testing.families import invocation_metrics

ANTHROPIC = resolve_family_name("anthropic")
LLAMA = resolve_family_name("llama")


def test_guardrail_intervention_is_a_signal_in_any_family(fold_stream):
    for name in ("anthropic", "titan", "llama", "generic"):
        family = resolve_family_name(name)
        body = {"generation": "Sorry, blocked.", "amazon-bedrock-guardrailAction": "INTERVENED"}
        assert parse_response_body(family, body).refusal_signal == SIGNAL_GUARDRAIL
        streamed = fold_stream(
            family, [{"outputText": "x"}, {"amazon-bedrock-guardrailAction": "INTERVENED"}]
        )
        assert streamed.refusal_signal == SIGNAL_GUARDRAIL
    assert (
        parse_response_body(
            LLAMA, {"generation": "ok", "amazon-bedrock-guardrailAction": "NONE"}
        ).refusal_signal
        is None
    )


def test_invocation_metrics_win_over_the_body_counts(fold_stream):
    streamed = fold_stream(
        LLAMA,
        [
            {"generation": "a", "prompt_token_count": 5, "generation_token_count": 1},
            {"generation": "b", "generation_token_count": 2, **invocation_metrics(6, 3)},
        ],
    )
    assert (streamed.input_tokens, streamed.output_tokens) == (6, 3)


def test_request_bodies_round_trip_through_json():
    """Parsed requests hold only JSON-able data (they end up on spans when content capture is on)."""
    request = parse_request_body(
        ANTHROPIC,
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_use", "id": "t", "name": "n", "input": {"deep": {"x": [1, 2]}}}
                    ],
                }
            ]
        },
    )
    assert json.loads(json.dumps(request.messages)) == request.messages
