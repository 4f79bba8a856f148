"""InvokeModel body formats of every model family the emulator serves: one table, one small entry each.

Each entry builds the response body and the stream chunks (the JSON inside each `chunk.bytes`) from a
`Completion`. The server adds `amazon-bedrock-invocationMetrics` to the last chunk and the guardrail
action to the body, so entries only speak their own format.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .content import embed, request_texts
from .reply import STOP_REASONS, BedrockError, ToolUse

INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"


@dataclass
class Completion:
    """The answer to give, already resolved from the script: what every builder reads."""

    base_model_id: str  # region prefix and ARN parts removed
    body: dict[str, Any]
    text: str
    pieces: list[str]  # `text` split into stream deltas
    tool_calls: list[ToolUse]
    stop_reason: str  # Converse vocabulary, or a custom value sent as is
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    response_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def native(self, mapping: dict[str, str]) -> str:
        """The stop reason in a family's own words (`mapping` maps Converse values; others pass through)."""
        if self.stop_reason in mapping:
            return mapping[self.stop_reason]
        return mapping["end_turn"] if self.stop_reason in STOP_REASONS else self.stop_reason


Builder = Callable[[Completion], dict[str, Any]]
ChunkBuilder = Callable[[Completion], list[dict[str, Any]]]


@dataclass(frozen=True)
class Format:
    """One family's InvokeModel format."""

    name: str
    required: tuple[str, ...]
    response: Builder
    chunks: ChunkBuilder | None  # None: the model does not stream (embeddings)
    operation: str = "chat"  # chat | text_completion | embeddings


# --- Anthropic Claude ---------------------------------------------------------------------------------

_ANTHROPIC_STOP = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filtered": "refusal",
}


def _claude_model(c: Completion) -> str:
    return c.base_model_id.removeprefix("anthropic.").split(":")[0].rsplit("-v", 1)[0]


def _claude_usage(c: Completion, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": c.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": c.cache_write_tokens,
        "cache_read_input_tokens": c.cache_read_tokens,
    }


def _claude_blocks(c: Completion) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": c.text}] if c.text else []
    blocks += [{"type": "tool_use", "id": t.id, "name": t.name, "input": t.input} for t in c.tool_calls]
    return blocks


def claude_messages(c: Completion) -> dict[str, Any]:
    return {
        "id": f"msg_bdrk_{c.response_id[:24]}",
        "type": "message",
        "role": "assistant",
        "model": _claude_model(c),
        "content": _claude_blocks(c),
        "stop_reason": c.native(_ANTHROPIC_STOP),
        "stop_sequence": None,
        "usage": _claude_usage(c, c.output_tokens),
    }


def claude_messages_chunks(c: Completion) -> list[dict[str, Any]]:
    start = {**claude_messages(c), "content": [], "stop_reason": None, "usage": _claude_usage(c, 1)}
    out: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    index = 0
    if c.text:
        out.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        out += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in c.pieces
        ]
        out.append({"type": "content_block_stop", "index": 0})
        index = 1
    for offset, tool in enumerate(c.tool_calls, start=index):
        block = {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}
        args = tool.arguments
        out.append({"type": "content_block_start", "index": offset, "content_block": block})
        out += [
            {
                "type": "content_block_delta",
                "index": offset,
                "delta": {"type": "input_json_delta", "partial_json": part},
            }
            for part in (args[: len(args) // 2], args[len(args) // 2 :])
        ]
        out.append({"type": "content_block_stop", "index": offset})
    out.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": c.native(_ANTHROPIC_STOP), "stop_sequence": None},
            "usage": {"output_tokens": c.output_tokens},
        }
    )
    out.append({"type": "message_stop"})
    return out


_CLAUDE_TEXT_STOP = {
    "end_turn": "stop_sequence",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
}


def claude_text(c: Completion) -> dict[str, Any]:
    reason = c.native(_CLAUDE_TEXT_STOP)
    return {
        "type": "completion",
        "completion": c.text,
        "stop_reason": reason,
        "stop": "\n\nHuman:" if reason == "stop_sequence" else None,
    }


def claude_text_chunks(c: Completion) -> list[dict[str, Any]]:
    out = [{"type": "completion", "completion": p, "stop_reason": None, "stop": None} for p in c.pieces]
    return [*out, {**claude_text(c), "completion": ""}]


