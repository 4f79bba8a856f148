"""DeepSeek's InvokeModel request, response and full stream."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_REQUEST_MAX_TOKENS as MAX,
    GEN_AI_REQUEST_STOP_SEQUENCES as STOP,
    GEN_AI_REQUEST_TEMPERATURE as TEMP,
    GEN_AI_REQUEST_TOP_P as TOP_P,
)

from otel_llm._bedrock.families import (
    lookup,
    parse_request_body,
    parse_response_body,
)
from otel_llm.testing.families import invocation_metrics


def test_deepseek_request_response_and_stream(fold_stream):
    deepseek = lookup("us.deepseek.r1-v1:0").family
    request = parse_request_body(
        deepseek,
        {
            "prompt": "Why is the sky blue?",
            "temperature": 0.5,
            "top_p": 0.9,
            "max_tokens": 1000,
            "stop": ["END"],
        },
    )
    assert (request.operation, request.prompt) == ("text_completion", "Why is the sky blue?")
    assert request.params == {MAX: 1000, TEMP: 0.5, TOP_P: 0.9, STOP: ("END",)}
    response = parse_response_body(
        deepseek,
        {
            "choices": [
                {
                    "text": "Rayleigh scattering, mostly.\n</think>\n\nBecause of Rayleigh scattering.",
                    "stop_reason": "stop",
                }
            ]
        },
    )
    assert (response.completion, response.finish_reasons) == ("Because of Rayleigh scattering.", ("stop",))
    streamed = fold_stream(
        deepseek,
        [
            {"choices": [{"text": "Because of ", "stop_reason": None}]},
            {
                "choices": [{"text": "Rayleigh scattering.", "stop_reason": "length"}],
                **invocation_metrics(8, 900),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("Because of Rayleigh scattering.", ("length",))
    assert streamed.output_tokens == 900
