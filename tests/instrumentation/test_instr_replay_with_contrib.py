"""A recorded-traffic-like workload (every family, every runtime operation, streams read fully, left by
`break` or never read) gives the same figures with otel-llm alone, with contrib botocore instrumented
before it and after it: spans ended, exact tokens, completion text, and the caller's results unchanged."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm.testing import Reply

QUESTION = "What makes the sky blue?"
# model -> InvokeModel body of its family
BODIES: dict[str, dict[str, Any]] = {
    "anthropic.claude-3-5-haiku-20241022-v1:0": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                                                 "messages": [{"role": "user", "content": QUESTION}]},
    "amazon.nova-lite-v1:0": {"messages": [{"role": "user", "content": [{"text": QUESTION}]}]},
    "amazon.titan-text-express-v1": {"inputText": QUESTION},
    "meta.llama3-8b-instruct-v1:0": {"prompt": QUESTION, "max_gen_len": 64},
    "mistral.mistral-7b-instruct-v0:2": {"prompt": QUESTION, "max_tokens": 64},
    "mistral.mistral-large-2407-v1:0": {"messages": [{"role": "user", "content": QUESTION}]},
    "cohere.command-r-v1:0": {"message": QUESTION},
    "cohere.command-text-v14": {"prompt": QUESTION},
    "ai21.jamba-1-5-mini-v1:0": {"messages": [{"role": "user", "content": QUESTION}]},
    "deepseek.r1-v1:0": {"prompt": QUESTION},
    "openai.gpt-oss-20b-1:0": {"messages": [{"role": "user", "content": QUESTION}]},
}
STREAM_READS = ("full", "break", "never")


def _workload(harness: Any) -> dict[str, int]:
    """Run every call; the figures: calls, ended spans, exact tokens, texts, results as scripted."""
    client = harness.emulator.client()
    calls = transparent = 0
    expected: list[tuple[int, int, str, bool]] = []  # (input, output, text, fully read)
    for n, (model, body) in enumerate(BODIES.items()):
        for kind in ("converse", "invoke", *(f"stream-{r}" for r in STREAM_READS)):
            calls += 1
            tokens = (10 + n, 20 + calls)
            text = f"Rayleigh scattering, reply {calls}."
            harness.emulator.enqueue(Reply(text=text, chunks=3, input_tokens=tokens[0],
                                           output_tokens=tokens[1]))
            seen = _one_call(client, model, body, kind)
            transparent += seen in (text, None)  # None: a stream left unread, nothing to compare
            full = not kind.endswith(("break", "never"))
            expected.append((*tokens, text, full))
            if not full:
                gc.collect()  # an abandoned stream ends its call when collected
    spans = [s for s in harness.finished() if s.attributes.get("gen_ai.provider.name") == "aws.bedrock"]
    by_output = {s.attributes.get("gen_ai.usage.output_tokens"): s for s in spans}
    records = {r.completion for r in harness.records()}
    exact = sum(1 for i, o, _, full in expected if full and o in by_output
                and by_output[o].attributes.get("gen_ai.usage.input_tokens") == i)
    texts = sum(1 for _, _, t, full in expected if full and t in records)
    return {"calls": calls, "spans": len(spans), "exact_tokens": exact, "texts": texts,
            "records": len(harness.records()), "transparent": transparent,
            "durations": sum(p.count for p in harness.points("gen_ai.client.operation.duration"))}


def _one_call(client: Any, model: str, body: dict[str, Any], kind: str) -> str | None:
    """Make one call and return the completion text as the caller reads it (None if it reads nothing)."""
    messages = [{"role": "user", "content": [{"text": QUESTION}]}]
    if kind == "converse":
        return client.converse(modelId=model, messages=messages)["output"]["message"]["content"][0]["text"]
    if kind == "invoke":
        return _text(json.loads(client.invoke_model(modelId=model, body=json.dumps(body))["body"].read()))
    reading = kind.removeprefix("stream-")
    if model.startswith(("amazon.nova", "anthropic")) and reading == "full":  # ConverseStream too
        events = list(client.converse_stream(modelId=model, messages=messages)["stream"])
        deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
        return "".join(d.get("text", "") for d in deltas)
    stream = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))["body"]
    if reading == "break":
        for _ in stream:
            break
        return None
    if reading == "never":
        return None
    return "".join(_text(json.loads(e["chunk"]["bytes"]), delta=True) for e in stream)


def _text(data: dict[str, Any], delta: bool = False) -> str:
    """The text in one body or stream chunk of any family, read the way its users read it."""
    for path in (("content", 0, "text"), ("output", "message", "content", 0, "text"),
                 ("results", 0, "outputText"),
                 ("generation",), ("outputs", 0, "text"), ("text",), ("generations", 0, "text"),
                 ("choices", 0, "delta" if delta else "message", "content"), ("choices", 0, "text"),
                 ("delta", "text"), ("contentBlockDelta", "delta", "text"), ("outputText",),
                 ("choices", 0, "message", "content")):
        value: Any = data
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        if isinstance(value, str):
            return value
    return ""


@pytest.mark.parametrize("contrib", ["alone", "contrib-before", "contrib-after"])
def test_instr_replay_same_figures_alone_and_beside_contrib(harness: Any, contrib: str) -> None:
    botocore = BotocoreInstrumentor()
    if contrib == "contrib-before":
        botocore.instrument(tracer_provider=harness.tracer_provider, meter_provider=harness.meter_provider)
    harness.instrument()
    if contrib == "contrib-after":
        botocore.instrument(tracer_provider=harness.tracer_provider, meter_provider=harness.meter_provider)
    try:
        figures = _workload(harness)
    finally:
        botocore.uninstrument()
        BedrockInstrumentor().uninstrument()
    calls = figures["calls"]
    full = calls * 3 // 5  # converse, invoke and the stream read fully, per model
    assert figures == {"calls": calls, "spans": calls, "exact_tokens": full, "texts": full, "records": calls,
                       "transparent": calls, "durations": calls}
