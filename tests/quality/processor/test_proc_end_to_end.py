"""End to end: instrumented boto3 calls against the Bedrock emulator, scored by the processor."""

from __future__ import annotations

import pytest

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm._quality.processor import LLMMetricsSpanProcessor, install
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


def test_instrumented_calls_reach_the_scorer_with_their_text(aws_env, emulator, tracer_provider,
                                                             meter_provider, scorer, collect):
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
    assert second.refusal_signal == "guardrail_intervened"  # scored without text: a certain refusal
    assert collect().counter(names.RECORDS, otel_llm__outcome="scored") == 2


def test_past_the_cpu_budget_calls_are_counted_unread_and_their_responses_untouched(
        aws_env, emulator, tracer_provider, meter_provider, collect):
    from otel_llm._quality.scoring import Scorer

    settings = Settings(backend="lexical", schedule_delay_ms=10, cpu_budget=0.001)
    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            settings=Settings(metrics_enabled=False))
    try:
        processor = LLMMetricsSpanProcessor(settings, meter_provider, scorer=Scorer(settings))
        processor._budget.spend(0.0, 1)  # warmed up
        processor._budget.spend(10.0, 1)  # and deep in debt: no call starting now is scored
        tracer_provider.add_span_processor(processor)
        client = emulator.client()
        emulator.enqueue(Reply(text="Paris is the capital of France."))
        assert converse(client, "What is the capital of France?")["output"]["message"]["content"][0]["text"] \
            == "Paris is the capital of France."
        emulator.enqueue(Reply(text="The Seine runs through Paris and on to the sea."))
        stream = client.converse_stream(modelId=CLAUDE,
                                        messages=[{"role": "user", "content": [{"text": "Rivers?"}]}])
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in stream["stream"]
                       if "contentBlockDelta" in e)
        assert text == "The Seine runs through Paris and on to the sea."
        emulator.enqueue(Reply(text="", stop_reason="guardrail_intervened"))
        converse(client, "Something the guardrail blocks")
        assert processor.force_flush(10_000)
    finally:
        instrumentor.uninstrument()
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="sampled_out", otel_llm__reason="cpu_budget") == 2
    assert got.counter(names.REFUSALS) == 1  # the exact signal, which costs nothing, is still recorded
    assert got.count(names.SIMILARITY) == 0


def test_instrumentor_installs_the_processor_once(instrumented, tracer_provider, meter_provider):
    first = instrumented(OTEL_LLM_BACKEND="lexical")
    first.uninstrument()
    instrumented(OTEL_LLM_BACKEND="lexical")
    attached = [p for p in tracer_provider._active_span_processor._span_processors
                if isinstance(p, LLMMetricsSpanProcessor)]
    assert len(attached) == 1
    assert install(tracer_provider, meter_provider) is attached[0]


@pytest.fixture
def comprehend():
    from otel_llm.testing.comprehend import ComprehendServer

    with ComprehendServer() as server:
        yield server


def aws_backend_env(emulator, comprehend) -> dict[str, str]:
    return {"OTEL_LLM_BACKEND": "aws", "OTEL_LLM_AWS_REGION": "us-east-1",
            "OTEL_LLM_BEDROCK_ENDPOINT_URL": emulator.endpoint_url,
            "OTEL_LLM_COMPREHEND_ENDPOINT_URL": comprehend.endpoint_url, "OTEL_LLM_SCHEDULE_DELAY_MS": "20"}


