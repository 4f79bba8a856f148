"""Titan and Cohere embeddings bodies."""

from __future__ import annotations

from otel_llm._bedrock.families import (
    lookup,
    parse_request_body,
    parse_response_body,
)


def test_titan_and_cohere_embeddings():
    embeddings = lookup("amazon.titan-embed-text-v2:0").family
    request = parse_request_body(
        embeddings, {"inputText": "hello world", "dimensions": 512, "normalize": True}
    )
    assert (request.operation, request.prompt, request.params) == (
        "embeddings",
        "hello world",
        {"gen_ai.embeddings.dimension.count": 512},
    )
    response = parse_response_body(embeddings, {"embedding": [0.1, -0.2], "inputTextTokenCount": 3})
    assert (response.input_tokens, response.completion) == (3, "")

    cohere_embed = lookup("cohere.embed-english-v3").family
    request = parse_request_body(
        cohere_embed, {"texts": ["first", "second"], "input_type": "search_document"}
    )
    assert (request.operation, request.prompt) == ("embeddings", "first\nsecond")
    response = parse_response_body(
        cohere_embed,
        {
            "id": "emb-1",
            "embeddings": [[0.1], [0.2]],
            "texts": ["first", "second"],
            "response_type": "embeddings_floats",
        },
    )
    assert response.response_id == "emb-1"
