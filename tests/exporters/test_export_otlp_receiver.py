"""The local OTLP receiver, driven by the real OTLP exporters over HTTP and gRPC."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otel_llm.testing.otlp_receiver import OTLPReceiver


@pytest.fixture
def receiver():
    with OTLPReceiver() as r:
        yield r


def _exporters(receiver: OTLPReceiver, transport: str):
    if transport == "http":
        return (HttpMetricExporter(endpoint=receiver.http_url("/v1/metrics")),
                HttpSpanExporter(endpoint=receiver.http_url("/v1/traces")))
    return (GrpcMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True),
            GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True))


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_exports_arrive_decoded(receiver, transport):
    metric_exporter, span_exporter = _exporters(receiver, transport)
    resource = Resource.create({"service.name": "shop"})
    meters = MeterProvider(metric_readers=[PeriodicExportingMetricReader(metric_exporter, 3_600_000)],
                           resource=resource)
    tracers = TracerProvider(resource=resource)
    tracers.add_span_processor(SimpleSpanProcessor(span_exporter))
    meters.get_meter("t").create_counter("app.orders", unit="{order}").add(3, {"region": "eu"})
    with tracers.get_tracer("t").start_as_current_span("checkout"):
        pass
    meters.shutdown()  # collects and exports once
    tracers.shutdown()
    (point,) = receiver.wait_for(lambda r: r.metric_points(transport))
    assert (point.name, point.unit, point.kind) == ("app.orders", "{order}", "sum")
    assert point.attributes == {"region": "eu"}
    assert point.point.as_int == 3 and point.resource["service.name"] == "shop"
    assert [span.name for span in receiver.spans(transport)] == ["checkout"]


def _post(receiver, path, body, headers):
    request = urllib.request.Request(receiver.http_url(path), data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _request_bytes() -> bytes:
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="app.gauge", unit="1")
    metric.gauge.data_points.add(as_double=0.5)
    return request.SerializeToString()


def test_http_accepts_gzip_and_json_bodies(receiver):
    status, _ = _post(receiver, "/v1/metrics", gzip.compress(_request_bytes()),
                      {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert status == 200
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "app.gauge", "unit": "1", "gauge": {"dataPoints": [{"asDouble": 0.25}]}}]}]}]}
    status, reply = _post(receiver, "/v1/metrics", json.dumps(body).encode(),
                          {"Content-Type": "application/json"})
    assert status == 200 and json.loads(reply) == {}
    assert [p.point.as_double for p in receiver.metric_points("http")] == [0.5, 0.25]


def test_http_rejects_what_it_cannot_read_with_a_clear_error(receiver):
    status, reply = _post(receiver, "/v1/metrics", b"\xff\x00 not protobuf",
                          {"Content-Type": "application/x-protobuf"})
    assert status == 400 and b"cannot decode OTLP metrics request" in reply
    status, reply = _post(receiver, "/v1/profiles", _request_bytes(),
                          {"Content-Type": "application/x-protobuf"})
    assert status == 404 and b"/v1/metrics" in reply
    assert receiver.received() == []


def test_wait_for_times_out_with_what_it_saw(receiver):
    with pytest.raises(TimeoutError, match="0 requests"):
        receiver.wait_for(lambda r: r.metric_points(), timeout=0.05)
