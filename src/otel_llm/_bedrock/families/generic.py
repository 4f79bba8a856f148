"""Best effort for anything else (imported models, families added after this release): recognise a
known body shape by its keys and parse it like that family, else read the common keys. Never raises."""

from __future__ import annotations

from typing import Any

from . import anthropic, chat_completions, cohere, converse, embeddings, llama, mistral, nova, titan
from .base import ParsedRequest, ParsedResponse, StreamAccumulator
from .common import (
    add_finish,
    add_text,
    as_dict,
    as_list,
    as_str,
    first,
    read_usage,
    request_params,
    set_finish,
    text_request,
)

_ANTHROPIC_EVENTS = {"message_start", "content_block_start", "content_block_delta", "message_delta"}
_CONVERSE_EVENTS = ("contentBlockDelta", "contentBlockStart", "messageStop", "metadata")
_TEXT_KEYS = ("completion", "generation", "generated_text", "text", "outputText", "content")
_EMBEDDING_KEYS = ("dimensions", "normalize", "embeddingTypes", "embeddingConfig", "singleEmbeddingParams")
_FINISH_KEYS = ("stop_reason", "finish_reason", "stopReason", "completionReason")


class Generic:
    name = "generic"

    def parse_request(self, body: dict[str, Any]) -> ParsedRequest:
        body = as_dict(body)
        if "messages" in body:
            if "anthropic_version" in body or isinstance(body.get("system"), str):
                return anthropic.FAMILY.parse_request(body)
            if "inferenceConfig" in body or _has_block_content(body["messages"]):
                return nova.FAMILY.parse_request(body)
            return chat_completions.parse_request(body)
        if "texts" in body or any(key in body for key in _EMBEDDING_KEYS):
            return embeddings.FAMILY.parse_request(body)
        if "inputText" in body:
            return titan.FAMILY.parse_request(body)
        if "message" in body:
            return cohere.FAMILY.parse_request(body)
        options = {**as_dict(body.get("parameters")), **body}  # TGI-style {"inputs", "parameters"}
        max_tokens = first(options, "max_tokens", "max_gen_len", "max_new_tokens", "max_tokens_to_sample")
        params = request_params(max_tokens,
                                options.get("temperature"), options.get("top_p"), options.get("top_k"),
                                first(options, "stop", "stop_sequences"))
        return text_request(first(body, "prompt", "inputs", "input"), params)

    def parse_response(self, body: dict[str, Any]) -> ParsedResponse:
        body = as_dict(body)
        if "choices" in body:
            return chat_completions.parse_response(body)
        if "output" in body:
            return converse.parse_converse_response(body)
        if "outputs" in body:
            return mistral.FAMILY.parse_response(body)
        if "results" in body:
            return titan.FAMILY.parse_response(body)
        if "generation" in body:
            return llama.FAMILY.parse_response(body)
        if isinstance(body.get("content"), list) or "completion" in body:
            return anthropic.FAMILY.parse_response(body)
        if "generations" in body or ("finish_reason" in body and "text" in body):
            return cohere.FAMILY.parse_response(body)
        response = ParsedResponse(completion=_first_text(body), response_id=as_str(body.get("id")) or None)
        set_finish(response, [first(body, *_FINISH_KEYS)])
        read_usage(body.get("usage"), response)
        return response

    def parse_chunk(self, chunk: dict[str, Any], acc: StreamAccumulator) -> None:
        chunk = as_dict(chunk)
        if as_str(chunk.get("type")) in _ANTHROPIC_EVENTS:
            anthropic.FAMILY.parse_chunk(chunk, acc)
        elif any(key in chunk for key in _CONVERSE_EVENTS):
            converse.fold_event(chunk, acc)
        elif "choices" in chunk:
            chat_completions.parse_chunk(chunk, acc)
        elif "outputs" in chunk:
            mistral.FAMILY.parse_chunk(chunk, acc)
        elif "generation" in chunk:
            llama.FAMILY.parse_chunk(chunk, acc)
        elif "outputText" in chunk:
            titan.FAMILY.parse_chunk(chunk, acc)
        elif "event_type" in chunk:
            cohere.FAMILY.parse_chunk(chunk, acc)
        else:
            add_text(acc, _first_text(chunk))
            add_finish(acc, first(chunk, *_FINISH_KEYS))
            read_usage(chunk.get("usage"), acc.response)


def _has_block_content(messages: Any) -> bool:
    """Converse/Nova-style content: a list of untyped blocks such as {"text": ...}."""
    for message in as_list(messages):
        content = as_dict(message).get("content")
        if isinstance(content, list) and content and "type" not in as_dict(content[0]):
            return True
    return False


def _first_text(body: dict) -> str:
    for key in _TEXT_KEYS:
        if isinstance(body.get(key), str):
            return body[key]
    return ""


FAMILY = Generic()
