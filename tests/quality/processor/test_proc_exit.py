"""The done-bar of issue 12, in a subprocess: with Bedrock and Comprehend both black-holed (a socket that
accepts and never answers) and `OTEL_LLM_BACKEND=aws` at default settings, a script that made 40 instrumented
Bedrock calls exits within 15 s of its last line, and every call is counted in `otel_llm.records`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from otel_llm.testing import BedrockEmulator
from otel_llm.testing.faults import HangingServer

CALLS = 40
EXIT_BOUND_S = 15.0

APP = """
import atexit, json, os, sys, time
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

reader = InMemoryMetricReader()
meter_provider = MeterProvider(metric_readers=[reader])

def report():  # registered first, so it runs last: after otel-llm's exit flush
    data = reader.get_metrics_data()
    totals = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name in ("otel_llm.records", "otel_llm.scores"):
                    for p in m.data.data_points:
                        key = m.name + ":" + str(p.attributes.get("otel_llm.evaluator", "")) + ":" + \\
                              p.attributes["otel_llm.outcome"]
                        totals[key] = totals.get(key, 0) + p.value
    sys.stdout.write("METRICS " + json.dumps(totals) + "\\n")
    sys.stdout.write("EXIT_HOOKS_DONE %.3f\\n" % time.time())
    sys.stdout.flush()

atexit.register(report)

import boto3
from otel_llm import BedrockInstrumentor
BedrockInstrumentor().instrument(tracer_provider=TracerProvider(), meter_provider=meter_provider)
client = boto3.client("bedrock-runtime", endpoint_url=os.environ["EMULATOR_URL"], region_name="us-east-1")
for n in range(int(os.environ["CALLS"])):
    client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0",
                    messages=[{"role": "user", "content": [{"text": f"Question number {n}?"}]}])
sys.stdout.write("LAST_LINE %.3f\\n" % time.time())
sys.stdout.flush()
"""


@pytest.mark.slow
def test_a_hanging_backend_holds_the_exit_at_most_15_s_and_every_call_is_counted(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    with BedrockEmulator(port=0) as emulator, HangingServer() as hanging:
        env = {**os.environ, "EMULATOR_URL": emulator.endpoint_url, "CALLS": str(CALLS),
               "OTEL_LLM_BACKEND": "aws", "OTEL_LLM_AWS_REGION": "us-east-1",
               "OTEL_LLM_BEDROCK_ENDPOINT_URL": hanging.endpoint_url,
               "OTEL_LLM_COMPREHEND_ENDPOINT_URL": hanging.endpoint_url,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        for name in [k for k in env if k.startswith("OTEL_LLM_") and k not in (
                "OTEL_LLM_BACKEND", "OTEL_LLM_AWS_REGION", "OTEL_LLM_BEDROCK_ENDPOINT_URL",
                "OTEL_LLM_COMPREHEND_ENDPOINT_URL")]:
            del env[name]  # default settings
        run = subprocess.run([sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=180)
        ended = time.time()
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    exit_delay = ended - float(lines["LAST_LINE"])
    print(f"exit delay after the script's last line: {exit_delay:.1f} s "
          f"(hooks done {float(lines['EXIT_HOOKS_DONE']) - float(lines['LAST_LINE']):.1f} s)")
    assert exit_delay <= EXIT_BOUND_S
    totals = json.loads(lines["METRICS"])
    records = {k.rsplit(":", 1)[1]: v for k, v in totals.items() if k.startswith("otel_llm.records")}
    assert sum(records.values()) == CALLS, totals
    assert records.get("scored", 0) == 0, totals  # with every backend score lost, none counts as scored
    scores = {k: v for k, v in totals.items() if k.startswith("otel_llm.scores")}
    for evaluator in ("similarity", "sentiment", "toxicity"):  # every lost score counted exactly once
        lost = sum(v for k, v in scores.items() if k.split(":")[1] == evaluator and not k.endswith(":scored"))
        assert lost == CALLS, (evaluator, totals)
