"""The offload sink: the span processor ships its records to Kinesis instead of scoring them, and the
pipeline's `kinesis_handler` scores them there, through moto's Kinesis in server mode."""

from __future__ import annotations

import base64
import os
import time

import boto3
import pytest
from botocore.stub import Stubber
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_llm import _instruments as names
from otel_llm._config import Settings
from otel_llm._decorators import llm_span
from otel_llm._quality import offload
from otel_llm._quality.offload import KinesisSink
from otel_llm._quality.processor import LLMMetricsSpanProcessor
from otel_llm.pipelines.handlers import Pipeline
from otel_llm.record import SIGNAL_GUARDRAIL, LLMCall

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _stream(kinesis, name: str) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=2)
    for _ in range(50):
        if kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    return name


def _lambda_event(kinesis, name: str) -> dict:
    """Every record on the stream as Lambda's Kinesis event delivers it."""
    records = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for record in kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
            records.append({"eventID": f"{shard['ShardId']}:{record['SequenceNumber']}",
                            "eventSource": "aws:kinesis", "kinesis": {
                                "data": base64.b64encode(record["Data"]).decode(),
                                "partitionKey": record["PartitionKey"],
                                "sequenceNumber": record["SequenceNumber"]}})
    return {"Records": records}


def _values(reader: InMemoryMetricReader, metric: str, key: str, field: str) -> dict:
    totals: dict = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for m in scope.metrics:
                if m.name == metric:
                    for point in m.data.data_points:
                        k = point.attributes.get(key)
                        totals[k] = totals.get(k, 0) + getattr(point, field)
    return totals


def test_records_round_trip_through_kinesis_into_the_handler(kinesis, moto_endpoint, monkeypatch,
                                                            lexical_settings, lexical_scorer):
    name = _stream(kinesis, "otel-llm-offload-roundtrip")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", moto_endpoint)
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(var, value)
    app_reader = InMemoryMetricReader()
    tracer_provider = TracerProvider()
    processor = LLMMetricsSpanProcessor(settings=Settings(offload_kinesis_stream=name),
                                        meter_provider=MeterProvider(metric_readers=[app_reader]))
    tracer_provider.add_span_processor(processor)
    before = time.time() * 1000
    for i in range(3):
        with llm_span(model=MODEL, tracer_provider=tracer_provider) as call:
            call.prompt = f"What is {i} + {i}?"
            call.completion = f"{i} + {i} is {2 * i}."
            call.input_tokens, call.output_tokens = 9, 6
    with llm_span(model=MODEL, tracer_provider=tracer_provider) as call:
        call.prompt, call.completion, call.refusal_signal = "Say something awful.", "", SIGNAL_GUARDRAIL
    assert processor.force_flush(20_000)
    processor.shutdown()

    # the app scored nothing, and counted what it shipped
    assert _values(app_reader, names.RECORDS, names.ATTR_OUTCOME, "value") == {"offloaded": 4}
    assert _values(app_reader, names.SIMILARITY, names.ATTR_MODEL, "count") == {}

    event = _lambda_event(kinesis, name)
    assert len(event["Records"]) == 4
    consumer_reader = InMemoryMetricReader()
    pipeline = Pipeline(lexical_settings, meter_provider=MeterProvider(metric_readers=[consumer_reader]),
                        scorer=lexical_scorer)
    assert pipeline.kinesis_handler(event) == {"batchItemFailures": []}
    assert _values(consumer_reader, names.SIMILARITY, names.ATTR_MODEL, "count") == {MODEL: 3}
    assert _values(consumer_reader, names.REFUSALS, names.ATTR_REFUSAL_SOURCE, "value") == {
        SIGNAL_GUARDRAIL: 1}
    stamps = [pair_time for pair_time in _pair_times(event)]
    assert all(before - 1000 <= stamp <= time.time() * 1000 for stamp in stamps)


def _pair_times(event: dict) -> list[int]:
    import json

    return [json.loads(base64.b64decode(r["kinesis"]["data"]))["timestamp"] for r in event["Records"]]


