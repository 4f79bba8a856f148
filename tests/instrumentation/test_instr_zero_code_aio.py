"""Zero-code with aiobotocore: a plain async app under `opentelemetry-instrument`, contrib botocore installed
(as `opentelemetry-bootstrap` leaves it), exporting over OTLP to the local receiver. Each call, streams
included, yields one ended GenAI span with the exact tokens the service reported, and every call is scored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiobotocore", reason="needs aiobotocore: pip install 'otel-llm[aio]'")
pytest.importorskip("opentelemetry.instrumentation.botocore", reason="needs contrib botocore (the dev extra)")

from otel_llm.testing.otlp_receiver import OTLPReceiver, attributes

APP = '''
import asyncio, json
from aiobotocore.session import get_session

CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"

def ask(text):
    return [{"role": "user", "content": [{"text": text}]}]

async def main():
    tokens = {}
    async with get_session().create_client("bedrock-runtime", region_name="us-east-1") as client:
        answer = await client.converse(modelId=CLAUDE, messages=ask("What is the capital of Peru?"))
        tokens["chat"] = [answer["usage"]["inputTokens"], answer["usage"]["outputTokens"]]

        response = await client.converse_stream(modelId=CLAUDE, messages=ask("Tell me about rivers."))
        async for event in response["stream"]:
            if "metadata" in event:
                usage = event["metadata"]["usage"]
                tokens["chat_stream"] = [usage["inputTokens"], usage["outputTokens"]]

        body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                           "messages": [{"role": "user", "content": "Name a green vegetable."}]})
        response = await client.invoke_model(modelId=CLAUDE, body=body)
        usage = json.loads(await response["body"].read())["usage"]
        tokens["invoke"] = [usage["input_tokens"], usage["output_tokens"]]

        response = await client.invoke_model_with_response_stream(
            modelId=LLAMA, body=json.dumps({"prompt": "Describe a quiet morning.", "max_gen_len": 100}))
        async for event in response["body"]:
            chunk = json.loads(event["chunk"]["bytes"])
            metrics = chunk.get("amazon-bedrock-invocationMetrics")
            if metrics:
                tokens["text_completion_stream"] = [metrics["inputTokenCount"], metrics["outputTokenCount"]]

    print("TOKENS:", json.dumps(tokens))

asyncio.run(main())
'''
QUALITY = ("otel_llm.similarity", "otel_llm.sentiment", "otel_llm.toxicity", "otel_llm.refusal")


def _run(emulator: Any, tmp_path: Path, **env: str) -> tuple[dict[str, list[int]], list[Any], list[Any]]:
    """Run the app under `opentelemetry-instrument`: the tokens it read, the spans and metric points."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    with OTLPReceiver(grpc_port=None) as receiver:
        environ = {**os.environ, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.endpoint_url,
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "OTEL_SERVICE_NAME": "zero-code-aio", "OTEL_TRACES_EXPORTER": "otlp",
                   "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "none",
                   "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                   "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_url(),
                   "OTEL_LLM_BACKEND": "lexical", "OTEL_LLM_SCHEDULE_DELAY_MS": "10", **env}
        command = [str(Path(sys.executable).parent / "opentelemetry-instrument"), sys.executable, str(app)]
        done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert "not instrumented" not in done.stderr
        tokens = json.loads(done.stdout.split("TOKENS:", 1)[1])
        return tokens, list(receiver.spans()), receiver.metric_points()


def _services(spans: list[Any]) -> list[Any]:
    return [attributes(s.attributes).get("rpc.service") for s in spans]


@pytest.mark.slow
def test_instr_zero_code_aiobotocore_app_beside_contrib(emulator: Any, tmp_path: Path) -> None:
    _, contrib_alone, _ = _run(emulator, tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="bedrock_llm")
    assert _services(contrib_alone) == ["Bedrock Runtime"] * 4  # contrib does instrument this app

    tokens, spans, points = _run(emulator, tmp_path)

    assert set(tokens) == {"chat", "chat_stream", "invoke", "text_completion_stream"}
    genai = [s for s in spans if attributes(s.attributes).get("gen_ai.provider.name") == "aws.bedrock"]
    assert len(genai) == 4  # one per call, streams included
    seen = []
    for span in genai:
        attrs = attributes(span.attributes)
        assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
        streamed = "gen_ai.response.time_to_first_chunk" in attrs
        seen.append((attrs["gen_ai.operation.name"], streamed, attrs["gen_ai.usage.input_tokens"],
                     attrs["gen_ai.usage.output_tokens"]))
    expected = [("chat", False, *tokens["chat"]), ("chat", True, *tokens["chat_stream"]),
                ("chat", False, *tokens["invoke"]),
                ("text_completion", True, *tokens["text_completion_stream"])]
    assert sorted(seen) == sorted(expected)
    assert "Bedrock Runtime" not in _services(spans)  # contrib skips Bedrock while we are instrumented
    for name in QUALITY:
        assert sum(p.point.count for p in points if p.name == name) == 4, name
    usage = [p for p in points if p.name == "gen_ai.client.token.usage"]
    assert sum(p.point.sum for p in usage) == sum(a + b for a, b in tokens.values())
