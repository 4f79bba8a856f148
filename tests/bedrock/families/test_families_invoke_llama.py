"""Meta Llama's InvokeModel request, response and full stream."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_REQUEST_MAX_TOKENS as MAX,
    GEN_AI_REQUEST_TEMPERATURE as TEMP,
    GEN_AI_REQUEST_TOP_P as TOP_P,
)

from otel_llm._bedrock.families import (
    parse_request_body,
    parse_response_body,
    resolve_family_name,
)
from otel_llm.testing.families import invocation_metrics

LLAMA = resolve_family_name("llama")


def test_llama_request_response_and_stream(fold_stream):
    prompt = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\nHi<|eot_id|>"
    request = parse_request_body(
        LLAMA, {"prompt": prompt, "max_gen_len": 256, "temperature": 0.5, "top_p": 0.9}
    )
    assert (request.prompt, request.params) == (prompt, {MAX: 256, TEMP: 0.5, TOP_P: 0.9})

    response = parse_response_body(
        LLAMA,
        {
            "generation": "Hello!",
            "prompt_token_count": 12,
            "generation_token_count": 3,
            "stop_reason": "stop",
        },
    )
    assert (response.completion, response.input_tokens, response.output_tokens) == ("Hello!", 12, 3)
    assert response.finish_reasons == ("stop",)

    streamed = fold_stream(
        LLAMA,
        [
            {"generation": "Hel", "prompt_token_count": 12, "generation_token_count": 1, "stop_reason": None},
            {
                "generation": "lo!",
                "prompt_token_count": None,
                "generation_token_count": 3,
                "stop_reason": "stop",
                **invocation_metrics(12, 3),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("Hello!", ("stop",))
    assert (streamed.input_tokens, streamed.output_tokens) == (12, 3)
