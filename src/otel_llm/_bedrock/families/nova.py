"""Amazon Nova on InvokeModel: Converse-shaped bodies (system blocks, messages, inferenceConfig;
output.message.content, stopReason, usage; Converse-style stream events)."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import as_dict, first, request_params
from .converse import fold_event, parse_blocks_request, parse_converse_response


class Nova:
    name = "nova"
    # a content block's delta or start: text or tool calls only (`fold_event` reads nothing beside them)
    text_chunk_prefixes = (b'{"contentBlockDelta"', b'{"contentBlockStart"')

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        config = as_dict(body.get("inferenceConfig"))
        params = request_params(first(config, "max_new_tokens", "maxTokens"), config.get("temperature"),
                                first(config, "topP", "top_p"), first(config, "topK", "top_k"),
                                config.get("stopSequences"))
        return parse_blocks_request(body.get("system"), body.get("messages"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        return parse_converse_response(body)

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        fold_event(chunk, acc)


FAMILY = Nova()
