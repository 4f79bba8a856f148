"""The wrapper around `botocore.client.BaseClient._make_api_call`: a fast exit for every other AWS
service and operation, a `BedrockCall` for Bedrock runtime calls."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, suppress_http_instrumentation

from .._failures import report_failure, safe_call
from .calls import OPERATIONS, BedrockCall
from .semconv import Telemetry

SERVICE = "bedrock-runtime"

try:  # the key `suppress_http_instrumentation()` sets: with it, span and suppression are one attach
    from opentelemetry.context import _SUPPRESS_HTTP_INSTRUMENTATION_KEY as SUPPRESS_HTTP_KEY
except ImportError:  # an API without it: the public context manager, a second attach
    SUPPRESS_HTTP_KEY = None  # type: ignore[assignment]

_servers: dict[str, tuple[str | None, int | None]] = {}


def server_of(endpoint_url: str) -> tuple[str | None, int | None]:
    """(server.address, server.port) of an endpoint URL, cached."""
    found = _servers.get(endpoint_url)
    if found is None:
        parts = urlsplit(endpoint_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = _servers[endpoint_url] = (parts.hostname, port)
    return found


class ApiCallWrapper:
    """The wrapt wrapper function; one instance per `instrument()`."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def __call__(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = self.start(instance, args, kwargs)
        if call is None:  # never inside `start`'s try: the user's own errors must not be caught there
            return wrapped(*args, **kwargs)
        with Running(call):
            response = wrapped(*args, **kwargs)
        return finish(call, response)

    def start(self, instance: Any, args: tuple, kwargs: dict) -> BedrockCall | None:
        """A `BedrockCall` (its span started) when this is a Bedrock runtime call, else None."""
        try:
            operation = args[0] if args else kwargs.get("operation_name")
            if operation in OPERATIONS and instance.meta.service_model.service_name == SERVICE \
                    and is_instrumentation_enabled():
                params = args[1] if len(args) > 1 else kwargs.get("api_params", {})
                current = context.get_current()
                return BedrockCall(self.telemetry, operation, params, server_of(instance.meta.endpoint_url),
                                   current)
        except Exception as exc:
            report_failure("instrumentation", exc)
        return None


def finish(call: BedrockCall, response: Any, body: bytes | None = None) -> Any:
    """Read the response into the call (`BedrockCall.succeed`), never raising; returns the response."""
    try:
        call.succeed(response, body)
    except Exception as exc:  # as `safe_call` with `end_quietly` to recover, without a partial per call
        report_failure("instrumentation", exc)
        safe_call("instrumentation", call.end_quietly, None)
    return response


class Running:
    """While the wrapped call runs: our span is the current one, HTTP instrumentation is suppressed (as
    contrib does for every AWS call: no HTTP child span), and an exception the call raises fails the span
    and reaches the caller unchanged."""

    __slots__ = ("call", "suppressed", "token")

    def __init__(self, call: BedrockCall) -> None:
        self.call = call
        self.token: object = None
        self.suppressed: Any = None

    def __enter__(self) -> None:
        current = trace.set_span_in_context(self.call.span)
        if SUPPRESS_HTTP_KEY is not None:  # one context, attached once, over our span's
            self.token = context.attach(context.set_value(SUPPRESS_HTTP_KEY, True, current))
            return
        self.token = context.attach(current)
        self.suppressed = suppress_http_instrumentation()
        self.suppressed.__enter__()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            if self.suppressed is not None:
                self.suppressed.__exit__(kind, exc, tb)
            if exc is not None:
                safe_call("instrumentation", self.call.fail, exc, recover=partial(self.call.end_quietly, exc))
        finally:
            context.detach(self.token)  # type: ignore[arg-type]
