"""record_from_attributes: the shapes other GenAI instrumentations put content in."""

from __future__ import annotations

import json

from otel_llm._quality.span_records import record_from_attributes


def test_message_shapes_parts_plain_content_and_content_blocks():
    attrs = {
        "gen_ai.request.model": "llama3",
        "gen_ai.input.messages": json.dumps([
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": [{"text": "Hello"}, {"type": "image", "url": "x"}]},
            {"role": "user", "parts": [{"type": "tool_call_response", "response": "{}"},
                                       {"type": "text", "content": "And?"}]},
        ]),
        "gen_ai.output.messages": json.dumps({"role": "assistant",
                                              "parts": [{"type": "text", "content": "Hi!"}]}),
    }
    call = record_from_attributes(attrs)
    assert (call.prompt, call.completion, call.model_id, call.operation) == (
        "Be kind.\nHello\nAnd?", "Hi!", "llama3", "chat")


def test_plain_text_output_and_truncation():
    call = record_from_attributes({"gen_ai.output.messages": "not json, just the answer " * 10}, max_chars=20)
    assert call.completion == "not json, just the a"
    assert call.model_id == "unknown" and call.provider == "unknown"


def test_no_record_without_completion_text():
    assert record_from_attributes(None) is None
    assert record_from_attributes({"gen_ai.operation.name": "chat"}) is None
    assert record_from_attributes({"gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
        {"type": "tool_call", "name": "get_weather"}]}])}) is None
