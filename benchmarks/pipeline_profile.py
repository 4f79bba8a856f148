"""Where a scored pair's CPU time goes on the ONNX runtime: per evaluator, per kind of embedded text, and
inside ONNX Runtime's `run` vs the Python around it. CPU time of the scoring thread (`time.thread_time`;
one inference thread runs in the caller's thread), so other load on the machine matters less than for wall
time.

    .venv/bin/python benchmarks/pipeline_profile.py [--pairs 256] [--batch 32] [--top 0]

The workload is `score_throughput.py`'s (XSTest prompts and completions, fresh cache per measurement).
`--top N` also prints the N functions with the most own CPU time in the whole pipeline (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
from collections import defaultdict

from score_throughput import EVALUATORS, workload

from otel_llm._backends import make_backends
from otel_llm._backends.onnx import OnnxEmbeddings
from otel_llm._config import Settings
from otel_llm._quality.evaluators.refusal import opening
from otel_llm._quality.evaluators.similarity import question_of
from otel_llm._quality.scoring import Scorer
from otel_llm._training.data import find_data_dir
from otel_llm._weights import clean_text, main_clause, negation_scopes


class TimedSession:
    """Wraps an ONNX Runtime session: CPU seconds and word pieces per run, by the kind of text."""

    def __init__(self, session, kinds: dict[tuple[int, ...], str]) -> None:
        self.session, self.kinds = session, kinds
        self.seconds: dict[str, float] = defaultdict(float)
        self.runs: dict[str, int] = defaultdict(int)
        self.pieces: dict[str, list[int]] = defaultdict(list)

    def run(self, names, feeds):
        ids = tuple(int(i) for i in feeds["input_ids"][0])
        start = time.thread_time()
        out = self.session.run(names, feeds)
        kind = self.kinds.get(ids, "other")
        self.seconds[kind] += time.thread_time() - start
        self.runs[kind] += 1
        self.pieces[kind].append(len(ids))
        return out

    def total(self) -> float:
        return sum(self.seconds.values())


def text_kinds(calls, encode) -> dict[tuple[int, ...], str]:
    """Word-piece ids -> the first kind of text they were seen as (prompt, completion, opening, ...)."""
    kinds: dict[str, str] = {}
    for call in calls:
        completion = call.completion
        clause = main_clause(completion)
        for kind, texts in (("prompt", [question_of(call)]), ("completion", [completion]),
                            ("toxicity-cleaned", [clean_text(completion)]),
                            ("opening", [opening(completion)]),
                            ("main-clause", [clause] if clause is not completion else []),
                            ("negation-scope", negation_scopes(completion) + negation_scopes(clause))):
            for text in texts:
                kinds.setdefault(text, kind)
    return {tuple(ids): kinds[text] for text, ids in zip(kinds, encode(list(kinds)), strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args()
    calls = workload(find_data_dir(None), args.pairs + 8)
    warm_up, calls = calls[-8:], calls[:args.pairs]
    backends = make_backends(Settings(backend="local", local_runtime="onnx"))
    embeddings = backends.embeddings
    assert isinstance(embeddings, OnnxEmbeddings)
    embeddings.embed(["warm up"])
    assert embeddings._encode is not None
    timed = TimedSession(embeddings._session, text_kinds(calls, embeddings._encode))
    embeddings._session = timed
    batches = [calls[i:i + args.batch] for i in range(0, len(calls), args.batch)]
    load = os.getloadavg()[0]
    print(f"{args.pairs} pairs in batches of {args.batch}; CPU ms per pair of the scoring thread; "
          f"load average {load:.1f}")
    print("| measured | CPU ms / pair | in ORT run | Python around it | ORT runs / pair |")
    print("|---|---|---|---|---|")
    for name in (*EVALUATORS, "pipeline"):
        settings = Settings(backend="local", local_runtime="onnx",
                            evaluators=EVALUATORS if name == "pipeline" else (name,))
        scorer = Scorer(settings, backends=backends)
        scorer.score_many(warm_up)
        timed.seconds.clear(), timed.runs.clear(), timed.pieces.clear()
        profile = cProfile.Profile() if name == "pipeline" and args.top else None
        start = time.thread_time()
        if profile:
            profile.enable()
        for batch in batches:
            scorer.score_many(batch)
        if profile:
            profile.disable()
        spent = time.thread_time() - start
        runs = sum(timed.runs.values())
        print(f"| {name} | {1e3 * spent / args.pairs:.2f} | {1e3 * timed.total() / args.pairs:.2f} | "
              f"{1e3 * (spent - timed.total()) / args.pairs:.2f} | {runs / args.pairs:.2f} |")
        if name == "pipeline":
            breakdown = dict(timed.seconds), dict(timed.runs), {k: list(v) for k, v in timed.pieces.items()}
    seconds, runs, pieces = breakdown
    print("\npipeline, by kind of text embedded\n")
    print("| text kind | runs / pair | word pieces, median (max) | ORT CPU ms / pair | ms per run |")
    print("|---|---|---|---|---|")
    for kind in sorted(seconds, key=seconds.get, reverse=True):
        print(f"| {kind} | {runs[kind] / args.pairs:.2f} | {statistics.median(pieces[kind]):.0f} "
              f"({max(pieces[kind])}) | {1e3 * seconds[kind] / args.pairs:.2f} | "
              f"{1e3 * seconds[kind] / runs[kind]:.3f} |")
    if profile:
        print()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
