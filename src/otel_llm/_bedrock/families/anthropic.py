"""Anthropic Claude on InvokeModel: the Messages API and the legacy Text Completions format
(`prompt`/`completion`), told apart by the body's keys."""

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
    json_text,
    parse_messages,
    read_usage,
    request_params,
    set_finish,
    system_text,
    text_request,
    tool_call,
)


class Anthropic:
    name = "anthropic"
    # content blocks (start, delta, stop): text or tool calls only (Bedrock's compact JSON, or with spaces)
    text_chunk_prefixes = tuple(f'{{"type":{space}"content_block_{kind}"'.encode()
                                for kind in ("delta", "start", "stop") for space in ("", " "))

    def parse_params(self, body: dict[str, Any]) -> ParsedRequest:
        """The operation and request parameters only (no messages, no prompt)."""
        body = as_dict(body)
        max_tokens = body.get("max_tokens", body.get("max_tokens_to_sample"))
        params = request_params(max_tokens, body.get("temperature"), body.get("top_p"), body.get("top_k"),
                                body.get("stop_sequences"))
        text = "messages" not in body and "prompt" in body
        return ParsedRequest(operation="text_completion" if text else "chat", params=params)

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        parsed = self.parse_params(body)
        params = parsed.params
        if parsed.operation == "text_completion":  # no messages, a prompt: the Text Completions API
            return text_request(body.get("prompt"), params)
        inline_system, messages = parse_messages(body.get("messages"))
        system = "\n".join(s for s in (system_text(body.get("system")), inline_system) if s)
        return build_request("chat", system, messages, params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        response = ParsedResponse(response_id=as_str(body.get("id")) or None)
        if "content" not in body and "completion" in body:
            response.completion = as_str(body.get("completion"))
        else:
            texts = []
            for block in as_list(body.get("content")):
                block = as_dict(block)
                if block.get("type") == "text":
                    texts.append(as_str(block.get("text")))
                elif block.get("type") == "tool_use":
                    call = tool_call(block.get("id"), block.get("name"), block.get("input"))
                    response.tool_calls.append(call)
            response.completion = "".join(texts)
        set_finish(response, [body.get("stop_reason")])
        read_usage(body.get("usage"), response)
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chunk = as_dict(chunk)
        kind = chunk.get("type")
        if kind == "content_block_delta":
            index, delta = chunk.get("index"), as_dict(chunk.get("delta"))
            if delta.get("type") == "text_delta":
                add_text(acc, delta.get("text"))
            elif delta.get("type") == "input_json_delta":
                add_tool_piece(acc, index, arguments=delta.get("partial_json"))
        elif kind == "content_block_start":
            block = as_dict(chunk.get("content_block"))
            if block.get("type") == "tool_use":
                initial = block.get("input")
                add_tool_piece(acc, chunk.get("index"), block.get("id"), block.get("name"),
                               json_text(initial) if initial else None)
            elif block.get("type") == "text":
                add_text(acc, block.get("text"))
        elif kind == "message_start":
            message = as_dict(chunk.get("message"))
            acc.response.response_id = as_str(message.get("id")) or acc.response.response_id
            read_usage(message.get("usage"), acc.response)
        elif kind == "message_delta":
            add_finish(acc, as_dict(chunk.get("delta")).get("stop_reason"))
            read_usage(chunk.get("usage"), acc.response)
        elif "completion" in chunk:  # legacy Text Completions stream
            add_text(acc, chunk.get("completion"))
            add_finish(acc, chunk.get("stop_reason"))


FAMILY = Anthropic()