# --- Amazon Nova and Titan ----------------------------------------------------------------------------


def _nova_content(c: Completion) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"text": c.text}] if c.text else []
    return blocks + [{"toolUse": {"toolUseId": t.id, "name": t.name, "input": t.input}} for t in c.tool_calls]


def _nova_usage(c: Completion) -> dict[str, int]:
    return {
        "inputTokens": c.input_tokens,
        "outputTokens": c.output_tokens,
        "totalTokens": c.input_tokens + c.output_tokens,
        "cacheReadInputTokenCount": c.cache_read_tokens,
        "cacheWriteInputTokenCount": c.cache_write_tokens,
    }


def nova(c: Completion) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": _nova_content(c)}},
        "stopReason": c.stop_reason,
        "usage": _nova_usage(c),
    }


def nova_chunks(c: Completion) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    index = 0
    if c.text:
        out += [{"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}} for p in c.pieces]
        out.append({"contentBlockStop": {"contentBlockIndex": 0}})
        index = 1
    for offset, tool in enumerate(c.tool_calls, start=index):
        out.append(
            {
                "contentBlockStart": {
                    "start": {"toolUse": {"toolUseId": tool.id, "name": tool.name}},
                    "contentBlockIndex": offset,
                }
            }
        )
        out.append(
            {
                "contentBlockDelta": {
                    "delta": {"toolUse": {"input": tool.arguments}},
                    "contentBlockIndex": offset,
                }
            }
        )
        out.append({"contentBlockStop": {"contentBlockIndex": offset}})
    out.append({"messageStop": {"stopReason": c.stop_reason}})
    out.append({"metadata": {"usage": _nova_usage(c), "metrics": {}, "trace": {}}})
    return out


_TITAN_STOP = {
    "end_turn": "FINISH",
    "max_tokens": "LENGTH",
    "stop_sequence": "STOP_CRITERIA_MET",
    "content_filtered": "CONTENT_FILTERED",
}


def titan_text(c: Completion) -> dict[str, Any]:
    result = {"tokenCount": c.output_tokens, "outputText": c.text, "completionReason": c.native(_TITAN_STOP)}
    return {"inputTextTokenCount": c.input_tokens, "results": [result]}


def titan_text_chunks(c: Completion) -> list[dict[str, Any]]:
    pieces = c.pieces or [""]
    out = [
        {
            "outputText": p,
            "index": 0,
            "totalOutputTextTokenCount": None,
            "completionReason": None,
            "inputTextTokenCount": c.input_tokens if i == 0 else None,
        }
        for i, p in enumerate(pieces)
    ]
    out[-1].update(totalOutputTextTokenCount=c.output_tokens, completionReason=c.native(_TITAN_STOP))
    return out


def _titan_dimensions(c: Completion) -> int:
    if "v2" not in c.base_model_id:
        return 1536
    dimensions = c.body.get("dimensions", 1024)
    if dimensions not in (256, 512, 1024):
        raise BedrockError(
            "ValidationException",
            f"Malformed input request: #/dimensions: {dimensions} is not a valid enum value, "
            "please reformat your input and try again.",
        )
    return dimensions


def titan_embeddings(c: Completion) -> dict[str, Any]:
    normalize = bool(c.body.get("normalize", True)) and "v2" in c.base_model_id
    vector = embed(str(c.body.get("inputText", "")), _titan_dimensions(c), normalize)
    body: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": c.input_tokens}
    if "v2" in c.base_model_id:
        body["embeddingsByType"] = {"float": vector}
    return body


# --- Meta Llama, Mistral, DeepSeek, generic -----------------------------------------------------------

_LLAMA_STOP = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop"}


def llama(c: Completion) -> dict[str, Any]:
    return {
        "generation": c.text,
        "prompt_token_count": c.input_tokens,
        "generation_token_count": c.output_tokens,
        "stop_reason": c.native(_LLAMA_STOP),
    }


def llama_chunks(c: Completion) -> list[dict[str, Any]]:
    out, total = [], 0
    for i, piece in enumerate(c.pieces):
        total = c.output_tokens * (i + 1) // len(c.pieces)
        out.append(
            {
                "generation": piece,
                "prompt_token_count": c.input_tokens if i == 0 else None,
                "generation_token_count": total,
                "stop_reason": None,
            }
        )
    return [*out, {**llama(c), "generation": "", "prompt_token_count": None}]


def mistral_text(c: Completion) -> dict[str, Any]:
    return {"outputs": [{"text": c.text, "stop_reason": c.native(_LLAMA_STOP)}]}


def mistral_text_chunks(c: Completion) -> list[dict[str, Any]]:
    out = [{"outputs": [{"text": p, "stop_reason": None}]} for p in c.pieces]
    return [*out, {"outputs": [{"text": "", "stop_reason": c.native(_LLAMA_STOP)}]}]


_CHAT_STOP = {
    "end_turn": "stop",
    "max_tokens": "length",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
}


def _openai_tool_calls(c: Completion, with_index: bool = False) -> list[dict[str, Any]]:
    return [
        {
            **({"index": i} if with_index else {}),
            "id": t.id,
            "type": "function",
            "function": {"name": t.name, "arguments": t.arguments},
        }
        for i, t in enumerate(c.tool_calls)
    ]


def _chat_message(c: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": c.text}
    if c.tool_calls:
        message["tool_calls"] = _openai_tool_calls(c)
    return message


def mistral_chat(c: Completion) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": _chat_message(c), "stop_reason": c.native(_CHAT_STOP)}]}


def mistral_chat_chunks(c: Completion) -> list[dict[str, Any]]:
    def chunk(message: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "message": {"role": "assistant", **message}, "stop_reason": reason}]}

    out = [chunk({"content": p}) for p in c.pieces]
    if c.tool_calls:
        out.append(chunk({"content": "", "tool_calls": _openai_tool_calls(c)}))
    return [*out, chunk({"content": ""}, c.native(_CHAT_STOP))]


def deepseek(c: Completion) -> dict[str, Any]:
    return {"choices": [{"text": c.text, "stop_reason": c.native(_LLAMA_STOP)}]}


def deepseek_chunks(c: Completion) -> list[dict[str, Any]]:
    out = [{"choices": [{"text": p, "stop_reason": None}]} for p in c.pieces]
    return [*out, {"choices": [{"text": "", "stop_reason": c.native(_LLAMA_STOP)}]}]


# --- Chat-completions formats: OpenAI gpt-oss, AI21 Jamba -----------------------------------------------


def _chat_usage(c: Completion) -> dict[str, int]:
    return {
        "prompt_tokens": c.input_tokens,
        "completion_tokens": c.output_tokens,
        "total_tokens": c.input_tokens + c.output_tokens,
    }


def openai_chat(c: Completion) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{c.response_id[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": c.base_model_id,
        "service_tier": "default",
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": _chat_message(c), "finish_reason": c.native(_CHAT_STOP)}],
        "usage": _chat_usage(c),
    }


def openai_chat_chunks(c: Completion) -> list[dict[str, Any]]:
    head = {
        "id": f"chatcmpl-{c.response_id[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": c.base_model_id,
    }

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

    out = [chunk({"role": "assistant", "content": ""})] + [chunk({"content": p}) for p in c.pieces]
    if c.tool_calls:
        out.append(chunk({"tool_calls": _openai_tool_calls(c, with_index=True)}))
    return [*out, {**chunk({}, c.native(_CHAT_STOP)), "usage": _chat_usage(c)}]


def jamba(c: Completion) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{c.response_id[:24]}",
        "model": c.base_model_id.removeprefix("ai21.").split(":")[0],
        "choices": [
            {
                "index": 0,
                "message": {"tool_calls": None, **_chat_message(c)},
                "finish_reason": c.native(_CHAT_STOP),
            }
        ],
        "usage": _chat_usage(c),
        "meta": {"requestDurationMillis": 0},
    }


def jamba_chunks(c: Completion) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in chunk.items() if key not in ("object", "created")}
        for chunk in openai_chat_chunks(c)
    ]


