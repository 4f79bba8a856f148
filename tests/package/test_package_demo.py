"""`otel-llm demo`, the main job, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from otel_llm._demo import MODELS


@pytest.mark.slow
def test_demo_prints_call_and_quality_metrics_per_model_and_emf_lines():
    out = subprocess.run([sys.executable, "-m", "otel_llm._cli", "demo", "--calls", "16"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()
            if line and line.split()[0] in {m for m, _ in MODELS}}
    assert set(rows) == {model for model, _ in MODELS}
    for model, cells in rows.items():
        calls, errors = int(cells[1]), int(cells[2])
        assert calls == 2, model
        assert errors <= calls
    quality = [cells for cells in rows.values() if cells[6] != "-"]
    assert quality, "no model got quality scores"
    for cells in quality:
        for value in cells[6:10]:
            assert 0.0 <= float(value) <= 1.0
    emf = [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{"_aws"')]
    assert emf
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OtelLLM/Demo" for doc in emf)


@pytest.mark.slow
def test_demo_sends_traces_and_metrics_to_a_running_collector():
    from otel_llm.testing.otlp_receiver import OTLPReceiver

    with OTLPReceiver(grpc_port=None) as receiver:
        out = subprocess.run([sys.executable, "-m", "otel_llm._cli", "demo", "--calls", "8",
                              "--otlp", receiver.http_url()], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        names = {point.name for point in receiver.metric_points("http")}
        assert {"gen_ai.client.operation.duration", "otel_llm.similarity", "otel_llm.refusal"} <= names
        assert list(receiver.spans("http"))
