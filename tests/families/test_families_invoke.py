"""Every family's InvokeModel request, response and full stream, in the shapes the AWS Bedrock
"Inference request parameters and response fields for foundation models" pages document."""

from __future__ import annotations

import json

from otel_llm._bedrock.families import (
    lookup,
    output_messages,
    parse_request_body,
    parse_response_body,
    resolve_family_name,
)
from otel_llm.record import SIGNAL_CONTENT_FILTER, SIGNAL_GUARDRAIL, SIGNAL_MODEL_REFUSAL, ToolCall

MAX, TEMP, TOP_P, TOP_K, STOP = (
    f"gen_ai.request.{n}" for n in ("max_tokens", "temperature", "top_p", "top_k", "stop_sequences")
)


def metrics(input_tokens, output_tokens):
    return {
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": input_tokens,
            "outputTokenCount": output_tokens,
            "invocationLatency": 812,
            "firstByteLatency": 301,
        }
    }


# --- Anthropic Claude: Messages API ---

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
        {"type": "message_stop", **metrics(26, 42)},
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


# --- Anthropic Claude: legacy Text Completions ---


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
            {"completion": "ue.", "stop_reason": "stop_sequence", "stop": "\n\nHuman:", **metrics(14, 3)},
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == (" Blue.", ("stop_sequence",))
    assert (streamed.input_tokens, streamed.output_tokens) == (14, 3)


# --- Amazon Nova ---

NOVA = resolve_family_name("nova")