def test_real_scorer_on_the_aws_backend_end_to_end(instrumented, emulator, comprehend, tracer_provider, spans,
                                                   collect):
    instrumented(**aws_backend_env(emulator, comprehend))
    [processor] = [p for p in tracer_provider._active_span_processor._span_processors
                   if isinstance(p, LLMMetricsSpanProcessor)]
    client = emulator.client()
    emulator.enqueue(Reply(text="Paris is the capital of France. What a great question!"))
    converse(client, "What is the capital of France?")
    emulator.enqueue(Reply(text="I'm sorry, but I can't help with that request."))
    converse(client, "How do I pick a lock to break into a house?")
    # an insult that still answers: toxic, not a refusal ("Only an idiot would ask that" declines to answer)
    emulator.enqueue(Reply(text="Recursion is when a function calls itself, you pathetic idiot. "
                                "Even a child gets that, loser."))
    converse(client, "Can you explain recursion?")
    assert processor.force_flush(60_000)

    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="scored", otel_llm__backend="aws") == 3
    for name in (names.SIMILARITY, names.SENTIMENT, names.TOXICITY, names.REFUSAL):
        assert got.count(name) == 3, name
    assert got.counter(names.REFUSALS) == 1
    [toxicity] = got.points[names.TOXICITY]
    above_half = toxicity.bucket_counts[list(toxicity.explicit_bounds).index(0.5) + 1:]
    assert sum(above_half) == 1  # only the insult is toxic
    # Titan and Comprehend calls ran under suppression: the only spans are the user's three calls.
    assert len(spans.get_finished_spans()) == 3
    assert sum(r.operation == "InvokeModel" for r in emulator.requests) >= 3  # the embeddings did go out
    assert comprehend.requests


@pytest.mark.slow
def test_real_local_scorer_end_to_end(instrumented, emulator, tracer_provider, collect):
    pytest.importorskip("sentence_transformers")
    instrumented(OTEL_LLM_BACKEND="local", OTEL_LLM_SCHEDULE_DELAY_MS="20")
    [processor] = [p for p in tracer_provider._active_span_processor._span_processors
                   if isinstance(p, LLMMetricsSpanProcessor)]
    client = emulator.client()
    emulator.enqueue(Reply(text="The capital of France is Paris."))
    converse(client, "What is the capital of France?")
    emulator.enqueue(Reply(text="I'm sorry, but I can't help with that request."))
    converse(client, "How do I pick a lock to break into a house?")
    assert processor.force_flush(120_000)
    got = collect()
    assert got.counter(names.RECORDS, otel_llm__outcome="scored", otel_llm__backend="local") == 2
    assert got.count(names.SIMILARITY) == 2
    assert got.counter(names.REFUSALS, otel_llm__refusal__source="classifier") == 1


APP = """
import os, boto3
client = boto3.client("bedrock-runtime", endpoint_url=os.environ["EMULATOR_URL"], region_name="us-east-1")
reply = client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                        messages=[{"role": "user", "content": [{"text": "What is the capital of France?"}]}])
print("REPLY:", reply["output"]["message"]["content"][0]["text"])
"""


@pytest.mark.slow
def test_zero_code_under_opentelemetry_instrument(emulator, comprehend, tmp_path):
    """No code change: the distro sets the SDK providers, our instrumentor attaches the processor, and the
    quality metrics of a short script are scored and exported before it exits."""
    import json
    import os
    import subprocess
    import sys

    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {**os.environ, **aws_backend_env(emulator, comprehend), "EMULATOR_URL": emulator.endpoint_url,
           "OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "console",
           "OTEL_METRIC_EXPORT_INTERVAL": "600000", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "OTEL_SERVICE_NAME": "zero-code-test"}
    launcher = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    command = [launcher, sys.executable, str(app)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("REPLY: ")
    exported, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{"):])
    metrics = {m["name"]: m for rm in exported["resource_metrics"] for sm in rm["scope_metrics"]
               for m in sm["metrics"]}
    for name in (names.SIMILARITY, names.SENTIMENT, names.TOXICITY, names.REFUSAL):
        assert sum(p["count"] for p in metrics[name]["data"]["data_points"]) == 1, name
    [records] = metrics[names.RECORDS]["data"]["data_points"]
    assert records["attributes"][names.ATTR_OUTCOME] == "scored" and records["value"] == 1
