"""Anthropic Claude's InvokeModel request, response and full stream: Messages and legacy Text Completions."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_REQUEST_MAX_TOKENS as MAX,
    GEN_AI_REQUEST_STOP_SEQUENCES as STOP,
    GEN_AI_REQUEST_TEMPERATURE as TEMP,
    GEN_AI_REQUEST_TOP_K as TOP_K,
    GEN_AI_REQUEST_TOP_P as TOP_P,
)

from otel_llm._bedrock.families import (
    output_messages,
    parse_request_body,
    parse_response_body,
    resolve_family_name,
)
from otel_llm.record import SIGNAL_MODEL_REFUSAL, ToolCall
from otel_llm.testing.families import invocation_metrics

ANTHROPIC = resolve_family_name("anthropic")


def test_anthropic_messages_request_with_system_multi_turn_and_tools():
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "system": [{"type": "text", "text": "You are terse."}],
        "messages": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01",
                        "content": [{"type": "text", "text": "18C"}],
                    },
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
    }
    request = parse_request_body(ANTHROPIC, body)
    assert request.operation == "chat"
    assert request.system == "You are terse."
    assert request.prompt == "You are terse.\nWhat is the weather in Paris?\nLet me check.\nAnd tomorrow?"
    assert request.params == {MAX: 512, TEMP: 0.2, TOP_P: 0.9, TOP_K: 40, STOP: ("\n\nHuman:",)}
    assert request.messages == [
        {"role": "user", "parts": [{"type": "text", "content": "What is the weather in Paris?"}]},
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {
                    "type": "tool_call",
                    "id": "toolu_01",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris"}',
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {"type": "tool_call_response", "id": "toolu_01", "response": "18C"},
                {"type": "image"},
                {"type": "text", "content": "And tomorrow?"},
            ],
        },
    ]


def test_anthropic_messages_response_with_text_tool_use_and_cache_usage():
    body = {
        "id": "msg_bdrk_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet-20240620",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "x"},
            {"type": "text", "text": "I'll look that up."},
            {
                "type": "tool_use",
                "id": "toolu_02",
                "name": "get_weather",
                "input": {"city": "Paris", "day": 2},
            },
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 120,
            "output_tokens": 33,
            "cache_creation_input_tokens": 1024,
            "cache_read_input_tokens": 2048,
        },
    }
    response = parse_response_body(ANTHROPIC, body)
    assert response.completion == "I'll look that up."
    assert response.tool_calls == [
        ToolCall(name="get_weather", id="toolu_02", arguments='{"city":"Paris","day":2}')
    ]
    assert response.finish_reasons == ("tool_use",)
    assert response.response_id == "msg_bdrk_01"
    assert (response.input_tokens, response.output_tokens) == (120, 33)
    assert (response.cache_read_tokens, response.cache_write_tokens) == (2048, 1024)
    assert response.refusal_signal is None
    assert output_messages(response) == [
        {
            "role": "assistant",
            "finish_reason": "tool_use",
            "parts": [
                {"type": "text", "content": "I'll look that up."},
                {
                    "type": "tool_call",
                    "id": "toolu_02",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris","day":2}',
                },
            ],
        }
    ]


def test_anthropic_refusal_stop_reason_is_an_exact_signal():
    body = {
        "id": "msg_x",
        "content": [],
        "stop_reason": "refusal",
        "usage": {"input_tokens": 9, "output_tokens": 0},
    }
    response = parse_response_body(ANTHROPIC, body)
    assert response.refusal_signal == SIGNAL_MODEL_REFUSAL
    assert response.finish_reasons == ("refusal",)


def test_anthropic_messages_stream_with_text_and_tool_call(fold_stream):
    chunks = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_02",
                "type": "message",
                "role": "assistant",
                "content": [],
                "usage": {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 7},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "now."}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_03", "name": "get_weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 41},
        },
        {"type": "message_stop", **invocation_metrics(26, 42)},
    ]
    response = fold_stream(ANTHROPIC, chunks)
    assert response.completion == "Checking now."
    assert response.tool_calls == [ToolCall(name="get_weather", id="toolu_03", arguments='{"city":"Oslo"}')]
    assert response.finish_reasons == ("tool_use",)
    assert response.response_id == "msg_bdrk_02"
    assert (response.input_tokens, response.output_tokens, response.cache_read_tokens) == (26, 42, 7)


def test_anthropic_stream_refusal(fold_stream):
    chunks = [
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 3}}},
        {"type": "message_delta", "delta": {"stop_reason": "refusal"}, "usage": {"output_tokens": 0}},
    ]
    assert fold_stream(ANTHROPIC, chunks).refusal_signal == SIGNAL_MODEL_REFUSAL


def test_anthropic_legacy_text_completion(fold_stream):
    body = {
        "prompt": "\n\nHuman: Name a colour.\n\nAssistant:",
        "max_tokens_to_sample": 300,
        "temperature": 0.5,
        "top_k": 250,
        "top_p": 1,
        "stop_sequences": ["\n\nHuman:"],
    }
    request = parse_request_body(ANTHROPIC, body)
    assert request.operation == "text_completion"
    assert request.prompt == "\n\nHuman: Name a colour.\n\nAssistant:"
    assert request.params == {MAX: 300, TEMP: 0.5, TOP_K: 250, TOP_P: 1, STOP: ("\n\nHuman:",)}
    response = parse_response_body(
        ANTHROPIC, {"completion": " Blue.", "stop_reason": "stop_sequence", "stop": "\n\nHuman:"}
    )
    assert (response.completion, response.finish_reasons) == (" Blue.", ("stop_sequence",))
    streamed = fold_stream(
        ANTHROPIC,
        [
            {"completion": " Bl", "stop_reason": None, "stop": None},
            {
                "completion": "ue.", "stop_reason": "stop_sequence", "stop": "\n\nHuman:",
                **invocation_metrics(14, 3),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == (" Blue.", ("stop_sequence",))
    assert (streamed.input_tokens, streamed.output_tokens) == (14, 3)
