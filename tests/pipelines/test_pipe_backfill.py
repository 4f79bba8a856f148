"""Backfills land at the invocation's time: `otel-llm replay --emf/--otlp` stamps each minute's
distributions with the log records' own `timestamp`, reports what CloudWatch would drop, and the summary
names every model seen, also the ones with nothing to score."""

from __future__ import annotations

import copy
import io
import json
import time
from datetime import datetime, timedelta, timezone

from otel_llm import _instruments as names
from otel_llm.exporters import EMFMetricExporter
from otel_llm.exporters._emf import parse_lines
from otel_llm.pipelines._progress import Progress
from otel_llm.pipelines._replay import format_summary, main_replay, replay
from otel_llm.pipelines._timed import TOO_NEW, TOO_OLD, TimedRecorder
from otel_llm.testing.otlp_receiver import OTLPReceiver

OPUS = "global.anthropic.claude-opus-4-5-20251101-v1:0"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _opus_without_text(stamp: str) -> dict:
    """A Converse record whose answer has no text (reasoning only), with its tokens and latency."""
    return {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": stamp,
            "accountId": "123456789012", "region": "us-east-1", "requestId": "req-opus",
            "operation": "Converse", "modelId": OPUS,
            "input": {"inputContentType": "application/json", "inputTokenCount": 40,
                      "inputBodyJson": {"messages": [
                          {"role": "user", "content": [{"text": "Plan a trip."}]}]}},
            "output": {"outputContentType": "application/json", "outputTokenCount": 310,
                       "outputBodyJson": {
                           "output": {"message": {"role": "assistant", "content": [
                               {"reasoningContent": {"redactedContent": "ZWxpZGVk"}}]}},
                           "stopReason": "end_turn", "metrics": {"latencyMs": 2300},
                           "usage": {"inputTokens": 40, "outputTokens": 310, "totalTokens": 350}}}}


def _logs(folder, records, tools, now: datetime) -> dict[str, datetime]:
    """Records three days old (one per minute), one 20 days old, one 3 hours ahead, and the opus record."""
    three_days = (now - timedelta(days=3)).replace(second=5, microsecond=0)
    stamps = {"claude": three_days, "titan": three_days + timedelta(minutes=1),
              "llama": now - timedelta(days=20), "converse": now + timedelta(hours=3)}
    lines = []
    for name, moment in stamps.items():
        record = copy.deepcopy(records[name])
        record["timestamp"] = _iso(moment)
        lines.append(tools.as_line(record))
    lines.append(json.dumps(_opus_without_text(_iso(three_days))))
    (folder / "logs.json.gz").write_bytes(tools.gz_lines(*lines))
    return stamps


def test_emf_is_stamped_three_days_ago_and_what_cloudwatch_drops_is_reported(
        tmp_path, records, tools, lexical_settings, lexical_scorer):
    now = datetime.now(timezone.utc)
    stamps = _logs(tmp_path, records, tools, now)
    recorder = TimedRecorder()

    summary = replay([tmp_path], lexical_settings, scorer=lexical_scorer, recorder=recorder)
    out = io.StringIO()
    sent, failed = recorder.export(EMFMetricExporter(out, namespace="OtelLLM"))

    documents = parse_lines(out.getvalue())
    by_minute: dict[int, set[str]] = {}
    for doc in documents:
        if names.SIMILARITY in doc:
            by_minute.setdefault(doc["_aws"]["Timestamp"] // 60_000, set()).add(doc[names.ATTR_MODEL])
    minute = int(stamps["claude"].timestamp()) // 60
    assert by_minute == {minute: {tools.claude}, minute + 1: {tools.titan}}  # not "now"
    assert (sent, failed) == (2, 0)
    assert summary.not_sent == {TOO_OLD: 1, TOO_NEW: 1}
    similarity = next(doc[names.SIMILARITY] for doc in documents if names.SIMILARITY in doc)
    assert set(similarity) >= {"Values", "Counts", "Min", "Max", "Sum", "Count"}

    assert set(summary.models) == {tools.claude, tools.titan, tools.llama, tools.nova, OPUS}
    opus = summary.models[OPUS]
    assert (opus.calls, opus.scored, opus.input_tokens, opus.output_tokens) == (1, 0, 40, 310)
    assert opus.unscored == {"no_completion_text": 1}
    assert abs(opus.latency_quantile(0.5) - 2.3) < 0.03
    text = format_summary(summary)
    assert OPUS in text and f"not scored, {OPUS}: no_completion_text=1" in text
    assert f"{TOO_OLD}=1" in text and f"{TOO_NEW}=1" in text


def test_one_minute_is_one_distribution_not_one_point_per_record(tools, lexical_scorer, records):
    from otel_llm.pipelines._invocation_log import call_from_log_record

    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=3)
    calls = []
    for second in range(0, 60, 2):  # 30 calls within one minute
        record = copy.deepcopy(records["claude"])
        record["timestamp"] = _iso(start + timedelta(seconds=second))
        calls.append(call_from_log_record(record))
    recorder = TimedRecorder()
    recorder.record_all(calls, lexical_scorer.score_many(calls))
    out = io.StringIO()
    recorder.export(EMFMetricExporter(out))
    docs = [doc for doc in parse_lines(out.getvalue()) if names.TOXICITY in doc]
    assert len(docs) == 1 and docs[0]["_aws"]["Timestamp"] // 60_000 == int(start.timestamp()) // 60
    assert sum(docs[0][names.TOXICITY]["Counts"]) == 30
    records_docs = [doc for doc in parse_lines(out.getvalue()) if names.RECORDS in doc]
    assert sum(doc[names.RECORDS] for doc in records_docs) == 30


