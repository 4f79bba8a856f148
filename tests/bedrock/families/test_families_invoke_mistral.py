"""Mistral's InvokeModel request, response and full stream: text and chat formats."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_REQUEST_MAX_TOKENS as MAX,
    GEN_AI_REQUEST_STOP_SEQUENCES as STOP,
    GEN_AI_REQUEST_TEMPERATURE as TEMP,
    GEN_AI_REQUEST_TOP_K as TOP_K,
    GEN_AI_REQUEST_TOP_P as TOP_P,
)

from otel_llm._bedrock.families import (
    parse_request_body,
    parse_response_body,
    resolve_family_name,
)
from otel_llm.testing.families import invocation_metrics

MISTRAL = resolve_family_name("mistral")


def test_mistral_text_format(fold_stream):
    request = parse_request_body(
        MISTRAL,
        {
            "prompt": "<s>[INST] Capital of Italy? [/INST]",
            "max_tokens": 64,
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 50,
            "stop": ["[INST]"],
        },
    )
    assert (request.operation, request.prompt) == ("text_completion", "<s>[INST] Capital of Italy? [/INST]")
    assert request.params == {MAX: 64, TEMP: 0.5, TOP_P: 0.9, TOP_K: 50, STOP: ("[INST]",)}
    response = parse_response_body(MISTRAL, {"outputs": [{"text": " Rome.", "stop_reason": "stop"}]})
    assert (response.completion, response.finish_reasons) == (" Rome.", ("stop",))
    streamed = fold_stream(
        MISTRAL,
        [
            {"outputs": [{"text": " Ro", "stop_reason": None}]},
            {"outputs": [{"text": "me.", "stop_reason": "stop"}], **invocation_metrics(11, 3)},
        ],
    )
    assert (streamed.completion, streamed.finish_reasons, streamed.output_tokens) == (" Rome.", ("stop",), 3)


def test_mistral_chat_format_with_tools(fold_stream):
    request = parse_request_body(
        MISTRAL,
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Top song on WZPZ?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"id": "v6RMMiRlT", "function": {"name": "top_song", "arguments": '{"sign":"WZPZ"}'}}
                    ],
                },
                {"role": "tool", "tool_call_id": "v6RMMiRlT", "content": "Elemental Hotel"},
            ],
            "max_tokens": 100,
            "temperature": 0.2,
        },
    )
    assert (request.operation, request.system) == ("chat", "Be brief.")
    assert request.prompt == "Be brief.\nTop song on WZPZ?"
    assert request.messages[1]["parts"] == [
        {"type": "tool_call", "id": "v6RMMiRlT", "name": "top_song", "arguments": '{"sign":"WZPZ"}'}
    ]
    assert request.messages[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "v6RMMiRlT", "response": "Elemental Hotel"}],
    }

    response = parse_response_body(
        MISTRAL,
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "It is Elemental Hotel.", "tool_calls": None},
                    "stop_reason": "stop",
                }
            ]
        },
    )
    assert (response.completion, response.finish_reasons) == ("It is Elemental Hotel.", ("stop",))

    streamed = fold_stream(
        MISTRAL,
        [
            {
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "It is "}, "stop_reason": None}
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Elemental Hotel."},
                        "stop_reason": "stop",
                    }
                ],
                **invocation_metrics(30, 6),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("It is Elemental Hotel.", ("stop",))
