"""The OpenAI-style chat-completions shape several families share (OpenAI gpt-oss, AI21 Jamba,
Mistral chat, DeepSeek): `messages` in; `choices[]` (message or text) out; `choices[].delta` streamed."""

from __future__ import annotations

from typing import Any

from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import (
    add_finish,
    add_text,
    add_tool_piece,
    as_dict,
    as_list,
    as_str,
    build_request,
    first,
    parse_messages,
    read_usage,
    request_params,
    set_finish,
    tool_call,
)


def parse_request(body: dict[str, Any]) -> ParsedRequest:
    body = as_dict(body)
    params = request_params(first(body, "max_completion_tokens", "max_tokens"), body.get("temperature"),
                            body.get("top_p"), body.get("top_k"), body.get("stop"))
    system, messages = parse_messages(body.get("messages"))
    return build_request("chat", system, messages, params)


def _message_text(content: Any) -> str:
    """A choice's content: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    return "".join(as_str(as_dict(part).get("text")) for part in as_list(content))


def parse_response(body: dict[str, Any]) -> ParsedResponse:
    body = as_dict(body)
    response = ParsedResponse(response_id=as_str(body.get("id")) or None)
    texts, reasons = [], []
    for choice in as_list(body.get("choices")):
        choice = as_dict(choice)
        message = as_dict(choice.get("message"))
        texts.append(_message_text(message.get("content")) or as_str(choice.get("text")))
        for call in as_list(message.get("tool_calls")):
            call = as_dict(call)
            function = as_dict(call.get("function"))
            call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments")
            response.tool_calls.append(tool_call(call_id, name, arguments))
        reasons.append(first(choice, "finish_reason", "stop_reason"))
    response.completion = "\n".join(t for t in texts if t)
    set_finish(response, reasons)
    read_usage(body.get("usage"), response)
    return response


def parse_chunk(chunk: dict[str, Any], acc: StreamAccumulator) -> None:
    chunk = as_dict(chunk)
    if not acc.response.response_id and isinstance(chunk.get("id"), str):
        acc.response.response_id = chunk["id"]
    for choice in as_list(chunk.get("choices")):
        choice = as_dict(choice)
        delta = as_dict(first(choice, "delta", "message"))
        add_text(acc, _message_text(delta.get("content")) or choice.get("text"))
        for position, call in enumerate(as_list(delta.get("tool_calls"))):
            call = as_dict(call)
            function = as_dict(call.get("function"))
            add_tool_piece(acc, call.get("index", position), call.get("id"), function.get("name"),
                           function.get("arguments"))
        add_finish(acc, first(choice, "finish_reason", "stop_reason"))
    read_usage(chunk.get("usage"), acc.response)


class ChatCompletions:
    """A family that speaks exactly this shape."""

    def __init__(self, name: str) -> None:
        self.name = name

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        return parse_request(body)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        return parse_response(body)

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        parse_chunk(chunk, acc)