# --- Cohere ---------------------------------------------------------------------------------------------

_COHERE_STOP = {
    "end_turn": "COMPLETE",
    "tool_use": "COMPLETE",
    "max_tokens": "MAX_TOKENS",
    "stop_sequence": "COMPLETE",
    "content_filtered": "ERROR_TOXIC",
}


def cohere_chat(c: Completion) -> dict[str, Any]:
    history = [
        {"role": "USER", "message": str(c.body.get("message", ""))},
        {"role": "CHATBOT", "message": c.text},
    ]
    body: dict[str, Any] = {
        "response_id": c.response_id,
        "text": c.text,
        "generation_id": str(uuid.UUID(c.response_id)),
        "chat_history": history,
        "finish_reason": c.native(_COHERE_STOP),
    }
    if c.tool_calls:
        body["tool_calls"] = [{"name": t.name, "parameters": t.input} for t in c.tool_calls]
    return body


def cohere_chat_chunks(c: Completion) -> list[dict[str, Any]]:
    full = cohere_chat(c)
    out: list[dict[str, Any]] = [
        {"is_finished": False, "event_type": "stream-start", "generation_id": full["generation_id"]}
    ]
    out += [{"is_finished": False, "event_type": "text-generation", "text": p} for p in c.pieces]
    if c.tool_calls:
        out.append(
            {
                "is_finished": False,
                "event_type": "tool-calls-generation",
                "text": c.text,
                "tool_calls": full["tool_calls"],
            }
        )
    return [
        *out,
        {
            "is_finished": True,
            "event_type": "stream-end",
            "response": full,
            "finish_reason": full["finish_reason"],
        },
    ]


