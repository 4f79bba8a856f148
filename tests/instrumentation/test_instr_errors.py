"""Server and client errors: the span and metrics carry `error.type`, the user's exception is unchanged."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from opentelemetry.sdk.trace import SpanProcessor

from otel_llm.testing import Reply

MODEL = "amazon.nova-lite-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
BODY = json.dumps({"messages": [{"role": "user", "content": [{"text": "hello"}]}]})


def _call(client: Any, operation: str) -> Any:
    if operation == "converse":
        return client.converse(modelId=MODEL, messages=MESSAGES)
    if operation == "converse_stream":
        return client.converse_stream(modelId=MODEL, messages=MESSAGES)
    if operation == "invoke":
        return client.invoke_model(modelId=MODEL, body=BODY)
    return client.invoke_model_with_response_stream(modelId=MODEL, body=BODY)


def _raised(harness: Any, operation: str, error: str) -> ClientError:
    harness.emulator.enqueue(Reply(error=error))
    with pytest.raises(ClientError) as raised:
        _call(harness.emulator.client(), operation)
    return raised.value


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke", "invoke_stream"])
@pytest.mark.parametrize("error", ["ThrottlingException", "ValidationException", "ModelTimeoutException"])
def test_instr_server_error_marks_the_span_and_reraises_unchanged(harness: Any, operation: str,
                                                                   error: str) -> None:
    bare = _raised(harness, operation, error)
    harness.instrument()
    instrumented = _raised(harness, operation, error)

    # Each client has its own exception classes: compare what identifies them.
    assert type(instrumented).__name__ == type(bare).__name__ == error
    assert type(instrumented).__mro__[1:] == type(bare).__mro__[1:]
    assert instrumented.response["Error"] == bare.response["Error"]
    assert str(instrumented) == str(bare)
    [span] = harness.genai_spans()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == error
    [duration] = harness.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == error
    assert harness.points("gen_ai.client.token.usage") == []
    assert harness.records()[0].error_type == error


def test_instr_client_timeout_is_recorded_and_reraised(instrumented: Any) -> None:
    instrumented.emulator.enqueue(Reply(text="late", latency_s=1.5))
    client = instrumented.emulator.client(read_timeout=0.3)

    with pytest.raises(ReadTimeoutError):
        client.converse(modelId=MODEL, messages=MESSAGES)

    [span] = instrumented.genai_spans()
    assert span.attributes["error.type"] == "ReadTimeoutError"
    assert span.status.status_code.name == "ERROR"


def test_instr_parameter_validation_error_is_the_users_own(instrumented: Any) -> None:
    client = instrumented.emulator.client()
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        client.converse(modelId=MODEL, messages="not a list")
    [span] = instrumented.genai_spans()
    assert span.attributes["error.type"] == "ParamValidationError"


def test_instr_malformed_bodies_never_reach_the_user(instrumented: Any) -> None:
    client = instrumented.emulator.client()
    # A body that is not JSON: the server rejects it; our parsing must not be what fails.
    with pytest.raises(ClientError) as raised:
        client.invoke_model(modelId=MODEL, body=b"\x00not json")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    # A JSON body of an unknown shape for an unknown model: a span with what could be read.
    response = client.invoke_model(modelId="newvendor.model-x-v1:0",
                                   body=json.dumps({"weird": [1, 2, {"a": None}]}))
    assert json.loads(response["body"].read())
    spans = instrumented.genai_spans()
    assert [s.attributes["gen_ai.request.model"] for s in spans] == [MODEL, "newvendor.model-x-v1:0"]
    assert spans[1].status.status_code.name != "ERROR"


class _BrokenProcessor(SpanProcessor):
    """A span processor that fails when spans end: a failure inside the telemetry pipeline."""

    def on_end(self, span: Any) -> None:
        raise RuntimeError("exporter pipeline is broken")


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke", "invoke_stream"])
def test_instr_internal_failures_never_reach_the_user(harness: Any, operation: str) -> None:
    harness.tracer_provider.add_span_processor(_BrokenProcessor())
    harness.instrument()
    harness.emulator.enqueue(Reply(text="Still here."))

    response = _call(harness.emulator.client(), operation)

    if operation == "converse":
        assert response["output"]["message"]["content"][0]["text"] == "Still here."
    elif operation == "invoke":
        assert json.loads(response["body"].read())["output"]["message"]["content"][0]["text"] == "Still here."
    else:
        assert len(list(response["stream" if operation == "converse_stream" else "body"])) > 2
    assert len(harness.genai_spans()) == 1  # exported before the broken processor raised


QUOTED = "Input 'my account number is 4111-1111' is too long"


@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
@pytest.mark.parametrize("where", ["response", "mid-stream"])
def test_instr_error_messages_are_content(harness: Any, capture: bool, where: str) -> None:
    """A service message quoting the prompt reaches the span status only with content capture on."""
    harness.instrument(capture_content=capture)
    client = harness.emulator.client()
    if where == "response":
        harness.emulator.enqueue(Reply(error="ValidationException", error_message=QUOTED))
        with pytest.raises(ClientError) as raised:
            client.converse(modelId=MODEL, messages=MESSAGES)
    else:
        harness.emulator.enqueue(Reply(error="ValidationException", error_message=QUOTED,
                                       error_after_chunks=2))
        with pytest.raises(ClientError) as raised:
            for _ in client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]:
                pass
    assert "4111-1111" in str(raised.value)  # the caller's exception keeps its message

    [span] = harness.finished()
    assert span.attributes["error.type"] == "ValidationException"
    if capture:
        assert "4111-1111" in span.status.description
    else:
        assert span.status.description == "ValidationException"


def test_instr_a_request_the_parsers_cannot_read_still_gets_its_span(harness: Any) -> None:
    """100k-deep JSON raises RecursionError, not ValueError, when parsed: the call still gets its span,
    without request details."""
    harness.instrument()
    harness.emulator.enqueue(Reply(text="ok"))
    deep = "[" * 100_000 + "]" * 100_000
    with contextlib.suppress(ClientError):  # the emulator may refuse the body; the span is what matters
        harness.emulator.client().invoke_model(modelId=MODEL, body='{"messages": ' + deep + "}")
    [span] = harness.finished()
    assert span.attributes["gen_ai.request.model"] == MODEL
    assert "gen_ai.request.max_tokens" not in span.attributes
