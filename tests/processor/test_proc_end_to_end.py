"""End to end: instrumented boto3 calls against the Bedrock emulator, scored by the processor."""

from __future__ import annotations

import pytest

from otel_llm import metrics as names
from otel_llm.config import Settings
from otel_llm.instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.processor import LLMMetricsSpanProcessor, install
from otel_llm.testing import BedrockEmulator, Reply

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def emulator():
    with BedrockEmulator(port=0) as emu:
        yield emu


@pytest.fixture
def instrumented(aws_env, tracer_provider, meter_provider, monkeypatch):
    """BedrockInstrumentor on the test providers; the processor is attached by install(), from the env."""

    def instrument(**env: str) -> BedrockInstrumentor:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        instrumentor = BedrockInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        started.append(instrumentor)
        return instrumentor

    started: list[BedrockInstrumentor] = []
    yield instrument
    for instrumentor in started:
        instrumentor.uninstrument()


def converse(client, text: str) -> dict:
    return client.converse(modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": text}]}])


def test_instrumented_calls_reach_the_scorer_with_their_text(aws_env, emulator, tracer_provider, meter_provider,
                                                             scorer, collect):
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            settings=Settings(metrics_enabled=False))
    try:
        processor = LLMMetricsSpanProcessor(Settings(schedule_delay_ms=10), meter_provider, scorer=scorer)
        tracer_provider.add_span_processor(processor)
        client = emulator.client()
        emulator.enqueue(Reply(text="Paris is the capital of France."))
        response = converse(client, "What is the capital of France?")
        assert response["output"]["message"]["content"][0]["text"] == "Paris is the capital of France."
        emulator.enqueue(Reply(text="", stop_reason="guardrail_intervened"))
        converse(client, "Something the guardrail blocks")
        assert processor.force_flush(10_000)
    finally:
        instrumentor.uninstrument()
    first, second = scorer.seen
    assert "What is the capital of France?" in first.prompt
    assert first.completion == "Paris is the capital of France."
    assert first.model_id == CLAUDE
    assert second.refusal_signal == "guardrail_intervened"  # scored although it has no text: a certain refusal
    assert collect().counter(names.RECORDS, otel_llm__outcome="scored") == 2


def test_instrumentor_installs_the_processor_once(instrumented, tracer_provider, meter_provider):
    first = instrumented(OTEL_LLM_BACKEND="lexical")
    first.uninstrument()
    instrumented(OTEL_LLM_BACKEND="lexical")
    attached = [p for p in tracer_provider._active_span_processor._span_processors
                if isinstance(p, LLMMetricsSpanProcessor)]
    assert len(attached) == 1
    assert install(tracer_provider, meter_provider) is attached[0]
