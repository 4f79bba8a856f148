"""`otel-llm replay`: score Bedrock invocation logs from local files, folders or S3 prefixes and print a
per-model summary of every model seen; optionally write the metrics, stamped with each invocation's own
time (`--emf`, `--otlp`), and an HTML report (`--report`).

Objects are listed first (S3 listings paginated), then read and parsed on a bounded pool of threads, at
most a few objects ahead of the scorer, so memory is bounded by the objects in flight, not the records.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from opentelemetry.metrics import MeterProvider, NoOpMeterProvider

from .._config import Settings
from .._failures import describe
from .._instruments import ATTR_MODEL
from .._quality.recorder import QualityRecorder, call_attributes
from ..record import LLMCall
from ._invocation_log import Batch, Problem, read_log_object
from ._progress import Progress
from ._timed import TimedRecorder, _ExpHistogram
from .handlers import BACKEND_SCORES, Pipeline, is_log_object, parse_s3_uri

LOG_SUFFIXES = (".json.gz", ".jsonl.gz", ".json", ".jsonl", ".gz")
SUMMARY_SCORES = ("similarity", "sentiment", "toxicity", "refused")
SCORING_FAILED = "scoring_failed"
DEFAULT_WORKERS = 8
LIST_PAGE_SIZE = 1000  # keys per ListObjectsV2 page (S3's maximum)


@dataclass(slots=True)
class ModelSummary:
    """One model's records: every call seen, what was scored, tokens, latency, errors, what could not be
    scored and why, each score's mean (`refused`'s is the refusal ratio) and the top toxicity."""

    calls: int = 0
    scored: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    toxicity_max: float | None = None
    unscored: Counter[str] = field(default_factory=Counter)  # reason -> records
    latency: _ExpHistogram = field(default_factory=_ExpHistogram, repr=False)
    _sums: dict[str, float] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def see(self, call: LLMCall, unscored_reason: str | None = None) -> None:
        """Count a call read from the logs (scored or not)."""
        self.calls += 1
        self.input_tokens += call.input_tokens or 0
        self.output_tokens += call.output_tokens or 0
        if call.duration_s is not None:
            self.latency.add(call.duration_s)
        if call.error_type:
            self.errors += 1
        if unscored_reason:
            self.unscored[unscored_reason] += 1

    def add(self, scores: Any) -> None:
        """Add a scored call's scores."""
        self.scored += 1
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

    def latency_quantile(self, q: float) -> float | None:
        """Latency quantile `q` in seconds, to within 1.1 % (None without latencies)."""
        return _quantile(self.latency, q)

    def as_dict(self) -> dict[str, Any]:
        means = {("refusal_ratio" if name == "refused" else name): self.mean(name) for name in SUMMARY_SCORES}
        return {"calls": self.calls, "scored": self.scored, "errors": self.errors,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "latency_p50_s": self.latency_quantile(0.5), "latency_p90_s": self.latency_quantile(0.9),
                **means, "toxicity_max": self.toxicity_max, "unscored": dict(self.unscored)}


def _quantile(hist: _ExpHistogram, q: float) -> float | None:
    if not hist.count:
        return None
    rank, seen = q * hist.count, hist.zero
    if seen >= rank:
        return 0.0
    base = 2.0 ** (2.0 ** -6)
    for index in sorted(hist.positive):
        seen += hist.positive[index]
        if seen >= rank:
            return min(max(base ** (index + 0.5), hist.min), hist.max)
    return hist.max


