"""One benchmark process: one instrumentation variant, real boto3 against the bench servers; prints a
JSON line.

    python benchmarks/call_worker.py VARIANT ENDPOINT calls --calls 1000 [--warmup-s 3]
    python benchmarks/call_worker.py VARIANT ENDPOINT load --threads 8 --seconds 10
    python benchmarks/call_worker.py VARIANT ENDPOINT rss --calls 100000
    python benchmarks/call_worker.py VARIANT ENDPOINT serve [--warmup-s 3]   (paired rounds: see serve_blocks)

Variants: `bare` (no instrumentation), `botocore-contrib`, `openllmetry`, `request-path` (otel-llm with
OTEL_LLM_METRICS_ENABLED=false), `default` (otel-llm as installed, default settings), `budget=X` (default with
OTEL_LLM_CPU_BUDGET=X), `with:KEY=VALUE,...` (default with those settings: experiments). Spans go to a
BatchSpanProcessor with a dropping exporter, metrics to a periodic reader (1 s) with a dropping exporter; each
measured loop ends with both providers' force_flush, so spans exported, metrics collected and records still
queued for scoring are paid inside the loop. `calls` times four workloads (sync = Converse and InvokeModel
alternating, stream = ConverseStream and InvokeModelWithResponseStream read to the end; short and long
completions): mean wall time per call of the loop (all threads: what the app waits for) and process CPU per
call (all threads).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
WORKLOADS = ("sync-short", "sync-long", "stream-short", "stream-long")
EXPORTED: list = []  # the last metrics the dropping exporter was handed (kept by reference: costs nothing)


def configure(variant: str) -> None:
    """The otel-llm settings of `variant`, through the environment (as a zero-code user sets them)."""
    for key in [k for k in os.environ if k.startswith("OTEL_LLM_")]:
        del os.environ[key]
    if variant == "request-path":
        os.environ["OTEL_LLM_METRICS_ENABLED"] = "false"
    elif variant.startswith("budget="):
        os.environ["OTEL_LLM_CPU_BUDGET"] = variant.partition("=")[2]
    elif variant.startswith("with:"):  # experiments: `with:OTEL_LLM_WORKER_NICE=0,OTEL_LLM_CPU_BUDGET=0.1`
        for setting in variant.partition(":")[2].split(","):
            key, _, value = setting.partition("=")
            os.environ[key.strip()] = value.strip()


def instrument(variant: str, metric_reader=None):
    """(tracer provider, meter provider) with `variant` instrumenting botocore."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropSpans(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    class DropMetrics(MetricExporter):
        def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
            EXPORTED[:] = [metrics_data]
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
            return None

    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(DropSpans()))
    reader = metric_reader or PeriodicExportingMetricReader(DropMetrics(), export_interval_millis=1000)
    mp = MeterProvider(metric_readers=[reader])
    if variant == "botocore-contrib":
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

        BotocoreInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    elif variant == "openllmetry":
        from opentelemetry.instrumentation.bedrock import BedrockInstrumentor as Peer

        Peer().instrument(tracer_provider=tp, meter_provider=mp)
    elif variant != "bare":
        from otel_llm import BedrockInstrumentor

        BedrockInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    return tp, mp


def make_call(endpoint: str):
    """`call(workload, i)`: one Bedrock call of `workload`, its response read to the end."""
    import boto3
    from botocore.config import Config

    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=endpoint,
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"total_max_attempts": 1}, max_pool_connections=16))

    def call(workload: str, i: int, marker: str = "") -> None:
        tag = f"{marker} LONG" if workload.endswith("long") else marker
        question = f"{tag} Question {i}: what should a visitor know about the rivers of region {i % 997}?"
        invoke = i % 2 == 0
        if workload.startswith("sync"):
            if invoke:
                body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 512,
                                   "messages": [{"role": "user", "content": question}]})
                client.invoke_model(modelId=MODEL, body=body)["body"].read()
            else:
                client.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": question}]}],
                                inferenceConfig={"maxTokens": 512})
        elif invoke:
            body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 512,
                               "messages": [{"role": "user", "content": question}]})
            for _ in client.invoke_model_with_response_stream(modelId=MODEL, body=body)["body"]:
                pass
        else:
            response = client.converse_stream(
                modelId=MODEL, messages=[{"role": "user", "content": [{"text": question}]}],
                inferenceConfig={"maxTokens": 512})
            for _ in response["stream"]:
                pass

    return call


def flush(tp, mp) -> None:
    tp.force_flush()
    mp.force_flush()


def run_calls(variant: str, endpoint: str, calls: int, warmup_s: float) -> dict:
    tp, mp = instrument(variant)
    call = make_call(endpoint)
    i, start = 0, time.perf_counter()
    while i < 40 or time.perf_counter() - start < warmup_s:  # model load, CPU budget's saved-up burst
        call(WORKLOADS[i % len(WORKLOADS)], i)
        i += 1
    flush(tp, mp)
    out: dict = {"variant": variant, **timed_blocks(call, tp, mp, calls, i)}
    out["runtime"] = runtime_chosen()
    out["records"] = outcomes(EXPORTED[0] if EXPORTED else None)  # warm-up included
    return out


