"""Errors: scripted service errors, errors in the middle of streams, and bad input."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError, EventStreamError

from otel_llm.testing import Reply

MODEL = "amazon.nova-micro-v1:0"
NOVA_BODY = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
CONVERSE = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("ThrottlingException", 429),
        ("ValidationException", 400),
        ("ModelTimeoutException", 408),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
        ("AccessDeniedException", 403),
        ("ModelNotReadyException", 429),
        ("ModelErrorException", 424),
    ],
)
@pytest.mark.parametrize("operation", ["invoke", "invoke_stream", "converse", "converse_stream"])
def test_scripted_errors_surface_as_the_botocore_error_code(emulator, client, error, status, operation):
    emulator.enqueue(Reply(error=error, error_message="scripted failure"))
    calls = {
        "invoke": lambda: client.invoke_model(modelId=MODEL, body=NOVA_BODY),
        "invoke_stream": lambda: client.invoke_model_with_response_stream(modelId=MODEL, body=NOVA_BODY),
        "converse": lambda: client.converse(**CONVERSE),
        "converse_stream": lambda: client.converse_stream(**CONVERSE),
    }
    with pytest.raises(ClientError) as caught:
        calls[operation]()
    assert caught.value.response["Error"] == {"Code": error, "Message": "scripted failure"}
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert isinstance(caught.value, getattr(client.exceptions, error))
    assert len(emulator.requests) == 1  # the helper client does not retry


def test_default_error_messages(emulator, client):
    emulator.enqueue(Reply(error="ThrottlingException"))
    with pytest.raises(client.exceptions.ThrottlingException, match="Too many requests"):
        client.converse(**CONVERSE)


@pytest.mark.parametrize(
    "error", ["modelStreamErrorException", "throttlingException", "ServiceUnavailableException"]
)
def test_invoke_stream_error_after_the_first_chunks(emulator, client, error):
    emulator.enqueue(Reply(text="a b c d e f", chunks=6, error=error, error_after_chunks=3))
    stream = client.invoke_model_with_response_stream(modelId=MODEL, body=NOVA_BODY)["body"]
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in stream:
            received.append(json.loads(event["chunk"]["bytes"]))
    assert len(received) == 3
    assert received[0] == {"messageStart": {"role": "assistant"}}
    assert caught.value.response["Error"]["Code"] == error[0].lower() + error[1:]


def test_converse_stream_error_after_chunks(emulator, client):
    emulator.enqueue(Reply(error="throttlingException", error_after_chunks=1, error_message="slow down"))
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in client.converse_stream(**CONVERSE)["stream"]:
            received.append(event)
    assert received == [{"messageStart": {"role": "assistant"}}]
    assert caught.value.response["Error"] == {"Code": "throttlingException", "Message": "slow down"}


def test_stream_error_before_any_chunk(emulator, client):
    emulator.enqueue(Reply(error="modelStreamErrorException", error_after_chunks=0))
    response = client.converse_stream(**CONVERSE)
    with pytest.raises(EventStreamError):
        next(iter(response["stream"]))


def test_error_after_chunks_on_a_non_streaming_call_is_a_plain_error(emulator, client):
    emulator.enqueue(Reply(error="modelStreamErrorException", error_after_chunks=2))
    with pytest.raises(client.exceptions.ModelStreamErrorException):
        client.converse(**CONVERSE)


def test_malformed_json_body(emulator, client):
    with pytest.raises(client.exceptions.ValidationException, match="Malformed input request"):
        client.invoke_model(modelId=MODEL, body=b"{not json")
    assert emulator.requests[-1].operation == "InvokeModel" and emulator.requests[-1].body == {}


def test_body_that_is_not_an_object(emulator, client):
    with pytest.raises(client.exceptions.ValidationException, match="expected type: JSONObject"):
        client.invoke_model(modelId=MODEL, body=b"[1, 2]")


def test_missing_required_key_uses_bedrock_wording(emulator, client):
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": []})
    with pytest.raises(client.exceptions.ValidationException, match=r"required key \[max_tokens\] not found"):
        client.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=body)


def test_cohere_embed_texts_must_be_a_list_of_strings(emulator, client):
    with pytest.raises(client.exceptions.ValidationException, match="texts: expected type: JSONArray"):
        client.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps({"texts": "one string"}))


def test_embedding_models_do_not_stream_or_converse(emulator, client):
    body = json.dumps({"inputText": "hello"})
    with pytest.raises(client.exceptions.ValidationException, match="unsupported for streaming"):
        client.invoke_model_with_response_stream(modelId="amazon.titan-embed-text-v2:0", body=body)
    with pytest.raises(client.exceptions.ValidationException, match="doesn't support the model"):
        client.converse(modelId="amazon.titan-embed-text-v2:0", messages=CONVERSE["messages"])


def test_unknown_route_is_a_validation_error(emulator):
    request = urllib.request.Request(f"{emulator.endpoint_url}/model/x/teleport", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-ErrorType"].startswith("ValidationException:")
    assert "Unsupported operation" in json.loads(caught.value.read())["message"]


def test_get_is_a_validation_error(emulator):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{emulator.endpoint_url}/model/x/invoke", timeout=5)
    assert caught.value.code == 400


def test_a_failing_responder_becomes_an_internal_server_error(emulator, client):
    def responder(request):
        raise RuntimeError("bug in the test's responder")

    emulator.set_responder(responder)
    with pytest.raises(client.exceptions.InternalServerException, match="bug in the test's responder"):
        client.converse(**CONVERSE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error": "NoSuchError"}, "unknown Bedrock error"),
        ({"error": "AccessDeniedException", "error_after_chunks": 1}, "cannot occur inside a stream"),
        ({"chunks": 0}, "chunks must be a positive int"),
        ({"error_after_chunks": 2}, "needs Reply.error"),
        ({"latency_s": -1}, "latency_s must be >= 0"),
        ({"tool_calls": [{"input": {}}]}, "tool call must be"),
        ({"tool_calls": [{"name": "f", "input": "not json"}]}, "arguments are not JSON"),
        ({"text": 42}, "text must be a string"),
    ],
)
def test_bad_replies_are_rejected_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Reply(**kwargs)


def test_enqueue_rejects_non_replies(emulator):
    with pytest.raises(TypeError, match="takes a Reply"):
        emulator.enqueue({"text": "hi"})
