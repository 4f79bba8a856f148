"""Measure the scoring candidates by cross-validation and train the heads shipped in src/otel_llm/_weights/.

    .venv/bin/python scripts/train_heads.py [--data-dir data] [--measure-only] [--runtimes torch,onnx]
                                            [--heads sentiment,toxicity]

The MiniLM sentiment head is fitted on the training rows as embedded by every runtime in --runtimes (default
both: float32 torch and the int8 ONNX model that OTEL_LLM_LOCAL_RUNTIME=auto picks without AMX), so one head
is right on either; the toxicity head (MiniLM embedding + hashed n-grams + the offence signal) on the first
runtime's only (a fit on both measured worse). Each runtime's held-out rows are scored with its own
embeddings, as at inference. --heads toxicity refits and re-measures the toxicity heads alone and keeps the
sentiment rows of report.json.
Seeded and deterministic: running it again writes the same weights. Embeddings are cached in
~/.cache/otel-llm (or $OTEL_LLM_CACHE_DIR), so a second run skips the model.
"""

from __future__ import annotations

import argparse
import logging

from otel_llm._backends.lexical import LexicalEmbeddings
from otel_llm._backends.local import LocalEmbeddings
from otel_llm._backends.onnx import OnnxEmbeddings
from otel_llm._training.data import find_data_dir
from otel_llm._training.heads import (
    RUNTIME_KINDS,
    format_table,
    measure_all,
    runtime_tag,
    train_sentiment_head,
    worst_fold,
    write_report,
)
from otel_llm._training.toxicity import LEXICAL_KIND, SHIPPED_KIND, train_toxicity_head
from otel_llm._weights import MODELS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder of the labelled data (default: the checkout's data/)")
    parser.add_argument("--measure-only", action="store_true", help="print the table, write nothing")
    parser.add_argument("--runtimes", default="torch,onnx",
                        help="MiniLM runtimes whose embeddings the heads are trained on (torch, onnx)")
    parser.add_argument("--heads", default="sentiment,toxicity", help="which heads to measure and fit")
    args = parser.parse_args()
    heads = [name.strip() for name in args.heads.split(",")]
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data_dir = find_data_dir(args.data_dir)

    builders = {"torch": LocalEmbeddings, "onnx": OnnxEmbeddings}
    runtimes = [builders[name.strip()]() for name in args.runtimes.split(",")]
    lexical = LexicalEmbeddings()
    measures = measure_all(data_dir, runtimes, heads)
    print(format_table(measures), flush=True)
    if args.measure_only:
        return

    shipped = {}
    trained_on = runtime_tag(runtimes)
    for stem, embeddings in (("minilm", runtimes[0]), ("lexical", lexical)):
        train_on = runtimes if embeddings is not lexical else None

        def worst(kind: str, e=embeddings, t=train_on) -> float:  # worst cross-domain fold, every runtime
            if t is None:
                return worst_fold(measures, f"{e.name} head ({kind})")
            return min(worst_fold(measures, f"{r.name} head ({kind}) on {runtime_tag([r])}, trained on "
                                            f"{trained_on}") for r in t)

        if "sentiment" in heads:
            kind = max(RUNTIME_KINDS, key=worst)
            head, c = train_sentiment_head(embeddings, data_dir, kind, train_on)
            head.save(MODELS_DIR / f"sentiment-{stem}.npz")
            shipped[f"sentiment-{stem}"] = {"C": c, "features": head.features,
                                            "neutral_band": float(head.thresholds[0]),
                                            "trained_on": trained_on if train_on else "lexical"}
        if "toxicity" in heads:  # the first runtime's embeddings only (a fit on both measured worse)
            kind = SHIPPED_KIND if embeddings is not lexical else LEXICAL_KIND
            head, c = train_toxicity_head(kind, embeddings, data_dir)
            head.save(MODELS_DIR / f"toxicity-{stem}.npz")
            shipped[f"toxicity-{stem}"] = {"C": c, "outputs": list(head.outputs), "features": head.features,
                                           "trained_on": runtime_tag([embeddings])}
    write_report(measures, shipped, heads=heads)
    print(shipped)


if __name__ == "__main__":
    main()