@dataclass(slots=True)
class ReplaySummary:
    """What a replay read and scored, by model (as the metrics name it: the id the application requested)."""

    models: dict[str, ModelSummary] = field(default_factory=dict)
    objects: int = 0
    bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    unreadable_sources: list[str] = field(default_factory=list)
    not_sent: Counter[str] = field(default_factory=Counter)  # reason -> records outside CloudWatch's window
    untimed: int = 0
    metrics_written: str | None = None

    MAX_PROBLEMS = 1000  # kept for the summary; the rest are counted

    @property
    def scored(self) -> int:
        return sum(m.scored for m in self.models.values())

    @property
    def records(self) -> int:
        return sum(m.calls for m in self.models.values())

    def model(self, call: LLMCall) -> ModelSummary:
        name = call_attributes(call)[ATTR_MODEL]  # the model as the metrics name it
        summary = self.models.get(name)
        if summary is None:
            summary = self.models[name] = ModelSummary()
        return summary

    def add_problems(self, problems: list[Problem]) -> None:
        self.problem_count += len(problems)
        room = self.MAX_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])

    def to_dict(self) -> dict[str, Any]:
        models = {model: summary.as_dict() for model, summary in sorted(self.models.items())}
        return {"records": self.records, "scored": self.scored, "objects": self.objects, "bytes": self.bytes,
                "models": models, "skipped": dict(self.skipped), "problem_count": self.problem_count,
                "problems": [str(p) for p in self.problems], "unreadable_sources": self.unreadable_sources,
                "not_sent": dict(self.not_sent), "untimed": self.untimed,
                "metrics_written": self.metrics_written}


@dataclass(frozen=True, slots=True)
class _Object:
    """One log object to read: a local file or an S3 object, and its size."""

    location: str
    size: int
    bucket: str | None = None
    key: str | None = None


def replay(sources: Iterable[str | Path], settings: Settings | None = None, scorer: Any = None,
           s3_client: Any = None, meter_provider: MeterProvider | None = None,
           fetch_bodies_for_files: bool = False, recorder: QualityRecorder | None = None,
           on_scored: Callable[[LLMCall, Any], None] | None = None, progress: Progress | None = None,
           workers: int = DEFAULT_WORKERS) -> ReplaySummary:
    """Score every invocation-log record under `sources`: files, folders (searched recursively) or
    `s3://bucket/prefix` URIs. Bodies Bedrock stored apart are fetched for S3 sources (and for files
    when `fetch_bodies_for_files`). Metrics are recorded by `recorder` (a `TimedRecorder` stamps them
    with each invocation's time) or, when `meter_provider` is given, through it; else not at all.
    `on_scored(call, scores)` sees every scored call (the HTML report)."""
    pipeline = Pipeline(settings, meter_provider=meter_provider or NoOpMeterProvider(), scorer=scorer,
                        s3_client=s3_client, recorder=recorder)
    summary = ReplaySummary()
    objects: list[_Object] = []
    for source in sources:
        try:
            objects.extend(_list_source(pipeline, str(source)))
        except Exception as exc:  # missing file, no such bucket, access denied, no credentials
            summary.unreadable_sources.append(f"{source}: {describe(exc)}")
    if progress is not None:
        progress.start(total_bytes=sum(o.size for o in objects))
    for obj, batch in _read_all(pipeline, objects, fetch_bodies_for_files, max(1, workers)):
        if isinstance(batch, Exception):
            summary.unreadable_sources.append(f"{obj.location}: {describe(batch)}")
        else:
            summary.objects += 1
            pipeline.prepare(batch)
            _score_batch(pipeline, batch, summary, on_scored)  # a scorer failure propagates
        summary.bytes += obj.size
        if progress is not None:
            progress.update(summary.records, summary.bytes)
    if progress is not None:
        progress.finish(summary.records, summary.bytes)
    if isinstance(pipeline.recorder, TimedRecorder):
        summary.not_sent.update(pipeline.recorder.rejected)
        summary.untimed = pipeline.recorder.untimed
    if meter_provider is not None:
        pipeline.flush()
    return summary


