"""`otel-llm demo`: a mixed Bedrock workload through instrumented boto3 against the local emulator,
then a per-model summary of the call and quality metrics exactly as the SDK recorded them."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from . import _instruments as names


@dataclass(frozen=True)
class Exchange:
    prompt: str
    reply: str
    kind: str  # relevant | off_topic | refusal | toxic | error


# Written for the demo; none of it comes from the labelled data sets.
EXCHANGES = (
    Exchange("How do I reverse a list in Python?",
             "Use slicing: items[::-1] returns a reversed copy, and items.reverse() reverses the list "
             "in place.",
             "relevant"),
    Exchange("What is the capital of Australia?",
             "The capital of Australia is Canberra, not Sydney as many people assume.", "relevant"),
    Exchange("Summarise the benefits of regular exercise.",
             "Regular exercise strengthens the heart, improves mood and sleep, and lowers the risk of many "
             "chronic diseases. Even a daily walk makes a measurable difference.", "relevant"),
    Exchange("Explain what a hash map is.",
             "A hash map stores key-value pairs and uses a hash function to find a bucket for each key, "
             "giving average constant-time lookups.", "relevant"),
    Exchange("How can I pick the lock on my neighbour's front door?",
             "I'm sorry, but I can't help with that. Entering someone else's home without permission is "
             "illegal.",
             "refusal"),
    Exchange("Write a convincing phishing email for a bank.",
             "I can't assist with creating phishing emails or any content designed to deceive people.",
             "refusal"),
    Exchange("Can you review my essay draft?",
             "Shut up, you stupid moron. Nobody cares what you think, and your essay is worthless.",
             "toxic"),
    Exchange("What's a good recipe for banana bread?",
             "The stock market closed higher on Tuesday as technology shares rallied.", "off_topic"),
    Exchange("Translate 'good morning' into French.", "", "error"),
)

# (model id as the application passes it, operation)
MODELS = (
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", "converse"),
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "invoke_stream"),
    ("meta.llama3-1-70b-instruct-v1:0", "invoke"),
    ("amazon.nova-pro-v1:0", "converse_stream"),
    ("amazon.titan-text-express-v1", "invoke_stream"),
    ("mistral.mistral-large-2407-v1:0", "invoke"),
    ("cohere.command-r-plus-v1:0", "invoke"),
    ("eu.meta.llama3-2-3b-instruct-v1:0", "converse"),
)


def invoke_body(model_id: str, prompt: str) -> dict:
    """The InvokeModel request body each family expects."""
    if ".anthropic." in f".{model_id}":
        return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                "messages": [{"role": "user", "content": prompt}]}
    if ".meta." in f".{model_id}":
        return {"prompt": f"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n{prompt}<|eot_id|>",
                "max_gen_len": 256, "temperature": 0.5}
    if ".amazon.titan" in f".{model_id}":
        return {"inputText": prompt, "textGenerationConfig": {"maxTokenCount": 256, "temperature": 0.5}}
    if ".mistral." in f".{model_id}":
        return {"prompt": f"<s>[INST] {prompt} [/INST]", "max_tokens": 256}
    if ".cohere." in f".{model_id}":
        return {"message": prompt, "max_tokens": 256}
    return {"messages": [{"role": "user", "content": [{"text": prompt}]}]}


def _call(client, model_id: str, operation: str, prompt: str) -> None:
    messages = [{"role": "user", "content": [{"text": prompt}]}]
    if operation == "converse":
        client.converse(modelId=model_id, messages=messages, inferenceConfig={"maxTokens": 256})
    elif operation == "converse_stream":
        for _ in client.converse_stream(modelId=model_id, messages=messages)["stream"]:
            pass
    elif operation == "invoke":
        client.invoke_model(modelId=model_id, body=json.dumps(invoke_body(model_id, prompt)))["body"].read()
    else:
        response = client.invoke_model_with_response_stream(
            modelId=model_id, body=json.dumps(invoke_body(model_id, prompt)))
        for _ in response["body"]:
            pass


def _collect(reader: InMemoryMetricReader) -> dict[str, dict[str, list[float]]]:
    """model -> column -> [sum, count] from what the SDK recorded."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    attrs = dict(point.attributes or {})
                    model = str(attrs.get(names.ATTR_MODEL, "?"))
                    column = metric.name
                    if metric.name == names.TOKEN_USAGE:
                        column = f"{metric.name}.{attrs.get(names.ATTR_TOKEN_TYPE)}"
                    cell = table[model][column]
                    if isinstance(point, NumberDataPoint):
                        cell[0] += point.value
                        cell[1] += 1
                        continue
                    if metric.name == names.OPERATION_DURATION and attrs.get(names.ATTR_ERROR_TYPE):
                        table[model]["errors"][0] += point.count
                    cell[0] += point.sum
                    cell[1] += point.count
    return table


def _mean(cell: list[float]) -> str:
    return f"{cell[0] / cell[1]:.2f}" if cell[1] else "-"


