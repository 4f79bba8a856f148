"""Mistral AI on InvokeModel: the text format (`prompt`; `outputs[]`) and the chat format
(`messages`; `choices[]`), told apart by the body's keys."""

from __future__ import annotations

from typing import Any

from . import chat_completions
from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import add_finish, add_text, as_dict, as_list, as_str, request_params, set_finish, text_request


class Mistral:
    name = "mistral"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        if "messages" in body:
            return chat_completions.parse_request(body)
        params = request_params(body.get("max_tokens"), body.get("temperature"), body.get("top_p"),
                                body.get("top_k"), body.get("stop"))
        return text_request(body.get("prompt"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        if "outputs" not in body:
            return chat_completions.parse_response(body)
        outputs = [as_dict(output) for output in as_list(body.get("outputs"))]
        texts = (as_str(output.get("text")) for output in outputs)
        response = ParsedResponse(completion="\n".join(t for t in texts if t))
        set_finish(response, [o.get("stop_reason") for o in outputs])
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chunk = as_dict(chunk)
        if "outputs" not in chunk:
            chat_completions.parse_chunk(chunk, acc)
            return
        for output in as_list(chunk.get("outputs")):
            output = as_dict(output)
            add_text(acc, output.get("text"))
            add_finish(acc, output.get("stop_reason"))


FAMILY = Mistral()
