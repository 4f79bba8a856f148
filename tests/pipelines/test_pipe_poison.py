"""Poison-proof pipelines: every record of a Kinesis batch, every line of a log object and every file of a
replay is processed on its own; a bad one is reported with its place, counted failed and costs only itself.
The parsers bound depth and size. The handlers stop scoring before the Lambda deadline."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time

import pytest

from otel_llm import _instruments as names
from otel_llm.pipelines._kinesis import read_kinesis_event
from otel_llm.pipelines._replay import replay
from otel_llm.pipelines.handlers import STOP_MARGIN_MS, Pipeline, PipelineError

DEEP = b"[" * 100_000 + b"]" * 100_000  # 100k-deep JSON
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def pair(completion: str) -> bytes:
    return json.dumps({"model_id": CLAUDE, "prompt": "How do I reset my password?",
                       "completion": completion}).encode()


@pytest.fixture
def pipeline(meter_provider, lexical_settings, lexical_scorer):
    return Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer)


def test_poison_records_of_a_kinesis_batch_cost_only_themselves(kinesis, pipeline, reader, tools, caplog):
    poison = [json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [{"message": 5}]}).encode(),
              json.dumps({"messageType": "DATA_MESSAGE", "logEvents": 7}).encode(),
              DEEP, gzip.compress(DEEP)]
    event, sequences = tools.kinesis_event(kinesis, [pair("First, open Settings."), *poison,
                                                     pair("Then choose Security.")])

    result = pipeline.kinesis_handler(event, None)

    # Unreadable records are not retried (retrying cannot fix them; it would stall the shard), so
    # batchItemFailures names no record, and the good ones around them are scored now, once.
    assert result == {"batchItemFailures": []}
    assert tools.histogram_counts(reader, names.TOXICITY) == {CLAUDE: 2}
    assert tools.counter_values(reader, names.RECORDS, names.ATTR_OUTCOME) == {"scored": 2, "failed": 4}
    for sequence in sequences[1:5]:
        assert sequence in caplog.text  # each reported with its place
    assert "log event message must be a string" in caplog.text and "logEvents must be a list" in caplog.text
    assert "nested too deeply" in caplog.text


@pytest.mark.parametrize("event", [{"Records": [[]]}, {"Records": 5}, {"Records": [{"kinesis": 5}]},
                                   {"Records": [{"kinesis": {"data": 7}}]}, [], None])
def test_read_kinesis_event_never_raises_on_a_malformed_event(event):
    items = read_kinesis_event(event)
    assert all(item.read.calls == [] and item.read.problems for item in items)


def test_a_poison_line_of_an_s3_object_costs_only_that_line(meter_provider, lexical_settings, lexical_scorer,
                                                            s3, bucket, records, reader, tools):
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer, s3_client=s3)
    key = f"{tools.prefix}/poison.json.gz"
    lines = [tools.as_line(records["claude"]), DEEP.decode(), tools.as_line(records["titan"])]
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(*lines))
    event = {"Records": [
        {"s3": {"bucket": {"name": bucket}, "object": {"key": key}}},
        {"s3": {"bucket": {"name": 5}}},  # names no object: reported, costs nothing else
        {"eventSource": "aws:sqs", "body": DEEP.decode()},
    ]}

    summary = pipeline.s3_handler(event, None)

    assert summary["scored"] == 2 and summary["failed_objects"] == []
    assert f"s3://{bucket}/{key} line 2: JSON nested too deeply" in summary["problems"]
    assert any("event record 2: names no S3 object" in p for p in summary["problems"])
    assert any("event record 3: names no S3 object" in p for p in summary["problems"])
    assert tools.histogram_counts(reader, names.TOXICITY) == {tools.claude: 1, tools.titan: 1}


def test_a_poison_log_event_costs_only_itself(pipeline, records, reader, tools):
    payload = gzip.compress(json.dumps({
        "messageType": "DATA_MESSAGE", "logEvents": [
            {"id": "1", "message": json.dumps(records["converse"])}, {"id": "2", "message": DEEP.decode()},
            {"id": "3", "message": 5}]}).encode())
    summary = pipeline.logs_handler({"awslogs": {"data": base64.b64encode(payload).decode()}}, None)
    assert summary["scored"] == 1 and summary["problem_count"] == 2
    assert tools.histogram_counts(reader, names.SENTIMENT) == {tools.nova: 1}


def test_replay_keeps_the_good_files_beside_a_bad_one(tmp_path, records, lexical_settings, lexical_scorer,
                                                       tools):
    (tmp_path / "a.json").write_text(tools.as_line(records["claude"]) + "\n")
    (tmp_path / "b.json").write_bytes(DEEP + b"\n")
    (tmp_path / "c.json").write_text(tools.as_line(records["titan"]) + "\n")

    summary = replay([tmp_path], lexical_settings, scorer=lexical_scorer)

    assert summary.objects == 3 and summary.scored == 2
    assert summary.unreadable_sources == []
    assert [str(p) for p in summary.problems] == [f"{tmp_path / 'b.json'} line 1: JSON nested too deeply"]


class Context:
    """Lambda's context object: the time left in this invocation."""

    def __init__(self, remaining_ms: float) -> None:
        self._end = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


class StuckScorer:
    """Scores like `inner`, except that a batch holding "SLOW" waits until `release` is set."""

    def __init__(self, inner) -> None:
        self.inner, self.release = inner, threading.Event()

    def score_many(self, calls):
        if any("SLOW" in c.completion for c in calls):
            self.release.wait(60)
        return self.inner.score_many(calls)


def test_kinesis_stops_scoring_before_the_deadline_and_reports_the_unscored(
        kinesis, meter_provider, reader, lexical_settings, lexical_scorer, tools):
    stuck = StuckScorer(lexical_scorer)
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=stuck)
    event, sequences = tools.kinesis_event(kinesis, [pair("SLOW answer."), pair("Another answer.")])
    try:
        result = pipeline.kinesis_handler(event, Context(STOP_MARGIN_MS + 1_000))
    finally:
        stuck.release.set()
    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in sequences]}
    assert tools.counter_values(reader, names.RECORDS, names.ATTR_OUTCOME) == {"failed": 2}


def test_s3_raises_for_a_retry_when_the_deadline_comes_first(s3, bucket, records, meter_provider,
                                                             lexical_settings, lexical_scorer, tools):
    key = f"{tools.prefix}/late.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["claude"])))
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer, s3_client=s3)
    event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}
    with pytest.raises(PipelineError, match="time ran out"):
        pipeline.s3_handler(event, Context(STOP_MARGIN_MS - 500))