def cohere_text(c: Completion) -> dict[str, Any]:
    """Legacy Command (`command-text-v14`, `command-light-text-v14`): one generation per answer."""
    return {
        "id": str(uuid.UUID(c.response_id)),
        "generations": [{"id": str(uuid.uuid4()), "text": c.text, "finish_reason": c.native(_COHERE_STOP)}],
        "prompt": str(c.body.get("prompt", "")),
    }


def cohere_text_chunks(c: Completion) -> list[dict[str, Any]]:
    """Bedrock streams legacy Command as one generation delta per chunk; the last one finishes."""
    out = [{"generations": [{"text": p, "is_finished": False, "index": 0}]} for p in c.pieces]
    last = {"text": "", "is_finished": True, "index": 0, "finish_reason": c.native(_COHERE_STOP)}
    return [*out, {"generations": [last]}]


_J2_STOP = {"end_turn": "endoftext", "max_tokens": "length", "stop_sequence": "stop"}


def ai21_j2(c: Completion) -> dict[str, Any]:
    """Jurassic-2 completions: token lists beside each text, the finish reason as an object."""
    def tokens(text: str) -> list[dict[str, Any]]:
        return [{"generatedToken": {"token": word}, "topTokens": None} for word in text.split()]

    prompt = str(c.body.get("prompt", ""))
    return {
        "id": 1234,
        "prompt": {"text": prompt, "tokens": tokens(prompt)},
        "completions": [{"data": {"text": c.text, "tokens": tokens(c.text)},
                         "finishReason": {"reason": c.native(_J2_STOP)}}],
    }


def cohere_embeddings(c: Completion) -> dict[str, Any]:
    if not isinstance(c.body["texts"], list) or not all(isinstance(t, str) for t in c.body["texts"]):
        raise BedrockError(
            "ValidationException",
            "Malformed input request: #/texts: expected type: JSONArray "
            "of strings, please reformat your input and try again.",
        )
    texts = c.body["texts"]
    vectors = [embed(t, 1024, normalize=True) for t in texts]
    if c.body.get("embedding_types"):
        by_type = {kind: vectors for kind in c.body["embedding_types"]}
        return {
            "id": c.response_id,
            "texts": texts,
            "embeddings": by_type,
            "response_type": "embeddings_by_type",
        }
    return {"id": c.response_id, "texts": texts, "embeddings": vectors, "response_type": "embeddings_floats"}


# --- The table ------------------------------------------------------------------------------------------

