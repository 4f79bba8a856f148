"""Two hot-path shortcuts that give exactly what the public call they replace gives.

`loads`: `json.loads` of a UTF-8 document with no surrounding whitespace, through the decoder's C
scanner directly (skips `detect_encoding`, the decode wrapper and two whitespace regexes: about half the
cost of a small Bedrock stream chunk); any other input goes to `json.loads` itself, so errors are its own.

`set_attributes`: `span.set_attributes` for the SDK's own span when every value is one the SDK would
store unchanged (str, bool, int, float, a tuple of str) and no limit can apply (no value length
limit, room for every item): the items go into its
attribute dict under the same two locks, in the order `set_attributes` gives (a key set again moves to the
end). Anything else (another SDK, an ended span, attribute limits, other value types) takes the public call.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.trace import Span

_scan = json.decoder.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner; it clears its memo after each document


def loads(data: bytes | bytearray | str) -> Any:
    """`json.loads(data)`, faster for compact UTF-8 documents."""
    try:
        text = data if type(data) is str else data.decode()  # type: ignore[union-attr]
        value, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, AttributeError):
        return json.loads(data)
    if end != len(text):
        return json.loads(data)  # trailing data or whitespace: json.loads decides
    return value


try:
    from opentelemetry.attributes import BoundedAttributes
    from opentelemetry.sdk.trace import _Span as SdkSpan
except ImportError:  # the API alone: every span is a non-recording one
    BoundedAttributes = SdkSpan = None  # type: ignore[assignment,misc]

_PLAIN = frozenset({str, bool, int, float})


def _stored_as_is(value: Any) -> bool:
    kind = type(value)
    return kind in _PLAIN or (kind is tuple and all(type(item) is str for item in value))


def set_attributes(span: Span, attributes: dict[str, Any]) -> None:
    """`span.set_attributes(attributes)`, without the SDK's per-value validation where it is a no-op."""
    try:
        if _set_directly(span, attributes):
            return
    except AttributeError:  # an SDK whose internals differ: the public call
        pass
    span.set_attributes(attributes)


def _set_directly(span: Span, attributes: dict[str, Any]) -> bool:
    store = getattr(span, "_attributes", None) if type(span) is SdkSpan else None
    if (type(store) is not BoundedAttributes or store.max_value_len is not None or store._immutable
            or (store.maxlen is not None and len(store._dict) + len(attributes) > store.maxlen)
            or not all(_stored_as_is(value) for value in attributes.values())):
        return False
    with span._lock:  # type: ignore[attr-defined]
        if span._end_time is not None:  # type: ignore[attr-defined]
            return False  # ended: the SDK's own warning
        with store._lock:
            items = store._dict
            for key, value in attributes.items():
                if key in items:
                    del items[key]
                items[key] = value
    return True


# --- attributes a span starts with ----------------------------------------------------------------
# Between a span's creation and its first `set_attributes` only the sampler and the processors' `on_start`
# can read its attributes. Where neither does (the SDK's samplers, which ignore them; processors whose
# `on_start` does nothing), starting the span bare and setting them right away gives the same span.

QUIET_ON_START: set[Any] = set()  # `on_start` functions known to do nothing; processors add their own
_ATTRIBUTE_BLIND: tuple[type, ...] = ()
_MULTI: tuple[type, ...] = ()
try:
    from opentelemetry.sdk.trace import (
        ConcurrentMultiSpanProcessor,
        SpanProcessor,
        SynchronousMultiSpanProcessor,
        Tracer as SdkTracer,
    )
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, StaticSampler, TraceIdRatioBased

    QUIET_ON_START.update((SpanProcessor.on_start, BatchSpanProcessor.on_start, SimpleSpanProcessor.on_start))
    _ATTRIBUTE_BLIND = (StaticSampler, TraceIdRatioBased)
    _MULTI = (SynchronousMultiSpanProcessor, ConcurrentMultiSpanProcessor)
except ImportError:
    SdkTracer = None  # type: ignore[assignment,misc]


_PARENT_BASED_PARTS = ("_root", "_remote_parent_sampled", "_remote_parent_not_sampled",
                       "_local_parent_sampled", "_local_parent_not_sampled")


def _blind(sampler: Any) -> bool:
    kind = type(sampler)
    if kind in _ATTRIBUTE_BLIND:
        return True
    if kind is ParentBased:
        parts = [getattr(sampler, name, None) for name in _PARENT_BASED_PARTS]
        return all(part is not None and _blind(part) for part in parts)
    return False


def start_span(tracer: Any, name: str, context: Any, kind: Any, attributes: dict[str, Any]) -> Any:
    """`tracer.start_span(name, context, kind=kind, attributes=attributes)`: the same span, its attributes
    set unvalidated (as `set_attributes` here) where nothing reads them before."""
    if type(tracer) is SdkTracer and _blind(getattr(tracer, "sampler", None)):
        processor = getattr(tracer, "span_processor", None)
        children = getattr(processor, "_span_processors", None) if type(processor) in _MULTI else None
        if children is not None and all(type(p).on_start in QUIET_ON_START for p in children):
            span = tracer.start_span(name, context, kind=kind)
            set_attributes(span, attributes)
            return span
    return tracer.start_span(name, context, kind=kind, attributes=attributes)
