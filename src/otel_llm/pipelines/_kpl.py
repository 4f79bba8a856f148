"""De-aggregation of Kinesis Producer Library (KPL) aggregated records.

The KPL packs many user records into one Kinesis record: the magic bytes `F3 89 9A C2`, then a
protobuf `AggregatedRecord` (1: repeated string partition_key_table, 2: repeated string
explicit_hash_key_table, 3: repeated Record {1: uint64 partition_key_index, 2: uint64
explicit_hash_key_index, 3: bytes data, 4: repeated Tag}), then the MD5 digest of the protobuf bytes.
Only the user records' data matters here; a tiny protobuf reader is enough (and bounded by the record).
"""

from __future__ import annotations

import hashlib

from ._invocation_log import InvalidRecord

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_BYTES = 16
_AGGREGATED_RECORDS = 3  # AggregatedRecord.records
_RECORD_DATA = 3  # Record.data


def is_aggregated(data: bytes) -> bool:
    return data[:4] == MAGIC and len(data) >= len(MAGIC) + DIGEST_BYTES


def deaggregate(data: bytes) -> list[bytes]:
    """The user records' data in `data`: `[data]` when it is not a KPL aggregate. Raises `InvalidRecord`
    when it is one whose checksum or protobuf is broken."""
    if not is_aggregated(data):
        return [data]
    body, digest = data[len(MAGIC):-DIGEST_BYTES], data[-DIGEST_BYTES:]
    if hashlib.md5(body, usedforsecurity=False).digest() != digest:
        raise InvalidRecord("KPL aggregated record whose MD5 checksum does not match (corrupt)")
    try:
        return [_field(record, _RECORD_DATA) for number, record in _fields(body)
                if number == _AGGREGATED_RECORDS]
    except (IndexError, ValueError) as exc:
        raise InvalidRecord(f"KPL aggregated record that is not a valid AggregatedRecord ({exc})") from None


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]  # IndexError past the end: truncated
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(buf: bytes) -> list[tuple[int, bytes]]:
    """(field number, payload) of every length-delimited field of a message; other wire types skipped."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("field runs past the end")
            out.append((number, buf[pos:pos + length]))
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise ValueError("field runs past the end")
    return out


def _field(message: bytes, number: int) -> bytes:
    for found, payload in _fields(message):
        if found == number:
            return payload
    raise ValueError(f"record without field {number}")
