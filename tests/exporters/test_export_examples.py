"""The examples run for real, in subprocesses, against the Bedrock emulator: the zero-code app under
`opentelemetry-instrument` with its env file (to the local OTLP receiver), and the no-layer Lambda handler
writing EMF to stdout (checked against the EMF schema)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from otel_llm import _instruments as names
from otel_llm._quality.evaluators.registry import QUALITY_HISTOGRAMS
from otel_llm.testing.otlp_receiver import OTLPReceiver

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CALL_METRICS = {names.TOKEN_USAGE, names.OPERATION_DURATION}
QUALITY = {inst.name for inst in QUALITY_HISTOGRAMS}


def _env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_"))}
    result = subprocess.run(args, env={**base, **env}, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_env_files_set_delta_exponential_and_an_interval():
    env = _env_file(EXAMPLES / "zero_code" / "otel.env")
    assert env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
    aggregation = env["OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"]
    assert aggregation == "base2_exponential_bucket_histogram"
    assert int(env["OTEL_METRIC_EXPORT_INTERVAL"]) > 0


def _run_zero_code(**extra_env: str):
    env = _env_file(EXAMPLES / "zero_code" / "otel.env")
    with OTLPReceiver(grpc_port=None) as receiver:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_url(), OTEL_LLM_BACKEND="lexical",
                   OTEL_SERVICE_NAME="zero-code-test", **extra_env)
        instrument = str(Path(sys.executable).parent / "opentelemetry-instrument")
        _run([instrument, sys.executable, str(EXAMPLES / "zero_code" / "app.py"), "--emulator"], env)
        points = receiver.wait_for(lambda r: r.metric_points(), timeout=10)
        return points, list(receiver.spans())


@pytest.mark.slow
def test_zero_code_app_sends_delta_exponential_histograms_over_otlp():
    points, spans = _run_zero_code()
    received = {p.name for p in points}
    assert CALL_METRICS | {names.RECORDS} <= received, received
    for point in points:
        assert point.resource["service.name"] == "zero-code-test"
        if point.name in CALL_METRICS:
            assert point.kind == "exponential_histogram" and point.temporality == 1  # DELTA
    assert any(span.name.startswith("chat ") for span in spans)


@pytest.mark.slow
def test_lambda_emf_handler_writes_valid_emf_to_stdout(emf_problems):
    result = _run([sys.executable, str(EXAMPLES / "lambda" / "handler_emf.py")],
                  {"OTEL_LLM_EMF_EXPORT": "stdout", "OTEL_SERVICE_NAME": "fn", "OTEL_LLM_BACKEND": "lexical"})
    docs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"_aws"')]
    assert docs
    for doc in docs:
        assert emf_problems(doc) == [], doc
    names_written = {m["Name"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert CALL_METRICS | {names.RECORDS} <= names_written
    assert all(doc["service.name"] == "fn" for doc in docs)


@pytest.mark.slow
def test_lambda_emf_handler_writes_quality_distributions():
    result = _run([sys.executable, str(EXAMPLES / "lambda" / "handler_emf.py")],
                  {"OTEL_LLM_EMF_EXPORT": "stdout", "OTEL_SERVICE_NAME": "fn", "OTEL_LLM_BACKEND": "lexical"})
    docs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"_aws"')]
    quality: dict[str, list[dict]] = {}
    for doc in docs:
        for name in QUALITY & set(doc):
            quality.setdefault(name, []).append(doc[name])
    assert set(quality) == QUALITY, sorted(quality)
    for name, values in quality.items():
        # the handler flushes after each of its two invocations: two delta distributions of one score each
        assert [sum(v["Counts"]) for v in values] == [1, 1], name
        assert all(0.0 <= v["Min"] <= v["Max"] <= 1.0 for v in values), name


@pytest.mark.slow
def test_manual_decorator_example_scores_a_non_bedrock_llm():
    result = _run([sys.executable, str(EXAMPLES / "manual_decorators" / "app.py")],
                  {"OTEL_LLM_BACKEND": "lexical", "OTEL_SERVICE_NAME": "manual"})
    docs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"_aws"')]
    records = [doc for doc in docs if names.RECORDS in doc]
    assert records and all(doc[names.ATTR_PROVIDER] == "my-gateway" for doc in records)
    assert {name for doc in docs for name in QUALITY if name in doc} == QUALITY


@pytest.mark.slow
def test_zero_code_stream_metrics_survive_the_botocore_instrumentation():
    """opentelemetry-instrumentation-botocore is loaded too under opentelemetry-instrument: the stream's
    time-to-first-chunk must still be recorded (it is when botocore's instrumentation is disabled)."""
    without_botocore = {p.name for p in _run_zero_code(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="botocore")[0]}
    assert names.TIME_TO_FIRST_CHUNK in without_botocore
    with_botocore = {p.name for p in _run_zero_code()[0]}
    assert {names.TIME_TO_FIRST_CHUNK, names.TIME_PER_OUTPUT_CHUNK} <= with_botocore, with_botocore


@pytest.mark.slow
def test_zero_code_with_the_emf_exporter_needs_no_collector(emf_problems):
    result = _run([str(Path(sys.executable).parent / "opentelemetry-instrument"), sys.executable,
                   str(EXAMPLES / "zero_code" / "app.py"), "--emulator"],
                  {"OTEL_METRICS_EXPORTER": "emf", "OTEL_TRACES_EXPORTER": "none",
                   "OTEL_LOGS_EXPORTER": "none", "OTEL_SERVICE_NAME": "zero-code-emf",
                   "OTEL_LLM_BACKEND": "lexical", "OTEL_LLM_EMF_NAMESPACE": "Team/Bot"})
    docs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"_aws"')]
    assert docs and all(emf_problems(doc) == [] for doc in docs)
    assert {doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] for doc in docs} == {"Team/Bot"}
    written = {m["Name"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert CALL_METRICS | {names.RECORDS} <= written


def _task_environment() -> dict[str, str]:
    task = json.loads((REPO / "collector" / "ecs" / "task-definition.json").read_text())
    [app] = [c for c in task["containerDefinitions"] if c["name"] == "app"]
    return {item["name"]: item["value"] for item in app["environment"]}


def test_ecs_image_installs_the_backend_its_task_definition_selects():
    """The task definition picks the scoring backend; the image must contain it, or every record fails."""
    backend = _task_environment().get("OTEL_LLM_BACKEND", "auto")
    installs = " ".join(line for line in (EXAMPLES / "ecs" / "Dockerfile").read_text().splitlines()
                        if line.startswith("RUN") and "pip install" in line)
    if backend == "local":
        assert ".[local]" in installs.replace('"', "").replace("'", ""), installs
    assert "opentelemetry-distro" in installs  # the CMD runs opentelemetry-instrument


@pytest.mark.parametrize("example", ["zero_code/app.py", "lambda/handler_adot.py", "lambda/README.md",
                                     "manual_decorators/app.py", "ecs/README.md"])
def test_every_example_that_can_send_otlp_documents_delta_exponential_and_interval(example):
    text = (EXAMPLES / example).read_text()
    if "otel.env" in text:  # the example points at the env file, which sets them (tested above)
        return
    variables = ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                 "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "OTEL_METRIC_EXPORT_INTERVAL")
    for variable in variables:
        assert variable in text, (example, variable)


@pytest.mark.slow
def test_lambda_adot_handler_runs_under_opentelemetry_instrument():
    """handler_adot.py as its README runs it locally: zero-code, OTLP to a collector (here the receiver)."""
    env = _env_file(EXAMPLES / "zero_code" / "otel.env")
    with OTLPReceiver(grpc_port=None) as receiver:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_url(), OTEL_LLM_BACKEND="lexical",
                   OTEL_SERVICE_NAME="adot-handler")
        instrument = str(Path(sys.executable).parent / "opentelemetry-instrument")
        result = _run([instrument, sys.executable, str(EXAMPLES / "lambda" / "handler_adot.py")], env)
        points = receiver.wait_for(lambda r: r.metric_points(), timeout=10)
    assert "'answer':" in result.stdout
    received = {p.name for p in points}
    assert received >= CALL_METRICS | QUALITY, received
    outcomes = {p.attributes.get(names.ATTR_OUTCOME) for p in points if p.name == names.RECORDS}
    assert outcomes == {"scored"}


@pytest.mark.slow
def test_zero_code_app_with_the_default_local_backend_scores_before_exit():
    """examples/zero_code as documented (otel.env: OTEL_LLM_BACKEND=auto, so the local backend when
    installed)."""
    env = _env_file(EXAMPLES / "zero_code" / "otel.env")
    with OTLPReceiver(grpc_port=None) as receiver:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_url(), OTEL_LLM_BACKEND="local",
                   OTEL_SERVICE_NAME="zero-code-local")
        instrument = str(Path(sys.executable).parent / "opentelemetry-instrument")
        _run([instrument, sys.executable, str(EXAMPLES / "zero_code" / "app.py"), "--emulator"], env)
        points = receiver.wait_for(lambda r: r.metric_points(), timeout=10)
    outcomes = {p.attributes.get(names.ATTR_OUTCOME) for p in points if p.name == names.RECORDS}
    assert outcomes == {"scored"}, outcomes
    assert {p.name for p in points} >= QUALITY