def test_replay_cli_sends_otlp_points_with_the_invocation_time(tmp_path, records, tools):
    now = datetime.now(timezone.utc)
    stamps = _logs(tmp_path, records, tools, now)
    with OTLPReceiver(grpc_port=None) as receiver:
        status = main_replay([str(tmp_path), "--backend", "lexical", "--otlp", receiver.http_url()])
        points = receiver.wait_for(lambda r: r.metric_points(), timeout=10)
        assert status == 0
        similarity = [p for p in receiver.metric_points() if p.name == names.SIMILARITY]
    minute = int(stamps["claude"].timestamp()) // 60
    assert {p.point.time_unix_nano // 60_000_000_000 for p in similarity} == {minute, minute + 1} and points
    assert {(p.kind, p.temporality) for p in similarity} == {("exponential_histogram", 1)}  # 1: delta


def test_replay_cli_emf_to_stdout_keeps_the_summary_on_stderr(tmp_path, records, tools, capsys):
    _logs(tmp_path, records, tools, datetime.now(timezone.utc))
    assert main_replay([str(tmp_path), "--backend", "lexical", "--emf", "-"]) == 0
    captured = capsys.readouterr()
    documents = parse_lines(captured.out)  # only EMF on stdout
    assert documents and all("_aws" in doc for doc in documents)
    assert OPUS in captured.err and "minute(s) of metrics written" in captured.err
    assert "ETA" not in captured.err  # not a terminal: no progress bar


def test_progress_bar_shows_records_bytes_rate_and_eta():
    out = io.StringIO()
    progress = Progress(out, enabled=True)
    progress.start(total_bytes=4_000_000)
    started = time.monotonic()
    line = progress.line(records=5000, done_bytes=1_000_000, now=started + 10)
    assert "25.0%" in line and "5,000 records" in line and "1.0 MB/4.0 MB" in line
    assert "500 rec/s" in line and "ETA 0:00:30" in line
    assert Progress.for_stream(io.StringIO()).enabled is False


def test_lambda_handler_without_adot_writes_emf_stamped_with_the_invocation_time(tmp_path, records, tools):
    """A cold start with no SDK meter provider (no ADOT layer), in its own process as on Lambda."""
    import base64
    import os
    import subprocess
    import sys

    three_days = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3)
    record = copy.deepcopy(records["claude"])
    record["timestamp"] = _iso(three_days)
    event = {"awslogs": {"data": base64.b64encode(tools.logs_subscription(json.dumps(record))).decode()}}
    (tmp_path / "event.json").write_text(json.dumps(event))
    emf = tmp_path / "emf.jsonl"
    script = ("import json, sys\nfrom otel_llm.pipelines.handlers import logs_handler\n"
              "print(json.dumps(logs_handler(json.load(open(sys.argv[1])))))\n")
    env = {**os.environ, "OTEL_LLM_BACKEND": "lexical", "OTEL_LLM_EMF_EXPORT": str(emf),
           "OTEL_METRIC_EXPORT_INTERVAL": "600000"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "event.json")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["scored"] == 1
    stamps = {doc["_aws"]["Timestamp"] // 60_000 for doc in parse_lines(emf.read_text())
              if names.SIMILARITY in doc}
    assert stamps == {int(three_days.timestamp()) // 60}


def test_lambda_reports_records_cloudwatch_would_drop(tmp_path, records, tools, caplog):
    import base64
    import logging

    from otel_llm.pipelines.handlers import Pipeline

    old = copy.deepcopy(records["claude"])
    old["timestamp"] = _iso(datetime.now(timezone.utc) - timedelta(days=30))
    event = {"awslogs": {"data": base64.b64encode(tools.logs_subscription(json.dumps(old))).decode()}}
    emf = tmp_path / "emf.jsonl"
    from opentelemetry.metrics import NoOpMeterProvider

    from otel_llm._config import Settings

    pipeline = Pipeline(Settings(backend="lexical"), meter_provider=NoOpMeterProvider(),
                        recorder=TimedRecorder())
    pipeline.timed_exporter = EMFMetricExporter(str(emf))  # as a cold start without ADOT sets it
    with caplog.at_level(logging.WARNING, logger="otel_llm"):
        assert pipeline.logs_handler(event)["scored"] == 1
    assert not emf.exists() or not [d for d in parse_lines(emf.read_text()) if names.SIMILARITY in d]
    assert f"'{TOO_OLD}': 1" in caplog.text
