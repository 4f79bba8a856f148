"""Train the refusal heads shipped in `src/otel_llm/_weights/refusal-*.npz` and measure them.

    .venv/bin/python scripts/train_refusal.py [--data DIR] [--no-measure]

Deterministic: the same data and phrase files give the same weights. Writes the measures (leave-one-
model-out, held-out families, leave-one-style-out; worst folds in the notes) and what was shipped to
`src/otel_llm/_weights/refusal-report.json`. See `otel_llm._training.accuracy`.
"""

from __future__ import annotations

import argparse
import json

from otel_llm._backends.local import LocalEmbeddings
from otel_llm._training.accuracy import format_report, measure_refusal, train_refusal_models
from otel_llm._training.data import find_data_dir
from otel_llm._weights import MODELS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="labelled-data folder (default: the checkout's data/)")
    parser.add_argument("--no-measure", action="store_true", help="train only")
    args = parser.parse_args()
    data_dir = find_data_dir(args.data)
    embeddings = LocalEmbeddings()
    shipped = train_refusal_models(data_dir, embeddings)
    print(json.dumps(shipped, indent=1))
    measures = [] if args.no_measure else [*measure_refusal(data_dir, embeddings),
                                           *measure_refusal(data_dir, None)]
    print(format_report(measures))
    report = {"measures": [m.row() for m in measures], "shipped": shipped}
    (MODELS_DIR / "refusal-report.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
