"""DeepSeek on InvokeModel: text completion (`prompt`; `choices[].text`, `stop_reason`) or, for models
that take them, chat `messages`; responses and chunks share the choices shape."""

from __future__ import annotations

from typing import Any

from . import chat_completions
from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import as_dict, request_params, text_request


class DeepSeek:
    name = "deepseek"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        if "messages" in body:
            return chat_completions.parse_request(body)
        params = request_params(body.get("max_tokens"), body.get("temperature"), body.get("top_p"), None,
                                body.get("stop"))
        return text_request(body.get("prompt"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        return chat_completions.parse_response(body)

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chat_completions.parse_chunk(chunk, acc)


FAMILY = DeepSeek()
