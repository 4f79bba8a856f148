"""Meta Llama on InvokeModel: `prompt`, `max_gen_len`; `generation`, `stop_reason`,
`prompt_token_count` / `generation_token_count` (the same keys in every stream chunk)."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import add_finish, add_text, as_count, as_dict, as_str, request_params, set_finish, text_request


class Llama:
    name = "llama"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        params = request_params(body.get("max_gen_len"), body.get("temperature"), body.get("top_p"))
        return text_request(body.get("prompt"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        response = ParsedResponse(completion=as_str(body.get("generation")))
        _read_counts(body, response)
        set_finish(response, [body.get("stop_reason")])
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chunk = as_dict(chunk)
        add_text(acc, chunk.get("generation"))
        _read_counts(chunk, acc.response)
        add_finish(acc, chunk.get("stop_reason"))


def _read_counts(body: dict, response: ParsedResponse) -> None:
    prompt, generated = as_count(body.get("prompt_token_count")), as_count(body.get("generation_token_count"))
    response.input_tokens = prompt if prompt is not None else response.input_tokens
    response.output_tokens = generated if generated is not None else response.output_tokens


FAMILY = Llama()
