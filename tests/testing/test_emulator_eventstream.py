"""The event-stream encoder, checked by botocore's own decoder (prelude and message CRCs included)."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from otel_llm.testing.eventstream import encode_message, event_message, exception_message


def decode_all(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_message_round_trips_headers_and_payload():
    data = encode_message({":event-type": "chunk", "x-custom": "välue"}, b'{"a": 1}')
    (message,) = decode_all(data)
    assert message.headers == {":event-type": "chunk", "x-custom": "välue"}
    assert message.payload == b'{"a": 1}'
    assert message.prelude.total_length == len(data)


def test_several_messages_in_one_buffer_split_anywhere():
    data = event_message("messageStart", {"role": "assistant"}) + exception_message(
        "throttlingException", "slow"
    )
    buffer = EventStreamBuffer()
    decoded = []
    for i in range(0, len(data), 7):  # arbitrary network-sized pieces
        buffer.add_data(data[i : i + 7])
        decoded += list(buffer)
    assert [m.headers[":message-type"] for m in decoded] == ["event", "exception"]
    assert json.loads(decoded[0].payload) == {"role": "assistant"}
    assert decoded[1].headers[":exception-type"] == "throttlingException"
    assert json.loads(decoded[1].payload) == {"message": "slow"}


@pytest.mark.parametrize("position", [9, -1, -10], ids=["prelude-crc", "message-crc", "payload"])
def test_a_flipped_bit_fails_the_crc_check(position):
    data = bytearray(event_message("chunk", {"bytes": "eyJ9"}))
    data[position] ^= 0x01
    with pytest.raises(ChecksumMismatch):
        decode_all(bytes(data))


def test_empty_payload_and_no_headers():
    (message,) = decode_all(encode_message({}, b""))
    assert message.headers == {} and message.payload == b""
