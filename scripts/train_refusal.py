"""Train the refusal models shipped in `src/otel_llm/models/refusal-*.npz` and print how they measure.

    .venv/bin/python scripts/train_refusal.py [--data DIR]

Deterministic: the same data and phrase files give the same weights. See `otel_llm.evaluation`.
"""

from __future__ import annotations

import argparse
import json

from otel_llm.backends.local import LocalEmbeddings
from otel_llm.evaluation import format_report, measure_refusal, train_refusal_models
from otel_llm.training.data import find_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="labelled-data folder (default: shared/data)")
    args = parser.parse_args()
    data_dir = find_data_dir(args.data)
    embeddings = LocalEmbeddings()
    print(format_report(measure_refusal(data_dir, embeddings)))
    print(json.dumps(train_refusal_models(data_dir, embeddings), indent=1))


if __name__ == "__main__":
    main()
