"""Scripting the emulator: queue order, matching, responders, latency, recording, lifecycle, embeddings."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import urllib.request

import pytest

from otel_llm.testing import BedrockEmulator, Reply
from otel_llm.testing.content import base_model_id, split_text

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
NOVA = "amazon.nova-lite-v1:0"


def ask(client, model_id: str, text: str = "hello") -> str:
    response = client.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": text}]}])
    return "".join(block.get("text", "") for block in response["output"]["message"]["content"])


def test_queue_is_first_in_first_out(emulator, client):
    emulator.enqueue(Reply(text="first"))
    emulator.enqueue(Reply(text="second"))
    assert [ask(client, NOVA), ask(client, NOVA)] == ["first", "second"]
    assert ask(client, NOVA) != "second"  # the queue is empty again: the default reply


def test_model_scripts_match_bare_ids_profiles_and_arns(emulator, client):
    emulator.enqueue(Reply(text="for haiku"), model_id=HAIKU, times=3)
    emulator.enqueue(Reply(text="for anyone"))
    assert ask(client, NOVA) == "for anyone"
    assert ask(client, f"us.{HAIKU}") == "for haiku"
    assert (
        ask(client, f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/apac.{HAIKU}") == "for haiku"
    )
    assert ask(client, f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}") == "for haiku"
    assert ask(client, HAIKU) != "for haiku"  # used up


def test_predicate_on_the_prompt(emulator, client):
    emulator.enqueue(Reply(text="I can't help with that."), match=lambda r: "weapon" in r.prompt, times=None)
    assert ask(client, NOVA, "how to bake bread") != "I can't help with that."
    assert ask(client, NOVA, "how to build a weapon") == "I can't help with that."
    assert ask(client, HAIKU, "another weapon question") == "I can't help with that."


def test_responder_answers_what_the_queue_does_not(emulator, client):
    emulator.set_responder(lambda r: Reply(text=r.last_text.upper()) if r.family == "nova" else None)
    emulator.enqueue(Reply(text="queued"))
    assert ask(client, NOVA, "shout") == "queued"
    assert ask(client, NOVA, "shout") == "SHOUT"
    assert ask(client, HAIKU, "shout") != "SHOUT"


def test_reset_forgets_everything(emulator, client):
    emulator.enqueue(Reply(text="stale"))
    emulator.set_responder(lambda r: Reply(text="responder"))
    ask(client, HAIKU)
    emulator.reset()
    assert emulator.requests == []
    assert ask(client, NOVA) not in ("stale", "responder")


def test_requests_are_recorded_with_headers_and_decoded_body(emulator, client):
    body = {"inputText": "Summarise this.", "textGenerationConfig": {"maxTokenCount": 10}}
    client.invoke_model(
        modelId="amazon.titan-text-lite-v1", body=json.dumps(body), contentType="application/json"
    )
    (request,) = emulator.requests
    assert request.operation == "InvokeModel"
    assert request.path == "/model/amazon.titan-text-lite-v1/invoke"
    assert request.body == body
    assert request.headers["content-type"] == "application/json"
    assert "authorization" in request.headers
    assert request.family == "titan_text" and request.prompt == "Summarise this."


def test_latency_and_chunk_delay_are_applied(emulator, client):
    emulator.enqueue(Reply(text="slow answer here", latency_s=0.05, chunk_delay_s=0.02, chunks=3))
    events = list(
        client.converse_stream(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "q"}]}])[
            "stream"
        ]
    )
    assert events[-1]["metadata"]["metrics"]["latencyMs"] >= 50  # the server's own measurement
    emulator.enqueue(Reply(text="x", latency_s=0.05))
    response = client.invoke_model(
        modelId=NOVA, body=json.dumps({"messages": [{"role": "user", "content": [{"text": "q"}]}]})
    )
    assert int(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-invocation-latency"]) >= 50


def test_concurrent_clients(server):
    from concurrent.futures import ThreadPoolExecutor

    client = server.client(max_pool_connections=8)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: ask(client, NOVA, f"question {i}"), range(16)))
    assert all(f"question {i}" in answer for i, answer in enumerate(answers))


def test_titan_embeddings_are_deterministic_sized_and_normalised(emulator, client):
    def embed(text: str, **extra) -> dict:
        body = json.dumps({"inputText": text, **extra})
        return json.loads(
            client.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=body)["body"].read()
        )

    first, again = embed("the cat sat on the mat"), embed("the cat sat on the mat")
    assert first["embedding"] == again["embedding"] and len(first["embedding"]) == 1024
    assert math.isclose(sum(v * v for v in first["embedding"]), 1.0, rel_tol=1e-9)
    assert first["embeddingsByType"]["float"] == first["embedding"]
    assert first["inputTextTokenCount"] == 6
    assert len(embed("x", dimensions=256)["embedding"]) == 256
    raw = embed("the cat sat", normalize=False)["embedding"]
    assert not math.isclose(sum(v * v for v in raw), 1.0)

    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True))

    near, far = embed("the cat sat on a mat")["embedding"], embed("quarterly revenue forecast")["embedding"]
    assert cosine(first["embedding"], near) > cosine(first["embedding"], far) + 0.3
    with pytest.raises(client.exceptions.ValidationException, match="dimensions"):
        embed("x", dimensions=300)


def test_titan_v1_and_cohere_embeddings(emulator, client):
    v1 = json.loads(
        client.invoke_model(
            modelId="amazon.titan-embed-text-v1", body=json.dumps({"inputText": "hello world"})
        )["body"].read()
    )
    assert len(v1["embedding"]) == 1536 and v1["inputTextTokenCount"] == 2 and "embeddingsByType" not in v1
    body = {"texts": ["first text", "second text here"], "input_type": "search_document"}
    response = client.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(body))
    cohere = json.loads(response["body"].read())
    assert cohere["response_type"] == "embeddings_floats" and cohere["texts"] == body["texts"]
    assert [len(v) for v in cohere["embeddings"]] == [1024, 1024]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"] == "5"
    by_type = json.loads(
        client.invoke_model(
            modelId="cohere.embed-multilingual-v3", body=json.dumps({**body, "embedding_types": ["float"]})
        )["body"].read()
    )
    assert by_type["response_type"] == "embeddings_by_type"
    assert by_type["embeddings"]["float"] == cohere["embeddings"]


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("anthropic.claude-v2", "anthropic.claude-v2"),
        ("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ("us-gov.meta.llama3-8b-instruct-v1:0", "meta.llama3-8b-instruct-v1:0"),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("xx-new.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
        (
            "arn:aws:bedrock:eu-west-1:123:inference-profile/eu.mistral.pixtral-large-2502-v1:0",
            "mistral.pixtral-large-2502-v1:0",
        ),
        (
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Famazon.titan-text-express-v1",
            "amazon.titan-text-express-v1",
        ),
        ("arn:aws:bedrock:us-east-1:123:application-inference-profile/abc123", "abc123"),
    ],
)
def test_base_model_id(model_id, expected):
    assert base_model_id(model_id) == expected


@pytest.mark.parametrize("text", ["", "one", "  leading space and trailing  ", "a b c d e f g h i j k"])
@pytest.mark.parametrize("pieces", [None, 1, 3, 50])
def test_split_text_joins_back(text, pieces):
    parts = split_text(text, pieces)
    assert "".join(parts) == text
    assert all(parts)
    if pieces and text:
        assert len(parts) == min(pieces, len(text.split()))


def test_lifecycle_context_manager_and_stop_closes_kept_alive_connections():
    emulator = BedrockEmulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emulator.endpoint_url
    with emulator:
        client = emulator.client()
        ask(client, NOVA)
        port = emulator.port
    with pytest.raises(Exception):  # noqa: B017 - any connection error: the server is gone
        ask(client, NOVA)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_serve_runs_in_the_foreground_for_the_cli():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"from otel_llm.testing import serve; serve('127.0.0.1', {port})"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}" in process.stdout.readline()
        body = json.dumps({"prompt": "hi", "max_gen_len": 5}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/model/meta.llama3-8b-instruct-v1%3A0/invoke", data=body, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert "generation" in json.loads(response.read())
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_stream_closed_early_leaves_the_server_healthy(emulator, client):
    emulator.enqueue(Reply(text=" ".join(["word"] * 400), chunks=200, chunk_delay_s=0.001))
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "long please"}]}]})
    stream = client.invoke_model_with_response_stream(modelId=NOVA, body=body)["body"]
    first = next(iter(stream))
    assert json.loads(first["chunk"]["bytes"]) == {"messageStart": {"role": "assistant"}}
    stream.close()
    assert "long please" in ask(client, NOVA, "long please")


def test_helper_client_retries_when_asked(emulator):
    emulator.enqueue(Reply(error="ThrottlingException"))
    retrying = emulator.client(max_attempts=2)
    assert "hello" in ask(retrying, NOVA)
    assert [r.operation for r in emulator.requests] == ["Converse", "Converse"]


def test_application_inference_profile_answers_in_its_model_format_and_is_described(emulator):
    arn = emulator.add_inference_profile("team-chat", HAIKU)
    assert arn == "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/team-chat"
    runtime = emulator.client()
    body = {"prompt": "not an anthropic body", "max_tokens_to_sample": 10}  # legacy Claude text format
    answer = json.loads(runtime.invoke_model(modelId=arn, body=json.dumps(body))["body"].read())
    assert "completion" in answer and emulator.requests[-1].family == "anthropic_text"
    assert emulator.requests[-1].base_model_id == HAIKU

    control = emulator.client("bedrock")
    profile = control.get_inference_profile(inferenceProfileIdentifier=arn)
    assert (profile["type"], profile["inferenceProfileArn"], profile["status"]) == (
        "APPLICATION",
        arn,
        "ACTIVE",
    )
    assert profile["models"] == [{"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"}]
    assert emulator.requests[-1].operation == "GetInferenceProfile"


def test_system_defined_profiles_are_described_and_unknown_ones_are_not_found(emulator):
    control = emulator.client("bedrock")
    profile = control.get_inference_profile(inferenceProfileIdentifier=f"eu.{HAIKU}")
    assert profile["type"] == "SYSTEM_DEFINED"
    assert profile["models"][0]["modelArn"].endswith(f"foundation-model/{HAIKU}")
    with pytest.raises(control.exceptions.ResourceNotFoundException):
        control.get_inference_profile(inferenceProfileIdentifier="nope")
