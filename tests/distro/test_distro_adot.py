"""Under the AWS Distro for OpenTelemetry Python, as users run it: `pip install aws-opentelemetry-distro`,
then `pip install otel-llm` (this checkout) into the same venv, `pip check` clean with ADOT's pinned
OpenTelemetry untouched, then a plain sync app under `opentelemetry-instrument` with ADOT's distro and
configurator: one ended GenAI span with exact tokens per call, streams included, no contrib Bedrock span,
and the four quality histograms, all received over OTLP.

The venv is built once and cached (tests/conftest.py `build_venv`); the test skips, saying why, when PyPI
cannot provide ADOT."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from otel_llm import _instruments as names
from otel_llm.testing import BedrockEmulator, Reply
from otel_llm.testing.otlp_receiver import OTLPReceiver, attributes

# The newest on PyPI when written; it pins opentelemetry 1.44.0 / 0.65b0.
ADOT = "aws-opentelemetry-distro==0.21.0"
CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
NOVA = "amazon.nova-lite-v1:0"
# (tag, operation, model): the app makes each call once, with the tag in its prompt.
CALLS = [
    ("t0", "converse", CLAUDE), ("t1", "converse_stream", CLAUDE), ("t2", "invoke", CLAUDE),
    ("t3", "invoke_stream", CLAUDE), ("t4", "invoke", LLAMA), ("t5", "invoke_stream", LLAMA),
    ("t6", "invoke_stream", MISTRAL), ("t7", "converse", NOVA),
]
APP = r'''
import json, sys
import boto3

client = boto3.client("bedrock-runtime", region_name="us-east-1")
for tag, operation, model in json.loads(sys.argv[1]):
    text = f"[{tag}] Tell me about the ocean."
    if operation.startswith("converse"):
        kwargs = {"modelId": model, "messages": [{"role": "user", "content": [{"text": text}]}]}
        if operation == "converse":
            client.converse(**kwargs)
        else:
            for _ in client.converse_stream(**kwargs)["stream"]:
                pass
        continue
    if model.startswith("anthropic"):
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                "messages": [{"role": "user", "content": text}]}
    else:
        body = {"prompt": text, "max_tokens": 64}
    if operation == "invoke":
        client.invoke_model(modelId=model, body=json.dumps(body))["body"].read()
    else:
        for _ in client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))["body"]:
            pass
print("APP DONE")
'''


def _pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def adot_venv(venv_builder: Any, project: Path) -> Path:
    return venv_builder("adot", [ADOT], [str(project)])  # ADOT first, otel-llm after it


@pytest.mark.slow
def test_distro_adot_install_after_adot_keeps_its_pins(adot_venv: Path) -> None:
    check = _pip(adot_venv, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    listed = json.loads(_pip(adot_venv, "list", "--format=json").stdout)
    installed = {p["name"].lower(): p["version"] for p in listed}
    assert installed["opentelemetry-api"] == "1.44.0" and installed["opentelemetry-sdk"] == "1.44.0"
    assert installed["opentelemetry-instrumentation"] == "0.65b0"
    assert installed["opentelemetry-instrumentation-botocore"] == "0.65b0"


@pytest.mark.slow
def test_distro_adot_plain_app_one_ended_genai_span_per_call(adot_venv: Path, project: Path,
                                                            tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    with BedrockEmulator() as emulator, OTLPReceiver() as receiver:
        for i, (tag, _, model) in enumerate(CALLS):
            emulator.enqueue(Reply(text=f"The ocean covers most of the planet ({tag}).", chunks=3,
                                   input_tokens=10 + i, output_tokens=20 + i),
                             model, match=lambda r, tag=tag: f"[{tag}]" in r.last_text)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_"))}
        env.update({
            "PYTHONPATH": str(project / "src"),  # this checkout's code; the venv: ADOT and the entry points
            "OTEL_PYTHON_DISTRO": "aws_distro", "OTEL_PYTHON_CONFIGURATOR": "aws_configurator",
            "OTEL_SERVICE_NAME": "adot-app", "OTEL_AWS_APPLICATION_SIGNALS_ENABLED": "false",
            "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.http_url("/v1/traces"),
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": receiver.http_url("/v1/metrics"),
            "OTEL_TRACES_SAMPLER": "always_on", "OTEL_LLM_BACKEND": "lexical",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.endpoint_url, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        })
        done = subprocess.run([str(adot_venv / "bin" / "opentelemetry-instrument"),
                               str(adot_venv / "bin" / "python"), str(app), json.dumps(CALLS)],
                              env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0 and "APP DONE" in done.stdout, done.stderr[-3000:]
        spans = [(span, attributes(span.attributes)) for span in receiver.spans()]
        quality = {names.SIMILARITY, names.SENTIMENT, names.TOXICITY, names.REFUSAL}
        points = receiver.metric_points()

    genai = [(s, a) for s, a in spans if a.get("gen_ai.provider.name") == "aws.bedrock"]
    assert not [a for _, a in spans if a.get("rpc.service") == "Bedrock Runtime"], "contrib must skip Bedrock"
    assert len(genai) == len(CALLS), [s.name for s, _ in spans]
    seen = sorted((a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) for _, a in genai)
    assert seen == [(10 + i, 20 + i) for i in range(len(CALLS))]  # exact, one span per call
    assert all(s.end_time_unix_nano > 0 for s, _ in genai)
    streamed = [a for _, a in genai if "gen_ai.response.time_to_first_chunk" in a]
    assert len(streamed) == sum(op.endswith("stream") for _, op, _ in CALLS)
    got = {p.name for p in points}
    assert quality <= got, sorted(got)
    for name in quality:
        assert _count(points, name) == len(CALLS), name


def _count(points: list[Any], name: str) -> int:
    """Values recorded in the histogram `name`: summed over delta exports, the last of cumulative ones."""
    delta, cumulative = 0, {}
    for p in points:
        if p.name == name:
            if p.temporality == 2:
                key = json.dumps(p.attributes, sort_keys=True, default=str)
                cumulative[key] = max(cumulative.get(key, 0), p.point.count)
            else:
                delta += p.point.count
    return delta + sum(cumulative.values())
