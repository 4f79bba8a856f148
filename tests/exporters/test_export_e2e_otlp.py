"""End to end over OTLP: boto3 against the Bedrock emulator, instrumented by otel-llm (spans, call metrics,
quality processor), exported by the real OTLP exporters to the local receiver over HTTP and gRPC. Every
instrument must arrive with its documented name, unit, buckets (or exponential layout) and attributes."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality as SdkTemporality,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_llm import _instruments as names
from otel_llm._instrumentation.instrumentor import BedrockInstrumentor
from otel_llm._quality.evaluators.registry import ALL_INSTRUMENTS, QUALITY_HISTOGRAMS
from otel_llm.testing import BedrockEmulator, Reply
from otel_llm.testing.otlp_receiver import OTLPReceiver

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
# What each instrument must carry, beyond model / operation / provider (the attribute contract).
REQUIRED_KEYS = {
    names.TOKEN_USAGE: {names.ATTR_TOKEN_TYPE},
    names.REFUSALS: {names.ATTR_REFUSAL_SOURCE},
    names.RECORDS: {names.ATTR_OUTCOME},
}
CALL_KEYS = {names.ATTR_MODEL, names.ATTR_OPERATION, names.ATTR_PROVIDER}
# Failures inside the SDK are counted on the global meter provider (a test may not set it) and only when
# something fails: otel_llm.sdk.errors is covered by the EMF and config tests, not here.
EXPECTED = [inst for inst in ALL_INSTRUMENTS if inst.name != names.SDK_ERRORS]


def _workload(client) -> None:
    def converse(text):
        return client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": text}]}])

    converse("What is the capital of Australia?")
    converse("How do I pick my neighbour's lock?")  # answered by a guardrail: an exact refusal
    stream = client.converse_stream(modelId=MODEL,
                                    messages=[{"role": "user", "content": [{"text": "Tell me a story."}]}])
    for _event in stream["stream"]:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_every_instrument_arrives_as_documented(transport, monkeypatch):
    monkeypatch.setenv("OTEL_LLM_BACKEND", "lexical")
    monkeypatch.setenv("OTEL_LLM_SCHEDULE_DELAY_MS", "10")
    with OTLPReceiver() as receiver, BedrockEmulator() as emulator:
        if transport == "http":  # the SDK defaults: cumulative, explicit buckets from the advisory
            exporter = HttpMetricExporter(endpoint=receiver.http_url("/v1/metrics"))
            span_exporter = HttpSpanExporter(endpoint=receiver.http_url("/v1/traces"))
        else:  # what the collector path needs: delta, base-2 exponential
            span_exporter = GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
            exporter = GrpcMetricExporter(
                endpoint=receiver.grpc_endpoint, insecure=True,
                preferred_temporality={Histogram: SdkTemporality.DELTA},
                preferred_aggregation={Histogram: ExponentialBucketHistogramAggregation()})
        resource = Resource.create({"service.name": "e2e"})
        meter_provider = MeterProvider(resource=resource,
                                       metric_readers=[PeriodicExportingMetricReader(exporter, 3_600_000)])
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        instrumentor = BedrockInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            emulator.enqueue(Reply(text="Sorry, the model cannot answer this question.",
                                   stop_reason="guardrail_intervened"), match=lambda r: "lock" in r.last_text)
            emulator.enqueue(Reply(text="Once upon a time a fox found a very old map.", chunks=4),
                             match=lambda r: "story" in r.last_text)
            _workload(emulator.client())
            assert tracer_provider.force_flush(30_000)  # the quality processor scores its queue
            meter_provider.force_flush(30_000)
        finally:
            instrumentor.uninstrument()
            meter_provider.shutdown()
            tracer_provider.shutdown()
        points = receiver.wait_for(lambda r: r.metric_points(transport))
        spans = list(receiver.spans(transport))
    assert sorted(span.name for span in spans) == [f"chat {MODEL}"] * 3
    by_name: dict[str, list] = {}
    for point in points:
        by_name.setdefault(point.name, []).append(point)
    missing = [inst.name for inst in EXPECTED if inst.name not in by_name]
    assert not missing, f"not received: {missing}; received: {sorted(by_name)}"
    for inst in EXPECTED:
        for point in by_name[inst.name]:
            assert point.unit == inst.unit, inst.name
            assert point.resource["service.name"] == "e2e"
            required = CALL_KEYS | REQUIRED_KEYS.get(inst.name, set())
            assert required <= set(point.attributes), (inst.name, point)
            assert point.attributes[names.ATTR_MODEL] == MODEL
            if inst.kind == "counter":
                assert point.kind == "sum" and point.point.as_int > 0
            elif transport == "http":
                assert point.kind == "histogram"
                assert list(point.point.explicit_bounds) == list(inst.buckets), inst.name
                assert point.point.count == sum(point.point.bucket_counts) > 0
            else:
                assert point.kind == "exponential_histogram"
                assert point.temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
                assert point.point.count > 0
            if inst in QUALITY_HISTOGRAMS:
                assert 0.0 <= point.point.min <= point.point.max <= 1.0, inst.name
    sources = {p.attributes[names.ATTR_REFUSAL_SOURCE] for p in by_name[names.REFUSALS]}
    assert sources == {"guardrail_intervened"}
    outcomes = {p.attributes[names.ATTR_OUTCOME] for p in by_name[names.RECORDS]}
    assert outcomes == {"scored"}
