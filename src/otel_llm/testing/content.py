"""Deterministic stand-ins for a model: prompt text, token counts, replies, stream pieces, embeddings."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any
from urllib.parse import unquote

_TEXT_KEYS = frozenset(
    {"text", "content", "prompt", "inputText", "message", "texts", "system", "preamble", "generation"}
)
_SKIPPED_KEYS = frozenset({"tools", "toolConfig", "tool_choice", "toolChoice", "inputSchema", "json"})
_PROVIDERS = frozenset(
    {
        "ai21",
        "amazon",
        "anthropic",
        "cohere",
        "deepseek",
        "google",
        "luma",
        "meta",
        "minimax",
        "mistral",
        "moonshot",
        "nvidia",
        "openai",
        "qwen",
        "stability",
        "twelvelabs",
        "writer",
    }
)
_ORDER = {"system": 0, "preamble": 0, "chat_history": 1}  # system prompts first, the new turn last
_WORD = re.compile(r"\S+\s*")
_TOKEN = re.compile(r"[a-z0-9]+")


def base_model_id(model_id: str) -> str:
    """The foundation model id behind a bare id, a cross-region profile (`us.`, `global.`...) or an ARN."""
    model_id = unquote(model_id)
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[-1]
    prefix, _, rest = model_id.partition(".")
    if "." in rest and prefix not in _PROVIDERS:
        return rest  # a region prefix: any new one works without a code change
    return model_id


def request_texts(body: Any) -> list[str]:
    """Every text a request body carries: system prompts first, then the conversation in order."""
    found: list[str] = []

    def walk(node: Any, key: str | None) -> None:
        if isinstance(node, str):
            if key in _TEXT_KEYS:
                found.append(node)
        elif isinstance(node, dict):
            for child_key, child in sorted(node.items(), key=lambda item: _ORDER.get(item[0], 2)):
                if child_key not in _SKIPPED_KEYS:
                    walk(child, child_key)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)

    walk(body, None)
    return found


def count_tokens(text: str) -> int:
    """The emulator's token count: words, so headers, bodies and stream metrics agree."""
    return len(text.split())


def default_reply(question: str) -> str:
    """A deterministic, on-topic answer to `question`."""
    words = question.split()
    topic = " ".join(words[-12:]).rstrip("?.!") if words else "your request"
    templates = (
        "Here is a short answer about {t}. The key points are the context, the main facts and a next step.",
        "Thanks for asking about {t}. In short, it depends on your goals, but the usual approach works well.",
        "Regarding {t}: the answer has three parts, which are the background, the details and a summary.",
    )
    pick = hashlib.sha256(question.encode()).digest()[0] % len(templates)
    return templates[pick].format(t=topic)


def split_text(text: str, pieces: int | None) -> list[str]:
    """Split `text` into about `pieces` stream deltas (default: one per 4 words) that join back to it."""
    words = _WORD.findall(text)
    if not text:
        return []
    if not words:
        return [text]
    lead = text[: len(text) - len(text.lstrip())]
    words[0] = lead + words[0]
    count = min(len(words), pieces or max(1, min(32, math.ceil(len(words) / 4))))
    size, extra = divmod(len(words), count)
    out, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append("".join(words[start:end]))
        start = end
    return out


def embed(text: str, dimensions: int, normalize: bool) -> list[float]:
    """A deterministic embedding: hashed words and character trigrams, so texts that share words are close."""
    vector = [0.0] * dimensions
    lowered = text.lower()
    features = _TOKEN.findall(lowered)
    features += [lowered[i : i + 3] for i in range(max(0, len(lowered) - 2))]
    for feature in features or [""]:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "big") % dimensions
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    if normalize:
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        vector = [v / norm for v in vector]
    return vector
