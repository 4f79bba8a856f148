"""Zero-code with `OTEL_LLM_SCORER_PROCESS=true`: `opentelemetry-instrument` puts its sitecustomize on
PYTHONPATH; the scorer process must score without instrumenting itself, and end with the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

APP = '''
import json, os
import boto3
from otel_llm._quality.process_scorer import child_path
from otel_llm._quality.processor import _installed

client = boto3.client("bedrock-runtime", region_name="us-east-1")
for n in range(3):
    client.converse(modelId="us.amazon.nova-lite-v1:0",
                    messages=[{"role": "user", "content": [{"text": f"What is zero-code, take {n}?"}]}])
[processor] = _installed.values()
flushed = processor.force_flush(60000)
scorer = processor._scorer
pid = scorer.pid
with open(f"/proc/{pid}/environ", "rb") as fh:
    environ = dict(item.split(b"=", 1) for item in fh.read().split(b"\\0") if b"=" in item)
with open(f"/proc/{pid}/cmdline", "rb") as fh:
    argv = fh.read().split(b"\\0")
auto = [p for p in os.environ["PYTHONPATH"].split(os.pathsep) if p.endswith("auto_instrumentation")]
print("REPORT " + json.dumps({
    "flushed": flushed, "type": type(scorer).__name__, "fallen_back": scorer.backends is not None,
    "pid": pid, "cpu_s": scorer.last_cpu_s, "sdk_disabled": environ.get(b"OTEL_SDK_DISABLED", b"").decode(),
    "child_pythonpath": environ.get(b"PYTHONPATH", b"").decode(), "isolated": b"-I" in argv,
    "auto_dir_in_app_path": bool(auto), "auto_dir_in_child_path": any(p in child_path() for p in auto)}))
'''


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the child's /proc entries")
def test_instr_zero_code_scores_in_an_uninstrumented_scorer_process(
        emulator: Any, tmp_path: Path, printed_json: Any, process_gone: Any) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ.update({"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.endpoint_url,
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "console",
                    "OTEL_LOGS_EXPORTER": "none", "OTEL_SERVICE_NAME": "zero-code-scorer-process",
                    "OTEL_LLM_SCORER_PROCESS": "true", "OTEL_LLM_BACKEND": "lexical"})
    command = [str(Path(sys.executable).parent / "opentelemetry-instrument"), sys.executable, str(app)]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    report = json.loads(line.removeprefix("REPORT "))
    assert report["flushed"] and report["type"] == "ProcessScorer" and not report["fallen_back"]
    assert report["cpu_s"] is not None
    assert report["sdk_disabled"] == "true" and report["isolated"] and not report["child_pythonpath"]
    assert report["auto_dir_in_app_path"] and not report["auto_dir_in_child_path"]
    names = {m["name"] for value in printed_json(done.stdout) if isinstance(value, dict)
             for rm in value.get("resource_metrics", []) for sm in rm.get("scope_metrics", [])
             for m in sm.get("metrics", [])}
    assert "otel_llm.similarity" in names  # recorded in the app, from the child's scores
    assert process_gone(report["pid"], 10), "the scorer process outlived the app"

