"""`OTLPReceiver`: a local OTLP endpoint (HTTP on /v1/metrics, /v1/traces, /v1/logs, and gRPC) that keeps
every decoded request, so tests, and users testing their own apps, can assert what left the process.

    with OTLPReceiver() as receiver:
        exporter = OTLPMetricExporter(endpoint=receiver.http_url("/v1/metrics"))
        ...
        receiver.wait_for(lambda r: r.metric_points(), timeout=10)

It binds 127.0.0.1 by default and is not a collector: it stores, it never forwards.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SIGNALS: dict[str, tuple[type[Message], type[Message]]] = {
    "metrics": (metrics_service_pb2.ExportMetricsServiceRequest,
                metrics_service_pb2.ExportMetricsServiceResponse),
    "traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
}


@dataclass(frozen=True, slots=True)
class Received:
    """One decoded export request and how it arrived ("http" or "grpc")."""

    signal: str
    transport: str
    request: Any


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One data point of a received metric, flattened with its metric's and resource's identity."""

    transport: str
    resource: dict[str, Any]
    scope: str
    name: str
    unit: str
    kind: str  # sum | gauge | histogram | exponential_histogram | summary
    temporality: int  # AggregationTemporality of the proto (0 unspecified, 1 delta, 2 cumulative)
    attributes: dict[str, Any]
    point: Any


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return None if kind is None else getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    """Repeated KeyValue as a dict."""
    return {kv.key: any_value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


class OTLPReceiver:
    """Receives OTLP over HTTP (protobuf or JSON bodies, gzip or deflate) and over gRPC, and stores it."""

    def __init__(self, host: str = "127.0.0.1", http_port: int = 0, grpc_port: int | None = 0) -> None:
        self.host = host
        self._lock = threading.Condition()
        self._received: list[Received] = []
        self._http = ThreadingHTTPServer((host, http_port), _handler_for(self))
        self._http.daemon_threads = True
        self._http_thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None
        self.grpc_port: int | None = None
        if grpc_port is not None:
            self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            for signal, module, service in (("metrics", metrics_service_pb2_grpc, "MetricsService"),
                                            ("traces", trace_service_pb2_grpc, "TraceService"),
                                            ("logs", logs_service_pb2_grpc, "LogsService")):
                servicer = _servicer(self, signal, getattr(module, f"{service}Servicer"))
                getattr(module, f"add_{service}Servicer_to_server")(servicer, self._grpc)
            self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> OTLPReceiver:
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="otlp-receiver-http",
                                             daemon=True)
        self._http_thread.start()
        if self._grpc is not None:
            self._grpc.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=None)

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------------------
    @property
    def http_port(self) -> int:
        return self._http.server_address[1]

    def http_url(self, path: str = "") -> str:
        """`http://host:port` plus `path` (e.g. "/v1/metrics" for a signal-specific exporter endpoint)."""
        return f"http://{self.host}:{self.http_port}{path}"

    @property
    def grpc_endpoint(self) -> str:
        """`http://host:port` for the OTLP gRPC exporters (plain text)."""
        if self.grpc_port is None:
            raise RuntimeError("this receiver was started without gRPC")
        return f"http://{self.host}:{self.grpc_port}"

    # --- what arrived -------------------------------------------------------------------------
    def add(self, signal: str, transport: str, request: Any) -> None:
        with self._lock:
            self._received.append(Received(signal, transport, request))
            self._lock.notify_all()

    def received(self, signal: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if signal is None or r.signal == signal]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, condition: Callable[[OTLPReceiver], Any], timeout: float = 10.0) -> Any:
        """Block until `condition(self)` is truthy and return it; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                result = condition(self)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"OTLP receiver: condition not met within {timeout} s "
                                       f"({len(self._received)} requests received)")
                self._lock.wait(remaining)

    def metric_points(self, transport: str | None = None) -> list[MetricPoint]:
        """Every received metric data point, flattened."""
        out: list[MetricPoint] = []
        for item in self.received("metrics"):
            if transport is not None and item.transport != transport:
                continue
            for rm in item.request.resource_metrics:
                resource = attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        temporality = getattr(data, "aggregation_temporality", 0)
                        out.extend(MetricPoint(item.transport, resource, sm.scope.name, metric.name,
                                               metric.unit, kind, temporality, attributes(p.attributes), p)
                                   for p in data.data_points)
        return out

    def spans(self, transport: str | None = None) -> Iterator[Any]:
        """Every received span (protobuf `Span`)."""
        for item in self.received("traces"):
            if transport is None or item.transport == transport:
                for rs in item.request.resource_spans:
                    for ss in rs.scope_spans:
                        yield from ss.spans


def _decode(raw: bytes, encoding: str, content_type: str, message_type: type[Message]) -> Message:
    if encoding == "gzip":
        raw = gzip.decompress(raw)
    elif encoding == "deflate":
        raw = zlib.decompress(raw)
    elif encoding not in ("", "identity"):
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    message = message_type()
    if content_type.startswith("application/json"):
        json_format.Parse(raw.decode("utf-8"), message)
    else:
        message.ParseFromString(raw)
    return message


def _handler_for(receiver: OTLPReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            signal = {"/v1/metrics": "metrics", "/v1/traces": "traces", "/v1/logs": "logs"}.get(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if signal is None:
                self._reply(404, b"unknown OTLP path: use /v1/metrics, /v1/traces or /v1/logs", "text/plain")
                return
            request_type, response_type = SIGNALS[signal]
            content_type = self.headers.get("Content-Type", "application/x-protobuf")
            try:
                message = _decode(raw, self.headers.get("Content-Encoding", ""), content_type, request_type)
            except (DecodeError, json_format.ParseError, ValueError, OSError, zlib.error) as exc:
                self._reply(400, f"cannot decode OTLP {signal} request: {exc}".encode(), "text/plain")
                return
            receiver.add(signal, "http", message)
            if content_type.startswith("application/json"):
                self._reply(200, json_format.MessageToJson(response_type()).encode(), "application/json")
            else:
                self._reply(200, response_type().SerializeToString(), "application/x-protobuf")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the data, not the log
            pass

    return Handler


def _servicer(receiver: OTLPReceiver, signal: str, base: type) -> Any:
    """A gRPC servicer of `signal` that stores each request in `receiver`."""
    response_type = SIGNALS[signal][1]

    class Servicer(base):  # type: ignore[misc, valid-type]
        def Export(self, request: Any, context: Any) -> Any:
            receiver.add(signal, "grpc", request)
            return response_type()

    return Servicer()
