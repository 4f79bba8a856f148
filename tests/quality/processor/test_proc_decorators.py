"""llm_span: the context-manager and decorator forms, exceptions, content capture, scoring hand-off."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._decorators import llm_span
from otel_llm._quality.processor import LLMMetricsSpanProcessor


@pytest.fixture
def processor(tracer_provider, meter_provider, settings, scorer):
    processor = LLMMetricsSpanProcessor(settings=settings, meter_provider=meter_provider, scorer=scorer)
    tracer_provider.add_span_processor(processor)
    return processor


def test_context_manager_creates_a_genai_span_and_its_record_is_scored(tracer_provider, processor, scorer,
                                                                       spans, collect):
    with llm_span(model="my-endpoint", provider="aws.sagemaker", tracer_provider=tracer_provider) as call:
        call.prompt = "What is the capital of France?"
        call.completion = "Paris."
        call.input_tokens, call.output_tokens = 8, 2
        call.finish_reasons = ("stop",)
    assert processor.force_flush(10_000)

    [span] = spans.get_finished_spans()
    assert span.name == "chat my-endpoint"
    assert span.kind is SpanKind.CLIENT
    assert span.attributes[names.ATTR_OPERATION] == "chat"
    assert span.attributes[names.ATTR_PROVIDER] == "aws.sagemaker"
    assert span.attributes[names.ATTR_MODEL] == "my-endpoint"
    assert span.attributes["gen_ai.usage.input_tokens"] == 8
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert "gen_ai.input.messages" not in span.attributes  # content stays in the process by default
    [scored] = scorer.seen
    assert (scored.prompt, scored.completion, scored.model_id) == (
        "What is the capital of France?", "Paris.", "my-endpoint")
    assert scored.span_context == span.context
    [point] = collect().points[names.SIMILARITY]
    assert point.attributes[names.ATTR_PROVIDER] == "aws.sagemaker"


def test_decorator_takes_the_prompt_argument_and_the_returned_completion(tracer_provider, processor, scorer,
                                                                        spans):
    @llm_span(model="gateway-model", provider="my-gateway", prompt_arg="question",
              tracer_provider=tracer_provider)
    def ask(user: str, question: str, temperature: float = 0.0) -> str:
        return f"Answer for {user}: 42"

    assert ask("ana", question="Meaning of life?") == "Answer for ana: 42"
    assert ask("bo", "Second question?") == "Answer for bo: 42"
    assert processor.force_flush(10_000)
    assert [(c.prompt, c.completion) for c in scorer.seen] == [
        ("Meaning of life?", "Answer for ana: 42"), ("Second question?", "Answer for bo: 42")]
    assert len(spans.get_finished_spans()) == 2
    assert ask.__name__ == "ask"


def test_async_decorator(tracer_provider, processor, scorer, spans):
    @llm_span(model="m", provider="p", operation="text_completion", prompt_arg="prompt",
              tracer_provider=tracer_provider)
    async def complete(prompt: str) -> str:
        await asyncio.sleep(0)
        return prompt.upper()

    assert asyncio.run(complete("hello")) == "HELLO"
    assert processor.force_flush(10_000)
    [call] = scorer.seen
    assert (call.prompt, call.completion, call.operation) == ("hello", "HELLO", "text_completion")
    assert spans.get_finished_spans()[0].name == "text_completion m"


def test_exceptions_propagate_unchanged_and_mark_the_span(tracer_provider, processor, scorer, spans):
    class GatewayDown(Exception):
        pass

    error = GatewayDown("503 from the gateway")

    @llm_span(model="m", provider="p", prompt_arg="prompt", tracer_provider=tracer_provider)
    def ask(prompt: str) -> str:
        raise error

    with pytest.raises(GatewayDown) as caught:
        ask("hi")
    assert caught.value is error
    with pytest.raises(KeyError), llm_span(model="m", provider="p", tracer_provider=tracer_provider):
        raise KeyError("missing")

    assert processor.force_flush(10_000)
    first, second = spans.get_finished_spans()
    assert first.attributes["error.type"].endswith("GatewayDown")
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["error.type"] == "KeyError"
    assert scorer.seen == []  # no completion: nothing to score


def test_content_on_spans_only_when_capture_is_enabled(tracer_provider, processor, spans):
    with llm_span(model="m", provider="p", tracer_provider=tracer_provider,
                  settings=Settings(capture_content=True)) as call:
        call.prompt, call.completion = "Hi?", "Hello!"
    [span] = spans.get_finished_spans()
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hi?"}]}]
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"] == "Hello!"


def test_the_span_is_current_inside_the_block(tracer_provider, processor, spans):
    from opentelemetry import trace

    with llm_span(model="m", provider="p", tracer_provider=tracer_provider) as call:
        inner = trace.get_current_span().get_span_context()
        call.completion = "x"
    assert inner == spans.get_finished_spans()[0].context
    assert not trace.get_current_span().get_span_context().is_valid


def test_manual_calls_record_the_conventions_call_metrics(tracer_provider, meter_provider, collect):
    with llm_span(model="my-endpoint", provider="aws.sagemaker", tracer_provider=tracer_provider,
                  meter_provider=meter_provider) as call:
        call.completion = "Paris."
        call.input_tokens, call.output_tokens = 8, 2
    with pytest.raises(TimeoutError), llm_span(model="my-endpoint", provider="aws.sagemaker",
                                              tracer_provider=tracer_provider, meter_provider=meter_provider):
        raise TimeoutError("endpoint did not answer")

    got = collect()
    durations = {p.attributes.get(names.ATTR_ERROR_TYPE): p.count
                 for p in got.points[names.OPERATION_DURATION]}
    assert durations == {None: 1, "TimeoutError": 1}
    tokens = {p.attributes[names.ATTR_TOKEN_TYPE]: p.sum for p in got.points[names.TOKEN_USAGE]}
    assert tokens == {"input": 8, "output": 2}
    assert all(p.attributes[names.ATTR_MODEL] == "my-endpoint" for p in got.points[names.TOKEN_USAGE])
