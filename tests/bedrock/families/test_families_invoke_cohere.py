"""Cohere Command R / R+ InvokeModel request, response and full stream."""

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
                **invocation_metrics(17, 4),
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
