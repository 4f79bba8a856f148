"""GenAI semantic-convention attributes found missing against the current conventions (issue 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_llm._bedrock.families import parse_response_body, resolve_family_name
from otel_llm.testing import Reply

CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Name a colour."}]}]
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
                   "messages": [{"role": "user", "content": "Name a colour."}]})


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke", "invoke_stream"])
def test_instr_guardrail_id_and_stream_flag_on_the_span(instrumented: Any, operation: str) -> None:
    client = instrumented.emulator.client()
    guardrail = {"guardrailIdentifier": "gr-abc123", "guardrailVersion": "1"}
    if operation == "converse":
        client.converse(modelId=CLAUDE, messages=MESSAGES, guardrailConfig=guardrail)
    elif operation == "converse_stream":
        list(client.converse_stream(modelId=CLAUDE, messages=MESSAGES,
                                    guardrailConfig={**guardrail, "streamProcessingMode": "sync"})["stream"])
    elif operation == "invoke":
        client.invoke_model(modelId=CLAUDE, body=BODY, **guardrail)["body"].read()
    else:
        list(client.invoke_model_with_response_stream(modelId=CLAUDE, body=BODY, **guardrail)["body"])
    [span] = instrumented.finished()
    assert span.attributes["aws.bedrock.guardrail.id"] == "gr-abc123"
    assert span.attributes.get("gen_ai.request.stream") is (True if operation.endswith("stream") else None)


def test_instr_no_guardrail_no_attribute(instrumented: Any) -> None:
    instrumented.emulator.client().converse(modelId=CLAUDE, messages=MESSAGES)
    [span] = instrumented.finished()
    assert "aws.bedrock.guardrail.id" not in span.attributes


def test_instr_call_metrics_carry_server_port_and_response_model(instrumented: Any) -> None:
    instrumented.emulator.client().converse(modelId="us." + CLAUDE, messages=MESSAGES)
    port = int(instrumented.emulator.endpoint_url.rsplit(":", 1)[1])
    for name in ("gen_ai.client.operation.duration", "gen_ai.client.token.usage"):
        points = instrumented.points(name)
        assert points, name
        for point in points:
            assert point.attributes["server.port"] == port
            assert point.attributes["gen_ai.response.model"] == CLAUDE
            assert point.attributes["gen_ai.request.model"] == "us." + CLAUDE


@pytest.mark.parametrize("model", ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"])
def test_instr_embeddings_spans_have_no_output_tokens(instrumented: Any, model: str) -> None:
    body = {"inputText": "a colour"} if model.startswith("amazon") else {"texts": ["a colour"],
                                                                         "input_type": "search_document"}
    instrumented.emulator.client().invoke_model(modelId=model, body=json.dumps(body))["body"].read()
    [span] = instrumented.finished()
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] > 0
    assert "gen_ai.usage.output_tokens" not in span.attributes
    types = {p.attributes["gen_ai.token.type"] for p in instrumented.points("gen_ai.client.token.usage")}
    assert types == {"input"}


FORMATS = [({"type": "json_object"}, "json"), ({"type": "json_schema", "json_schema": {}}, "json"),
           ({"type": "text"}, "text"), (None, None)]


@pytest.mark.parametrize(("response_format", "expected"), FORMATS)
def test_instr_output_type_from_the_response_format(instrumented: Any, response_format: Any,
                                                    expected: str | None) -> None:
    instrumented.emulator.enqueue(Reply(text='{"colour": "blue"}'))
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Name a colour as JSON."}]}
    if response_format is not None:
        body["response_format"] = response_format
    instrumented.emulator.client().invoke_model(modelId="openai.gpt-oss-20b-1:0", body=json.dumps(body))
    [span] = instrumented.finished()
    assert span.attributes.get("gen_ai.output.type") == expected


def test_families_reasoning_output_tokens_where_the_usage_has_them() -> None:
    body = {"id": "c1", "choices": [{"message": {"content": "blue"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 30,
                      "completion_tokens_details": {"reasoning_tokens": 26}}}
    parsed = parse_response_body(resolve_family_name("openai"), body)
    assert (parsed.output_tokens, parsed.reasoning_tokens) == (30, 26)
    assert parse_response_body(resolve_family_name("openai"), {**body, "usage": {}}).reasoning_tokens is None