def _stubbed_sink(responses: list[dict]) -> tuple[KinesisSink, list[dict], list[float]]:
    """A sink over a real botocore client whose PutRecords answers are scripted (Kinesis itself does not
    fail records on demand); the requests are validated against the API model and recorded."""
    client = boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    stubber = Stubber(client)
    for response in responses:
        stubber.add_response("put_records", response)
    stubber.activate()
    sent: list[dict] = []
    client.meta.events.register("provide-client-params.kinesis.PutRecords",
                                lambda params, **_: sent.append(params))
    sleeps: list[float] = []
    return KinesisSink("s", client=client, sleep=sleeps.append), sent, sleeps


def _ok(n: int) -> dict:
    return {"Records": [{"SequenceNumber": "1", "ShardId": "shardId-0"}] * n}


def test_records_the_api_reports_failed_are_retried_with_backoff_then_dropped():
    throttled = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
    first = {"FailedRecordCount": 2, "Records": [throttled, {"SequenceNumber": "1", "ShardId": "shardId-0"},
                                                 throttled]}
    always = {"FailedRecordCount": 1, "Records": [throttled]}
    sink, sent, sleeps = _stubbed_sink([first, {"FailedRecordCount": 1, "Records": [
        {"SequenceNumber": "2", "ShardId": "shardId-0"}, throttled]}, always, always])
    calls = [LLMCall(MODEL, prompt="q", completion=f"answer {i}") for i in range(3)]

    shipped = sink.ship(calls)

    assert shipped == [True, True, False]  # the third failed all four attempts: dropped
    assert [len(p["Records"]) for p in sent] == [3, 2, 1, 1]  # only the failed records are sent again
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]  # backoff grows


def test_put_records_calls_stay_within_the_api_limits(monkeypatch):
    monkeypatch.setattr(offload, "MAX_BYTES_PER_CALL", 80_000)  # the 5 MiB rule, at a testable size
    sink, sent, _ = _stubbed_sink([_ok(500), _ok(200), _ok(1), _ok(1)])
    many = [LLMCall(MODEL, prompt="q", completion="a") for _ in range(700)]
    assert all(sink.ship(many))
    assert [len(p["Records"]) for p in sent] == [500, 200]

    big = [LLMCall(MODEL, prompt="q", completion="x" * 45_000) for _ in range(2)]
    assert sink.ship(big) == [True, True]
    assert [len(p["Records"]) for p in sent[2:]] == [1, 1]  # 2 x 45 KB do not fit one 80 KB call


def test_a_record_over_1_mib_is_compressed_or_dropped(monkeypatch):
    sink, sent, _ = _stubbed_sink([_ok(1)])
    compressible = LLMCall(MODEL, prompt="q", completion="word " * 300_000)  # 1.5 MB of JSON
    random_text = LLMCall(MODEL, prompt="q", completion=os.urandom(1_200_000).hex())
    assert sink.ship([compressible, random_text]) == [True, False]
    [request] = sent
    assert len(request["Records"]) == 1 and request["Records"][0]["Data"][:2] == b"\x1f\x8b"


def test_a_full_queue_drops_and_counts_while_the_sink_is_slow():
    class SlowSink:
        def __init__(self):
            self.shipped = 0

        def ship(self, calls):
            time.sleep(0.2)
            self.shipped += len(calls)
            return [True] * len(calls)

    reader = InMemoryMetricReader()
    sink = SlowSink()
    processor = LLMMetricsSpanProcessor(settings=Settings(queue_size=5, batch_size=5), offload=sink,
                                        meter_provider=MeterProvider(metric_readers=[reader]))
    accepted = sum(processor.enqueue(LLMCall(MODEL, prompt="q", completion="a")) for _ in range(40))
    assert processor.force_flush(20_000)
    processor.shutdown()
    outcomes = _values(reader, names.RECORDS, names.ATTR_OUTCOME, "value")
    assert outcomes["offloaded"] == sink.shipped == accepted < 40
    assert outcomes["dropped"] == 40 - accepted


@pytest.mark.parametrize("stream, target", [("s", {"StreamName": "s"}),
                                            ("arn:aws:kinesis:us-east-1:1:stream/s",
                                             {"StreamARN": "arn:aws:kinesis:us-east-1:1:stream/s"})])
def test_the_stream_is_named_or_given_by_arn(stream, target):
    assert KinesisSink(stream)._target() == target
