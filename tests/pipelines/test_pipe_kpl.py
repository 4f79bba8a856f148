"""KPL-aggregated Kinesis records: built here with a protobuf encoder written from the KPL's documented
format (independently of the reader), put on moto's Kinesis, and de-aggregated by the handler."""

from __future__ import annotations

import hashlib
import json

from otel_llm import _instruments as names
from otel_llm.pipelines._kinesis import read_kinesis_event
from otel_llm.pipelines._kpl import MAGIC
from otel_llm.pipelines.handlers import Pipeline

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _uint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def aggregate(payloads: list[bytes], partition_keys: tuple[str, ...] = ("pk-a", "pk-b")) -> bytes:
    """A KPL AggregatedRecord: magic, protobuf, MD5 of the protobuf."""
    body = b"".join(_bytes_field(1, key.encode()) for key in partition_keys)
    body += _bytes_field(2, b"170141183460469231731687303715884105728")  # an explicit hash key
    for i, payload in enumerate(payloads):
        tag = _bytes_field(1, b"k") + _bytes_field(2, b"v")
        record = _uint_field(1, i % len(partition_keys)) + _uint_field(2, 0) + _bytes_field(3, payload)
        body += _bytes_field(3, record + _bytes_field(4, tag))
    return MAGIC + body + hashlib.md5(body).digest()


def _pair(i: int) -> bytes:
    return json.dumps({"model_id": MODEL, "prompt": f"What is {i} + {i}?",
                       "completion": f"It is {2 * i}."}).encode()


def test_aggregated_records_are_scored_one_by_one(kinesis, lexical_settings, lexical_scorer, meter_provider,
                                                  reader, tools):
    event = tools.kinesis_event(kinesis, [aggregate([_pair(i) for i in range(5)]), _pair(9)])[0]
    pipeline = Pipeline(lexical_settings, meter_provider=meter_provider, scorer=lexical_scorer)

    assert pipeline.kinesis_handler(event) == {"batchItemFailures": []}
    assert tools.histogram_counts(reader, names.TOXICITY) == {MODEL: 6}


def test_a_corrupt_checksum_is_a_problem_of_that_record_only(kinesis, tools):
    good = aggregate([_pair(1), _pair(2)])
    bad = bytearray(aggregate([_pair(3)]))
    bad[-1] ^= 0xFF
    items = read_kinesis_event(tools.kinesis_event(kinesis, [bytes(bad), good])[0])
    assert [len(item.read.calls) for item in items] == [0, 2]
    [problem] = items[0].read.problems
    assert "MD5 checksum" in problem.reason


def test_a_broken_user_record_inside_an_aggregate_is_located(kinesis, tools):
    event, _ = tools.kinesis_event(kinesis, [aggregate([_pair(1), b"{not json", _pair(2)])])
    items = read_kinesis_event(event)
    [item] = items
    assert len(item.read.calls) == 2
    [problem] = item.read.problems
    assert problem.location.endswith("user record 2") and "not valid JSON" in problem.reason


def test_a_truncated_aggregate_is_reported(kinesis, tools):
    whole = aggregate([_pair(1)])
    body = whole[len(MAGIC):-16][:-5]  # cut inside the record, then checksum the cut body
    items = read_kinesis_event(tools.kinesis_event(kinesis, [MAGIC + body + hashlib.md5(body).digest()])[0])
    [problem] = items[0].read.problems
    assert "not a valid AggregatedRecord" in problem.reason
