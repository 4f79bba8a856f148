"""An InvokeModel body that fails to read fails the same way for the user, instrumented or not."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config


class _TruncatingHandler(BaseHTTPRequestHandler):
    """Answers every call with headers promising 1000 bytes, sends 42, and hangs up."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b'{"content": [{"type": "text", "text": "Hel')
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def truncating_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TruncatingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _read_error(endpoint: str) -> BaseException:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(retries={"max_attempts": 1}))
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
                       "messages": [{"role": "user", "content": "Hi"}]})
    response = client.invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=body)
    with pytest.raises(Exception) as raised:
        response["body"].read()
    return raised.value


def test_instr_invoke_body_that_fails_to_read_fails_the_same_way_for_the_user(
        harness: Any, truncating_endpoint: str) -> None:
    bare = _read_error(truncating_endpoint)
    harness.instrument()
    instrumented = _read_error(truncating_endpoint)
    assert type(instrumented) is type(bare)
    assert str(instrumented) == str(bare)
    assert len(harness.genai_spans()) == 1  # the call still ends, once
