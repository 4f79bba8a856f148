"""Every operation x every model family through real boto3 against the local Bedrock emulator:
spans per the GenAI conventions, exact token counts, call metrics and the side-channel record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_llm._instruments import DURATION_BUCKETS, TOKEN_BUCKETS
from otel_llm.testing import Reply

QUESTION = "What is the capital of France?"
SYSTEM = "Answer in one sentence."
ANSWER = "Paris is the capital of France."


def _messages_body(**extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    return {"messages": messages, **extra}


# (model id, InvokeModel request body); one row per family the instrumentation parses.
FAMILY_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic": ("us.anthropic.claude-3-5-haiku-20241022-v1:0", {
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "temperature": 0.2, "system": SYSTEM,
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]}),
    "anthropic_text": ("anthropic.claude-v2:1", {
        "prompt": f"\n\nHuman: {SYSTEM} {QUESTION}\n\nAssistant:", "max_tokens_to_sample": 200,
        "temperature": 0.2}),
    "nova": ("eu.amazon.nova-lite-v1:0", {
        "schemaVersion": "messages-v1", "system": [{"text": SYSTEM}],
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.2}}),
    "titan": ("amazon.titan-text-express-v1", {
        "inputText": f"{SYSTEM} {QUESTION}",
        "textGenerationConfig": {"maxTokenCount": 200, "temperature": 0.2}}),
    "llama": ("meta.llama3-1-8b-instruct-v1:0", {
        "prompt": f"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n{SYSTEM} {QUESTION}<|eot_id|>",
        "max_gen_len": 200, "temperature": 0.2}),
    "mistral_text": ("mistral.mistral-7b-instruct-v0:2", {
        "prompt": f"<s>[INST] {SYSTEM} {QUESTION} [/INST]", "max_tokens": 200, "temperature": 0.2}),
    "mistral_chat": ("mistral.mistral-large-2407-v1:0", _messages_body(max_tokens=200, temperature=0.2)),
    "cohere": ("cohere.command-r-plus-v1:0", {
        "message": QUESTION, "preamble": SYSTEM, "chat_history": [], "max_tokens": 200, "temperature": 0.2}),
    "jamba": ("ai21.jamba-1-5-mini-v1:0", _messages_body(max_tokens=200, temperature=0.2)),
    "deepseek": ("us.deepseek.r1-v1:0", {
        "prompt": f"{SYSTEM} {QUESTION}", "max_tokens": 200, "temperature": 0.2}),
    "openai": ("openai.gpt-oss-20b-1:0", _messages_body(max_completion_tokens=200, temperature=0.2)),
    "generic": ("arn:aws:bedrock:us-east-1:123456789012:imported-model/abc123xyz", {
        "prompt": f"{SYSTEM} {QUESTION}", "max_tokens": 200, "temperature": 0.2}),
}


def converse_kwargs(model_id: str, question: str = QUESTION) -> dict[str, Any]:
    return {"modelId": model_id, "system": [{"text": SYSTEM}],
            "messages": [{"role": "user", "content": [{"text": question}]}],
            "inferenceConfig": {"maxTokens": 200, "temperature": 0.2, "topP": 0.9}}

TOKENS = {"input_tokens": 13, "output_tokens": 7}


def _span_and_record(harness: Any) -> tuple[Any, Any]:
    spans = harness.genai_spans()
    assert len(spans) == 1, [s.name for s in harness.finished()]
    records = harness.records()
    assert len(records) == 1
    return spans[0], records[0]


def _assert_call(harness: Any, model_id: str, streamed: bool) -> Any:
    span, record = _span_and_record(harness)
    attrs = span.attributes
    operation = attrs["gen_ai.operation.name"]
    assert operation in ("chat", "text_completion")
    assert span.name == f"{operation} {model_id}"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.request.model"] == model_id
    assert attrs["gen_ai.usage.input_tokens"] == 13
    assert attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == harness.emulator.port
    assert span.status.status_code.name != "ERROR"
    assert "gen_ai.input.messages" not in attrs  # content capture is off by default
    assert record.completion == ANSWER
    assert QUESTION in record.prompt
    assert record.input_tokens == 13 and record.output_tokens == 7
    assert record.request_model == model_id
    assert record.streamed is streamed
    assert record.span_context == span.get_span_context()
    assert record.duration_s is not None and record.duration_s > 0

    [duration] = harness.points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert tuple(duration.explicit_bounds) == DURATION_BUCKETS  # the advisory boundaries, no View needed
    assert duration.attributes["gen_ai.request.model"] == model_id
    assert duration.attributes["gen_ai.operation.name"] == operation
    assert duration.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert duration.attributes["server.address"] == "127.0.0.1"
    token_points = harness.points("gen_ai.client.token.usage")
    assert all(tuple(p.explicit_bounds) == TOKEN_BUCKETS for p in token_points)
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in token_points}
    assert tokens == {"input": 13, "output": 7}
    first_chunk = harness.points("gen_ai.client.operation.time_to_first_chunk")
    assert len(first_chunk) == (1 if streamed else 0)
    if streamed:
        assert record.time_to_first_chunk_s is not None
        assert attrs["gen_ai.response.time_to_first_chunk"] == pytest.approx(record.time_to_first_chunk_s)
        per_chunk = harness.points("gen_ai.client.operation.time_per_output_chunk")
        assert per_chunk and per_chunk[0].count >= 1
    return span


@pytest.mark.parametrize("family", sorted(FAMILY_REQUESTS))
def test_instr_invoke_model_every_family(instrumented: Any, family: str) -> None:
    model_id, body = FAMILY_REQUESTS[family]
    instrumented.emulator.enqueue(Reply(text=ANSWER, **TOKENS))
    client = instrumented.emulator.client()

    response = client.invoke_model(modelId=model_id, body=json.dumps(body))

    raw = response["body"].read()
    assert json.loads(raw)  # the user reads the complete, parseable body
    span = _assert_call(instrumented, model_id, streamed=False)
    assert span.attributes["gen_ai.request.max_tokens"] == 200
    assert span.attributes.get("gen_ai.request.temperature") == 0.2


@pytest.mark.parametrize("family", sorted(FAMILY_REQUESTS))
def test_instr_invoke_stream_every_family(instrumented: Any, family: str) -> None:
    model_id, body = FAMILY_REQUESTS[family]
    instrumented.emulator.enqueue(Reply(text=ANSWER, chunks=4, **TOKENS))
    client = instrumented.emulator.client()

    response = client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    events = list(response["body"])

    assert len(events) >= 4 and all("chunk" in e for e in events)
    _assert_call(instrumented, model_id, streamed=True)


@pytest.mark.parametrize("family", sorted(FAMILY_REQUESTS))
def test_instr_converse_every_family(instrumented: Any, family: str) -> None:
    model_id, _ = FAMILY_REQUESTS[family]
    instrumented.emulator.enqueue(Reply(text=ANSWER, **TOKENS))
    client = instrumented.emulator.client()

    response = client.converse(**converse_kwargs(model_id))

    assert response["output"]["message"]["content"][0]["text"] == ANSWER
    span = _assert_call(instrumented, model_id, streamed=False)
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["gen_ai.request.top_p"] == 0.9
    assert span.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert instrumented.records()[0].system == SYSTEM


@pytest.mark.parametrize("family", sorted(FAMILY_REQUESTS))
def test_instr_converse_stream_every_family(instrumented: Any, family: str) -> None:
    model_id, _ = FAMILY_REQUESTS[family]
    instrumented.emulator.enqueue(Reply(text=ANSWER, chunks=3, **TOKENS))
    client = instrumented.emulator.client()

    response = client.converse_stream(**converse_kwargs(model_id))
    deltas = [e["contentBlockDelta"]["delta"] for e in response["stream"] if "contentBlockDelta" in e]
    text = "".join(d["text"] for d in deltas)

    assert text == ANSWER
    _assert_call(instrumented, model_id, streamed=True)


def test_instr_response_model_resolves_profiles_and_keeps_request_model(instrumented: Any) -> None:
    client = instrumented.emulator.client()
    base = "anthropic.claude-3-5-haiku-20241022-v1:0"
    for model_id in (f"us-gov.{base}", f"jp.{base}",
                     f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.{base}"):
        client.converse(**converse_kwargs(model_id))
    models = [(s.attributes["gen_ai.request.model"], s.attributes["gen_ai.response.model"])
              for s in instrumented.genai_spans()]
    assert [m[1] for m in models] == ["anthropic.claude-3-5-haiku-20241022-v1:0"] * 3
    assert models[0][0].startswith("us-gov.") and models[2][0].startswith("arn:")
    assert {r.family for r in instrumented.records()} == {"anthropic"}


@pytest.mark.parametrize("model_id, body", [
    ("amazon.titan-embed-text-v2:0", {"inputText": "hello embeddings", "dimensions": 256}),
    ("cohere.embed-english-v3", {"texts": ["hello embeddings"], "input_type": "search_document"}),
])
def test_instr_embeddings_get_an_embeddings_span_and_no_quality_record(instrumented: Any, model_id: str,
                                                                       body: dict[str, Any]) -> None:
    client = instrumented.emulator.client()

    response = client.invoke_model(modelId=model_id, body=json.dumps(body))

    assert json.loads(response["body"].read())
    [span] = instrumented.genai_spans()
    assert span.name == f"embeddings {model_id}"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == 2  # the emulator counts words
    assert instrumented.records() == []  # nothing to score: no completion
    [duration] = instrumented.points("gen_ai.client.operation.duration")
    assert duration.attributes["gen_ai.operation.name"] == "embeddings"


@pytest.mark.parametrize("intervened", [True, False])
def test_instr_apply_guardrail_span_shows_the_action(instrumented: Any, intervened: bool) -> None:
    instrumented.emulator.enqueue(Reply(guardrail_intervened=intervened))
    client = instrumented.emulator.client()

    response = client.apply_guardrail(guardrailIdentifier="gr-123", guardrailVersion="1", source="INPUT",
                                      content=[{"text": {"text": "How do I pick a lock?"}}])

    [span] = instrumented.genai_spans()
    assert span.name == "apply_guardrail gr-123"
    assert span.attributes["aws.bedrock.guardrail.id"] == "gr-123"
    assert span.attributes["otel_llm.guardrail.action"] == response["action"]
    assert response["action"] == ("GUARDRAIL_INTERVENED" if intervened else "NONE")
    assert (span.attributes.get("gen_ai.response.finish_reasons") == ("guardrail_intervened",)) is intervened
    assert instrumented.records() == []


def test_instr_converse_guardrail_intervention_is_a_refusal_signal(instrumented: Any) -> None:
    instrumented.emulator.enqueue(Reply(guardrail_intervened=True))
    instrumented.emulator.client().converse(**converse_kwargs("amazon.nova-pro-v1:0"))

    [span] = instrumented.genai_spans()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("guardrail_intervened",)
    assert instrumented.records()[0].refusal_signal == "guardrail_intervened"


TOOL = {"name": "get_weather", "input": {"city": "Paris"}, "id": "tooluse_1"}


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke", "invoke_stream"])
def test_instr_text_and_tool_calls_are_both_kept(instrumented: Any, operation: str) -> None:
    instrumented.emulator.enqueue(Reply(text="Let me check the weather.", tool_calls=[TOOL]))
    client = instrumented.emulator.client()
    model_id, body = FAMILY_REQUESTS["anthropic"]
    if operation == "converse":
        client.converse(**converse_kwargs(model_id))
    elif operation == "converse_stream":
        list(client.converse_stream(**converse_kwargs(model_id))["stream"])
    elif operation == "invoke":
        client.invoke_model(modelId=model_id, body=json.dumps(body))["body"].read()
    else:
        list(client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))["body"])

    [record] = instrumented.records()
    assert record.completion == "Let me check the weather."
    assert [(c.name, c.id, json.loads(c.arguments or "{}")) for c in record.tool_calls] == [
        ("get_weather", "tooluse_1", {"city": "Paris"})]
    assert record.finish_reasons == ("tool_use",)


def test_instr_prompt_cache_tokens_are_recorded(instrumented: Any) -> None:
    instrumented.emulator.enqueue(Reply(text=ANSWER, cache_read_tokens=40, cache_write_tokens=5))
    model_id, body = FAMILY_REQUESTS["anthropic"]
    instrumented.emulator.client().invoke_model(modelId=model_id, body=json.dumps(body))

    [span] = instrumented.genai_spans()
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 40
    assert span.attributes["gen_ai.usage.cache_creation.input_tokens"] == 5
    record = instrumented.records()[0]
    assert record.cache_read_tokens == 40
    # The conventions count cached input in gen_ai.usage.input_tokens; Bedrock reports it apart.
    assert span.attributes["gen_ai.usage.input_tokens"] == record.input_tokens + 45
    [inputs] = [p for p in instrumented.points("gen_ai.client.token.usage")
                if p.attributes["gen_ai.token.type"] == "input"]
    assert inputs.sum == record.input_tokens + 45


@pytest.mark.parametrize("streamed", [False, True])
def test_instr_invoke_guardrail_intervention_is_visible(instrumented: Any, streamed: bool) -> None:
    instrumented.emulator.enqueue(Reply(guardrail_intervened=True))
    model_id, body = FAMILY_REQUESTS["anthropic"]
    client = instrumented.emulator.client()
    if streamed:
        list(client.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))["body"])
    else:
        client.invoke_model(modelId=model_id, body=json.dumps(body))["body"].read()

    [span] = instrumented.genai_spans()
    assert span.attributes["otel_llm.guardrail.action"] == "GUARDRAIL_INTERVENED"
    assert instrumented.records()[0].refusal_signal == "guardrail_intervened"
