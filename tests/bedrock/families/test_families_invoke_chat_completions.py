"""Chat-completions families (AI21 Jamba, OpenAI gpt-oss): InvokeModel request, response and full stream."""

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
    resolve_family_name,
)
from otel_llm.record import ToolCall
from otel_llm.testing.families import invocation_metrics


def test_jamba_request_response_and_stream(fold_stream):
    jamba = resolve_family_name("jamba")
    request = parse_request_body(
        jamba,
        {
            "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi!"}],
            "max_tokens": 100,
            "temperature": 0.7,
            "top_p": 0.8,
            "stop": ["\n\n"],
            "n": 1,
        },
    )
    assert (request.system, request.prompt) == ("Be kind.", "Be kind.\nHi!")
    assert request.params == {MAX: 100, TEMP: 0.7, TOP_P: 0.8, STOP: ("\n\n",)}
    response = parse_response_body(
        jamba,
        {
            "id": "chatcmpl-8a",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello there."},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 14, "completion_tokens": 4, "total_tokens": 18},
        },
    )
    assert (response.completion, response.response_id, response.finish_reasons) == (
        "Hello there.",
        "chatcmpl-8a",
        ("stop",),
    )
    assert (response.input_tokens, response.output_tokens) == (14, 4)
    streamed = fold_stream(
        jamba,
        [
            {
                "id": "chatcmpl-8b",
                "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
            },
            {
                "id": "chatcmpl-8b",
                "choices": [{"index": 0, "delta": {"content": "Hello "}, "finish_reason": None}],
            },
            {
                "id": "chatcmpl-8b",
                "choices": [{"index": 0, "delta": {"content": "there."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 14, "completion_tokens": 4},
                **invocation_metrics(14, 4),
            },
        ],
    )
    assert (streamed.completion, streamed.response_id, streamed.finish_reasons) == (
        "Hello there.",
        "chatcmpl-8b",
        ("stop",),
    )


def test_gpt_oss_request_response_and_stream_with_tool_calls(fold_stream):
    openai = lookup("openai.gpt-oss-20b-1:0").family
    request = parse_request_body(
        openai,
        {
            "model": "openai.gpt-oss-20b-1:0",
            "stream": False,
            "max_completion_tokens": 150,
            "temperature": 0.4,
            "top_p": 0.9,
            "stop": "###",
            "messages": [
                {"role": "developer", "content": "You are a helpful assistant."},
                {"role": "user", "content": [{"type": "text", "text": "Weather in Rome?"}]},
            ],
        },
    )
    assert request.system == "You are a helpful assistant."
    assert request.prompt == "You are a helpful assistant.\nWeather in Rome?"
    assert request.params == {MAX: 150, TEMP: 0.4, TOP_P: 0.9, STOP: ("###",)}

    response = parse_response_body(
        openai,
        {
            "id": "chatcmpl-oss",
            "object": "chat.completion",
            "model": "openai.gpt-oss-20b-1:0",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": "<reasoning>User wants weather.</reasoning>Checking.",
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
        },
    )
    assert response.completion == "Checking."
    assert response.tool_calls == [ToolCall(name="weather", id="call_1", arguments='{"city":"Rome"}')]
    assert (response.finish_reasons, response.input_tokens, response.output_tokens) == (
        ("tool_calls",),
        40,
        12,
    )

    streamed = fold_stream(
        openai,
        [
            {
                "id": "c2",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": "<reasoning>Think"}}],
            },
            {"id": "c2", "choices": [{"index": 0, "delta": {"content": "ing.</reasoning>Sure: "}}]},
            {
                "id": "c2",
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": "call_2",
                                    "type": "function",
                                    "function": {"name": "weather", "arguments": ""},
                                }
                            ]
                        },
                    }
                ],
            },
            {
                "id": "c2",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
                    }
                ],
            },
            {
                "id": "c2",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]},
                        "finish_reason": "tool_calls",
                    }
                ],
                **invocation_metrics(40, 12),
            },
        ],
    )
    assert streamed.completion == "Sure: "
    assert streamed.tool_calls == [ToolCall(name="weather", id="call_2", arguments='{"city":"Rome"}')]
    assert (streamed.finish_reasons, streamed.input_tokens, streamed.output_tokens) == (
        ("tool_calls",),
        40,
        12,
    )
