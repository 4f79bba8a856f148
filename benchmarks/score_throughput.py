"""Throughput of `Scorer.score_many` on the local backend: prompt/completion pairs per second, one process.

    .venv/bin/python benchmarks/score_throughput.py [--pairs 256] [--batch 32] [--repeat 3] [--data DIR]

The pairs are real chat-model answers of realistic lengths (the XSTest prompts and completions in the
labelled-data folder), each scored once (no cache hits), in batches as the span processor sends them.
All four evaluators run. Model loading and the one-time phrase embeddings are excluded (warm-up).
The machine may be shared: each run prints the load average next to its rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from otel_llm._backends import make_backends
from otel_llm._config import Settings
from otel_llm._quality.scoring import Scorer
from otel_llm._training.data import find_data_dir
from otel_llm.record import LLMCall


def workload(data_dir, pairs: int) -> list[LLMCall]:
    import csv

    calls = []
    for name, family in (("refusal-xstest-gpt4.csv", "openai"), ("refusal-xstest-llama2orig.csv", "meta")):
        with (data_dir / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                calls.append(
                    LLMCall(model_id=f"{family}.model", prompt=row["prompt"], completion=row["completion"])
                )
    calls = calls[::2] + calls[1::2]  # interleave the two models' (short and long) answers
    return calls[:pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", help="labelled-data folder (default: the checkout's data/)")
    args = parser.parse_args()
    data_dir = find_data_dir(args.data)
    calls = workload(data_dir, args.pairs + 8)
    settings = Settings(backend="local")
    backends = make_backends(settings)  # the model is loaded once; every repeat gets a fresh, empty cache
    warm_up, calls = calls[-8:], calls[: args.pairs]
    words = [len(c.completion.split()) for c in calls]
    rates: list[float] = []
    cpu_rates: list[float] = []  # pairs per CPU-second of this process: less sensitive to other load
    for _ in range(args.repeat):
        scorer = Scorer(settings, backends=backends)
        scorer.score_many(warm_up)  # model load, phrase embeddings
        load = os.getloadavg()[0]
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(0, len(calls), args.batch):
            scorer.score_many(calls[i : i + args.batch])
        rates.append(len(calls) / (time.perf_counter() - start))
        cpu_rates.append(len(calls) / (time.process_time() - cpu_start))
        print(f"{len(calls)} pairs: {rates[-1]:.1f} pairs/s, {cpu_rates[-1]:.1f} pairs per CPU-second "
              f"(load average {load:.1f}, {os.cpu_count()} CPUs)")
    print(
        f"median {statistics.median(rates):.1f} pairs/s, best {max(rates):.1f} over {args.repeat} runs; "
        f"median {statistics.median(cpu_rates):.1f} pairs per CPU-second "
        f"(batches of {args.batch}; completions median {statistics.median(words):.0f} words, "
        f"max {max(words)}; evaluators: {', '.join(e.name for e in scorer.evaluators)})"
    )

if __name__ == "__main__":
    main()
