"""Converse / ConverseStream: boto3 kwargs, responses mixing text and tool calls, stream events."""

from __future__ import annotations

from otel_llm._bedrock.families import parse_converse_request, parse_converse_response
from otel_llm.record import SIGNAL_CONTENT_FILTER, SIGNAL_GUARDRAIL, ToolCall


def test_converse_request_kwargs():
    kwargs = {
        "modelId": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "system": [
            {"text": "You are a travel agent."},
            {"cachePoint": {"type": "default"}},
            {"guardContent": {"text": {"text": "Stay on topic."}}},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": "Book me a flight to Lima."},
                    {"document": {"format": "pdf", "name": "itinerary", "source": {"bytes": b"%PDF"}}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "tu_1", "name": "search_flights", "input": {"to": "LIM"}}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "tu_1",
                            "status": "success",
                            "content": [{"json": {"flights": 3}}, {"text": "cheap"}],
                        }
                    }
                ],
            },
        ],
        "inferenceConfig": {"maxTokens": 256, "temperature": 0.1, "topP": 0.5, "stopSequences": ["STOP"]},
        "additionalModelRequestFields": {"top_k": 30},
        "toolConfig": {"tools": [{"toolSpec": {"name": "search_flights", "inputSchema": {"json": {}}}}]},
    }
    request = parse_converse_request(kwargs)
    assert request.operation == "chat"
    assert request.system == "You are a travel agent.\nStay on topic."
    assert request.prompt == "You are a travel agent.\nStay on topic.\nBook me a flight to Lima."
    assert request.params == {
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.temperature": 0.1,
        "gen_ai.request.top_p": 0.5,
        "gen_ai.request.top_k": 30,
        "gen_ai.request.stop_sequences": ("STOP",),
    }
    assert request.messages == [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "Book me a flight to Lima."}, {"type": "document"}],
        },
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "tu_1", "name": "search_flights", "arguments": '{"to":"LIM"}'}
            ],
        },
        {
            "role": "user",
            "parts": [{"type": "tool_call_response", "id": "tu_1", "response": '{"flights":3}\ncheap'}],
        },
    ]


def test_converse_nova_top_k_in_nested_inference_config():
    request = parse_converse_request(
        {"messages": [], "additionalModelRequestFields": {"inferenceConfig": {"topK": 5}}}
    )
    assert request.params == {"gen_ai.request.top_k": 5}


def test_converse_response_keeps_text_and_tool_calls_and_cache_usage():
    response = parse_converse_response(
        {
            "ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200},
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [
                        {"reasoningContent": {"reasoningText": {"text": "plan"}}},
                        {"text": "Searching flights."},
                        {
                            "toolUse": {
                                "toolUseId": "tu_2",
                                "name": "search_flights",
                                "input": {"to": "LIM", "day": 3},
                            }
                        },
                    ],
                }
            },
            "stopReason": "tool_use",
            "usage": {
                "inputTokens": 300,
                "outputTokens": 40,
                "totalTokens": 1340,
                "cacheReadInputTokens": 800,
                "cacheWriteInputTokens": 200,
            },
            "metrics": {"latencyMs": 420},
        }
    )
    assert response.completion == "Searching flights."
    assert response.tool_calls == [
        ToolCall(name="search_flights", id="tu_2", arguments='{"to":"LIM","day":3}')
    ]
    assert response.finish_reasons == ("tool_use",)
    assert (response.input_tokens, response.output_tokens) == (300, 40)
    assert (response.cache_read_tokens, response.cache_write_tokens) == (800, 200)


def test_converse_stop_reasons_that_are_refusal_signals():
    def signal(reason):
        return parse_converse_response(
            {"output": {"message": {"content": [{"text": "x"}]}}, "stopReason": reason}
        ).refusal_signal

    assert signal("guardrail_intervened") == SIGNAL_GUARDRAIL
    assert signal("content_filtered") == SIGNAL_CONTENT_FILTER
    assert signal("end_turn") is None


def test_converse_stream_events(fold_converse):
    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "Let me "}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "search."}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "tu_3", "name": "search_flights"}},
                "contentBlockIndex": 1,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"to": '}}, "contentBlockIndex": 1}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '"LIM"}'}}, "contentBlockIndex": 1}},
        {"contentBlockStop": {"contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "tool_use"}},
        {
            "metadata": {
                "usage": {
                    "inputTokens": 50,
                    "outputTokens": 20,
                    "totalTokens": 70,
                    "cacheReadInputTokens": 10,
                },
                "metrics": {"latencyMs": 300},
            }
        },
    ]
    response = fold_converse(events)
    assert response.completion == "Let me search."
    assert response.tool_calls == [ToolCall(name="search_flights", id="tu_3", arguments='{"to": "LIM"}')]
    assert response.finish_reasons == ("tool_use",)
    assert (response.input_tokens, response.output_tokens, response.cache_read_tokens) == (50, 20, 10)


def test_converse_stream_guardrail(fold_converse):
    response = fold_converse(
        [
            {"contentBlockDelta": {"delta": {"text": "Sorry."}, "contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "guardrail_intervened"}},
        ]
    )
    assert (response.completion, response.refusal_signal) == ("Sorry.", SIGNAL_GUARDRAIL)


def test_converse_response_with_citations_keeps_the_cited_text():
    response = parse_converse_response(
        {
            "output": {
                "message": {
                    "content": [
                        {"text": "Per the report, "},
                        {
                            "citationsContent": {
                                "content": [{"text": "revenue grew 4%."}],
                                "citations": [{"title": "report", "sourceContent": [{"text": "grew 4%"}]}],
                            }
                        },
                    ]
                }
            },
            "stopReason": "end_turn",
        }
    )
    assert response.completion == "Per the report, revenue grew 4%."


def test_converse_guard_content_is_prompt_text_and_tool_result_media_is_not_copied():
    request = parse_converse_request(
        {
            "messages": [
                {"role": "user", "content": [{"guardContent": {"text": {"text": "Is this allowed?"}}}]},
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "tu_9",
                                "content": [
                                    {"image": {"format": "png", "source": {"bytes": b"\x89PNG" * 100}}},
                                    {"text": "a chart"},
                                ],
                            }
                        }
                    ],
                },
            ]
        }
    )
    assert request.prompt == "Is this allowed?"
    assert request.messages[1]["parts"] == [
        {"type": "tool_call_response", "id": "tu_9", "response": "a chart"}
    ]
