"""With no one keeping content (capture off, no processor listening) a call is read for what its span and
metrics hold only: the request for its parameters, a stream without decoding its content events. The
spans and metrics must be those of a call read whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_llm import _sidechannel as sidechannel
from otel_llm._bedrock.families import anthropic, carries_only_content, nova
from otel_llm._bedrock.families.converse import parse_converse_params, parse_converse_request
from otel_llm._bedrock.families.invoke import text_only
from otel_llm.testing import Reply

QUESTION = "Tell me about Paris."
MODELS = {"anthropic": "anthropic.claude-3-5-haiku-20241022-v1:0", "nova": "amazon.nova-lite-v1:0"}
BODIES = {
    "anthropic": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "temperature": 0.3,
                  "top_k": 5, "stop_sequences": ["END"], "messages": [{"role": "user", "content": QUESTION}]},
    "nova": {"inferenceConfig": {"max_new_tokens": 100, "temperature": 0.3},
             "messages": [{"role": "user", "content": [{"text": QUESTION}]}]},
}
TIMED = {"gen_ai.response.time_to_first_chunk"}
PER_CALL = "gen_ai.response.id"  # the emulator makes a new one per call: compared by its presence
REPLIES = [
    {"text": "Paris is the capital of France and its largest city.", "chunks": 6, "input_tokens": 11,
     "output_tokens": 9, "cache_read_tokens": 3},
    {"text": "Let me look.", "chunks": 3, "stop_reason": "tool_use",
     "tool_calls": [{"name": "search", "input": {"q": "Paris"}, "id": "t1"}]},
    {"guardrail_intervened": True, "chunks": 2},
]


def _call(harness: Any, kind: str, family: str, reply: dict[str, Any]) -> tuple[dict[str, Any], int, Any]:
    """One call: (span attributes but timings, events the user got, time-per-chunk point)."""
    harness.emulator.enqueue(Reply(**reply))
    client = harness.emulator.client()
    model = MODELS[family]
    if kind == "converse":
        config = {"maxTokens": 100, "stopSequences": ["END"]}
        events = list(client.converse_stream(modelId=model, messages=BODIES["nova"]["messages"],
                                             inferenceConfig=config)["stream"])
    elif kind == "invoke_stream":
        events = list(client.invoke_model_with_response_stream(modelId=model,
                                                               body=json.dumps(BODIES[family]))["body"])
    else:
        client.invoke_model(modelId=model, body=json.dumps(BODIES[family]))["body"].read()
        events = []
    [span] = harness.genai_spans()
    harness.spans.clear()
    attributes = {k: (v if k != PER_CALL else bool(v)) for k, v in span.attributes.items() if k not in TIMED}
    assert (set(span.attributes) >= TIMED) is bool(events)
    per_chunk = harness.points("gen_ai.client.operation.time_per_output_chunk")
    return attributes, len(events), per_chunk


@pytest.mark.parametrize("reply", REPLIES, ids=["text", "tool", "guardrail"])
@pytest.mark.parametrize(("kind", "family"), [("converse", "nova"), ("invoke_stream", "anthropic"),
                                              ("invoke_stream", "nova"), ("invoke", "anthropic")])
def test_instr_lean_call_has_the_spans_and_metrics_of_a_whole_read(harness: Any, kind: str, family: str,
                                                                     reply: dict[str, Any]) -> None:
    harness.instrument()
    whole, _, _ = _call(harness, kind, family, reply)  # the harness listens: read whole
    whole_records = len(harness.records())
    sidechannel.remove_listener()
    try:
        lean, events, per_chunk = _call(harness, kind, family, reply)
    finally:
        sidechannel.add_listener()

    assert lean == whole
    assert lean.get(PER_CALL) is True or family == "nova"
    assert len(harness.records()) == whole_records  # no record published while no one listens
    if events:  # every interval between consecutive events, both calls in one cumulative point
        [point] = per_chunk
        assert point.count == 2 * (events - 1)
        assert point.min >= 0 and point.sum >= point.max


@pytest.mark.parametrize("reply", REPLIES, ids=["text", "tool", "guardrail"])
@pytest.mark.parametrize(("kind", "family"), [("converse", "nova"), ("invoke_stream", "anthropic"),
                                              ("invoke", "anthropic")])
def test_instr_call_no_listener_wants_is_read_lean_and_published_marked(harness: Any, kind: str, family: str,
                                                                        reply: dict[str, Any]) -> None:
    """A listener past its CPU budget wants no content: the call is read lean, its span is the whole read's,
    and its record is published without text, marked sampled out, exact refusal signal kept."""
    harness.instrument()
    whole, _, _ = _call(harness, kind, family, reply)
    [whole_record] = harness.records()[-1:]
    sidechannel.remove_listener()  # the harness's, which always wants content
    wants_nothing = lambda: False  # noqa: E731
    sidechannel.add_listener(wants_nothing)
    try:
        assert not sidechannel.wanted()
        lean, _, _ = _call(harness, kind, family, reply)
    finally:
        sidechannel.remove_listener(wants_nothing)
        sidechannel.add_listener()
    record = harness.records()[-1]
    assert lean == whole
    assert record is not whole_record and record.extra.get(sidechannel.SAMPLED_OUT) is True
    assert (record.prompt, record.completion, record.messages) == ("", "", [])
    assert record.refusal_signal == whole_record.refusal_signal
    assert (record.model_id, record.operation) == (whole_record.model_id, whole_record.operation)
    assert sidechannel.SAMPLED_OUT not in whole_record.extra


def test_instr_lean_stream_keeps_what_a_chunk_adds_beside_its_content(harness: Any) -> None:
    """A content delta that also carries Bedrock's invocation metrics is decoded (they are exact)."""
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"},
             "amazon-bedrock-invocationMetrics": {"inputTokenCount": 4}}
    data = json.dumps(event).encode()
    assert not text_only(anthropic.FAMILY.text_chunk_prefixes, data)
    assert text_only(anthropic.FAMILY.text_chunk_prefixes, json.dumps(
        {"type": "content_block_delta", "delta": {"text": "amazon"}}, separators=(",", ":")).encode())
    assert not text_only(anthropic.FAMILY.text_chunk_prefixes, b'{"type":"message_delta","delta":{}}')
    assert not text_only(anthropic.FAMILY.text_chunk_prefixes, '{"type":"content_block_delta"}')  # type: ignore[arg-type]
    assert text_only(nova.FAMILY.text_chunk_prefixes, b'{"contentBlockDelta":{"delta":{"text":"x"}}}')


