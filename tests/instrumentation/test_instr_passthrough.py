"""Calls the instrumentation does not handle go through untouched: once, with their own errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_instr_a_failing_uninstrumented_call_is_sent_once_with_its_own_error(instrumented: Any) -> None:
    client = instrumented.emulator.client()
    sends: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: sends.append(request.url))
    with pytest.raises(ClientError):
        client.get_async_invoke(invocationArn="arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc")
    assert len(sends) == 1
    assert instrumented.genai_spans() == []


def test_instr_a_huge_request_body_is_sent_untouched_and_not_parsed(instrumented: Any) -> None:
    import io
    import json

    from otel_llm._instrumentation.calls import MAX_PARSED_REQUEST_BYTES

    image = "A" * (MAX_PARSED_REQUEST_BYTES + 1)  # stands for a base64 image or document
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe the image."},
                                     {"type": "image", "source": {"type": "base64", "data": image}}]}]})
    stream = io.BytesIO(body.encode())
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    response = instrumented.emulator.client().invoke_model(modelId=model, body=stream)

    assert json.loads(response["body"].read())["content"]
    assert instrumented.emulator.requests[-1].body == json.loads(body)  # the whole body reached Bedrock
    [span] = instrumented.genai_spans()
    assert "gen_ai.request.max_tokens" not in span.attributes  # not parsed on the caller's thread
    assert span.attributes["gen_ai.usage.output_tokens"] > 0  # tokens still come from the headers
