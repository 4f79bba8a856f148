"""Decorated spans: an unsampled one leaves no side-channel record; an error quoting the completion puts no
content on the span."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from otel_llm import _sidechannel as sidechannel
from otel_llm._config import Settings
from otel_llm._decorators import llm_span


def test_proc_unsampled_decorator_span_leaves_no_side_channel_record() -> None:
    provider = TracerProvider(sampler=ALWAYS_OFF)
    sidechannel.add_listener()
    try:
        with llm_span(model="my-model", tracer_provider=provider) as call:
            call.prompt, call.completion = "What is 2 + 2?", "4"
        assert call.span_context is not None and call.span_context.is_valid
        # No processor sees an unsampled span end: a record left for it would never be taken.
        assert sidechannel.take(call.span_context) is None
    finally:
        sidechannel.remove_listener()


def test_proc_decorated_error_quoting_the_completion_puts_no_content_on_the_span(
        tracer_provider, spans) -> None:
    settings = Settings(capture_content=False)
    with pytest.raises(ValueError, match="card 4111-1111") as raised, \
            llm_span(model="my-model", tracer_provider=tracer_provider, settings=settings) as call:
        call.completion = "Your card 4111-1111 is on file."
        raise ValueError(f"could not parse the answer: {call.completion!r}")  # as parsers quote input
    assert "4111-1111" in str(raised.value)  # the user's own exception is unchanged

    [span] = spans.get_finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "ValueError"
    assert "4111-1111" not in str(span.status.description)
