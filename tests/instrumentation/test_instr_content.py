"""Content on spans only when the user opts in, in the conventions' JSON form, and always bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_llm.testing import Reply

MODEL = "amazon.nova-lite-v1:0"
TOOL = {"name": "get_weather", "input": {"city": "Paris"}, "id": "tooluse_1"}


def _converse(harness: Any, question: str, **reply: Any) -> Any:
    harness.emulator.enqueue(Reply(**reply))
    return harness.emulator.client().converse(
        modelId=MODEL, system=[{"text": "Be brief."}],
        messages=[{"role": "user", "content": [{"text": "Hi"}]},
                  {"role": "assistant", "content": [{"text": "Hello! How can I help?"}]},
                  {"role": "user", "content": [{"text": question}]}])


def test_instr_no_content_on_spans_by_default(instrumented: Any) -> None:
    _converse(instrumented, "What is the weather in Paris?", text="Sunny.")
    [span] = instrumented.genai_spans()
    assert not any(key in span.attributes for key in
                   ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"))
    assert "Paris" not in json.dumps(dict(span.attributes), default=str)
    # the processor still gets the whole multi-turn prompt through the side channel
    record = instrumented.records()[0]
    assert record.prompt.split("\n") == ["Be brief.", "Hi", "Hello! How can I help?",
                                         "What is the weather in Paris?"]


def test_instr_content_on_spans_when_opted_in(harness: Any) -> None:
    harness.instrument(capture_content=True)
    _converse(harness, "What is the weather in Paris?", text="Let me look.", tool_calls=[TOOL])

    [span] = harness.genai_spans()
    system = json.loads(span.attributes["gen_ai.system_instructions"])
    inputs = json.loads(span.attributes["gen_ai.input.messages"])
    outputs = json.loads(span.attributes["gen_ai.output.messages"])
    assert system == [{"type": "text", "content": "Be brief."}]
    assert [m["role"] for m in inputs] == ["user", "assistant", "user"]
    assert inputs[2]["parts"] == [{"type": "text", "content": "What is the weather in Paris?"}]
    assert outputs[0]["role"] == "assistant" and outputs[0]["finish_reason"] == "tool_use"
    assert outputs[0]["parts"][0] == {"type": "text", "content": "Let me look."}
    assert outputs[0]["parts"][1]["type"] == "tool_call" and outputs[0]["parts"][1]["name"] == "get_weather"


def test_instr_content_opt_in_from_the_environment(harness: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    harness.instrument()
    _converse(harness, "Anything?", text="Yes.")
    assert "gen_ai.input.messages" in harness.genai_spans()[0].attributes


def test_instr_huge_content_is_bounded(harness: Any) -> None:
    harness.instrument(capture_content=True, max_content_chars=200)
    question = "why " * 5000
    _converse(harness, question, text="because " * 3000)

    [span] = harness.genai_spans()
    inputs = json.loads(span.attributes["gen_ai.input.messages"])  # still valid JSON
    assert len(inputs[0]["parts"][0]["content"]) == 200
    outputs = json.loads(span.attributes["gen_ai.output.messages"])
    assert len(outputs[0]["parts"][0]["content"]) == 200
    record = harness.records()[0]
    assert len(record.prompt) == 200 and len(record.completion) == 200
