"""Converse / ConverseStream, family-independent: the boto3 request kwargs, the response and the
stream events. Amazon Nova's InvokeModel bodies share these shapes and reuse this module."""

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
    system_text,
    tool_call,
)


def parse_converse_request(kwargs: dict[str, Any]) -> ParsedRequest:
    """What a `converse` / `converse_stream` call's keyword arguments ask for."""
    kwargs = as_dict(kwargs)
    params = parse_converse_params(kwargs).params
    return parse_blocks_request(kwargs.get("system"), kwargs.get("messages"), params)


def parse_converse_params(kwargs: dict[str, Any]) -> ParsedRequest:
    """The request parameters only (no messages, no prompt)."""
    kwargs = as_dict(kwargs)
    config = as_dict(kwargs.get("inferenceConfig"))
    extra = as_dict(kwargs.get("additionalModelRequestFields"))
    top_k = first(extra, "top_k", "topK")
    if top_k is None:
        top_k = first(as_dict(extra.get("inferenceConfig")), "topK", "top_k")
    params = request_params(config.get("maxTokens"), config.get("temperature"), config.get("topP"), top_k,
                            config.get("stopSequences"))
    return ParsedRequest(operation="chat", params=params)


def parse_blocks_request(system: Any, messages: Any, params: dict[str, Any]) -> ParsedRequest:
    """A request whose system is a list of text blocks and whose messages hold content blocks."""
    _, parsed = parse_messages(messages)
    return build_request("chat", system_text(system), parsed, params)


def parse_converse_response(response: dict[str, Any]) -> ParsedResponse:
    """Text and tool calls (both kept), stop reason, usage incl. prompt-cache tokens."""
    response = as_dict(response)
    parsed = ParsedResponse()
    texts = []
    for block in as_list(as_dict(as_dict(response.get("output")).get("message")).get("content")):
        block = as_dict(block)
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif "citationsContent" in block:  # text the model grounded in documents
            cited = as_list(as_dict(block["citationsContent"]).get("content"))
            texts.extend(as_str(as_dict(piece).get("text")) for piece in cited)
        elif "toolUse" in block:
            use = as_dict(block["toolUse"])
            parsed.tool_calls.append(tool_call(use.get("toolUseId"), use.get("name"), use.get("input")))
    parsed.completion = "".join(texts)
    set_finish(parsed, [response.get("stopReason")])
    read_usage(response.get("usage"), parsed)
    return parsed


def parse_converse_event(event: dict[str, Any], acc: StreamAccumulator) -> None:
    """Fold one ConverseStream event (`{"contentBlockDelta": {...}}`, ...) into `acc`."""
    fold_event(event, acc)


def carries_only_content(event: Any) -> bool:
    """Whether `fold_event` would take only text or tool calls from this ConverseStream event (nothing a
    span holds: no finish reason, no usage)."""
    return type(event) is dict and ("contentBlockDelta" in event or "contentBlockStart" in event
                                    or ("messageStop" not in event and "metadata" not in event))


def fold_event(event: Any, acc: StreamAccumulator) -> None:
    """The event folding shared with Nova's InvokeModelWithResponseStream chunks."""
    event = as_dict(event)
    if "contentBlockDelta" in event:
        body = as_dict(event["contentBlockDelta"])
        delta = as_dict(body.get("delta"))
        add_text(acc, delta.get("text"))
        if "toolUse" in delta:
            arguments = as_dict(delta["toolUse"]).get("input")
            add_tool_piece(acc, body.get("contentBlockIndex"), arguments=arguments)
    elif "contentBlockStart" in event:
        body = as_dict(event["contentBlockStart"])
        use = as_dict(as_dict(body.get("start")).get("toolUse"))
        if use:
            add_tool_piece(acc, body.get("contentBlockIndex"), use.get("toolUseId"), use.get("name"))
    elif "messageStop" in event:
        add_finish(acc, as_dict(event["messageStop"]).get("stopReason"))
    elif "metadata" in event:
        read_usage(as_dict(event["metadata"]).get("usage"), acc.response)