ANTHROPIC = Format(
    "anthropic", ("anthropic_version", "max_tokens", "messages"), claude_messages, claude_messages_chunks
)
ANTHROPIC_TEXT = Format(
    "anthropic_text", ("prompt", "max_tokens_to_sample"), claude_text, claude_text_chunks, "text_completion"
)
NOVA = Format("nova", ("messages",), nova, nova_chunks)
TITAN_TEXT = Format("titan_text", ("inputText",), titan_text, titan_text_chunks, "text_completion")
TITAN_EMBED = Format("titan_embed", ("inputText",), titan_embeddings, None, "embeddings")
LLAMA = Format("llama", ("prompt",), llama, llama_chunks, "text_completion")
MISTRAL_TEXT = Format("mistral_text", ("prompt",), mistral_text, mistral_text_chunks, "text_completion")
MISTRAL_CHAT = Format("mistral_chat", ("messages",), mistral_chat, mistral_chat_chunks)
COHERE = Format("cohere", ("message",), cohere_chat, cohere_chat_chunks)
COHERE_TEXT = Format("cohere_text", ("prompt",), cohere_text, cohere_text_chunks, "text_completion")
AI21_J2 = Format("ai21_j2", ("prompt",), ai21_j2, None, "text_completion")  # J2 does not stream
COHERE_EMBED = Format("cohere_embed", ("texts",), cohere_embeddings, None, "embeddings")
JAMBA = Format("ai21_jamba", ("messages",), jamba, jamba_chunks)
DEEPSEEK = Format("deepseek", ("prompt",), deepseek, deepseek_chunks, "text_completion")
OPENAI = Format("openai", ("messages",), openai_chat, openai_chat_chunks)
GENERIC = Format("generic", (), llama, llama_chunks, "text_completion")

# (model id prefix without region prefix, a body key that must be present or None, format): first match wins.

# Rows with an empty prefix recognise a body by its shape (application inference profiles, imported models).
FORMATS: tuple[tuple[str, str | None, Format], ...] = (
    ("anthropic.", "prompt", ANTHROPIC_TEXT),
    ("anthropic.", None, ANTHROPIC),
    ("amazon.nova", None, NOVA),
    ("amazon.titan-embed", None, TITAN_EMBED),
    ("amazon.titan", None, TITAN_TEXT),
    ("meta.", None, LLAMA),
    ("mistral.", "messages", MISTRAL_CHAT),
    ("mistral.", None, MISTRAL_TEXT),
    ("cohere.embed", None, COHERE_EMBED),
    ("cohere.command-text", None, COHERE_TEXT),
    ("cohere.command-light-text", None, COHERE_TEXT),
    ("cohere.", None, COHERE),
    ("ai21.j2", None, AI21_J2),
    ("ai21.", None, JAMBA),
    ("deepseek.", "messages", OPENAI),
    ("deepseek.", None, DEEPSEEK),
    ("openai.", None, OPENAI),
    ("", "anthropic_version", ANTHROPIC),
    ("", "schemaVersion", NOVA),
    ("", "textGenerationConfig", TITAN_TEXT),
    ("", "messages", OPENAI),
    ("", None, GENERIC),
)


def format_for(base_model_id: str, body: dict[str, Any]) -> Format:
    """The format a model id (region prefix and ARN already removed) and a request body call for."""
    for prefix, key, fmt in FORMATS:
        if base_model_id.startswith(prefix) and (key is None or key in body):
            return fmt
    return GENERIC


def validate(fmt: Format, body: dict[str, Any]) -> None:
    """Bedrock's check of required keys, with its wording."""
    for key in fmt.required:
        if key not in body:
            raise BedrockError(
                "ValidationException",
                f"Malformed input request: #: required key [{key}] not found, "
                "please reformat your input and try again.",
            )


def input_texts(fmt: Format, body: dict[str, Any]) -> list[str]:
    """The texts the model reads (for embeddings only the embedded texts)."""
    if fmt is COHERE_EMBED:
        return [str(t) for t in body.get("texts", [])]
    return request_texts(body)


def invocation_metrics(input_tokens: int, output_tokens: int, invocation_latency_ms: int = 812,
                       first_byte_latency_ms: int = 301) -> dict[str, dict[str, int]]:
    """The `amazon-bedrock-invocationMetrics` entry Bedrock adds to a stream's last chunk."""
    return {INVOCATION_METRICS: {"inputTokenCount": input_tokens, "outputTokenCount": output_tokens,
                                 "invocationLatency": invocation_latency_ms,
                                 "firstByteLatency": first_byte_latency_ms}}
