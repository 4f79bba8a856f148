"""The wrapper around `botocore.client.BaseClient._make_api_call`: a fast exit for every other AWS
service and operation, a `BedrockCall` for Bedrock runtime calls."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from .._failures import report_failure, safe_call
from .calls import OPERATIONS, BedrockCall, current_contrib_span
from .semconv import Telemetry

SERVICE = "bedrock-runtime"

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
        call = None
        try:
            operation = args[0] if args else kwargs.get("operation_name")
            if operation in OPERATIONS and instance.meta.service_model.service_name == SERVICE \
                    and is_instrumentation_enabled():
                params = args[1] if len(args) > 1 else kwargs.get("api_params", {})
                current = context.get_current()
                call = BedrockCall(self.telemetry, operation, params, server_of(instance.meta.endpoint_url),
                                   current_contrib_span(operation, current), current)
        except Exception as exc:
            report_failure("instrumentation", exc)
        if call is None:  # never inside the try above: the user's own errors must not be caught there
            return wrapped(*args, **kwargs)
        token = context.attach(trace.set_span_in_context(call.span, current)) if call.owns_span else None
        try:
            response = wrapped(*args, **kwargs)
        except BaseException as exc:
            safe_call("instrumentation", call.fail, exc, recover=partial(call.end_quietly, exc))
            raise
        finally:
            if token is not None:
                context.detach(token)
        safe_call("instrumentation", call.succeed, response, recover=partial(call.end_quietly, None))
        return response
