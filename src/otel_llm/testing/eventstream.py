"""AWS event-stream binary framing (`application/vnd.amazon.eventstream`): the encoder only.

A message is: prelude (total length, headers length, CRC32 of those 8 bytes), headers, payload,
and a CRC32 of everything before it. Header values here are always strings (type 7).
"""

from __future__ import annotations

import json
import struct
from binascii import crc32
from typing import Any

_STRING_HEADER = 7
_PRELUDE_AND_CRC = 16  # 12-byte prelude + 4-byte message CRC


def _encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING_HEADER, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One framed event-stream message."""
    raw_headers = _encode_headers(headers)
    total = _PRELUDE_AND_CRC + len(raw_headers) + len(payload)
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack("!I", crc32(body))


def event_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """An `event` message carrying a JSON payload."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload).encode("utf-8"))


def exception_message(exception_type: str, message: str) -> bytes:
    """An `exception` message, as Bedrock sends for an error in the middle of a stream."""
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode("utf-8"))
