"""Train the refusal heads shipped in `src/otel_llm/_weights/refusal-*.npz` and measure them.

    .venv/bin/python scripts/train_refusal.py [--data DIR] [--runtimes onnx,torch] [--train-on RUNTIMES]
                                              [--no-measure] [--no-choose-c] [--no-write]
                                              [--prompt-blocks vector,cosines,product] [--training-only]
                                              [--unseen-prompts] [--dropout-weight 1.0]

The MiniLM head is fitted on the embeddings of every runtime in `--runtimes` together (each row once per
runtime: int8 ONNX, what `auto` picks on CPUs without AMX and on Lambda, and torch), and measured on each
runtime's own embeddings, as used at inference. `--train-on` fits the measured heads on other runtimes
only (e.g. `torch`, to see what a torch-only head does on int8). Deterministic: the same data and phrase
files give the same weights. Writes the measures (leave-one-model-out, held-out families,
leave-one-style-out; worst folds in the notes) and what was shipped to
`src/otel_llm/_weights/refusal-report.json`. `--prompt-blocks` fits a head on other prompt features
(`refusal.prompt_features`; "" for none) and `--training-only` leaves out the held-out families: choose
features with both (and `--no-write`), never on the held-out rows. See `otel_llm._training.accuracy`.
"""

from __future__ import annotations

import argparse
import json

from otel_llm._backends.base import EmbeddingBackend
from otel_llm._training import accuracy
from otel_llm._training.accuracy import (
    SHIPPED_PROMPT_BLOCKS,
    format_report,
    measure_refusal,
    train_refusal_models,
)
from otel_llm._training.data import find_data_dir
from otel_llm._weights import MODELS_DIR


def runtime(name: str) -> EmbeddingBackend:
    """The MiniLM runtime as inference builds it (one thread; torch in its `auto` precision)."""
    if name == "onnx":
        from otel_llm._backends.onnx import OnnxEmbeddings

        return OnnxEmbeddings(num_threads=1)
    from otel_llm._backends.local import LocalEmbeddings

    return LocalEmbeddings(num_threads=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="labelled-data folder (default: the checkout's data/)")
    parser.add_argument("--runtimes", default="onnx,torch", help="MiniLM runtimes: onnx, torch or both")
    parser.add_argument("--train-on", help="runtimes the measured heads are fitted on (default: --runtimes)")
    parser.add_argument("--no-measure", action="store_true", help="train only")
    parser.add_argument("--no-write", action="store_true", help="measure only: leave the shipped heads")
    parser.add_argument("--no-choose-c", action="store_true", help="skip the log loss of each C (slow)")
    parser.add_argument("--prompt-blocks", default=",".join(SHIPPED_PROMPT_BLOCKS),
                        help="MiniLM head's prompt features: vector, cosines, product, harm (\"\" for none)")
    parser.add_argument("--training-only", action="store_true",
                        help="measure on the training split only (no held-out families): to choose features")
    parser.add_argument("--no-lexical", action="store_true", help="do not measure the lexical head")
    parser.add_argument("--unseen-prompts", action="store_true",
                        help="leave-one-out folds also drop the training rows that answer a held-out prompt")
    parser.add_argument("--dropout-weight", type=float, default=accuracy.DROPOUT_WEIGHT,
                        help="weight of each copy of a row (with, without its prompt); default: shipped")
    args = parser.parse_args()
    accuracy.DROPOUT_WEIGHT = args.dropout_weight
    blocks = tuple(b for b in args.prompt_blocks.split(",") if b)
    data_dir = find_data_dir(args.data)
    backends = {name: runtime(name) for name in args.runtimes.split(",")}
    train_on = [backends.get(n) or runtime(n) for n in args.train_on.split(",")] if args.train_on else []
    shipped = {}
    if not args.no_write:
        shipped = train_refusal_models(data_dir, list(backends.values()), choose_c=not args.no_choose_c,
                                       blocks=blocks)
        print(json.dumps(shipped, indent=1))
    held_out = not args.training_only
    measures = [] if args.no_measure else [
        *measure_refusal(data_dir, list(backends.values()), train_on=train_on, blocks=blocks,
                         held_out=held_out, unseen_prompts=args.unseen_prompts),
        *([] if args.no_lexical else measure_refusal(data_dir, None, held_out=held_out,
                                                     unseen_prompts=args.unseen_prompts))]
    print(format_report(measures))
    if not args.no_write:
        report = {"measures": [m.row() for m in measures], "shipped": shipped}
        (MODELS_DIR / "refusal-report.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