def _score_batch(pipeline: Pipeline, batch: Batch, summary: ReplaySummary,
                 on_scored: Callable[[LLMCall, Any], None] | None) -> None:
    summary.skipped.update(batch.skipped)
    summary.add_problems(batch.problems)
    for call, reason in batch.unscored:
        summary.model(call).see(call, reason)
    if not batch.calls:
        return
    results = pipeline.score(batch.calls, strict=False)  # what the backends could not score shows as "-"
    pipeline.record(batch.calls, results)
    for call, scores in zip(batch.calls, results, strict=True):
        model = summary.model(call)
        if getattr(scores, "failed", ()) and all(getattr(scores, n, None) is None for n in BACKEND_SCORES):
            model.see(call, SCORING_FAILED)
            continue
        model.see(call)
        model.add(scores)
        if on_scored is not None:
            on_scored(call, scores)


def _list_source(pipeline: Pipeline, source: str) -> Iterator[_Object]:
    if source.startswith("s3://"):
        bucket, prefix = parse_s3_uri(source)
        pages = pipeline.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE})
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"]
                if is_log_object(key) and key.endswith(LOG_SUFFIXES):
                    yield _Object(f"s3://{bucket}/{key}", int(item.get("Size") or 0), bucket, key)
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(LOG_SUFFIXES)
                       and is_log_object(p.relative_to(path).as_posix()))
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"no such file or folder: {source}")
    for file in files:
        yield _Object(str(file), file.stat().st_size)