def timed_blocks(call, tp, mp, calls: int, start: int, flush_timed: bool = True) -> dict:
    """Each workload `calls` times back to back, then a flush (inside the timing when `flush_timed`):
    {workload: wall and CPU per call}."""
    out: dict = {}
    i = start
    for workload in WORKLOADS:
        t0, c0 = time.perf_counter(), time.process_time()
        for n in range(calls):
            call(workload, i + n)
        if flush_timed:
            flush(tp, mp)
        out[workload] = {"wall_us": (time.perf_counter() - t0) / calls * 1e6,
                         "cpu_us": (time.process_time() - c0) / calls * 1e6}
        if not flush_timed:
            flush(tp, mp)
        i += calls
    return out


def serve_blocks(variant: str, endpoint: str, warmup_s: float) -> None:
    """A long-lived variant for paired rounds: after the warm-up it prints `{"ready": ...}`; then each stdin
    line `{"calls": N, "warmup_s": W}` runs W seconds of untimed calls (the scorer back in its steady state:
    the CPU budget's credit saved up while idle is spent) and then `timed_blocks`, printed as one JSON
    line. The flush after each block is not timed: an app calling back to back has no tail to wait for,
    and what the scorer and exporters do during the loop is in the loop's time. Ends at end of input."""
    tp, mp = instrument(variant)
    call = make_call(endpoint)
    i, start = 0, time.perf_counter()
    while i < 40 or time.perf_counter() - start < warmup_s:
        call(WORKLOADS[i % len(WORKLOADS)], i)
        i += 1
    flush(tp, mp)
    print(json.dumps({"ready": variant, "runtime": runtime_chosen()}), flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        start = time.perf_counter()
        while time.perf_counter() - start < order["warmup_s"]:
            call(WORKLOADS[i % len(WORKLOADS)], i)
            i += 1
        flush(tp, mp)
        result = timed_blocks(call, tp, mp, order["calls"], i, flush_timed=False)
        i += order["calls"] * len(WORKLOADS)
        print(json.dumps(result), flush=True)


def run_load(variant: str, endpoint: str, threads: int, seconds: float) -> dict:
    """`threads` app threads calling back to back for `seconds` against a 50 ms server (short sync)."""
    tp, mp = instrument(variant)
    call = make_call(endpoint)
    for i in range(3 * threads):
        call("sync-short", i, "SLOW")
    flush(tp, mp)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop_at = time.perf_counter() + seconds

    def app(k: int) -> None:
        n = k
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            call("sync-short", n, "SLOW")
            latencies[k].append(time.perf_counter() - t0)
            n += threads

    c0, t0 = time.process_time(), time.perf_counter()
    workers = [threading.Thread(target=app, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    flush(tp, mp)
    cpu = time.process_time() - c0
    every = sorted(x for per_thread in latencies for x in per_thread)
    return {"variant": variant, "calls": len(every), "calls_per_s": len(every) / wall,
            "p50_ms": every[len(every) // 2] * 1e3, "p95_ms": every[int(len(every) * 0.95)] * 1e3,
            "cpu_cores": cpu / wall, "runtime": runtime_chosen()}


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_rss(variant: str, endpoint: str, calls: int) -> dict:
    """`calls` long-completion sync calls back to back (the scorer is far behind: saturated); process RSS
    after warm-up, every tenth of the way, and at the end; the quality records' outcomes."""
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    tp, mp = instrument(variant, reader)
    call = make_call(endpoint)
    for i in range(200):
        call("sync-long", i)
    flush(tp, mp)
    reader.get_metrics_data()
    samples = [rss_kib()]
    t0 = time.perf_counter()
    for n in range(calls):
        call("sync-long", 200 + n)
        if (n + 1) % max(1, calls // 10) == 0:
            reader.get_metrics_data()  # a periodic collection, as an exporting reader would do
            samples.append(rss_kib())
    flush(tp, mp)
    wall = time.perf_counter() - t0
    return {"variant": variant, "calls": calls, "seconds": wall, "rss_kib": samples,
            "peak_kib": _peak_kib(), "records": outcomes(reader.get_metrics_data()),
            "runtime": runtime_chosen()}


def outcomes(data) -> dict[str, int]:
    """{outcome: count} of the `otel_llm.records` counter (scored, sampled_out, dropped...)."""
    counts: dict[str, int] = {}
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "otel_llm.records":
                    for point in metric.data.data_points:
                        key = str((point.attributes or {}).get("otel_llm.outcome"))
                        counts[key] = counts.get(key, 0) + int(point.value)
    return counts


def _peak_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def runtime_chosen() -> str:
    """The class that ran MiniLM in this process (the installed processor's embeddings), or "-"."""
    if "otel_llm._quality.processor" not in sys.modules:
        return "-"
    from otel_llm._quality.processor import _installed

    for processor in list(_installed.values()):
        scorer = processor._scorer
        if getattr(scorer, "_child_backend", None) is not None and scorer.backends is None:
            return f"scorer process ({scorer._child_backend})"
        backend = getattr(getattr(scorer, "embeddings", None), "backend", None)
        if backend is not None:
            return type(backend).__name__
    return "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant")
    parser.add_argument("endpoint")
    parser.add_argument("mode", choices=("calls", "load", "rss", "serve"))
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup-s", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    configure(args.variant)
    if args.mode == "calls":
        result = run_calls(args.variant, args.endpoint, args.calls, args.warmup_s)
    elif args.mode == "load":
        result = run_load(args.variant, args.endpoint, args.threads, args.seconds)
    elif args.mode == "serve":
        serve_blocks(args.variant, args.endpoint, args.warmup_s)
        return
    else:
        result = run_rss(args.variant, args.endpoint, args.calls)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
