"""Content stays bounded and private: record messages are bounded like the prompt; errors that quote the
request keep content off the span."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from otel_llm.testing import Reply

MODEL = "amazon.nova-lite-v1:0"


def _strings(messages: list[dict[str, Any]]) -> list[str]:
    """The content each part carries: text, tool arguments, tool results."""
    return [part[key] for message in messages for part in message["parts"]
            for key in ("content", "arguments", "response") if isinstance(part.get(key), str)]


def test_instr_record_messages_are_bounded_like_the_prompt(harness: Any) -> None:
    harness.instrument(max_content_chars=300)
    harness.emulator.enqueue(Reply(text="Short answer."))
    harness.emulator.client().converse(modelId=MODEL, messages=[
        {"role": "user", "content": [{"text": "old question " * 1000}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "search",
                                                       "input": {"q": "x" * 5000}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "y" * 5000}]}},
                                     {"text": "And the latest question?"}]}])

    [record] = harness.records()
    assert len(record.prompt) == 300
    assert sum(len(s) for s in _strings(record.messages)) <= 300  # not the 20 000 characters asked
    # the latest turn, the one similarity compares the answer with, is the one kept
    assert record.messages[-1]["role"] == "user"
    assert record.messages[-1]["parts"][-1] == {"type": "text", "content": "And the latest question?"}


def test_instr_error_quoting_the_request_puts_no_content_on_the_span(instrumented: Any) -> None:
    secret = "my account number is 1234-5678"
    client = instrumented.emulator.client()
    with pytest.raises(ParamValidationError) as raised:  # a dict instead of JSON: botocore quotes it
        client.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                            body={"messages": [{"role": "user", "content": secret}]})
    assert secret in str(raised.value)  # the user's own error is unchanged

    [span] = instrumented.genai_spans()
    assert span.attributes["error.type"] == "ParamValidationError"
    assert span.status.status_code.name == "ERROR"
    exported = json.dumps([dict(span.attributes), span.status.description,
                           [(e.name, dict(e.attributes or {})) for e in span.events]], default=str)
    assert "1234-5678" not in exported