def test_instr_lean_converse_events_skip_content_only() -> None:
    assert carries_only_content({"contentBlockDelta": {"delta": {"text": "x"}}})
    assert carries_only_content({"messageStart": {"role": "assistant"}})
    assert not carries_only_content({"messageStop": {"stopReason": "end_turn"}})
    assert not carries_only_content({"metadata": {"usage": {"inputTokens": 1}}})
    assert not carries_only_content("not a dict")


@pytest.mark.parametrize("body", [BODIES["anthropic"], {"prompt": "\n\nHuman: hi\n\nAssistant:",
                                                        "max_tokens_to_sample": 9}, {"messages": "odd"}, {}])
def test_instr_params_only_parse_matches_the_whole_parse(body: dict[str, Any]) -> None:
    whole, lean = anthropic.FAMILY.parse_request(body), anthropic.FAMILY.parse_params(body)
    assert (lean.operation, lean.params) == (whole.operation, whole.params)
    assert lean.prompt == "" and lean.messages == []
    kwargs = {"inferenceConfig": {"maxTokens": 7, "topP": 0.9, "stopSequences": ["x", 3]},
              "additionalModelRequestFields": {"top_k": 4}, "messages": BODIES["nova"]["messages"]}
    assert parse_converse_params(kwargs).params == parse_converse_request(kwargs).params
