"""With content capture on, the redaction hook also decides what content goes on spans: scrubbed, none when
it drops the record, none when it fails (and the user's call is untouched either way)."""

from __future__ import annotations

import json
import re
from typing import Any

from otel_llm.testing import Reply

MODEL = "amazon.nova-lite-v1:0"
CARD = re.compile(r"\b(?:\d[ -]?){13,16}\b")


def scrub(call):
    call.prompt = CARD.sub("[card]", call.prompt)
    call.completion = CARD.sub("[card]", call.completion)
    call.messages = [{**m, "parts": [{**p, "content": CARD.sub("[card]", p.get("content", ""))}
                                     for p in m.get("parts", [])]} for m in call.messages or []]
    return call


def _converse(harness: Any, question: str, answer: str) -> Any:
    harness.emulator.enqueue(Reply(text=answer))
    return harness.emulator.client().converse(
        modelId=MODEL, messages=[{"role": "user", "content": [{"text": question}]}])


def test_captured_content_is_scrubbed_by_the_redactor(harness: Any) -> None:
    harness.instrument(capture_content=True, redactor=scrub)
    reply = _converse(harness, "Is 4111 1111 1111 1111 valid?", "4111 1111 1111 1111 looks valid.")
    assert reply["output"]["message"]["content"][0]["text"] == "4111 1111 1111 1111 looks valid."  # untouched
    [span] = harness.genai_spans()
    exported = json.dumps(dict(span.attributes), default=str)
    assert "4111" not in exported and "[card]" in exported
    output = json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"]
    assert output.startswith("[card]") and output.endswith("looks valid.")


def test_no_content_on_the_span_when_the_redactor_drops_or_fails(harness: Any) -> None:
    def refuse(call):
        if "drop" in call.prompt:
            return None
        raise RuntimeError(f"cannot scrub {call.prompt}")

    harness.instrument(capture_content=True, redactor=refuse)
    _converse(harness, "please drop this 4111 1111 1111 1111", "ok")
    _converse(harness, "fail on 4111 1111 1111 1111", "ok")
    for span in harness.genai_spans():
        assert "gen_ai.input.messages" not in span.attributes
        assert "4111" not in json.dumps(dict(span.attributes), default=str)
