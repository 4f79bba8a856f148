"""Throughput of LocalEmbeddings.embed on a realistic mix: short prompts and 50-300-word completions.

    .venv/bin/python benchmarks/local_embeddings.py [--runtime torch|onnx] [--threads 1] [--pairs 96]
        [--max-seq-length 256] [--batch-size 32] [--dtype auto]

Texts are built from the STS-B dev sentences (real English), seeded: per pair a 8-40-word prompt, a
50-300-word completion and a third 8-60-word text (3 embeddings per pair, the scorer's budget).
Prints texts/s and pairs/s (best of --repeats) and process CPU ms per text.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from otel_llm._training.data import find_data_dir, load_stsb


def realistic_texts(pairs: int, seed: int = 0) -> list[str]:
    sentences = load_stsb(find_data_dir()).first
    rng = np.random.default_rng(seed)

    def words(n: int) -> str:
        out: list[str] = []
        while len(out) < n:
            out.extend(sentences[rng.integers(len(sentences))].split())
        return " ".join(out[:n])

    texts = []
    for _ in range(pairs):
        texts.append(words(int(rng.integers(8, 40))))  # prompt
        texts.append(words(int(rng.integers(50, 300))))  # completion
        texts.append(words(int(rng.integers(8, 60))))  # a third text (e.g. a system prompt or a short reply)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=96)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float32"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runtime", default="torch", choices=("torch", "onnx"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    embeddings = make_embeddings(args)
    embeddings.embed(["warm up"])
    texts = realistic_texts(args.pairs)
    best, cpu = float("inf"), float("inf")
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        embeddings.embed(texts)
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    label = "onnx-int8" if args.runtime == "onnx" else f"torch dtype={args.dtype}"
    print(f"{label} threads={args.threads} max_seq_length={args.max_seq_length} "
          f"batch_size={args.batch_size}: "
          f"{len(texts) / best:.0f} texts/s, {args.pairs / best:.1f} pairs/s (3 texts per pair, best of "
          f"{args.repeats}), {cpu / len(texts) * 1e3:.2f} CPU ms/text")


def make_embeddings(args: argparse.Namespace):
    if args.runtime == "onnx":
        from otel_llm._backends.onnx import OnnxEmbeddings

        return OnnxEmbeddings(max_seq_length=args.max_seq_length, batch_size=args.batch_size,
                              num_threads=args.threads)
    from otel_llm._backends.local import LocalEmbeddings

    return LocalEmbeddings(max_seq_length=args.max_seq_length, batch_size=args.batch_size, dtype=args.dtype,
                           num_threads=args.threads)


if __name__ == "__main__":
    main()
