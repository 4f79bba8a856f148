"""Measure the scoring candidates by cross-validation and train the heads shipped in src/otel_llm/_weights/.

    .venv/bin/python scripts/train_heads.py [--data-dir data] [--measure-only]

Seeded and deterministic: running it again writes the same weights. Embeddings are cached in
~/.cache/otel-llm (or $OTEL_LLM_CACHE_DIR), so a second run skips the model.
"""

from __future__ import annotations

import argparse
import logging

from otel_llm._backends.lexical import LexicalEmbeddings
from otel_llm._backends.local import LocalEmbeddings
from otel_llm._training.data import find_data_dir
from otel_llm._training.heads import (
    SENTIMENT_FEATURES,
    format_table,
    measure_all,
    train_sentiment_head,
    train_toxicity_head,
    worst_fold,
    write_report,
)
from otel_llm._weights import MODELS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder of the labelled data (default: the checkout's data/)")
    parser.add_argument("--measure-only", action="store_true", help="print the table, write nothing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data_dir = find_data_dir(args.data_dir)

    local, lexical = LocalEmbeddings(), LexicalEmbeddings()
    measures = measure_all(data_dir)
    print(format_table(measures), flush=True)
    if args.measure_only:
        return

    shipped = {}
    for stem, embeddings in (("minilm", local), ("lexical", lexical)):
        # the feature kind whose worst cross-domain fold is best (lexical has no VADER candidate)
        kinds = [k for k in SENTIMENT_FEATURES if embeddings is local or k != "embedding+vader"]
        kind = max(kinds, key=lambda k, e=embeddings: worst_fold(measures, f"{e.name} head ({k})"))
        head, c = train_sentiment_head(embeddings, data_dir, kind)
        head.save(MODELS_DIR / f"sentiment-{stem}.npz")
        shipped[f"sentiment-{stem}"] = {"C": c, "features": head.features,
                                        "neutral_band": float(head.thresholds[0])}
        head, c = train_toxicity_head(embeddings, data_dir)
        head.save(MODELS_DIR / f"toxicity-{stem}.npz")
        shipped[f"toxicity-{stem}"] = {"C": c, "outputs": list(head.outputs)}
    write_report(measures, shipped)
    print(shipped)


if __name__ == "__main__":
    main()
