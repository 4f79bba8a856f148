"""Amazon Titan Text on InvokeModel: `inputText`, `textGenerationConfig`; `results[]` (outputText,
completionReason, tokenCount), `inputTextTokenCount`; stream chunks carry `outputText` directly."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import (
    add_finish,
    add_text,
    as_count,
    as_dict,
    as_list,
    as_str,
    request_params,
    set_finish,
    text_request,
)


class Titan:
    name = "titan"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        config = as_dict(body.get("textGenerationConfig"))
        params = request_params(config.get("maxTokenCount"), config.get("temperature"), config.get("topP"),
                                stop=config.get("stopSequences"))
        return text_request(body.get("inputText"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        results = [as_dict(result) for result in as_list(body.get("results"))]
        response = ParsedResponse(completion="".join(as_str(r.get("outputText")) for r in results),
                                  input_tokens=as_count(body.get("inputTextTokenCount")))
        counts = [as_count(r.get("tokenCount")) for r in results]
        if counts and None not in counts:
            response.output_tokens = sum(counts)  # type: ignore[arg-type]
        set_finish(response, [r.get("completionReason") for r in results])  # CONTENT_FILTERED: a signal
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chunk = as_dict(chunk)
        add_text(acc, chunk.get("outputText"))
        input_tokens = as_count(chunk.get("inputTextTokenCount"))
        output_tokens = as_count(chunk.get("totalOutputTextTokenCount"))
        if input_tokens is not None:
            acc.response.input_tokens = input_tokens
        if output_tokens is not None:
            acc.response.output_tokens = output_tokens
        add_finish(acc, chunk.get("completionReason"))


FAMILY = Titan()
