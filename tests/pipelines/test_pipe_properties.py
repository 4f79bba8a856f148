"""Property-based tests (hypothesis): arbitrary JSON and bytes never raise out of a parser or a pipeline entry
point: the family parsers, invocation-log parsing, Kinesis record reading, the S3/Logs/Kinesis handlers' line
and payload parsing. Example counts are kept modest so the suite stays fast."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json

from hypothesis import HealthCheck, given, settings, strategies as st
from opentelemetry.sdk.metrics import MeterProvider

from otel_llm._bedrock.families import (
    FAMILIES,
    StreamAccumulator,
    finish_stream,
    parse_converse_event,
    parse_converse_request,
    parse_converse_response,
)
from otel_llm._config import Settings
from otel_llm.pipelines._invocation_log import Batch, InvalidRecord, call_from_log_record, read_log_object
from otel_llm.pipelines._kinesis import payload_objects, read_kinesis_event
from otel_llm.pipelines.handlers import Pipeline, PipelineError, s3_objects

# Keys the parsers look for, so that generated objects reach past the first check.
KEYS = st.sampled_from([
    "messages", "content", "choices", "delta", "message", "text", "type", "outputs", "results", "usage",
    "generation", "completion", "stop_reason", "contentBlockDelta", "toolUse", "input", "index", "system",
    "output", "inferenceConfig", "event_type", "response", "modelId", "schemaType", "operation",
    "inputBodyJson", "outputBodyJson", "inputBodyS3Path", "errorCode", "messageType", "logEvents",
    "model_id", "prompt", "role", "Records", "kinesis", "data", "sequenceNumber", "s3", "bucket", "object",
    "key", "name", "body", "Sns", "Message", "eventSource", "detail-type", "detail", "awslogs",
]) | st.text(max_size=6)
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-10**15, max_value=10**15)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=16)
           | st.sampled_from(["ModelInvocationLog", "Converse", "ConverseStream", "InvokeModel",
                              "InvokeModelWithResponseStream", "DATA_MESSAGE", "aws:sqs", "Object Created",
                              "anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-lite-v1:0"]))
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                    max_leaves=25)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dumps(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@FAST
@given(st.sampled_from(sorted(FAMILIES)), JSON)
def test_family_parsers_never_raise(name, value):
    family = FAMILIES[name]
    family.parse_request(value)
    family.parse_response(value)
    acc = StreamAccumulator()
    family.parse_chunk(value, acc)
    acc.finish()


@FAST
@given(JSON)
def test_converse_parsers_never_raise(value):
    parse_converse_request(value)
    parse_converse_response(value)
    acc = StreamAccumulator()
    parse_converse_event(value, acc)
    finish_stream(acc)


@FAST
@given(JSON)
def test_an_invocation_log_record_is_a_call_or_an_invalid_record(value):
    with contextlib.suppress(InvalidRecord):
        call_from_log_record(value, fetch_body=lambda uri: json.loads("{"))
    Batch().add_log_record(value, "here")  # never raises: a problem at most


LINES = st.lists(JSON.map(dumps) | st.binary(max_size=40), max_size=5).map(lambda ls: b"\n".join(ls))


@FAST
@given(LINES | st.binary(max_size=200), st.booleans())
def test_a_log_object_never_raises_whatever_its_bytes(data, zipped):
    batch = read_log_object(gzip.compress(data) if zipped else data, "s3://b/k")
    assert all(p.location.startswith("s3://b/k") for p in batch.problems)


PAYLOADS = JSON.map(dumps) | st.binary(max_size=60) | JSON.map(lambda v: gzip.compress(dumps(v)))


@FAST
@given(PAYLOADS)
def test_a_kinesis_payload_never_raises_but_as_an_invalid_record(data):
    with contextlib.suppress(InvalidRecord):
        list(payload_objects(data))


RECORD = st.fixed_dictionaries({"kinesis": st.fixed_dictionaries({
    "sequenceNumber": st.text(max_size=5), "data": PAYLOADS.map(lambda b: base64.b64encode(b).decode())})})
EVENTS = st.fixed_dictionaries({"Records": st.lists(RECORD | JSON, max_size=4)}) | JSON


@FAST
@given(EVENTS)
def test_read_kinesis_event_never_raises(event):
    for item in read_kinesis_event(event):
        assert isinstance(item.sequence_number, str)


@FAST
@given(JSON)
def test_s3_objects_never_raises(event):
    problems: list = []
    for bucket, key in s3_objects(event, problems):
        assert isinstance(bucket, str) and isinstance(key, str)


_PIPELINE: list[Pipeline] = []


def pipeline() -> Pipeline:
    """One lexical pipeline for all examples (building a scorer per example would be slow)."""
    if not _PIPELINE:
        _PIPELINE.append(Pipeline(Settings(backend="lexical"), meter_provider=MeterProvider()))
    return _PIPELINE[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_the_kinesis_handler_never_raises(event):
    result = pipeline().kinesis_handler(event, None)
    assert isinstance(result["batchItemFailures"], list)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAYLOADS.map(lambda b: {"awslogs": {"data": base64.b64encode(b).decode()}}) | JSON)
def test_the_logs_handler_never_raises(event):
    pipeline().logs_handler(event, None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_the_s3_handler_raises_only_to_ask_for_a_retry(event):
    with contextlib.suppress(PipelineError):  # an object it names could not be read (no S3 here): retry
        pipeline().s3_handler(event, None)
