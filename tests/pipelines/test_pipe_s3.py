"""The S3 Lambda handler against moto in server mode: real gzipped invocation-log objects, real-shaped
S3 / EventBridge / SQS events, metrics read back from an in-memory reader."""

from __future__ import annotations

import gzip
import json
import logging
from urllib.parse import quote_plus

import pytest

from otel_llm import _instruments as names
from otel_llm.pipelines.handlers import Pipeline, PipelineError, is_log_object, s3_objects


def s3_event(bucket: str, *keys: str) -> dict:
    """An S3 event notification as Lambda receives it (keys URL-encoded, as S3 sends them)."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T11:05:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "bedrock-logs",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": 1024, "sequencer": "0055AED6DCD90281E5"}},
    } for key in keys]}


def eventbridge_event(bucket: str, key: str) -> dict:
    return {"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
            "source": "aws.s3", "account": "123456789012", "time": "2026-11-25T11:05:00Z",
            "region": "us-east-1", "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {"version": "0", "bucket": {"name": bucket},
                       "object": {"key": key, "size": 1024, "etag": "b1946ac92492d2347c6235b4d2611184"},
                       "reason": "PutObject"}}


@pytest.fixture()
def pipeline(s3, meter_provider, lexical_settings, lexical_scorer):
    return Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer, s3_client=s3)


def test_an_invocation_log_object_is_scored_and_its_broken_line_reported(
        pipeline, s3, bucket, records, reader, tools, caplog):
    # A large request body that Bedrock stored in its own object, as it does past 100 KB.
    big = records["claude"]
    body_key = f"{tools.prefix}/data/req-claude_input.json.gz"
    body = json.dumps(big["input"].pop("inputBodyJson")).encode()
    s3.put_object(Bucket=bucket, Key=body_key, Body=gzip.compress(body))
    big["input"]["inputBodyS3Path"] = f"s3://{bucket}/{body_key}"
    lines = [tools.as_line(r) for r in records.values()]
    lines.insert(3, '{"schemaType": "ModelInvocationLog", "modelId": "amazon.tit')  # a broken line: line 4
    key = f"{tools.prefix}/20261125T1105Z_4a9f1c2b8d7e6f50.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(*lines))

    with caplog.at_level(logging.WARNING, logger="otel_llm"):
        summary = pipeline.s3_handler(s3_event(bucket, key), None)

    assert summary["objects"] == 1 and summary["failed_objects"] == []
    assert summary["scored"] == 6 and summary["skipped"] == {"error": 1}
    assert summary["problem_count"] == 1
    assert summary["problems"][0].startswith(f"s3://{bucket}/{key} line 4: not valid JSON")
    assert f"{key} line 4" in caplog.text

    expected = {tools.claude: 2, tools.titan: 1, tools.llama: 1, tools.nova: 2}
    for histogram in (names.TOXICITY, names.SENTIMENT, names.REFUSAL):
        assert tools.histogram_counts(reader, histogram) == expected
    assert tools.counter_values(reader, names.RECORDS, names.ATTR_OUTCOME) == {"scored": 6}


def test_eventbridge_and_sqs_wrapped_events_and_encoded_keys(pipeline, s3, bucket, records, reader, tools):
    key = f"{tools.prefix}/logs with spaces+plus.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["titan"])))
    assert list(s3_objects(s3_event(bucket, key))) == [(bucket, key)]

    assert pipeline.s3_handler(eventbridge_event(bucket, key), None)["scored"] == 1
    sqs = {"Records": [{"messageId": "m1", "eventSource": "aws:sqs",
                        "body": json.dumps(s3_event(bucket, key))}]}
    assert pipeline.s3_handler(sqs, None)["scored"] == 1
    assert tools.histogram_counts(reader, names.TOXICITY) == {tools.titan: 2}


def test_bodies_and_permission_checks_beside_the_logs_are_not_read_as_logs(pipeline, s3, bucket, tools):
    body_key = f"{tools.prefix}/data/req-1_output.json.gz"
    s3.put_object(Bucket=bucket, Key=body_key, Body=gzip.compress(b'{"content": []}'))
    assert not is_log_object(body_key)
    assert not is_log_object("AWSLogs/123456789012/BedrockModelInvocationLogs/"
                             "amazon-bedrock-logs-permission-check")
    assert is_log_object(f"{tools.prefix}/20261125T1105Z_data.json.gz")

    summary = pipeline.s3_handler(s3_event(bucket, body_key), None)
    assert summary["objects"] == 0 and summary["scored"] == 0


def test_a_missing_object_fails_the_invocation_after_the_others_are_scored(
        pipeline, s3, bucket, records, reader, tools):
    key = f"{tools.prefix}/present.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["llama"])))

    with pytest.raises(PipelineError, match="NoSuchKey"):
        pipeline.s3_handler(s3_event(bucket, f"{tools.prefix}/gone.json.gz", key), None)
    assert tools.histogram_counts(reader, names.REFUSAL) == {tools.llama: 1}  # and Lambda will retry


def test_scores_are_recorded_and_flushed_before_the_handler_returns(s3, bucket, records, lexical_settings,
                                                                    lexical_scorer, tools):
    """The EMF exporter path a Lambda without a collector uses: lines are written before the return."""
    import io

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from otel_llm.exporters._emf import EMFMetricExporter, parse_lines

    out = io.StringIO()
    reader = PeriodicExportingMetricReader(EMFMetricExporter(out), export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    try:
        key = f"{tools.prefix}/emf.json.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["converse"])))
        Pipeline(lexical_settings, meter_provider=provider, scorer=lexical_scorer, s3_client=s3).s3_handler(
            s3_event(bucket, key), None)
        documents = parse_lines(out.getvalue())  # written by the handler's flush, not by the hour-long timer
    finally:
        provider.shutdown()
    emitted = {m["Name"] for doc in documents for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {names.SIMILARITY, names.SENTIMENT, names.TOXICITY, names.REFUSAL} <= emitted
    assert all(doc.get(names.ATTR_MODEL) == tools.nova for doc in documents if names.TOXICITY in doc)


@pytest.mark.slow
@pytest.mark.needs_local
def test_the_local_backend_tells_a_refusal_from_an_answer(s3, bucket, records, meter_provider, reader, tools):
    """Once with the real local models (MiniLM and the trained heads), the rest use the lexical backend."""
    from otel_llm._config import Settings

    key = f"{tools.prefix}/local.json.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=tools.gz_lines(tools.as_line(records["llama"]),
                                                               tools.as_line(records["claude"])))
    pipeline = Pipeline(Settings(backend="local"), meter_provider=meter_provider, s3_client=s3)

    assert pipeline.s3_handler(s3_event(bucket, key), None)["scored"] == 2

    sums = tools.histogram_sums(reader, names.REFUSAL)
    assert sums[tools.llama] > sums[tools.claude]  # "I can't help with that." vs "The capital ... is Paris."
    assert tools.counter_values(reader, names.REFUSALS, names.ATTR_MODEL) == {tools.llama: 1}
    assert tools.histogram_sums(reader, names.SIMILARITY)[tools.claude] > 0.3  # a relevant answer
