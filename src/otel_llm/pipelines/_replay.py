"""`otel-llm replay`: score Bedrock invocation logs from local files, folders or S3 prefixes and print a
per-model summary (optionally recording the metrics too)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.metrics import MeterProvider, NoOpMeterProvider

from .._config import Settings
from .._instruments import ATTR_MODEL
from .._quality.recorder import call_attributes
from ._invocation_log import Batch, Problem, read_log_object
from .handlers import Pipeline, is_log_object, parse_s3_uri

LOG_SUFFIXES = (".json.gz", ".jsonl.gz", ".json", ".jsonl", ".gz")
SUMMARY_SCORES = ("similarity", "sentiment", "toxicity", "refused")


@dataclass(slots=True)
class ModelSummary:
    """One model's scored calls: each score's mean (`refused`'s is the refusal ratio), the top toxicity."""

    calls: int = 0
    toxicity_max: float | None = None
    _sums: dict[str, float] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def add(self, scores: Any) -> None:
        self.calls += 1
        for name in SUMMARY_SCORES:
            value = getattr(scores, name, None)
            if value is not None:
                self._sums[name] = self._sums.get(name, 0.0) + float(value)
                self._counts[name] = self._counts.get(name, 0) + 1
        toxicity = getattr(scores, "toxicity", None)
        if toxicity is not None:
            self.toxicity_max = max(self.toxicity_max or 0.0, float(toxicity))

    def mean(self, name: str) -> float | None:
        """Mean of score `name` over the calls that have it (None when none has)."""
        count = self._counts.get(name)
        return self._sums[name] / count if count else None

    def as_dict(self) -> dict[str, Any]:
        means = {("refusal_ratio" if name == "refused" else name): self.mean(name) for name in SUMMARY_SCORES}
        return {"calls": self.calls, **means, "toxicity_max": self.toxicity_max}


@dataclass(slots=True)
class ReplaySummary:
    """What a replay read and scored, by model (as the metrics name it: the id the application requested)."""

    models: dict[str, ModelSummary] = field(default_factory=dict)
    objects: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    unreadable_sources: list[str] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(m.calls for m in self.models.values())

    def to_dict(self) -> dict[str, Any]:
        models = {model: summary.as_dict() for model, summary in sorted(self.models.items())}
        return {"scored": self.scored, "objects": self.objects, "models": models,
                "skipped": dict(self.skipped), "problems": [str(p) for p in self.problems],
                "unreadable_sources": self.unreadable_sources}


def replay(sources: Iterable[str | Path], settings: Settings | None = None, scorer: Any = None,
           s3_client: Any = None, meter_provider: MeterProvider | None = None,
           fetch_bodies_for_files: bool = False) -> ReplaySummary:
    """Score every invocation-log record under `sources`: files, folders (searched recursively) or
    `s3://bucket/prefix` URIs. Bodies Bedrock stored apart are fetched for S3 sources (and for files
    when `fetch_bodies_for_files`). Metrics are recorded only when `meter_provider` is given."""
    pipeline = Pipeline(settings, meter_provider=meter_provider or NoOpMeterProvider(), scorer=scorer,
                        s3_client=s3_client)
    summary = ReplaySummary()
    for source in sources:
        batches = _read_source(pipeline, str(source), fetch_bodies_for_files)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except Exception as exc:  # missing file, no such bucket, access denied, no credentials
                summary.unreadable_sources.append(f"{source}: {type(exc).__name__}: {exc}")
                break
            summary.objects += 1
            _score_batch(pipeline, batch, summary)  # a scorer failure is not the source's: it propagates
    if meter_provider is not None:
        pipeline.flush()
    return summary


def _score_batch(pipeline: Pipeline, batch: Batch, summary: ReplaySummary) -> None:
    summary.skipped.update(batch.skipped)
    summary.problems.extend(batch.problems)
    if not batch.calls:
        return
    results = pipeline.score(batch.calls, strict=False)  # what the backends could not score shows as "-"
    pipeline.record(batch.calls, results)
    for call, scores in zip(batch.calls, results, strict=True):
        model = call_attributes(call)[ATTR_MODEL]  # the model as the metrics name it
        summary.models.setdefault(model, ModelSummary()).add(scores)


def _read_source(pipeline: Pipeline, source: str, fetch_bodies_for_files: bool) -> Iterator[Batch]:
    max_chars = pipeline.settings.max_content_chars
    if source.startswith("s3://"):
        bucket, prefix = parse_s3_uri(source)
        for page in pipeline.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if is_log_object(item["Key"]) and item["Key"].endswith(LOG_SUFFIXES):
                    yield pipeline.read_object(bucket, item["Key"])
        return
    path = Path(source)
    fetch = pipeline.fetch_body if fetch_bodies_for_files else None
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(LOG_SUFFIXES)
                       and is_log_object(p.relative_to(path).as_posix()))
    else:
        files = [path]
    for file in files:
        yield read_log_object(file.read_bytes(), str(file), fetch, max_chars)


def format_summary(summary: ReplaySummary) -> str:
    """A plain-text table, one row per model, then what was skipped and why."""
    header = ("model", "calls", "similarity", "sentiment", "toxicity", "tox.max", "refusal%")
    rows = [header]
    for model, m in sorted(summary.models.items()):
        ratio = m.mean("refused")
        rows.append((model, str(m.calls), _fmt(m.mean("similarity")), _fmt(m.mean("sentiment")),
                     _fmt(m.mean("toxicity")), _fmt(m.toxicity_max),
                     "-" if ratio is None else f"{100 * ratio:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.append(f"{summary.scored} calls scored from {summary.objects} log object(s)"
                 + (f"; skipped: {', '.join(f'{k}={v}' for k, v in sorted(summary.skipped.items()))}"
                    if summary.skipped else ""))
    if summary.problems:
        lines.append(f"{len(summary.problems)} record(s) could not be read:")
        lines.extend(f"  {p}" for p in summary.problems[:50])
        if len(summary.problems) > 50:
            lines.append(f"  ... and {len(summary.problems) - 50} more")
    lines.extend(f"unreadable source: {s}" for s in summary.unreadable_sources)
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main_replay(argv: Sequence[str] | None = None) -> int:
    """`otel-llm replay SOURCE...`; exit status 1 when a source could not be read at all."""
    parser = argparse.ArgumentParser(prog="otel-llm replay", description=__doc__)
    parser.add_argument("sources", nargs="+", help="log files (.json.gz, .jsonl, ...), folders, or s3://bucket/prefix")
    parser.add_argument("--backend", help="scoring backend (default: OTEL_LLM_BACKEND or auto)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--fetch-bodies", action="store_true",
                        help="for local files, fetch bodies Bedrock stored in S3 (inputBodyS3Path)")
    parser.add_argument("--endpoint-url", help="S3 endpoint (S3-compatible stores, local tests)")
    args = parser.parse_args(argv)
    overrides = {"backend": args.backend} if args.backend else {}
    s3_client = None
    if args.endpoint_url:
        import boto3

        s3_client = boto3.client("s3", endpoint_url=args.endpoint_url)
    summary = replay(args.sources, Settings.from_env(**overrides), s3_client=s3_client,
                     fetch_bodies_for_files=args.fetch_bodies)
    print(json.dumps(summary.to_dict(), indent=2) if args.json else format_summary(summary))
    return 1 if summary.unreadable_sources else 0


if __name__ == "__main__":
    sys.exit(main_replay())
