"""The generic family: imported models and families this release does not know."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_REQUEST_MAX_TOKENS as MAX,
    GEN_AI_REQUEST_STOP_SEQUENCES as STOP,
    GEN_AI_REQUEST_TEMPERATURE as TEMP,
    GEN_AI_REQUEST_TOP_K as TOP_K,
)

from otel_llm._bedrock.families import (
    lookup,
    parse_request_body,
    parse_response_body,
    resolve_family_name,
)
from otel_llm.testing.families import invocation_metrics

GENERIC = resolve_family_name("generic")


def test_generic_reads_an_imported_llama_style_model(fold_stream):
    ref = lookup("arn:aws:bedrock:us-east-1:123456789012:imported-model/k2j3h4g5f6")
    assert ref.family is GENERIC
    request = parse_request_body(GENERIC, {"prompt": "Say hi", "max_gen_len": 50, "temperature": 0.1})
    assert (request.operation, request.prompt, request.params) == (
        "text_completion",
        "Say hi",
        {MAX: 50, TEMP: 0.1},
    )
    response = parse_response_body(
        GENERIC, {"generation": "Hi!", "generation_token_count": 2, "stop_reason": "stop"}
    )
    assert (response.completion, response.output_tokens, response.finish_reasons) == ("Hi!", 2, ("stop",))
    streamed = fold_stream(
        GENERIC,
        [
            {"generation": "H", "generation_token_count": 1, "stop_reason": None},
            {
                "generation": "i!", "generation_token_count": 2, "stop_reason": "stop",
                **invocation_metrics(4, 2),
            },
        ],
    )
    assert (streamed.completion, streamed.finish_reasons, streamed.input_tokens) == ("Hi!", ("stop",), 4)


def test_generic_recognises_known_shapes_by_their_keys(fold_stream):
    chat = parse_request_body(
        GENERIC, {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]}
    )
    assert (chat.operation, chat.prompt) == ("chat", "S\nQ")
    claude = parse_request_body(
        GENERIC,
        {
            "anthropic_version": "bedrock-2023-05-31",
            "system": "S",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Q"}]}],
        },
    )
    assert claude.prompt == "S\nQ"
    nova_like = parse_request_body(
        GENERIC,
        {"messages": [{"role": "user", "content": [{"text": "Q"}]}], "inferenceConfig": {"maxTokens": 9}},
    )
    assert (nova_like.prompt, nova_like.params) == ("Q", {MAX: 9})
    assert (
        parse_response_body(
            GENERIC, {"choices": [{"message": {"content": "A"}, "finish_reason": "stop"}]}
        ).completion
        == "A"
    )
    assert (
        parse_response_body(GENERIC, {"output": {"message": {"content": [{"text": "A"}]}}}).completion == "A"
    )
    assert parse_response_body(GENERIC, {"content": [{"type": "text", "text": "A"}]}).completion == "A"
    assert parse_response_body(GENERIC, {"results": [{"outputText": "A"}]}).completion == "A"
    assert parse_response_body(GENERIC, {"outputs": [{"text": "A"}]}).completion == "A"
    streamed = fold_stream(
        GENERIC,
        [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "A"}},
            {"contentBlockDelta": {"delta": {"text": "B"}, "contentBlockIndex": 0}},
            {"choices": [{"delta": {"content": "C"}}]},
            {"outputText": "D"},
        ],
    )
    assert streamed.completion == "ABCD"


def test_generic_reads_common_keys_of_an_unknown_shape(fold_stream):
    request = parse_request_body(
        GENERIC,
        {"inputs": "Translate: chat", "parameters": {"max_new_tokens": 20, "top_k": 5, "stop": ["\n"]}},
    )
    assert (request.prompt, request.params) == ("Translate: chat", {MAX: 20, TOP_K: 5, STOP: ("\n",)})
    response = parse_response_body(
        GENERIC,
        {
            "id": "r1",
            "generated_text": "cat",
            "finish_reason": "eos",
            "usage": {"prompt_tokens": 4, "completion_tokens": 1},
        },
    )
    assert (response.completion, response.response_id, response.finish_reasons) == ("cat", "r1", ("eos",))
    assert (response.input_tokens, response.output_tokens) == (4, 1)
    streamed = fold_stream(GENERIC, [{"text": "c"}, {"text": "at", "finish_reason": "eos"}])
    assert (streamed.completion, streamed.finish_reasons) == ("cat", ("eos",))
    assert parse_response_body(GENERIC, {"unexpected": {"shape": [1, 2]}}).completion == ""


def test_generic_tells_titan_text_from_titan_embeddings():
    text = parse_request_body(GENERIC, {"inputText": "User: hi\nBot:"})
    embedding = parse_request_body(GENERIC, {"inputText": "hi", "dimensions": 256, "normalize": True})
    assert (text.operation, embedding.operation) == ("text_completion", "embeddings")
