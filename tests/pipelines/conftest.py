"""Fixtures of the pipeline tests: moto in server mode (S3, Kinesis) on 127.0.0.1, explicit meter
providers, and Bedrock model-invocation log records shaped like the ones Bedrock writes."""

from __future__ import annotations

import copy
import gzip
import json
import socket
import uuid
from collections import Counter
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_llm._config import Settings

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}
LOG_PREFIX = f"AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/{REGION}/2026/11/25/11"

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"  # a cross-region profile: metrics name it as requested
LLAMA_BASE = "meta.llama3-1-8b-instruct-v1:0"
NOVA = "amazon.nova-lite-v1:0"


def _base(request_id: str, operation: str, model_id: str) -> dict[str, Any]:
    return {"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": "2026-11-25T11:02:03Z",
            "accountId": ACCOUNT, "identity": {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session"},
            "region": REGION, "requestId": request_id, "operation": operation, "modelId": model_id}


def _record(request_id: str, operation: str, model_id: str, body_in: Any, body_out: Any,
            tokens_in: int, tokens_out: int) -> dict[str, Any]:
    return {**_base(request_id, operation, model_id),
            "input": {"inputContentType": "application/json", "inputBodyJson": body_in,
                      "inputTokenCount": tokens_in},
            "output": {"outputContentType": "application/json", "outputBodyJson": body_out,
                       "outputTokenCount": tokens_out}}


RECORDS: dict[str, dict[str, Any]] = {
    "claude": _record(
        "req-claude", "InvokeModel", CLAUDE,
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "system": "Answer briefly.",
         "messages": [{"role": "user",
                       "content": [{"type": "text", "text": "What is the capital of France?"}]}]},
        {"id": "msg_bdrk_01", "type": "message", "role": "assistant",
         "content": [{"type": "text", "text": "The capital of France is Paris."}], "stop_reason": "end_turn",
         "usage": {"input_tokens": 21, "output_tokens": 9}},
        21, 9),
    "titan": _record(
        "req-titan", "InvokeModel", TITAN,
        {"inputText": "Write one sentence about the sea.", "textGenerationConfig": {"maxTokenCount": 100}},
        {"inputTextTokenCount": 8, "results": [
            {"tokenCount": 12, "outputText": "The sea is wide, blue and full of life.",
             "completionReason": "FINISH"}]},
        8, 12),
    "llama": _record(
        "req-llama", "InvokeModel", LLAMA,
        {"prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\nHow do I pick a lock?"
                   "<|eot_id|><|start_header_id|>assistant<|end_header_id|>", "max_gen_len": 256},
        {"generation": "I can't help with that. Picking locks you do not own may be illegal.",
         "prompt_token_count": 19, "generation_token_count": 15, "stop_reason": "stop"},
        19, 15),
    "converse": _record(
        "req-converse", "Converse", NOVA,
        {"messages": [{"role": "user", "content": [{"text": "Recommend a good book about space."}]}],
         "system": [{"text": "You are a librarian."}],
         "inferenceConfig": {"maxTokens": 300, "temperature": 0.5}},
        {"output": {"message": {"role": "assistant", "content": [
            {"text": "Try Cosmos by Carl Sagan: a wonderful, inspiring read."}]}},
         "stopReason": "end_turn", "metrics": {"latencyMs": 812},
         "usage": {"inputTokens": 17, "outputTokens": 14, "totalTokens": 31}},
        17, 14),
    "claude_stream": _record(
        "req-claude-stream", "InvokeModelWithResponseStream", CLAUDE,
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
         "messages": [{"role": "user", "content": "Say hello to the team."}]},
        [{"type": "message_start", "message": {
            "id": "msg_bdrk_02", "type": "message", "role": "assistant", "content": [],
            "usage": {"input_tokens": 12, "output_tokens": 1}}},
         {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
         {"type": "content_block_delta", "index": 0,
          "delta": {"type": "text_delta", "text": "Hello, team! "}},
         {"type": "content_block_delta", "index": 0,
          "delta": {"type": "text_delta", "text": "Great work today."}},
         {"type": "content_block_stop", "index": 0},
         {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 8}},
         {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
             "inputTokenCount": 12, "outputTokenCount": 8, "invocationLatency": 640,
             "firstByteLatency": 210}}],
        12, 8),
    "converse_stream": _record(
        "req-converse-stream", "ConverseStream", NOVA,
        {"messages": [{"role": "user", "content": [{"text": "Give me a short motto."}]}]},
        [{"messageStart": {"role": "assistant"}},
         {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Keep going, "}}},
         {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "keep growing."}}},
         {"contentBlockStop": {"contentBlockIndex": 0}},
         {"messageStop": {"stopReason": "end_turn"}},
         {"metadata": {"usage": {"inputTokens": 9, "outputTokens": 6, "totalTokens": 15},
                       "metrics": {"latencyMs": 450}}}],
        9, 6),
    "error": {**_base("req-error", "Converse", CLAUDE), "errorCode": "ThrottlingException",
              "input": {"inputContentType": "application/json",
                        "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}}},
}


def gz_lines(*lines: str) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode())


