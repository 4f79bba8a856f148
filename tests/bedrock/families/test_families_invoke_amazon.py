"""Amazon Nova and Titan Text InvokeModel request, response and full stream."""

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
from otel_llm.record import SIGNAL_CONTENT_FILTER, ToolCall
from otel_llm.testing.families import invocation_metrics

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
                **invocation_metrics(21, 6),
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
                **invocation_metrics(9, 4),
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