def test_nova_request_response_and_stream(fold_stream):
    body = {
        "schemaVersion": "messages-v1",
        "system": [{"text": "Answer in French."}],
        "messages": [
            {
                "role": "user",
                "content": [{"text": "Hello"}, {"image": {"format": "png", "source": {"bytes": "AAA="}}}],
            },
            {"role": "assistant", "content": [{"text": "Bonjour"}]},
            {"role": "user", "content": [{"text": "How are you?"}]},
        ],
        "inferenceConfig": {
            "max_new_tokens": 300,
            "temperature": 0.7,
            "topP": 0.9,
            "topK": 20,
            "stopSequences": ["END"],
        },
    }
    request = parse_request_body(NOVA, body)
    assert request.prompt == "Answer in French.\nHello\nBonjour\nHow are you?"
    assert request.params == {MAX: 300, TEMP: 0.7, TOP_P: 0.9, TOP_K: 20, STOP: ("END",)}
    assert request.messages[0]["parts"] == [{"type": "text", "content": "Hello"}, {"type": "image"}]
    assert request.messages[1]["role"] == "assistant"

    response = parse_response_body(
        NOVA,
        {
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [
                        {"text": "Je vais bien."},
                        {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "mood"}}},
                    ],
                }
            },
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": 21,
                "outputTokens": 6,
                "totalTokens": 27,
                "cacheReadInputTokenCount": 5,
                "cacheWriteInputTokenCount": 0,
            },
        },
    )
    assert response.completion == "Je vais bien."
    assert response.tool_calls == [ToolCall(name="lookup", id="tooluse_1", arguments='{"q":"mood"}')]
    assert (response.finish_reasons, response.input_tokens, response.output_tokens) == (("end_turn",), 21, 6)
    assert (response.cache_read_tokens, response.cache_write_tokens) == (5, 0)

    streamed = fold_stream(
        NOVA,
        [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"delta": {"text": "Je vais "}, "contentBlockIndex": 0}},
            {"contentBlockDelta": {"delta": {"text": "bien."}, "contentBlockIndex": 0}},
            {"contentBlockStop": {"contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "end_turn"}},
            {
                "metadata": {"usage": {"inputTokens": 21, "outputTokens": 6}, "metrics": {}, "trace": {}},
                **metrics(21, 6),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("Je vais bien.", ("end_turn",))
    assert (streamed.input_tokens, streamed.output_tokens) == (21, 6)


def test_nova_content_filtered_is_a_signal():
    response = parse_response_body(
        NOVA, {"output": {"message": {"content": []}}, "stopReason": "content_filtered"}
    )
    assert response.refusal_signal == SIGNAL_CONTENT_FILTER


# --- Amazon Titan Text ---

TITAN = resolve_family_name("titan")


def test_titan_request_response_and_stream(fold_stream):
    request = parse_request_body(
        TITAN,
        {
            "inputText": "User: Name a planet.\nBot:",
            "textGenerationConfig": {
                "temperature": 0.3,
                "topP": 0.9,
                "maxTokenCount": 512,
                "stopSequences": ["User:"],
            },
        },
    )
    assert (request.operation, request.prompt) == ("text_completion", "User: Name a planet.\nBot:")
    assert request.params == {MAX: 512, TEMP: 0.3, TOP_P: 0.9, STOP: ("User:",)}

    response = parse_response_body(
        TITAN,
        {
            "inputTextTokenCount": 9,
            "results": [{"tokenCount": 4, "outputText": " Mars.", "completionReason": "FINISH"}],
        },
    )
    assert (response.completion, response.input_tokens, response.output_tokens) == (" Mars.", 9, 4)
    assert response.finish_reasons == ("FINISH",)

    streamed = fold_stream(
        TITAN,
        [
            {
                "outputText": " Ma",
                "index": 0,
                "totalOutputTextTokenCount": 2,
                "completionReason": None,
                "inputTextTokenCount": 9,
            },
            {
                "outputText": "rs.",
                "index": 0,
                "totalOutputTextTokenCount": 4,
                "completionReason": "FINISH",
                "inputTextTokenCount": None,
                **metrics(9, 4),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == (" Mars.", ("FINISH",))
    assert (streamed.input_tokens, streamed.output_tokens) == (9, 4)


def test_titan_content_filtered_is_a_signal():
    response = parse_response_body(
        TITAN, {"results": [{"outputText": "", "completionReason": "CONTENT_FILTERED"}]}
    )
    assert response.refusal_signal == SIGNAL_CONTENT_FILTER


# --- Meta Llama ---

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
                **metrics(12, 3),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("Hello!", ("stop",))
    assert (streamed.input_tokens, streamed.output_tokens) == (12, 3)


# --- Mistral: text and chat ---

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
            {"outputs": [{"text": "me.", "stop_reason": "stop"}], **metrics(11, 3)},
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
                **metrics(30, 6),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("It is Elemental Hotel.", ("stop",))


# --- Cohere Command R / R+ ---

COHERE = resolve_family_name("cohere")


def test_cohere_command_r_request_response_and_stream(fold_stream):
    request = parse_request_body(
        COHERE,
        {
            "message": "Who discovered gravity?",
            "preamble": "You are a physicist.",
            "chat_history": [
                {"role": "USER", "message": "Hi"},
                {"role": "CHATBOT", "message": "Hello! Ask away."},
            ],
            "max_tokens": 200,
            "temperature": 0.3,
            "p": 0.75,
            "k": 0,
            "stop_sequences": ["##"],
        },
    )
    assert request.system == "You are a physicist."
    assert request.prompt == "You are a physicist.\nHi\nHello! Ask away.\nWho discovered gravity?"
    assert [m["role"] for m in request.messages] == ["user", "assistant", "user"]
    assert request.params == {MAX: 200, TEMP: 0.3, TOP_P: 0.75, TOP_K: 0, STOP: ("##",)}

    response = parse_response_body(
        COHERE,
        {
            "response_id": "b7f1c1a2",
            "text": "Isaac Newton.",
            "generation_id": "0c3e",
            "chat_history": [],
            "finish_reason": "COMPLETE",
            "tool_calls": [{"name": "search", "parameters": {"q": "gravity"}}],
            "meta": {
                "api_version": {"version": "1"},
                "billed_units": {"input_tokens": 17, "output_tokens": 4},
            },
        },
    )
    assert (response.completion, response.response_id, response.finish_reasons) == (
        "Isaac Newton.",
        "b7f1c1a2",
        ("COMPLETE",),
    )
    assert (response.input_tokens, response.output_tokens) == (17, 4)
    assert response.tool_calls == [ToolCall(name="search", arguments='{"q":"gravity"}')]

    streamed = fold_stream(
        COHERE,
        [
            {"is_finished": False, "event_type": "stream-start", "generation_id": "0c3e"},
            {"is_finished": False, "event_type": "text-generation", "text": "Isaac "},
            {"is_finished": False, "event_type": "text-generation", "text": "Newton."},
            {
                "is_finished": True,
                "event_type": "stream-end",
                "finish_reason": "COMPLETE",
                "response": {
                    "response_id": "b7f1c1a2",
                    "text": "Isaac Newton.",
                    "generation_id": "0c3e",
                    "meta": {"billed_units": {"input_tokens": 17, "output_tokens": 4}},
                },
                **metrics(17, 4),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons, streamed.response_id) == (
        "Isaac Newton.",
        ("COMPLETE",),
        "b7f1c1a2",
    )
    assert (streamed.input_tokens, streamed.output_tokens) == (17, 4)


def test_cohere_toxic_finish_is_a_content_filter_signal():
    assert (
        parse_response_body(COHERE, {"text": "", "finish_reason": "ERROR_TOXIC"}).refusal_signal
        == SIGNAL_CONTENT_FILTER
    )


# --- AI21 Jamba, OpenAI gpt-oss: chat completions ---


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
                **metrics(14, 4),
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
                **metrics(40, 12),
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


# --- DeepSeek ---


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
            {"choices": [{"text": "Rayleigh scattering.", "stop_reason": "length"}], **metrics(8, 900)},
        ],
    )
    assert (streamed.completion, streamed.finish_reasons) == ("Because of Rayleigh scattering.", ("length",))
    assert streamed.output_tokens == 900


# --- Embeddings ---


def test_titan_and_cohere_embeddings():
    embeddings = lookup("amazon.titan-embed-text-v2:0").family
    request = parse_request_body(
        embeddings, {"inputText": "hello world", "dimensions": 512, "normalize": True}
    )
    assert (request.operation, request.prompt, request.params) == (
        "embeddings",
        "hello world",
        {"gen_ai.embeddings.dimension.count": 512},
    )
    response = parse_response_body(embeddings, {"embedding": [0.1, -0.2], "inputTextTokenCount": 3})
    assert (response.input_tokens, response.completion) == (3, "")

    cohere_embed = lookup("cohere.embed-english-v3").family
    request = parse_request_body(
        cohere_embed, {"texts": ["first", "second"], "input_type": "search_document"}
    )
    assert (request.operation, request.prompt) == ("embeddings", "first\nsecond")
    response = parse_response_body(
        cohere_embed,
        {
            "id": "emb-1",
            "embeddings": [[0.1], [0.2]],
            "texts": ["first", "second"],
            "response_type": "embeddings_floats",
        },
    )
    assert response.response_id == "emb-1"


# --- Shared Bedrock fields ---


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
            {"generation": "b", "generation_token_count": 2, **metrics(6, 3)},
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


# --- Generic: imported models and families this release does not know ---

GENERIC = resolve_family_name("generic")


def test_generic_reads_an_imported_llama_style_model(fold_stream):
    ref = lookup("arn:aws:bedrock:us-east-1:123456789012:imported-model/k2j3h4g5f6")
    assert ref.family is GENERIC
    request = parse_request_body(GENERIC, {"prompt": "Say hi", "max_gen_len": 50, "temperature": 0.1})
    assert (request.operation, request.prompt, request.params) == (
        "text_completion",
        "Say hi",
        {MAX: 50, TEMP: 0.1},
    )
    response = parse_response_body(
        GENERIC, {"generation": "Hi!", "generation_token_count": 2, "stop_reason": "stop"}
    )
    assert (response.completion, response.output_tokens, response.finish_reasons) == ("Hi!", 2, ("stop",))
    streamed = fold_stream(
        GENERIC,
        [
            {"generation": "H", "generation_token_count": 1, "stop_reason": None},
            {"generation": "i!", "generation_token_count": 2, "stop_reason": "stop", **metrics(4, 2)},
        ],
    )
    assert (streamed.completion, streamed.finish_reasons, streamed.input_tokens) == ("Hi!", ("stop",), 4)


def test_generic_recognises_known_shapes_by_their_keys(fold_stream):
    chat = parse_request_body(
        GENERIC, {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]}
    )
    assert (chat.operation, chat.prompt) == ("chat", "S\nQ")
    claude = parse_request_body(
        GENERIC,
        {
            "anthropic_version": "bedrock-2023-05-31",
            "system": "S",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Q"}]}],
        },
    )
    assert claude.prompt == "S\nQ"
    nova_like = parse_request_body(
        GENERIC,
        {"messages": [{"role": "user", "content": [{"text": "Q"}]}], "inferenceConfig": {"maxTokens": 9}},
    )
    assert (nova_like.prompt, nova_like.params) == ("Q", {MAX: 9})
    assert (
        parse_response_body(
            GENERIC, {"choices": [{"message": {"content": "A"}, "finish_reason": "stop"}]}
        ).completion
        == "A"
    )
    assert (
        parse_response_body(GENERIC, {"output": {"message": {"content": [{"text": "A"}]}}}).completion == "A"
    )
    assert parse_response_body(GENERIC, {"content": [{"type": "text", "text": "A"}]}).completion == "A"
    assert parse_response_body(GENERIC, {"results": [{"outputText": "A"}]}).completion == "A"
    assert parse_response_body(GENERIC, {"outputs": [{"text": "A"}]}).completion == "A"
    streamed = fold_stream(
        GENERIC,
        [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "A"}},
            {"contentBlockDelta": {"delta": {"text": "B"}, "contentBlockIndex": 0}},
            {"choices": [{"delta": {"content": "C"}}]},
            {"outputText": "D"},
        ],
    )
    assert streamed.completion == "ABCD"


def test_generic_reads_common_keys_of_an_unknown_shape(fold_stream):
    request = parse_request_body(
        GENERIC,
        {"inputs": "Translate: chat", "parameters": {"max_new_tokens": 20, "top_k": 5, "stop": ["\n"]}},
    )
    assert (request.prompt, request.params) == ("Translate: chat", {MAX: 20, TOP_K: 5, STOP: ("\n",)})
    response = parse_response_body(
        GENERIC,
        {
            "id": "r1",
            "generated_text": "cat",
            "finish_reason": "eos",
            "usage": {"prompt_tokens": 4, "completion_tokens": 1},
        },
    )
    assert (response.completion, response.response_id, response.finish_reasons) == ("cat", "r1", ("eos",))
    assert (response.input_tokens, response.output_tokens) == (4, 1)
    streamed = fold_stream(GENERIC, [{"text": "c"}, {"text": "at", "finish_reason": "eos"}])
    assert (streamed.completion, streamed.finish_reasons) == ("cat", ("eos",))
    assert parse_response_body(GENERIC, {"unexpected": {"shape": [1, 2]}}).completion == ""


def test_generic_tells_titan_text_from_titan_embeddings():
    text = parse_request_body(GENERIC, {"inputText": "User: hi\nBot:"})
    embedding = parse_request_body(GENERIC, {"inputText": "hi", "dimensions": 256, "normalize": True})
    assert (text.operation, embedding.operation) == ("text_completion", "embeddings")
