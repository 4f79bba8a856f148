"""`make bench`: every figure of issue 13 in one run, written to benchmarks/RESULTS.md.

    .venv-bench/bin/python benchmarks/run_all.py [--quick] [--out benchmarks/RESULTS.md]

Runs, each measurement in its own subprocess: the per-call cost of every variant against one local server
process (`call_worker.py calls`, rounds alternating the variants), the default install against bare boto3
and both peers in paired cycles of long-lived processes (`call_worker.py serve`: that bar's verdict), the
app's calls/s and p95 at 50 ms server latency (`call_worker.py load`), pairs/s per evaluator
(`score_throughput.py`), RSS over 100,000 calls with the scorer saturated (`call_worker.py rss`), AWS
requests and billed units (`aws_cost.py`) and the `lambda` extra's installed size (`lambda_size.py`).
`--quick` is a smoke test of a minute or two; the full run takes about 25 minutes on 2 cores and should be
run on a quiet machine (the load average before and after is in the header).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import report  # type: ignore[import-not-found]
import request_cpu  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
PEERS = ("botocore-contrib", "openllmetry")
VARIANTS = ("bare", *PEERS, "request-path", "default")
SWEEP = ("budget=0.05", "budget=0.1")  # the default is 0.25
PAIRED = ("bare", *PEERS, "default")  # the default-install bar, judged on paired cycles
PACKAGES = ("otel-llm", "opentelemetry-sdk", "boto3", "botocore", "opentelemetry-instrumentation-botocore",
            "opentelemetry-instrumentation-bedrock", "onnxruntime", "torch")
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")

FULL = {"calls": 1200, "rounds": 3, "warmup_s": 3.0, "load_s": 10.0, "load_rounds": 2, "pairs": 192,
        "repeat": 3, "other_pairs": 96, "rss_calls": 100_000, "aws_calls": 500, "lambda": True,
        "callgrind_calls": 30, "paired_cycles": 14, "paired_calls": 300, "paired_warmup_s": 2.0}
QUICK = {"calls": 100, "rounds": 2, "warmup_s": 1.0, "load_s": 3.0, "load_rounds": 1, "pairs": 32,
         "repeat": 1, "other_pairs": 16, "rss_calls": 3000, "aws_calls": 60, "lambda": False,
         "callgrind_calls": 0, "paired_cycles": 2, "paired_calls": 40, "paired_warmup_s": 0.5}


def worker_env() -> dict[str, str]:
    """The environment of a benchmark subprocess: this folder first on its PYTHONPATH."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def python(script: str, *args: str, timeout: float = 1800) -> dict | list:
    """Run `script` with this interpreter; its last stdout line, parsed as JSON."""
    env = worker_env()
    done = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    model, flags = platform.processor() or "?", set()
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
            elif line.startswith("flags"):
                flags = set(line.partition(":")[2].split())
    from otel_llm._backends import choose_runtime
    from otel_llm._backends.local import local_available
    from otel_llm._backends.onnx import onnx_available

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    runtime, why = choose_runtime(local_available(), onnx_available(), frozenset(flags), False)
    return {"cpu": model, "cores": os.cpu_count(), "flags": [f for f in FLAGS if f in flags],
            "python": platform.python_version(), "versions": versions, "runtime": runtime, "why": why}


class Servers:
    """The one process serving Bedrock and Comprehend to every worker (`bench_servers.py`)."""

    def __enter__(self) -> dict:
        env = {**os.environ, "PYTHONPATH": str(HERE)}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "bench_servers.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def per_call(endpoint: str, variants: tuple[str, ...], cfg: dict, log) -> dict[str, list[dict]]:
    """{variant: [one result per round]}; each round runs every variant once, in a rotated order."""
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(cfg["rounds"]):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for variant in order:
            runs[variant].append(python("call_worker.py", variant, endpoint, "calls", "--calls",
                                        str(cfg["calls"]), "--warmup-s", str(cfg["warmup_s"])))
            log(f"round {r + 1} {variant}")
    return runs


