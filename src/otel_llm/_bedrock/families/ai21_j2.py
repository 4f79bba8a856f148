"""AI21 Labs Jurassic-2 (`ai21.j2-*`) on InvokeModel, a legacy completion format: `prompt`,
`maxTokens`, `temperature`, `topP`, `stopSequences` in; `id`, `completions[].data.text`,
`completions[].finishReason.reason` out. It does not stream; token counts come from the response headers."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import as_dict, as_list, as_str, request_params, set_finish, text_request


class Jurassic2:
    name = "ai21_j2"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        params = request_params(body.get("maxTokens"), body.get("temperature"), body.get("topP"), None,
                                body.get("stopSequences"))
        return text_request(body.get("prompt"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        identifier = body.get("id")
        response = ParsedResponse(response_id=str(identifier) if isinstance(identifier, (str, int)) else None)
        completions = [as_dict(c) for c in as_list(body.get("completions"))]
        texts = (as_str(as_dict(c.get("data")).get("text")) for c in completions)
        response.completion = "\n".join(t for t in texts if t)
        set_finish(response, [as_dict(c.get("finishReason")).get("reason") for c in completions])
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        """Jurassic-2 does not stream; nothing to fold."""


FAMILY = Jurassic2()
