"""Cohere Command R / R+ on InvokeModel: `message`, `chat_history`, `preamble`; `text`, `tool_calls`,
`finish_reason`, `response_id`/`generation_id`, `meta.billed_units`; stream events `text-generation`,
`tool-calls-generation`, `stream-end`. Legacy Command (`prompt`; `generations[]`) too."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import (
    add_finish,
    add_text,
    add_tool_piece,
    as_count,
    as_dict,
    as_list,
    as_str,
    build_request,
    first,
    json_text,
    request_params,
    set_finish,
    text_part,
    text_request,
    tool_call,
    tool_response_part,
)

_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system", "TOOL": "tool"}


class Cohere:
    name = "cohere"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        params = request_params(body.get("max_tokens"), body.get("temperature"), body.get("p"), body.get("k"),
                                body.get("stop_sequences"))
        if "message" not in body and "prompt" in body:
            return text_request(body.get("prompt"), params)
        messages = []
        for turn in as_list(body.get("chat_history")):
            turn = as_dict(turn)
            text = as_str(turn.get("message"))
            role = as_str(turn.get("role"))
            messages.append({"role": _ROLES.get(role.upper(), role.lower() or "user"),
                             "parts": [text_part(text)] if text else []})
        results = [tool_response_part(None, as_dict(result).get("outputs"))
                   for result in as_list(body.get("tool_results"))]
        if results:
            messages.append({"role": "tool", "parts": results})
        message = as_str(body.get("message"))
        if message:
            messages.append({"role": "user", "parts": [text_part(message)]})
        return build_request("chat", as_str(body.get("preamble")), messages, params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        response_id = as_str(first(body, "response_id", "generation_id", "id")) or None
        response = ParsedResponse(response_id=response_id)
        if "generations" in body and "text" not in body:  # legacy Command
            generations = [as_dict(g) for g in as_list(body.get("generations"))]
            response.completion = "\n".join(t for t in (as_str(g.get("text")) for g in generations) if t)
            set_finish(response, [g.get("finish_reason") for g in generations])
            return response
        response.completion = as_str(body.get("text"))
        for call in as_list(body.get("tool_calls")):
            call = as_dict(call)
            response.tool_calls.append(tool_call(None, call.get("name"), call.get("parameters")))
        set_finish(response, [body.get("finish_reason")])
        _read_billed_units(body, response)
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chunk = as_dict(chunk)
        event = chunk.get("event_type")
        if event == "text-generation" or (event is None and "text" in chunk):
            add_text(acc, chunk.get("text"))
        elif event == "tool-calls-generation":
            for position, call in enumerate(as_list(chunk.get("tool_calls"))):
                call = as_dict(call)
                arguments = json_text(call.get("parameters"))
                add_tool_piece(acc, position, name=call.get("name"), arguments=arguments)
        elif event == "stream-end":
            end = as_dict(chunk.get("response"))
            response_id = as_str(first(end, "response_id", "generation_id"))
            acc.response.response_id = response_id or acc.response.response_id
            _read_billed_units(end, acc.response)
        add_finish(acc, chunk.get("finish_reason"))


def _read_billed_units(body: dict, response: ParsedResponse) -> None:
    units = as_dict(as_dict(body.get("meta")).get("billed_units"))
    for attr, key in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens")):
        value = as_count(units.get(key))
        if value is not None:
            setattr(response, attr, value)


FAMILY = Cohere()
