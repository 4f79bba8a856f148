"""Application inference profile ARNs resolved off the hot path by a cached GetInferenceProfile call.
AWS's control plane is mocked at the wire: a local HTTP server answering GetInferenceProfile."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from otel_llm._instrumentation.profiles import InferenceProfileResolver, is_application_profile

PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"


class _ControlPlane(BaseHTTPRequestHandler):
    asked: list[str] = []

    def do_GET(self) -> None:  # GET /inference-profiles/{id}
        identifier = unquote(self.path.rsplit("/", 1)[-1])
        self.asked.append(identifier)
        if identifier != PROFILE:
            body, status = {"message": "not found"}, 404
            self.send_response(status)
            self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
        else:
            body = {"inferenceProfileArn": PROFILE, "inferenceProfileName": "mine",
                    "inferenceProfileId": "abc123", "status": "ACTIVE", "type": "APPLICATION",
                    "models": [{"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"}]}
            self.send_response(200)
        data = json.dumps(body).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def control_plane(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ControlPlane)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _ControlPlane.asked = []
    yield _ControlPlane.asked
    server.shutdown()
    server.server_close()


def test_instr_profile_arns_are_recognised() -> None:
    assert is_application_profile(PROFILE)
    assert not is_application_profile(MODEL)
    assert not is_application_profile("arn:aws:bedrock:us-east-1::foundation-model/" + MODEL)


def test_instr_resolver_answers_later_and_asks_once(control_plane: list[str]) -> None:
    resolver = InferenceProfileResolver(timeout_s=2)
    assert resolver.cached(PROFILE) is None  # never blocks the caller
    assert resolver.wait_idle()
    assert resolver.cached(PROFILE) == MODEL
    assert resolver.cached(PROFILE) == MODEL
    assert control_plane == [PROFILE]
    resolver.stop()


def test_instr_resolver_failure_is_cached_and_reported(control_plane: list[str]) -> None:
    resolver = InferenceProfileResolver(timeout_s=2)
    missing = PROFILE.replace("abc123", "gone")
    resolver.cached(missing)
    assert resolver.wait_idle()
    assert resolver.cached(missing) is None
    resolver.wait_idle()
    assert control_plane == [missing]
    resolver.stop()


def test_instr_calls_through_a_profile_get_the_resolved_model(harness: Any, control_plane: list[str]) -> None:
    instrumentor = harness.instrument(resolve_inference_profiles=True)
    client = harness.emulator.client()
    messages = [{"role": "user", "content": [{"text": "hello"}]}]

    client.converse(modelId=PROFILE, messages=messages)  # first call: not known yet, never waits
    assert instrumentor._resolver.wait_idle()
    client.converse(modelId=PROFILE, messages=messages)

    first, second = harness.genai_spans()
    assert first.attributes["gen_ai.request.model"] == second.attributes["gen_ai.request.model"] == PROFILE
    assert first.attributes["gen_ai.response.model"] == PROFILE
    assert second.attributes["gen_ai.response.model"] == MODEL
    assert harness.records()[1].family == "anthropic"
    assert control_plane == [PROFILE]
    # the lookup itself ran with instrumentation suppressed: no span of its own
    assert len(harness.finished()) == 2
