"""InvokeModel and InvokeModelWithResponseStream for every family, decoded by real boto3.

The readers below are written from AWS's model-parameter documentation, independently of the
emulator's builders, so a shape drifting from Bedrock's fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from otel_llm.testing import Reply

ANSWER = "Paris is the capital of France, on the Seine."


@dataclass
class Case:
    model_id: str
    body: dict[str, Any]
    text: Callable[[dict], str]  # reads the completion from an InvokeModel body
    chunk_text: Callable[[dict], str]  # reads the text delta of one stream chunk ("" if none)
    stop: Callable[[dict], str]
    max_tokens_stop: str  # the family's word for "max_tokens"


def _messages(content: Any) -> list[dict]:
    return [{"role": "user", "content": content}]


def _claude_delta(chunk: dict) -> str:
    delta = chunk.get("delta", {})
    return delta.get("text", "") if chunk["type"] == "content_block_delta" else ""


CASES = {
    "anthropic": Case(
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 200,
            "system": "Be brief.",
            "messages": _messages([{"type": "text", "text": "Capital of France?"}]),
        },
        lambda b: "".join(c["text"] for c in b["content"] if c["type"] == "text"),
        _claude_delta,
        lambda b: b["stop_reason"],
        "max_tokens",
    ),
    "anthropic_text": Case(
        "anthropic.claude-v2:1",
        {"prompt": "\n\nHuman: Capital of France?\n\nAssistant:", "max_tokens_to_sample": 200},
        lambda b: b["completion"],
        lambda c: c["completion"],
        lambda b: b["stop_reason"],
        "max_tokens",
    ),
    "nova": Case(
        "eu.amazon.nova-lite-v1:0",
        {
            "schemaVersion": "messages-v1",
            "system": [{"text": "Be brief."}],
            "messages": _messages([{"text": "Capital of France?"}]),
            "inferenceConfig": {"maxTokens": 200},
        },
        lambda b: "".join(c.get("text", "") for c in b["output"]["message"]["content"]),
        lambda c: c.get("contentBlockDelta", {}).get("delta", {}).get("text", ""),
        lambda b: b["stopReason"],
        "max_tokens",
    ),
    "titan_text": Case(
        "amazon.titan-text-express-v1",
        {"inputText": "Capital of France?", "textGenerationConfig": {"maxTokenCount": 200}},
        lambda b: b["results"][0]["outputText"],
        lambda c: c["outputText"],
        lambda b: b["results"][0]["completionReason"],
        "LENGTH",
    ),
    "llama": Case(
        "us.meta.llama3-1-8b-instruct-v1:0",
        {"prompt": "<|begin_of_text|>Capital of France?", "max_gen_len": 200},
        lambda b: b["generation"],
        lambda c: c["generation"],
        lambda b: b["stop_reason"],
        "length",
    ),
    "mistral_text": Case(
        "mistral.mistral-7b-instruct-v0:2",
        {"prompt": "<s>[INST] Capital of France? [/INST]", "max_tokens": 200},
        lambda b: b["outputs"][0]["text"],
        lambda c: c["outputs"][0]["text"],
        lambda b: b["outputs"][0]["stop_reason"],
        "length",
    ),
    "mistral_chat": Case(
        "mistral.mistral-large-2407-v1:0",
        {"messages": _messages("Capital of France?"), "max_tokens": 200},
        lambda b: b["choices"][0]["message"]["content"],
        lambda c: c["choices"][0]["message"]["content"],
        lambda b: b["choices"][0]["stop_reason"],
        "length",
    ),
    "cohere": Case(
        "cohere.command-r-plus-v1:0",
        {
            "message": "Capital of France?",
            "chat_history": [{"role": "USER", "message": "Hi"}],
            "max_tokens": 200,
        },
        lambda b: b["text"],
        lambda c: c.get("text", "") if c["event_type"] == "text-generation" else "",
        lambda b: b["finish_reason"],
        "MAX_TOKENS",
    ),
    "ai21_jamba": Case(
        "ai21.jamba-1-5-large-v1:0",
        {"messages": _messages("Capital of France?"), "max_tokens": 200},
        lambda b: b["choices"][0]["message"]["content"],
        lambda c: c["choices"][0]["delta"].get("content") or "",
        lambda b: b["choices"][0]["finish_reason"],
        "length",
    ),
    "deepseek": Case(
        "us.deepseek.r1-v1:0",
        {"prompt": "Capital of France?", "max_tokens": 200},
        lambda b: b["choices"][0]["text"],
        lambda c: c["choices"][0]["text"],
        lambda b: b["choices"][0]["stop_reason"],
        "length",
    ),
    "openai": Case(
        "openai.gpt-oss-20b-1:0",
        {
            "messages": [{"role": "developer", "content": "Be brief."}, *_messages("Capital of France?")],
            "max_completion_tokens": 200,
        },
        lambda b: b["choices"][0]["message"]["content"],
        lambda c: c["choices"][0]["delta"].get("content") or "",
        lambda b: b["choices"][0]["finish_reason"],
        "length",
    ),
    "generic": Case(
        "arn:aws:bedrock:us-east-1:123456789012:imported-model/abc123def456",
        {"prompt": "Capital of France?", "max_gen_len": 200},
        lambda b: b["generation"],
        lambda c: c["generation"],
        lambda b: b["stop_reason"],
        "length",
    ),
}


def invoke(client: Any, case: Case) -> tuple[dict, dict]:
    response = client.invoke_model(modelId=case.model_id, body=json.dumps(case.body))
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def invoke_stream(client: Any, case: Case) -> list[dict]:
    response = client.invoke_model_with_response_stream(modelId=case.model_id, body=json.dumps(case.body))
    assert response["contentType"] == "application/json"
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


@pytest.mark.parametrize("family", CASES)
def test_invoke_returns_the_scripted_text_with_token_headers(emulator, client, family):
    case = CASES[family]
    emulator.enqueue(Reply(text=ANSWER))
    body, headers = invoke(client, case)
    assert case.text(body) == ANSWER
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-requestid"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == len(ANSWER.split())
    assert int(headers["x-amzn-bedrock-input-token-count"]) >= 2
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert emulator.requests[-1].family == family


@pytest.mark.parametrize("family", CASES)
def test_stream_pieces_join_to_the_text_and_end_with_invocation_metrics(emulator, client, family):
    case = CASES[family]
    emulator.enqueue(Reply(text=ANSWER, chunks=3))
    chunks = invoke_stream(client, case)
    assert "".join(case.chunk_text(c) for c in chunks) == ANSWER
    assert sum(1 for c in chunks if case.chunk_text(c)) == 3
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert all("amazon-bedrock-invocationMetrics" not in c for c in chunks[:-1])
    assert metrics["outputTokenCount"] == len(ANSWER.split())
    assert set(metrics) == {"inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency"}


@pytest.mark.parametrize("family", CASES)
def test_token_counts_agree_between_headers_and_stream_metrics(emulator, client, family):
    case = CASES[family]
    _, headers = invoke(client, case)
    metrics = invoke_stream(client, case)[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == int(headers["x-amzn-bedrock-input-token-count"])
    assert metrics["outputTokenCount"] == int(headers["x-amzn-bedrock-output-token-count"])


@pytest.mark.parametrize("family", CASES)
def test_stop_reason_is_mapped_to_the_family_vocabulary(emulator, client, family):
    case = CASES[family]
    emulator.enqueue(Reply(text="cut", stop_reason="max_tokens"))
    body, _ = invoke(client, case)
    assert case.stop(body) == case.max_tokens_stop


def test_anthropic_usage_and_body_details(emulator, client):
    emulator.enqueue(
        Reply(text="Hi.", input_tokens=11, output_tokens=3, cache_read_tokens=5, cache_write_tokens=2)
    )
    body, headers = invoke(client, CASES["anthropic"])
    assert body["id"].startswith("msg_bdrk_") and body["type"] == "message" and body["role"] == "assistant"
    assert body["model"] == "claude-3-5-sonnet-20240620"
    assert body["usage"] == {
        "input_tokens": 11,
        "output_tokens": 3,
        "cache_creation_input_tokens": 2,
        "cache_read_input_tokens": 5,
    }
    assert headers["x-amzn-bedrock-input-token-count"] == "11"


def test_anthropic_refusal_stop_reason(emulator, client):
    emulator.enqueue(Reply(text="I can't help with that.", stop_reason="refusal"))
    body, _ = invoke(client, CASES["anthropic"])
    assert body["stop_reason"] == "refusal"
    emulator.enqueue(Reply(text="I can't help with that.", stop_reason="content_filtered"))
    assert invoke(client, CASES["anthropic"])[0]["stop_reason"] == "refusal"


TOOL = {"name": "get_weather", "input": {"city": "Paris", "unit": "C"}, "id": "tool-1"}


def test_anthropic_tool_use_mixed_with_text_invoke_and_stream(emulator, client):
    emulator.enqueue(Reply(text="Let me check.", tool_calls=[TOOL]), times=2)
    body, _ = invoke(client, CASES["anthropic"])
    assert body["stop_reason"] == "tool_use"
    assert body["content"] == [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "tool-1", "name": "get_weather", "input": TOOL["input"]},
    ]
    chunks = invoke_stream(client, CASES["anthropic"])
    starts = [c["content_block"] for c in chunks if c["type"] == "content_block_start"]
    assert starts[1] == {"type": "tool_use", "id": "tool-1", "name": "get_weather", "input": {}}
    partial = "".join(
        c["delta"]["partial_json"]
        for c in chunks
        if c["type"] == "content_block_delta" and c["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(partial) == TOOL["input"]
    assert next(c for c in chunks if c["type"] == "message_delta")["delta"]["stop_reason"] == "tool_use"


def test_nova_tool_use_invoke_and_stream(emulator, client):
    emulator.enqueue(Reply(text="", tool_calls=[TOOL]), times=2)
    body, _ = invoke(client, CASES["nova"])
    assert body["output"]["message"]["content"] == [
        {"toolUse": {"toolUseId": "tool-1", "name": "get_weather", "input": TOOL["input"]}}
    ]
    assert body["stopReason"] == "tool_use"
    chunks = invoke_stream(client, CASES["nova"])
    start = next(c["contentBlockStart"] for c in chunks if "contentBlockStart" in c)
    assert start["start"]["toolUse"] == {"toolUseId": "tool-1", "name": "get_weather"}
    delta = next(
        c["contentBlockDelta"]["delta"]["toolUse"]["input"] for c in chunks if "contentBlockDelta" in c
    )
    assert json.loads(delta) == TOOL["input"]
    assert chunks[-1]["metadata"]["usage"]["outputTokens"] == body["usage"]["outputTokens"]


@pytest.mark.parametrize("family", ["openai", "ai21_jamba", "mistral_chat"])
def test_chat_completion_tool_calls(emulator, client, family):
    emulator.enqueue(Reply(text="Checking.", tool_calls=[TOOL]))
    body, _ = invoke(client, CASES[family])
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["id"] == "tool-1" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == TOOL["input"]
    assert CASES[family].stop(body) == "tool_calls"


def test_cohere_tool_calls_invoke_and_stream(emulator, client):
    emulator.enqueue(Reply(text="", tool_calls=[TOOL]), times=2)
    body, _ = invoke(client, CASES["cohere"])
    assert body["tool_calls"] == [{"name": "get_weather", "parameters": TOOL["input"]}]
    chunks = invoke_stream(client, CASES["cohere"])
    assert [c["event_type"] for c in chunks] == ["stream-start", "tool-calls-generation", "stream-end"]
    assert chunks[-1]["is_finished"] and chunks[-1]["response"]["tool_calls"] == body["tool_calls"]


def test_guardrail_intervention_marks_the_body_and_the_last_chunk(emulator, client):
    emulator.enqueue(Reply(guardrail_intervened=True), times=2)
    body, _ = invoke(client, CASES["titan_text"])
    assert body["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert body["results"][0]["outputText"] == "Sorry, the model cannot answer this question."
    chunks = invoke_stream(client, CASES["anthropic"])
    assert chunks[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED"


def test_guardrail_action_none_when_a_guardrail_is_attached_but_passes(emulator, client):
    response = client.invoke_model(
        modelId=CASES["llama"].model_id,
        body=json.dumps(CASES["llama"].body),
        guardrailIdentifier="gr-1",
        guardrailVersion="1",
    )
    assert json.loads(response["body"].read())["amazon-bedrock-guardrailAction"] == "NONE"
    assert emulator.requests[-1].headers["x-amzn-bedrock-guardrailidentifier"] == "gr-1"


def test_unscripted_reply_is_deterministic_and_about_the_question(emulator, client):
    first, _ = invoke(client, CASES["llama"])
    second, _ = invoke(client, CASES["llama"])
    assert first["generation"] == second["generation"]
    assert "Capital of France" in first["generation"]


def test_application_inference_profile_arn_is_recognised_by_body_shape(emulator, client):
    case = CASES["anthropic"]
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    emulator.enqueue(Reply(text=ANSWER))
    response = client.invoke_model(modelId=arn, body=json.dumps(case.body))
    assert case.text(json.loads(response["body"].read())) == ANSWER
    request = emulator.requests[-1]
    assert request.model_id == arn and request.family == "anthropic"