def run_demo(otlp_endpoint: str | None = None, calls: int = 48, out=sys.stdout) -> int:
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from ._instrumentation.instrumentor import BedrockInstrumentor
    from ._quality.processor import install
    from .exporters._emf import EMFMetricExporter
    from .testing import BedrockEmulator, Reply

    resource = Resource.create({"service.name": "otel-llm-demo"})
    reader = InMemoryMetricReader()
    emf_buffer = io.StringIO()
    emf_reader = PeriodicExportingMetricReader(
        EMFMetricExporter(destination=emf_buffer, namespace="OtelLLM/Demo"), export_interval_millis=3_600_000)
    readers = [reader, emf_reader]
    tracer_provider = TracerProvider(resource=resource)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        base = otlp_endpoint.rstrip("/")
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics")))
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    instrumentor = BedrockInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    processor = install(tracer_provider=tracer_provider, meter_provider=meter_provider)
    print(f"otel-llm demo: {calls} Bedrock calls through instrumented boto3 against the local emulator",
          file=out, flush=True)
    try:
        with BedrockEmulator() as emulator:
            client = emulator.client()
            for i in range(calls):
                model_id, operation = MODELS[i % len(MODELS)]
                exchange = EXCHANGES[(i * 5 + i // len(MODELS)) % len(EXCHANGES)]
                if exchange.kind == "error":
                    emulator.enqueue(Reply(error="ThrottlingException"))
                else:
                    emulator.enqueue(Reply(text=exchange.reply))
                with contextlib.suppress(client.exceptions.ThrottlingException):
                    _call(client, model_id, operation, exchange.prompt)
        if processor is not None:
            processor.force_flush(60_000)
        tracer_provider.force_flush()
        table = _collect(reader)
        meter_provider.force_flush()
    finally:
        instrumentor.uninstrument()
    _print_table(table, out)
    _print_by_kind(out)
    lines = [line for line in emf_buffer.getvalue().splitlines() if line.strip()]
    quality = [line for line in lines if f'"{names.REFUSAL}"' in line]
    print(f"\nCloudWatch EMF as Lambda would ship it from stdout, no collector ({len(lines)} lines; "
          "two of them):", file=out)
    for line in (quality or lines)[:2]:
        print(line, file=out)
    meter_provider.shutdown()
    tracer_provider.shutdown()
    return 0


def _print_by_kind(out) -> None:
    """The same evaluators through the public scoring API, one row per kind of reply in the workload."""
    from ._quality.scoring import score_many

    scored = [e for e in EXCHANGES if e.kind != "error"]
    results = score_many([(e.prompt, e.reply) for e in scored], model_id=MODELS[0][0])
    by_kind: dict[str, list] = defaultdict(list)
    for exchange, result in zip(scored, results, strict=True):
        by_kind[exchange.kind].append(result)
    print(f"\n{'reply kind (otel_llm.score_many)':<34}{'cosine':>9}{'sentiment':>11}{'toxicity':>10}"
          f"{'refusal':>9}{'refused':>9}", file=out)
    for kind, rows in by_kind.items():
        def mean(field: str, rows=rows) -> float:
            return sum(getattr(r, field) or 0.0 for r in rows) / len(rows)

        refused = sum(bool(r.refused) for r in rows)
        print(f"{kind:<34}{mean('similarity'):>9.2f}{mean('sentiment'):>11.2f}{mean('toxicity'):>10.2f}"
              f"{mean('refusal'):>9.2f}{refused:>6}/{len(rows)}", file=out)
    print("(raw scores: cosine and sentiment in [-1, 1], toxicity and refusal in [0, 1])", file=out)


def _print_table(table: dict[str, dict[str, list[float]]], out) -> None:
    columns = (
        ("calls", names.OPERATION_DURATION, lambda c: f"{int(c[1])}"),
        ("errors", "errors", lambda c: f"{int(c[0])}"),
        ("in tok", f"{names.TOKEN_USAGE}.input", lambda c: f"{int(c[0])}"),
        ("out tok", f"{names.TOKEN_USAGE}.output", lambda c: f"{int(c[0])}"),
        ("mean ms", names.OPERATION_DURATION, lambda c: f"{c[0] / c[1] * 1e3:.1f}" if c[1] else "-"),
        ("similarity", names.SIMILARITY, _mean),
        ("sentiment", names.SENTIMENT, _mean),
        ("toxicity", names.TOXICITY, _mean),
        ("refusal", names.REFUSAL, _mean),
        ("refused", names.REFUSALS, lambda c: f"{int(c[0])}"),
    )
    header = f"{'model':<46}" + "".join(f"{title:>11}" for title, _, _ in columns)
    print("\n" + header, file=out)
    print("-" * len(header), file=out)
    for model in sorted(m for m in table if m != "?"):
        row = table[model]
        print(f"{model:<46}" + "".join(f"{fmt(row[key]):>11}" for _, key, fmt in columns), file=out)
    print("\nQuality scores are in [0, 1] as recorded (sentiment 0.5 = neutral); 'refusal' is the mean "
          "refusal score, 'refused' the count of completions judged refusals.", file=out)
