"""Model families: which parser reads a model's InvokeModel bodies. This file holds the ONE table
of families; adding a family means a module and a row here. `lookup(model_id)` resolves bare ids,
cross-region inference profiles (any prefix: `us.`, `eu.`, `global.`, future ones) and ARNs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import (
    ai21_j2,
    anthropic,
    cohere,
    deepseek,
    embeddings,
    generic,
    jamba,
    llama,
    mistral,
    nova,
    openai,
    titan,
)
from .base import Family, ParsedRequest, ParsedResponse, StreamAccumulator
from .common import output_messages
from .converse import (
    carries_only_content,
    parse_converse_event,
    parse_converse_params,
    parse_converse_request,
    parse_converse_response,
)
from .invoke import (
    finish_stream,
    parse_request_body,
    parse_response_body,
    parse_stream_chunk,
    strip_reasoning,
)

# Provider segment of a model id -> (model-name prefix, family) rows; the first match wins, "" matches
# any name, no match means the generic family. Providers listed without rows are known so that their
# prefixed ids resolve, and are parsed by the generic family.
_TABLE: dict[str, tuple[tuple[str, Family], ...]] = {
    "anthropic": (("", anthropic.FAMILY),),
    "amazon": (("titan-embed", embeddings.FAMILY), ("titan-text", titan.FAMILY), ("titan-tg1", titan.FAMILY),
               ("nova-2-multimodal-embeddings", embeddings.FAMILY), ("nova", nova.FAMILY)),
    "meta": (("", llama.FAMILY),),
    "mistral": (("", mistral.FAMILY),),
    "cohere": (("embed", embeddings.FAMILY), ("command", cohere.FAMILY)),
    "ai21": (("jamba", jamba.FAMILY), ("j2", ai21_j2.FAMILY)),
    "deepseek": (("", deepseek.FAMILY),),
    "openai": (("", openai.FAMILY),),
    "qwen": (),
    "writer": (),
    "twelvelabs": (),
    "stability": (),
    "luma": (),
}

FAMILIES: dict[str, Family] = {f.name: f for f in (
    anthropic.FAMILY, nova.FAMILY, titan.FAMILY, llama.FAMILY, mistral.FAMILY, cohere.FAMILY, jamba.FAMILY,
    deepseek.FAMILY, openai.FAMILY, embeddings.FAMILY, ai21_j2.FAMILY, generic.FAMILY)}

# ARN resource types that name a model (after the slash); every other type (application inference
# profiles, imported and provisioned models) needs a resolved id from the caller.
_MODEL_ARN_TYPES = ("foundation-model", "inference-profile", "custom-model")


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What a model id resolves to. `model_id` is the base foundation model id (or the id as given
    when it cannot be resolved); `provider_segment` is e.g. "anthropic", None when unknown."""

    request_model: str
    model_id: str
    family: Family
    provider_segment: str | None


def lookup(model_id: str, resolved_model_id: str | None = None) -> ModelRef:
    """Resolve `model_id` (cached). `resolved_model_id`, when known (e.g. from GetInferenceProfile),
    decides the base id and family for ids that cannot be resolved by reading them."""
    if isinstance(model_id, str) and (resolved_model_id is None or isinstance(resolved_model_id, str)):
        return _lookup(model_id, resolved_model_id)
    return _lookup(str(model_id), None if resolved_model_id is None else str(resolved_model_id))


@lru_cache(maxsize=1024)
def _lookup(model_id: str, resolved_model_id: str | None) -> ModelRef:
    for candidate in (resolved_model_id, model_id):
        if candidate:
            found = _resolve(candidate)
            if found:
                base, provider, family = found
                return ModelRef(model_id, base, family, provider)
    return ModelRef(model_id, resolved_model_id or model_id, generic.FAMILY, None)


def _resolve(identifier: str) -> tuple[str, str, Family] | None:
    name = identifier
    if name.startswith("arn:"):
        fields = name.split(":", 5)
        kind, _, rest = fields[-1].partition("/") if len(fields) == 6 else ("", "", "")
        if kind not in _MODEL_ARN_TYPES:
            return None
        name = rest.split("/")[0] if kind == "custom-model" else rest
    segments = name.split(".")
    for position, segment in enumerate(segments[:-1]):  # the provider is followed by the model name
        rows = _TABLE.get(segment)
        if rows is not None:
            model_name = ".".join(segments[position + 1:])
            family = next((f for prefix, f in rows if model_name.startswith(prefix)), generic.FAMILY)
            return ".".join(segments[position:]), segment, family
    return None


def resolve_family_name(name: str) -> Family:
    """The family called `name` ("anthropic", "nova", ...); the generic family for unknown names."""
    return FAMILIES.get(name, generic.FAMILY)


__all__ = [
    "FAMILIES",
    "Family",
    "ModelRef",
    "ParsedRequest",
    "ParsedResponse",
    "StreamAccumulator",
    "carries_only_content",
    "finish_stream",
    "lookup",
    "output_messages",
    "parse_converse_event",
    "parse_converse_params",
    "parse_converse_request",
    "parse_converse_response",
    "parse_request_body",
    "parse_response_body",
    "parse_stream_chunk",
    "resolve_family_name",
    "strip_reasoning",
]
