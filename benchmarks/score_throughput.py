"""Throughput of the local backend: prompt/completion pairs per second, per evaluator and for the whole
pipeline (all four evaluators), next to the bare encoder (each pair's prompt and completion embedded once,
nothing else: the limit), one process, one runtime.

    .venv/bin/python benchmarks/score_throughput.py [--runtime auto|onnx|torch] [--pairs 256] [--batch 32]
        [--repeat 3] [--threads N] [--json] [--data DIR]

The pairs are real chat-model answers of realistic lengths (the XSTest prompts and completions in the
labelled-data folder), each scored once (no cache hits: every measurement gets a fresh, empty cache), in
batches as the span processor sends them. Model loading and one-time phrase embeddings are excluded (warm-up).
Default settings otherwise; `--threads` is OTEL_LLM_INFERENCE_THREADS (default 1, the span processor's worker;
the pipeline handlers use every CPU the process may use). Rates are wall-clock pairs/s (median over repeats,
with min and max) and pairs per CPU-second of the process; each run prints the load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time

from otel_llm._backends import make_backends
from otel_llm._config import Settings
from otel_llm._quality.scoring import Scorer
from otel_llm._training.data import find_data_dir
from otel_llm.record import LLMCall

EVALUATORS = ("similarity", "sentiment", "toxicity", "refusal")


def workload(data_dir, pairs: int) -> list[LLMCall]:
    calls = []
    for name, family in (("refusal-xstest-gpt4.csv", "openai"), ("refusal-xstest-llama2orig.csv", "meta")):
        with (data_dir / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                calls.append(
                    LLMCall(model_id=f"{family}.model", prompt=row["prompt"], completion=row["completion"])
                )
    calls = calls[::2] + calls[1::2]  # interleave the two models' (short and long) answers
    return calls[:pairs]


def _rate(prepare, pairs: int, repeat: int) -> dict:
    """Time `prepare()()` `repeat` times (`prepare` is untimed: it builds and warms a fresh scorer)."""
    walls, cpus = [], []
    for _ in range(repeat):
        run = prepare()
        start, cpu_start = time.perf_counter(), time.process_time()
        run()
        walls.append(pairs / (time.perf_counter() - start))
        cpus.append(pairs / max(1e-9, time.process_time() - cpu_start))
    return {"pairs_per_s": statistics.median(walls), "min": min(walls), "max": max(walls),
            "pairs_per_cpu_s": statistics.median(cpus)}


def measure(runtime: str, pairs: int, batch: int, repeat: int, data: str | None = None,
            threads: int = 1) -> dict:
    """{name: rate} for `encoder`, each evaluator and `pipeline`, plus the runtime that ran."""
    calls = workload(find_data_dir(data), pairs + 8)
    warm_up, calls = calls[-8:], calls[:pairs]
    backends = make_backends(Settings(backend="local", local_runtime=runtime,
                                      inference_threads=threads))  # loaded once, shared
    batches = [calls[i:i + batch] for i in range(0, len(calls), batch)]
    texts = [[t for c in b for t in (c.prompt, c.completion)] for b in batches]
    backends.embeddings.embed(["warm up"])
    load = [os.getloadavg()[0]]
    rates = {"encoder": _rate(lambda: lambda: [backends.embeddings.embed(t) for t in texts], pairs, repeat)}
    for name in (*EVALUATORS, "pipeline"):
        settings = Settings(backend="local", local_runtime=runtime,
                            evaluators=EVALUATORS if name == "pipeline" else (name,))

        def prepare(settings: Settings = settings):
            scorer = Scorer(settings, backends=backends)  # a fresh, empty cache
            scorer.score_many(warm_up)  # phrase embeddings, lazy loads
            return lambda: [scorer.score_many(b) for b in batches]

        rates[name] = _rate(prepare, pairs, repeat)
        load.append(os.getloadavg()[0])
    words = [len(c.completion.split()) for c in calls]
    return {"runtime": type(backends.embeddings).__name__, "threads": threads, "pairs": pairs, "batch": batch,
            "repeat": repeat,
            "completion_words_median": statistics.median(words), "completion_words_max": max(words),
            "load": [min(load), max(load)], "rates": rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime", default="auto", choices=("auto", "onnx", "torch"))
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--data", help="labelled-data folder (default: the checkout's data/)")
    args = parser.parse_args()
    result = measure(args.runtime, args.pairs, args.batch, args.repeat, args.data, args.threads)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['runtime']} on {args.threads} thread(s), {args.pairs} pairs in batches of {args.batch}, "
          f"{args.repeat} repeats, "
          f"load average {result['load'][0]:.1f}-{result['load'][1]:.1f}")
    for name, rate in result["rates"].items():
        print(f"{name:<11} {rate['pairs_per_s']:7.1f} pairs/s "
              f"(min {rate['min']:.1f}, max {rate['max']:.1f}), "
              f"{rate['pairs_per_cpu_s']:.1f} pairs per CPU-second")


if __name__ == "__main__":
    main()
