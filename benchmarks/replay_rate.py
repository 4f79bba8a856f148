"""Replay rate on generated Bedrock invocation logs: records/s and MB/s of `otel-llm replay`, and its peak
memory, from local files or from S3 (moto in server mode, paginated listing, parallel GETs).

    .venv/bin/python benchmarks/replay_rate.py --records 200000 --objects 400 [--s3] [--backend lexical]
        [--score none] [--workers 8] [--emf out.jsonl] [--report report.html] [--keep DIR]

Records are real XSTest prompt/completion pairs from data/ in five model families' log shapes (InvokeModel
Anthropic / Llama / Titan, Converse Nova, and a Converse record with no text), one day of timestamps ending
three days ago, gzip JSON Lines objects as Bedrock writes them. `--score none` measures reading and parsing
alone (a scorer that returns no scores); otherwise the chosen backend scores every record.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from otel_llm._config import Settings
from otel_llm._quality.scoring import Scores
from otel_llm._training.data import find_data_dir
from otel_llm.pipelines._replay import replay

ACCOUNT, REGION = "123456789012", "us-east-1"


def pairs(data_dir: Path) -> list[tuple[str, str]]:
    out = []
    for name in ("refusal-xstest-gpt4.csv", "refusal-xstest-llama2orig.csv"):
        with (data_dir / name).open(encoding="utf-8", newline="") as fh:
            out.extend((row["prompt"], row["completion"]) for row in csv.DictReader(fh))
    return out


def record(i: int, when: datetime, prompt: str, completion: str) -> dict:
    """One invocation-log record; the model family rotates."""
    base = {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "accountId": ACCOUNT,
            "region": REGION, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "requestId": f"req-{i:08d}"}
    kind = i % 5
    if kind == 0:
        return {**base, "operation": "InvokeModel", "modelId": "anthropic.claude-3-5-haiku-20241022-v1:0",
                "input": {"inputTokenCount": 30, "inputBodyJson": {
                    "anthropic_version": "bedrock-2023-05-31", "max_tokens": 400,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]}},
                "output": {"outputTokenCount": 80, "outputBodyJson": {
                    "id": f"msg_{i}", "type": "message", "role": "assistant", "stop_reason": "end_turn",
                    "content": [{"type": "text", "text": completion}]}}}
    if kind == 1:
        return {**base, "operation": "Converse", "modelId": "amazon.nova-lite-v1:0",
                "input": {"inputTokenCount": 25, "inputBodyJson": {
                    "messages": [{"role": "user", "content": [{"text": prompt}]}]}},
                "output": {"outputTokenCount": 70, "outputBodyJson": {
                    "output": {"message": {"role": "assistant", "content": [{"text": completion}]}},
                    "stopReason": "end_turn", "metrics": {"latencyMs": 400 + i % 900}}}}
    if kind == 2:
        return {**base, "operation": "InvokeModel", "modelId": "us.meta.llama3-1-8b-instruct-v1:0",
                "input": {"inputTokenCount": 28, "inputBodyJson": {"prompt": prompt, "max_gen_len": 512}},
                "output": {"outputTokenCount": 90, "outputBodyJson": {
                    "generation": completion, "stop_reason": "stop"}}}
    if kind == 3:
        return {**base, "operation": "InvokeModel", "modelId": "amazon.titan-text-express-v1",
                "input": {"inputTokenCount": 20, "inputBodyJson": {"inputText": prompt}},
                "output": {"outputTokenCount": 60, "outputBodyJson": {"results": [
                    {"outputText": completion, "completionReason": "FINISH"}]}}}
    return {**base, "operation": "Converse", "modelId": "global.anthropic.claude-opus-4-5-20251101-v1:0",
            "input": {"inputTokenCount": 40, "inputBodyJson": {
                "messages": [{"role": "user", "content": [{"text": prompt}]}]}},
            "output": {"outputTokenCount": 300, "outputBodyJson": {
                "output": {"message": {"role": "assistant", "content": [
                    {"reasoningContent": {"redactedContent": "ZWxpZGVk"}}]}},
                "stopReason": "end_turn", "metrics": {"latencyMs": 2000 + i % 3000}}}}


def generate(folder: Path, records: int, objects: int, data_dir: Path, seed: int = 7) -> int:
    """Write `records` records in `objects` gzip objects covering one day that ended three days ago."""
    rng = random.Random(seed)
    texts = pairs(data_dir)
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=3)
    start = end - timedelta(days=1)
    per_object = max(1, records // objects)
    total = 0
    for n in range(objects):
        count = per_object if n < objects - 1 else records - per_object * (objects - 1)
        when0 = start + (end - start) * n / objects
        hour = folder / f"AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/{REGION}/{when0:%Y/%m/%d/%H}"
        hour.mkdir(parents=True, exist_ok=True)
        lines = []
        for j in range(count):
            when = when0 + (end - start) / objects * j / max(1, count)
            prompt, completion = texts[rng.randrange(len(texts))]
            lines.append(json.dumps(record(total + j, when, prompt, completion)))
        (hour / f"{when0:%Y%m%dT%H%M%S}_{n:05d}.json.gz").write_bytes(
            gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6))
        total += count
    return total


class NoScores:
    """A scorer that scores nothing: measures reading and parsing alone."""

    def score_many(self, calls):
        return [Scores(backend="none") for _ in calls]


def upload(folder: Path, endpoint: str, bucket: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    for path in sorted(folder.rglob("*.json.gz")):
        s3.upload_file(str(path), bucket, path.relative_to(folder).as_posix())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--s3", action="store_true",
                        help="replay from moto's S3 (server mode) instead of files")
    parser.add_argument("--backend", default="lexical")
    parser.add_argument("--score", choices=("backend", "none"), default="backend")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--emf", help="also write the EMF lines here")
    parser.add_argument("--report", help="also write the HTML report here")
    parser.add_argument("--keep", help="generate into this folder and keep it")
    parser.add_argument("--data", help="labelled-data folder (default: the checkout's data/)")
    args = parser.parse_args()

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="otel-llm-replay-"))
    t0 = time.perf_counter()
    written = generate(folder, args.records, args.objects, find_data_dir(args.data))
    size = sum(p.stat().st_size for p in folder.rglob("*.json.gz"))
    print(f"generated {written:,} records in {args.objects} objects, {size / 1e6:.1f} MB gzip, "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    server = None
    sources: list[str] = [str(folder)]
    s3_client = None
    if args.s3:
        import boto3
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        upload(folder, endpoint, "bedrock-logs")
        s3_client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                                 aws_secret_access_key="testing")
        sources = ["s3://bedrock-logs/AWSLogs/"]

    from otel_llm.pipelines._timed import TimedRecorder

    recorder = TimedRecorder() if args.emf else None
    report = None
    if args.report:
        from otel_llm.pipelines._report import ReportBuilder

        report = ReportBuilder()
    scorer = NoScores() if args.score == "none" else None
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    summary = replay(sources, Settings.from_env(backend=args.backend), scorer=scorer, s3_client=s3_client,
                     recorder=recorder, on_scored=report.add if report else None, workers=args.workers)
    elapsed = time.perf_counter() - t0
    if recorder is not None:
        from otel_llm.exporters import EMFMetricExporter

        exporter = EMFMetricExporter(args.emf)
        recorder.export(exporter)
        exporter.shutdown()
    if report is not None:
        report.write(args.report, summary)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "source": "s3 (moto server)" if args.s3 else "local files", "records": summary.records,
        "scored": summary.scored, "objects": summary.objects, "gzip_mb": round(size / 1e6, 1),
        "seconds": round(elapsed, 2), "records_per_s": round(summary.records / elapsed),
        "gzip_mb_per_s": round(size / 1e6 / elapsed, 2), "peak_rss_mb": round(rss_mb),
        "scoring": "none (read and parse only)" if args.score == "none" else args.backend,
        "workers": args.workers, "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()]}, indent=2))
    if server is not None:
        server.stop()
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