def as_line(record: dict[str, Any]) -> str:
    return json.dumps(record)


def logs_subscription(*messages: str) -> bytes:
    """A CloudWatch Logs subscription batch of the Bedrock log group (gzip JSON), as delivered."""
    return gzip.compress(json.dumps({
        "messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": "/aws/bedrock/modelinvocations",
        "logStream": "aws/bedrock/modelinvocations", "subscriptionFilters": ["scorer"],
        "logEvents": [{"id": f"3829{i}", "timestamp": 1764068523000, "message": message}
                      for i, message in enumerate(messages)]}).encode())


@pytest.fixture()
def records() -> dict[str, dict[str, Any]]:
    """A fresh copy of every sample record (tests may change them)."""
    return copy.deepcopy(RECORDS)


@pytest.fixture(scope="session")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def s3(moto_endpoint):
    return boto3.client("s3", endpoint_url=moto_endpoint, **CREDENTIALS)


@pytest.fixture()
def bucket(s3) -> str:
    name = f"bedrock-logs-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture()
def kinesis(moto_endpoint):
    return boto3.client("kinesis", endpoint_url=moto_endpoint, **CREDENTIALS)


@pytest.fixture()
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture()
def meter_provider(reader):
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


@pytest.fixture()
def unreachable_aws_settings(monkeypatch) -> Settings:
    """The `aws` backend with Bedrock and Comprehend unreachable (a closed local port): a real outage."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    return Settings(backend="aws", aws_region=REGION, bedrock_endpoint_url=url, comprehend_endpoint_url=url,
                    backend_timeout_s=1.0)


@pytest.fixture(scope="session")
def lexical_settings() -> Settings:
    return Settings(backend="lexical")


@pytest.fixture(scope="session")
def lexical_scorer(lexical_settings):
    from otel_llm._quality.scoring import Scorer

    return Scorer(lexical_settings)


def _totals(reader: InMemoryMetricReader, metric: str, key: str, field: str) -> Counter[str]:
    """Sum of the `field` of every data point of `metric`, by the value of attribute `key`."""
    totals: Counter[str] = Counter()
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for m in scope.metrics:
                if m.name == metric:
                    for point in m.data.data_points:
                        totals[point.attributes.get(key)] += getattr(point, field)
    return totals


def histogram_counts(reader: InMemoryMetricReader, metric: str) -> Counter[str]:
    """Values recorded in histogram `metric`, by gen_ai.request.model."""
    return _totals(reader, metric, "gen_ai.request.model", "count")


def histogram_sums(reader: InMemoryMetricReader, metric: str) -> Counter[str]:
    """Sum of the values recorded in histogram `metric`, by gen_ai.request.model."""
    return _totals(reader, metric, "gen_ai.request.model", "sum")


def counter_values(reader: InMemoryMetricReader, metric: str, key: str) -> Counter[str]:
    """Sum of counter `metric` by attribute `key`."""
    return _totals(reader, metric, key, "value")


def kinesis_event(kinesis, payloads: list[bytes]) -> tuple[dict, list[str]]:
    """Put `payloads` on a new moto stream, read them back, and shape them as Lambda's Kinesis event
    (every field Lambda sends)."""
    import base64

    stream = f"llm-pairs-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream,
                                             WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    for payload in payloads:
        kinesis.put_record(StreamName=stream, Data=payload, PartitionKey="app-1")
    description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    shard = description["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator, Limit=100)["Records"]
    event = {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                    "sequenceNumber": r["SequenceNumber"], "data": base64.b64encode(r["Data"]).decode(),
                    "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{shard}:{r['SequenceNumber']}",
        "eventName": "aws:kinesis:record", "awsRegion": "us-east-1",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/scorer",
        "eventSourceARN": description["StreamARN"],
    } for r in got]}
    return event, [r["SequenceNumber"] for r in got]


@pytest.fixture(scope="session")
def tools() -> SimpleNamespace:
    """The helpers and constants above, for test modules (conftest is not importable under importlib)."""
    return SimpleNamespace(kinesis_event=kinesis_event, gz_lines=gz_lines, as_line=as_line,
                           logs_subscription=logs_subscription,
                           histogram_counts=histogram_counts, histogram_sums=histogram_sums,
                           counter_values=counter_values, prefix=LOG_PREFIX, region=REGION,
                           claude=CLAUDE, titan=TITAN, llama=LLAMA, llama_base=LLAMA_BASE, nova=NOVA)
