"""Per-call cost of Bedrock instrumentations on the user's thread, side by side in one run.

Each variant runs in its own subprocess (instrumentors patch botocore process-wide) against one local
emulator process: bare boto3, opentelemetry-instrumentation-botocore, OpenLLMetry's
opentelemetry-instrumentation-bedrock, otel-llm (spans + call metrics), and otel-llm with the quality
processor attached (lexical backend; scoring runs on its worker thread). Spans go to a dropping
exporter, metrics to an in-memory reader. Rounds alternate the variants to spread machine noise.

Run: make bench   (or .venv-bench/bin/python benchmarks/overhead.py --calls 2000 --rounds 3)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

VARIANTS = ("bare", "botocore-contrib", "openllmetry", "otel-llm", "otel-llm+quality")

WORKER = r'''
import json, os, sys, time
variant, endpoint, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.environ["OTEL_LLM_METRICS_ENABLED"] = "true" if variant == "otel-llm+quality" else "false"
os.environ["OTEL_LLM_BACKEND"] = "lexical"
import boto3
from botocore.config import Config
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

tp = TracerProvider()
tp.add_span_processor(SimpleSpanProcessor(Drop()))
mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
if variant == "botocore-contrib":
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    BotocoreInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
elif variant == "openllmetry":
    from opentelemetry.instrumentation.bedrock import BedrockInstrumentor
    BedrockInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
elif variant.startswith("otel-llm"):
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
    if i % 2:
        client.converse(modelId=model, messages=msgs, inferenceConfig={"maxTokens": 64})
    else:
        client.invoke_model(modelId=model, body=body)["body"].read()

for i in range(200):
    one(i)
samples = []
for i in range(calls):
    t0 = time.perf_counter()
    one(i)
    samples.append(time.perf_counter() - t0)
tp.shutdown()
mp.shutdown()
print(json.dumps(samples))
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _available(variant: str) -> bool:
    module = {"botocore-contrib": "opentelemetry.instrumentation.botocore",
              "openllmetry": "opentelemetry.instrumentation.bedrock"}.get(variant)
    if module is None:
        return True
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

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
        variants = [v for v in VARIANTS if _available(v)]
        missing = sorted(set(VARIANTS) - set(variants))
        medians: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(args.rounds):
            for variant in variants:
                out = subprocess.run([sys.executable, "-c", WORKER, variant, endpoint, str(args.calls)],
                                     capture_output=True, text=True, check=True, env=os.environ.copy())
                samples = json.loads(out.stdout.strip().splitlines()[-1])
                medians[variant].append(statistics.median(samples))
    finally:
        server.terminate()
        server.wait()

    bare = statistics.median(medians["bare"])
    print(f"{args.calls} calls x {args.rounds} rounds, Converse + InvokeModel alternating, median per call")
    print(f"{'variant':<20} {'per call':>10} {'added':>10}")
    for variant in variants:
        per_call = statistics.median(medians[variant])
        added = "" if variant == "bare" else f"{(per_call - bare) * 1e6:8.0f} us"
        print(f"{variant:<20} {per_call * 1e3:8.3f} ms {added:>10}")
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