def _read_all(pipeline: Pipeline, objects: list[_Object], fetch_bodies_for_files: bool,
              workers: int) -> Iterator[tuple[_Object, Batch | Exception]]:
    """Each object's batch (or the error reading it), in order; at most `2 * workers` objects in flight."""
    max_chars = pipeline.settings.max_content_chars
    fetch = pipeline.fetch_body if fetch_bodies_for_files else None

    def read(obj: _Object) -> Batch:
        if obj.bucket is not None and obj.key is not None:
            return pipeline.read_object(obj.bucket, obj.key)
        return read_log_object(Path(obj.location).read_bytes(), obj.location, fetch, max_chars)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otel-llm-replay") as pool:
        pending: deque[tuple[_Object, Future[Batch]]] = deque()
        remaining = iter(objects)
        for obj in remaining:
            pending.append((obj, pool.submit(read, obj)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            obj, future = pending.popleft()
            try:
                result: Batch | Exception = future.result()
            except Exception as exc:
                result = exc
            nxt = next(remaining, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(read, nxt)))
            yield obj, result


def format_summary(summary: ReplaySummary) -> str:
    """A plain-text table, one row per model seen, then what was not scored and why."""
    header = ("model", "calls", "scored", "errors", "in.tok", "out.tok", "p50 s", "p90 s",
              "similarity", "sentiment", "toxicity", "tox.max", "refusal%")
    rows = [header]
    for model, m in sorted(summary.models.items()):
        ratio = m.mean("refused")
        rows.append((model, str(m.calls), str(m.scored), str(m.errors), str(m.input_tokens),
                     str(m.output_tokens), _fmt(m.latency_quantile(0.5), 2), _fmt(m.latency_quantile(0.9), 2),
                     _fmt(m.mean("similarity")), _fmt(m.mean("sentiment")), _fmt(m.mean("toxicity")),
                     _fmt(m.toxicity_max), "-" if ratio is None else f"{100 * ratio:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.append(f"{summary.records} records from {summary.objects} log object(s), {summary.scored} scored")
    for model, m in sorted(summary.models.items()):
        if m.unscored:
            reasons = ", ".join(f"{k}={v}" for k, v in sorted(m.unscored.items()))
            lines.append(f"  not scored, {model}: {reasons}")
    if summary.problem_count:
        lines.append(f"{summary.problem_count} record(s) could not be read:")
        lines.extend(f"  {p}" for p in summary.problems[:50])
        if summary.problem_count > 50:
            lines.append(f"  ... and {summary.problem_count - 50} more")
    if summary.metrics_written:
        lines.append(f"metrics: {summary.metrics_written}")
    if summary.not_sent:
        lines.append("not sent (CloudWatch would drop them): "
                     + ", ".join(f"{k}={v}" for k, v in sorted(summary.not_sent.items())))
    if summary.untimed:
        lines.append(f"{summary.untimed} record(s) had no timestamp and were stamped with the replay's time")
    lines.extend(f"unreadable source: {s}" for s in summary.unreadable_sources)
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _metric_exporter(args: argparse.Namespace, settings: Settings) -> tuple[Any, str]:
    """The exporter `--emf` / `--otlp` asks for, and how the summary names it."""
    if args.otlp:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        url = args.otlp.rstrip("/")
        url = url if url.endswith("/v1/metrics") else url + "/v1/metrics"
        return OTLPMetricExporter(endpoint=url), f"OTLP to {url}"
    from ..exporters import EMFMetricExporter

    stream: str | IO[str] = sys.stdout if args.emf == "-" else args.emf
    return EMFMetricExporter(stream, namespace=settings.emf_namespace), f"EMF to {args.emf}"


def main_replay(argv: Sequence[str] | None = None) -> int:
    """`otel-llm replay SOURCE...`; exit status 1 when a source could not be read at all, or the metrics
    could not all be written."""
    parser = argparse.ArgumentParser(prog="otel-llm replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="log files (.json.gz, .jsonl, ...), folders, or s3://bucket/prefix")
    parser.add_argument("--backend", help="scoring backend (default: OTEL_LLM_BACKEND or auto)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--fetch-bodies", action="store_true",
                        help="for local files, fetch bodies Bedrock stored in S3 (inputBodyS3Path)")
    parser.add_argument("--endpoint-url", help="S3 endpoint (S3-compatible stores, local tests)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--emf", metavar="PATH|-", help="write CloudWatch EMF lines, stamped with each "
                     "invocation's time and aggregated per model, operation and minute ('-': stdout)")
    out.add_argument("--otlp", metavar="URL", help="send the same metrics over OTLP/HTTP to a collector "
                     "(e.g. http://localhost:4318)")
    parser.add_argument("--report", metavar="PATH", help="write a self-contained HTML report")
    parser.add_argument("--report-content", action="store_true",
                        help="show the worst records' completion text in the report (off: ids only)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"objects read in parallel (default {DEFAULT_WORKERS})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    args = parser.parse_args(argv)
    settings = Settings.from_env(**({"backend": args.backend} if args.backend else {}))
    s3_client = None
    if args.endpoint_url:
        import boto3

        s3_client = boto3.client("s3", endpoint_url=args.endpoint_url)
    exporter, destination = (None, None)
    recorder = None
    if args.emf or args.otlp:
        exporter, destination = _metric_exporter(args, settings)
        recorder = TimedRecorder()
    report = None
    if args.report:
        from ._report import ReportBuilder

        report = ReportBuilder(include_content=args.report_content)
    progress = None if args.no_progress else Progress.for_stream(sys.stderr)
    summary = replay(args.sources, settings, s3_client=s3_client, fetch_bodies_for_files=args.fetch_bodies,
                     recorder=recorder, on_scored=report.add if report else None, progress=progress,
                     workers=args.workers)
    failed_minutes = 0
    if recorder is not None and exporter is not None:
        sent, failed_minutes = recorder.export(exporter)
        exporter.shutdown()
        summary.metrics_written = f"{sent} minute(s) of metrics written ({destination})" + (
            f"; {failed_minutes} minute(s) could not be written" if failed_minutes else "")
    if report is not None:
        report.write(args.report, summary)
    text = json.dumps(summary.to_dict(), indent=2) if args.json else format_summary(summary)
    print(text, file=sys.stderr if args.emf == "-" else sys.stdout)
    return 1 if summary.unreadable_sources or failed_minutes else 0


if __name__ == "__main__":
    sys.exit(main_replay())
