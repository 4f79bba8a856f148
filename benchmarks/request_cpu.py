"""Total process CPU (every thread) that each Bedrock instrumentation adds per call, side by side in one run.

Each variant runs in its own subprocess against one local emulator: bare boto3, contrib's
opentelemetry-instrumentation-botocore, OpenLLMetry's opentelemetry-instrumentation-bedrock and otel-llm's
request path (spans + call metrics, scoring off: OTEL_LLM_METRICS_ENABLED=false). Converse and InvokeModel
alternate; spans go to a BatchSpanProcessor with a dropping exporter, metrics to an InMemoryMetricReader.
The measured span is `time.process_time()` (all threads of the process) around the calls, the span
processor's flush and one metric collection, so work moved to another thread still counts. Rounds
alternate the variants; the per-call figure is the median over rounds, minus bare boto3's.

Run (peers need their own venv):
  python3 -m venv /tmp/venv-peers && /tmp/venv-peers/bin/pip install -q -e . \
      opentelemetry-instrumentation-botocore opentelemetry-instrumentation-bedrock
  PYTHONPATH=src /tmp/venv-peers/bin/python benchmarks/request_cpu.py --calls 2000 --rounds 5
  PYTHONPATH=src /tmp/venv-peers/bin/python benchmarks/request_cpu.py --callgrind --calls 100 --rounds 1

`--variants` also takes `otel-llm+KEY=VALUE,...`: otel-llm with scoring on and those settings, for example
`otel-llm+OTEL_LLM_CPU_BUDGET=0.000001` (every call past the budget: the cost of a sampled-out call).

`--callgrind` counts instructions (valgrind, every thread) instead of CPU time: (I(3N) - I(N)) / 2N, so
start-up cancels out; on a loaded machine it is the figure to trust.

Prints a table, then one JSON line: {"calls", "rounds", "unit", "per_call", "added": {variant: [per
round]}, "added_median", "missing", "loadavg"}.
`run(calls, rounds)` returns that dict (for other benchmarks to import).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

VARIANTS = ("bare", "botocore-contrib", "openllmetry", "otel-llm")

WORKER = r'''
import json, os, sys, time
variant, endpoint, calls, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
stream = sys.argv[5] == "stream"
os.environ["OTEL_LLM_METRICS_ENABLED"] = "false"
if variant.startswith("otel-llm+"):  # otel-llm+KEY=VALUE,...: scoring on, with these settings
    del os.environ["OTEL_LLM_METRICS_ENABLED"]
    for setting in variant.partition("+")[2].split(","):
        key, _, value = setting.partition("=")
        os.environ[key] = value
    variant = "otel-llm"
import boto3
from botocore.config import Config
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

tp = TracerProvider()
tp.add_span_processor(BatchSpanProcessor(Drop()))
reader = InMemoryMetricReader()
mp = MeterProvider(metric_readers=[reader])
if variant == "botocore-contrib":
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    BotocoreInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
elif variant == "openllmetry":
    from opentelemetry.instrumentation.bedrock import BedrockInstrumentor
    BedrockInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
elif variant == "otel-llm":
    from otel_llm import BedrockInstrumentor
    BedrockInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)

client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=endpoint,
                      aws_access_key_id="x", aws_secret_access_key="x",
                      config=Config(retries={"max_attempts": 1}))
model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "Name three rivers in Europe."}]})
msgs = [{"role": "user", "content": [{"text": "Name three rivers in Europe."}]}]

def one(i):
    if stream and i % 2:
        response = client.converse_stream(modelId=model, messages=msgs, inferenceConfig={"maxTokens": 64})
        for _ in response["stream"]:
            pass
    elif stream:
        for _ in client.invoke_model_with_response_stream(modelId=model, body=body)["body"]:
            pass
    elif i % 2:
        client.converse(modelId=model, messages=msgs, inferenceConfig={"maxTokens": 64})
    else:
        client.invoke_model(modelId=model, body=body)["body"].read()

for i in range(warmup):
    one(i)
tp.force_flush()
reader.get_metrics_data()
c0, w0 = time.process_time(), time.perf_counter()
for i in range(calls):
    one(i)
tp.force_flush()
reader.get_metrics_data()
c1, w1 = time.process_time(), time.perf_counter()
print(json.dumps({"cpu_s": c1 - c0, "wall_s": w1 - w0}))
tp.shutdown()
mp.shutdown()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _available(variant: str) -> bool:
    module = {"botocore-contrib": "opentelemetry.instrumentation.botocore",
              "openllmetry": "opentelemetry.instrumentation.bedrock"}.get(variant)
    if module is None:
        return True
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def _cpu_per_call(variant: str, endpoint: str, calls: int, workload: str) -> float:
    """µs of process CPU per call, from `time.process_time()` in the worker."""
    out = subprocess.run([sys.executable, "-c", WORKER, variant, endpoint, str(calls), "200", workload],
                         capture_output=True, text=True, check=True, env=os.environ.copy())
    return float(json.loads(out.stdout.strip().splitlines()[-1])["cpu_s"]) / calls * 1e6


def _instructions(variant: str, endpoint: str, calls: int, tmp: str, workload: str) -> int:
    """Instructions the whole worker process executes (every thread), counted by callgrind."""
    out_file = os.path.join(tmp, f"cg.{variant.replace('/', '_')}.{calls}")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", sys.executable, "-c",
                    WORKER, variant, endpoint, str(calls), "50", workload],
                   capture_output=True, text=True, check=True, env=os.environ.copy())
    with open(out_file) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def run(calls: int = 2000, rounds: int = 5, variants: tuple[str, ...] = VARIANTS,
        callgrind: bool = False, workload: str = "sync") -> dict[str, Any]:
    """Cost per call of each variant (per round) and what it adds to bare boto3: µs of process CPU, or with
    `callgrind` thousands of instructions, (I(3 x calls) - I(calls)) / (2 x calls) so start-up cancels out.
    `workload`: "sync" (Converse + InvokeModel) or "stream" (ConverseStream + InvokeModelWithResponseStream,
    read to the end)."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "otel_llm._cli", "emulator", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        present = [v for v in variants if _available(v)]
        per_call: dict[str, list[float]] = {v: [] for v in present}
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(rounds):
                for variant in present:
                    if callgrind:
                        low = _instructions(variant, endpoint, calls, tmp, workload)
                        high = _instructions(variant, endpoint, 3 * calls, tmp, workload)
                        per_call[variant].append((high - low) / (2 * calls) / 1e3)
                    else:
                        per_call[variant].append(_cpu_per_call(variant, endpoint, calls, workload))
    finally:
        server.terminate()
        server.wait()
    # added per round (same round's bare), so a slow round does not skew one variant
    bare = per_call["bare"]
    added = {v: [round(x - b, 1) for x, b in zip(xs, bare, strict=True)]
             for v, xs in per_call.items() if v != "bare"}
    return {"calls": calls, "rounds": rounds, "workload": workload,
            "unit": "K instructions" if callgrind else "us CPU",
            "per_call": {v: [round(x, 1) for x in xs] for v, xs in per_call.items()},
            "added": added, "added_median": {v: statistics.median(xs) for v, xs in added.items()},
            "missing": sorted(set(variants) - set(present)), "loadavg": list(os.getloadavg())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions with valgrind instead (stable under load; ~50x slower)")
    parser.add_argument("--stream", action="store_true",
                        help="ConverseStream + InvokeModelWithResponseStream, not Converse + InvokeModel")
    args = parser.parse_args()
    variants = tuple(v for v in args.variants.split(",") if v)
    if "bare" not in variants:
        variants = ("bare", *variants)
    result = run(args.calls, args.rounds, variants, args.callgrind, "stream" if args.stream else "sync")
    medians = result["added_median"]
    unit = result["unit"]
    lightest = min((medians[v] for v in ("openllmetry", "botocore-contrib") if v in medians), default=None)
    calls_made = "ConverseStream + InvokeModelWithResponseStream" if args.stream else "Converse + InvokeModel"
    print(f"{args.calls} calls x {args.rounds} rounds, {calls_made} alternating, {unit} per call "
          "(whole process)")
    print(f"{'variant':<18} {'per call':>10} {'added: median (range)':>28} {'x lightest peer':>16}")
    for variant, xs in result["per_call"].items():
        line = f"{variant:<18} {statistics.median(xs):10.1f}"
        if variant != "bare":
            spread = result["added"][variant]
            line += f" {medians[variant]:14.1f} ({min(spread):.1f} .. {max(spread):.1f})"
            if lightest:
                line += f" {medians[variant] / lightest:15.2f}"
        print(line)
    if result["missing"]:
        print(f"not installed, skipped: {', '.join(result['missing'])}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in result['loadavg'])}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