def paired(endpoint: str, cfg: dict, log) -> dict[str, list[dict]]:
    """{variant: [one result per cycle]} from one long-lived process per variant of PAIRED: each cycle runs
    every variant's timed blocks once, in a shuffled order, so drift of the machine between cycles cancels
    in the per-cycle differences (`call_worker.py serve`)."""
    env = worker_env()
    procs: dict[str, subprocess.Popen] = {}
    runs: dict[str, list[dict]] = {v: [] for v in PAIRED}
    order_rng = random.Random(13)

    def ask(variant: str, order: dict | None = None) -> dict:
        proc = procs[variant]
        assert proc.stdin is not None and proc.stdout is not None
        if order is not None:
            proc.stdin.write(json.dumps(order) + "\n")
            proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"call_worker.py {variant} serve ended early (exit {proc.wait(10)})")
        return json.loads(line)

    try:
        for variant in PAIRED:
            procs[variant] = subprocess.Popen(
                [sys.executable, str(HERE / "call_worker.py"), variant, endpoint, "serve", "--warmup-s",
                 str(cfg["warmup_s"])], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
            ask(variant)  # ready: warmed up
        for cycle in range(cfg["paired_cycles"]):
            order = list(PAIRED)
            order_rng.shuffle(order)
            for variant in order:
                runs[variant].append(ask(variant, {"calls": cfg["paired_calls"],
                                                   "warmup_s": cfg["paired_warmup_s"]}))
            log(f"paired cycle {cycle + 1}")
    finally:
        for proc in procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return runs


def app_load(endpoint: str, cfg: dict, log) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {v: [] for v in ("bare", "request-path", "default")}
    for _ in range(cfg["load_rounds"]):
        for variant in runs:
            runs[variant].append(python("call_worker.py", variant, endpoint, "load", "--threads", "8",
                                        "--seconds", str(cfg["load_s"])))
            log(f"load {variant}")
    return runs


def throughput(machine_info: dict, cfg: dict, log) -> list[dict]:
    """The default runtime as the pipeline handlers run it (every CPU), then on the span processor's one
    thread, then the other runtime on one thread."""
    from otel_llm._config import usable_cpus

    default = machine_info["runtime"]
    out = []
    for threads in dict.fromkeys((usable_cpus(), 1)):
        out.append(python("score_throughput.py", "--json", "--runtime", default, "--pairs", str(cfg["pairs"]),
                          "--repeat", str(cfg["repeat"]), "--threads", str(threads)))
        log(f"throughput {default} on {threads} thread(s)")
    if cfg["other_pairs"]:
        other = "torch" if default == "onnx" else "onnx"
        out.append(python("score_throughput.py", "--json", "--runtime", other, "--pairs",
                          str(cfg["other_pairs"]), "--repeat", "1"))
        log(f"throughput {other}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test, not figures")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--no-sweep", action="store_true",
                        help="leave out the CPU-budget sweep variants (always left out with --quick)")
    parser.add_argument("--raw", help="also write the measurements as JSON to this file")
    parser.add_argument("--from-raw", help="render --out from a --raw file instead of measuring")
    parser.add_argument("--lambda", dest="lambda_size", action="store_true",
                        help="measure the lambda extra's size with --quick too (about a minute)")
    args = parser.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    cfg["lambda"] = cfg["lambda"] or args.lambda_size
    if args.from_raw:
        raw = json.loads(Path(args.from_raw).read_text(encoding="utf-8"))
        Path(args.out).write_text(report.render(**raw), encoding="utf-8")
        return 0
    started = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)

    info = machine()
    info.update(date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), quick=args.quick,
                nice=os.nice(0), load_before=os.getloadavg(), config=cfg)
    variants = VARIANTS + (() if args.no_sweep or args.quick else SWEEP)
    with Servers() as endpoints:
        calls = per_call(endpoints["bedrock"], variants, cfg, log)
        pairs = paired(endpoints["bedrock"], cfg, log)
        load = app_load(endpoints["bedrock"], cfg, log)
        rss = python("call_worker.py", "default", endpoints["bedrock"], "rss",
                     "--calls", str(cfg["rss_calls"]))
        log("rss")
    rates = throughput(info, cfg, log)
    aws = python("aws_cost.py", "--json", "--calls", str(cfg["aws_calls"]))
    log("aws")
    lam = python("lambda_size.py", "--json") if cfg["lambda"] else None
    instructions = []
    if cfg["callgrind_calls"] and shutil.which("valgrind"):
        for workload in ("sync", "stream"):
            instructions.append(request_cpu.run(cfg["callgrind_calls"], 1, callgrind=True, workload=workload))
            log(f"callgrind {workload}")
    info.update(load_after=os.getloadavg(), minutes=(time.monotonic() - started) / 60)
    raw = {"info": info, "calls": calls, "load": load, "rates": rates, "rss": rss, "aws": aws, "lam": lam,
           "instructions": instructions, "paired": pairs}
    if args.raw:
        Path(args.raw).write_text(json.dumps(raw), encoding="utf-8")
    text = report.render(**raw)
    Path(args.out).write_text(text, encoding="utf-8")
    log(f"wrote {args.out}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
