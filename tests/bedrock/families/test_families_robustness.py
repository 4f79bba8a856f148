"""No parser raises on malformed input, and a stream's result never holds the caller's objects."""

from __future__ import annotations

import copy
import random

import pytest

from otel_llm._bedrock.families import (
    FAMILIES,
    StreamAccumulator,
    finish_stream,
    parse_converse_event,
    parse_converse_request,
    parse_converse_response,
    parse_stream_chunk,
    resolve_family_name,
)

MALFORMED = [
    None,
    "text",
    b"bytes",
    42,
    1.5,
    True,
    [],
    [1, "a"],
    {},
    {"messages": "nope"},
    {"messages": [None, 3, {"role": 5, "content": {"x": 1}}]},
    {"content": "str"},
    {"content": [None, 1]},
    {"choices": [None, {"message": None, "delta": 3}]},
    {"choices": "x"},
    {"outputs": [3]},
    {"results": {"a": 1}},
    {"usage": {"input_tokens": "many", "output_tokens": -3}},
    {"type": "content_block_delta", "index": "x", "delta": {"type": "input_json_delta", "partial_json": 5}},
    {"type": "message_start", "message": []},
    {"contentBlockDelta": None},
    {"contentBlockStart": {"start": 1}},
    {"metadata": {"usage": []}},
    {"event_type": "stream-end", "response": "x"},
    {"amazon-bedrock-invocationMetrics": "bad"},
    {"inferenceConfig": [], "system": 7, "messages": [{}]},
    {"textGenerationConfig": "x", "inputText": 3},
    {"chat_history": [None, {"role": None}], "message": 1},
    {"prompt": None, "stop": [1, None]},
    {"max_tokens": "10", "temperature": "hot", "stop": 5},
]


def _random_value(rng: random.Random, depth: int = 0):
    keys = [
        "messages",
        "content",
        "choices",
        "delta",
        "message",
        "text",
        "type",
        "outputs",
        "results",
        "usage",
        "generation",
        "completion",
        "stop_reason",
        "contentBlockDelta",
        "toolUse",
        "input",
        "index",
        "system",
        "tool_calls",
        "function",
        "arguments",
        "output",
        "inferenceConfig",
        "event_type",
        "response",
        "meta",
    ]
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice(["", "x", "tool_use", "text_delta", "content_block_delta", "text-generation"])
    if kind == 2:
        return rng.choice([0, -1, 3.5, True, 10**12])
    if kind == 3:
        return rng.choice([[], {}, "stream-end"])
    if kind in (4, 5):
        return {rng.choice(keys): _random_value(rng, depth + 1) for _ in range(rng.randrange(1, 5))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))]


def _inputs():
    rng = random.Random(20261125)
    return MALFORMED + [_random_value(rng) for _ in range(400)]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_parsers_never_raise(name):
    family = FAMILIES[name]
    for value in _inputs():
        family.parse_request(value)
        family.parse_response(value)
        acc = StreamAccumulator()
        family.parse_chunk(value, acc)
        acc.finish()


def test_converse_parsers_never_raise():
    for value in _inputs():
        parse_converse_request(value)
        parse_converse_response(value)
        acc = StreamAccumulator()
        parse_converse_event(value, acc)
        finish_stream(acc)


def test_malformed_parts_keep_what_could_be_read():
    anthropic = resolve_family_name("anthropic")
    request = anthropic.parse_request(
        {
            "max_tokens": "ten",
            "messages": [None, {"role": "user", "content": [7, {"type": "text", "text": "kept"}]}],
        }
    )
    assert request.prompt == "kept"
    assert request.params == {}
    response = anthropic.parse_response(
        {
            "content": [None, {"type": "text", "text": "answer"}],
            "usage": {"input_tokens": "x", "output_tokens": 4},
        }
    )
    assert (response.completion, response.input_tokens, response.output_tokens) == ("answer", None, 4)


STREAMS = {
    "anthropic": [
        {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 3}}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": [1]}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "{}"},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    ],
    "nova": [
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "t", "name": "f"}},
                "contentBlockIndex": 0,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "hi"}, "contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 1}}},
    ],
    "openai": [
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "content": "hi",
                        "tool_calls": [{"index": 0, "id": "t", "function": {"name": "f", "arguments": "{}"}}],
                    },
                    "finish_reason": "stop",
                }
            ],
        }
    ],
    "cohere": [
        {"event_type": "text-generation", "text": "hi"},
        {"event_type": "tool-calls-generation", "tool_calls": [{"name": "f", "parameters": {"a": [1]}}]},
        {"event_type": "stream-end", "finish_reason": "COMPLETE", "response": {"response_id": "r"}},
    ],
    "titan": [{"outputText": "hi", "completionReason": "FINISH", "inputTextTokenCount": 2}],
    "llama": [{"generation": "hi", "stop_reason": "stop", "prompt_token_count": 2}],
    "mistral": [{"outputs": [{"text": "hi", "stop_reason": "stop"}]}],
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_results_do_not_change_when_the_caller_mutates_its_chunks(name):
    chunks = copy.deepcopy(STREAMS[name])
    acc = StreamAccumulator()
    for chunk in chunks:
        parse_stream_chunk(FAMILIES[name], chunk, acc)
    snapshot = copy.deepcopy((acc.text_parts, acc.tool_parts, acc.finish_reasons, acc.response))
    _scramble(chunks)
    assert copy.deepcopy((acc.text_parts, acc.tool_parts, acc.finish_reasons, acc.response)) == snapshot
    assert finish_stream(acc).completion == "hi"
    assert chunks != STREAMS[name]  # the scramble really changed the caller's objects


def test_converse_results_do_not_change_when_the_caller_mutates_its_events():
    events = copy.deepcopy(STREAMS["nova"])
    acc = StreamAccumulator()
    for event in events:
        parse_converse_event(event, acc)
    snapshot = copy.deepcopy((acc.text_parts, acc.tool_parts, acc.finish_reasons, acc.response))
    _scramble(events)
    assert copy.deepcopy((acc.text_parts, acc.tool_parts, acc.finish_reasons, acc.response)) == snapshot


def test_non_stream_results_do_not_change_when_the_caller_mutates_its_body():
    anthropic = resolve_family_name("anthropic")
    body = {
        "system": [{"type": "text", "text": "s"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "tool_use", "id": "t", "name": "f", "input": {"a": [1]}},
                    {"type": "text", "text": "q"},
                ],
            }
        ],
    }
    request = anthropic.parse_request(body)
    response = anthropic.parse_response(
        {
            "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"a": [1]}}],
            "stop_reason": "tool_use",
        }
    )
    snapshot = copy.deepcopy((request, response))
    _scramble(body)
    assert copy.deepcopy((request, response)) == snapshot


def _scramble(value) -> None:
    """Mutate every dict and list inside `value` in place."""
    if isinstance(value, dict):
        for key in list(value):
            _scramble(value[key])
            value[key] = "MUTATED" if isinstance(value[key], str) else value[key]
        value["injected"] = {"text": "MUTATED"}
    elif isinstance(value, list):
        for item in value:
            _scramble(item)
        value.append("MUTATED")
