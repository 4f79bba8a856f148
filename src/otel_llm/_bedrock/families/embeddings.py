"""Embedding models on InvokeModel (operation `embeddings`): Titan (`inputText`;
`inputTextTokenCount`), Cohere (`texts`; `id`) and Nova multimodal (`singleEmbeddingParams.text`).
Vectors are never read or kept."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import as_count, as_dict, as_list, as_str, build_request, text_part

_DIMENSIONS = "gen_ai.embeddings.dimension.count"


class Embeddings:
    name = "embeddings"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        texts = [t for t in as_list(body.get("texts")) if isinstance(t, str)]
        single = as_str(body.get("inputText")) or as_str(
            as_dict(as_dict(body.get("singleEmbeddingParams")).get("text")).get("value"))
        if single:
            texts.insert(0, single)
        params = {}
        dimensions = as_count(body.get("dimensions"))
        if dimensions:
            params[_DIMENSIONS] = dimensions
        messages = [{"role": "user", "parts": [text_part(t) for t in texts]}] if texts else []
        return build_request("embeddings", "", messages, params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        return ParsedResponse(response_id=as_str(body.get("id")) or None,
                              input_tokens=as_count(body.get("inputTextTokenCount")))

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        """Embedding models do not stream; nothing to fold."""


FAMILY = Embeddings()
