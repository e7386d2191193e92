"""Fetch (API key 1) response encoder, versions 4-18, that never copies record bytes.

:func:`encode_fetch_response` returns a list of buffers: the response structure (small ``bytes``)
interleaved with the caller's record chunks, which are passed through untouched: ``bytes``,
``memoryview``, or any object with ``len()`` standing for that many bytes, such as a file region
(kavka.storage.file_region) that the server streams from the segment file when it sends the response.
Use :func:`kavka.protocol.primitives.frame` with :func:`~kavka.protocol.primitives.response_header`
to prepend the size prefix and the response header (v1, i.e. flexible, from Fetch v12).

Response body; ``flexible`` = v12+, where STRING/ARRAY/RECORDS take their COMPACT_ forms (records
length = size + 1, 0 = null) and every struct ends in a tagged-field section::

    throttle_time_ms       INT32
    error_code             INT16                 v7+
    session_id             INT32                 v7+
    responses              ARRAY of
        topic                  STRING            v4-12
        topic_id               UUID (16 bytes)   v13+ (KIP-516), instead of the name
        partitions             ARRAY of
            partition_index        INT32
            error_code             INT16
            high_watermark         INT64
            last_stable_offset     INT64         v4+
            log_start_offset       INT64         v5+
            aborted_transactions   NULLABLE ARRAY of   v4+
                producer_id            INT64
                first_offset           INT64
                <tagged fields>                  v12
            preferred_read_replica INT32         v11+
            records                RECORDS (NULLABLE_BYTES)
            <tagged fields>                      v12+: 0 diverging_epoch (epoch INT32, end_offset INT64),
                                                 1 current_leader (leader_id INT32, leader_epoch INT32),
                                                 2 snapshot_id (end_offset INT64, epoch INT32),
                                                 each followed by its own empty tagged fields
        <tagged fields>                          v12+
    <tagged fields>                              v12+; tag 0 node_endpoints (v16+, KIP-951): COMPACT_ARRAY
                                                 of node_id INT32, host COMPACT_STRING, port INT32,
                                                 rack COMPACT_NULLABLE_STRING, <tagged fields>

Tagged fields equal to their defaults (all -1, no endpoints) are omitted, as Kafka's generated code
does. v14-v18 change only the request or the errors a client may see (v14 OFFSET_MOVED_TO_TIERED_STORAGE,
v15 ReplicaState, v17 the replica directory id, v18 the follower's high watermark), so they encode as
v13, plus node_endpoints from v16.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from kavka.protocol.primitives import (
    EMPTY_TAGGED_FIELDS,
    Chunk,
    encode_array_length,
    encode_compact_array_length,
    encode_compact_string,
    encode_node_endpoints_tag,
    encode_string,
    encode_uvarint,
    frame,
    response_header,
    response_size,
)
from kavka.protocol.varint import Buffer

__all__ = [
    "MIN_VERSION",
    "MAX_VERSION",
    "FIRST_FLEXIBLE_VERSION",
    "FIRST_TOPIC_ID_VERSION",
    "FetchPartitionResponse",
    "encode_fetch_response",
    "response_header",
    "response_size",
    "frame",
]

MIN_VERSION = 4
MAX_VERSION = 18
FIRST_FLEXIBLE_VERSION = 12
FIRST_TOPIC_ID_VERSION = 13
FIRST_NODE_ENDPOINTS_VERSION = 16


class FetchPartitionResponse(NamedTuple):
    partition_index: int
    error_code: int = 0
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1  # v5+
    #: ``[(producer_id, first_offset), ...]``; None is written as a null array
    aborted_transactions: Sequence[tuple[int, int]] | None = None
    preferred_read_replica: int = -1  # v11+
    #: record chunks (buffers or file regions), written as-is in order, or one buffer; None is null records
    records: Sequence[Chunk] | Buffer | None = None
    #: total bytes of ``records``; -1 = compute it. Pass it when known to skip the sum.
    records_size: int = -1
    #: v12 tagged fields, omitted when None or all -1
    diverging_epoch: tuple[int, int] | None = None  # (epoch, end_offset)
    current_leader: tuple[int, int] | None = None  # (leader_id, leader_epoch)
    snapshot_id: tuple[int, int] | None = None  # (end_offset, epoch)


_I32 = struct.Struct(">i")
_V7_TOP = struct.Struct(">ihi")  # throttle_time_ms, error_code, session_id
_V4_PARTITION = struct.Struct(">ihqq")  # partition_index, error_code, high_watermark, last_stable_offset
_V5_PARTITION = struct.Struct(">ihqqq")  # + log_start_offset
_ABORTED = struct.Struct(">qq")
_ABORTED_FLEX = struct.Struct(">qqB")  # + empty tagged fields
_DIVERGING = struct.Struct(">BBiqB")  # tag 0, size 13, epoch, end_offset, no tags
_LEADER = struct.Struct(">BBiiB")  # tag 1, size 9, leader_id, leader_epoch, no tags
_SNAPSHOT = struct.Struct(">BBqiB")  # tag 2, size 13, end_offset, epoch, no tags
_NULL_LEGACY = b"\xff\xff\xff\xff"
_NO_TAGS = (-1, -1)


def encode_fetch_response(
    version: int,
    *,
    throttle_time_ms: int = 0,
    error_code: int = 0,
    session_id: int = 0,
    topics: Sequence[tuple[str | uuid.UUID, Sequence[FetchPartitionResponse]]],
    node_endpoints: Sequence[tuple[int, str, int, str | None]] = (),
) -> list[Chunk]:
    """Encode a Fetch response body (no size prefix, no response header) for ``version`` 4-18.

    Each topic is its name (v4-12) or its ``uuid.UUID`` id (v13+). ``node_endpoints`` are
    ``(node_id, host, port, rack)`` of the leaders named in ``current_leader`` fields (v16+ only).
    Returns ``[bytes, chunk, chunk, bytes, ...]``: structure bytes and the partitions' record chunks
    in wire order; the chunks are the caller's own objects, never copied. Top-level ``error_code``
    and ``session_id`` exist from v7 and are dropped before.
    """
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"Fetch v{version} is not supported (serving v{MIN_VERSION}-v{MAX_VERSION})")
    flexible = version >= FIRST_FLEXIBLE_VERSION
    if flexible:
        enc_len = encode_compact_array_length
        enc_str = encode_compact_string
        aborted_struct = _ABORTED_FLEX
    else:
        enc_len = encode_array_length
        enc_str = encode_string
        aborted_struct = _ABORTED
    with_log_start = version >= 5
    with_replica = version >= 11
    pack_i32 = _I32.pack

    buffers: list[Chunk] = []
    if version >= 7:
        out = bytearray(_V7_TOP.pack(throttle_time_ms, error_code, session_id))
    else:
        out = bytearray(pack_i32(throttle_time_ms))
    by_id = version >= FIRST_TOPIC_ID_VERSION
    out += enc_len(len(topics))
    for topic, partitions in topics:
        if isinstance(topic, uuid.UUID) is not by_id:
            raise ValueError(f"Fetch v{version} names topics by {'id' if by_id else 'name'}, got {topic!r}")
        out += topic.bytes if isinstance(topic, uuid.UUID) else enc_str(topic)
        out += enc_len(len(partitions))
        for p in partitions:
            if with_log_start:
                out += _V5_PARTITION.pack(
                    p.partition_index, p.error_code, p.high_watermark, p.last_stable_offset, p.log_start_offset
                )
            else:
                out += _V4_PARTITION.pack(p.partition_index, p.error_code, p.high_watermark, p.last_stable_offset)
            aborted = p.aborted_transactions
            if aborted is None:
                out += enc_len(None)
            else:
                out += enc_len(len(aborted))
                if flexible:
                    for producer_id, first_offset in aborted:
                        out += aborted_struct.pack(producer_id, first_offset, 0)
                else:
                    for producer_id, first_offset in aborted:
                        out += aborted_struct.pack(producer_id, first_offset)
            if with_replica:
                out += pack_i32(p.preferred_read_replica)
            records = p.records
            if records is None:
                out += EMPTY_TAGGED_FIELDS if flexible else _NULL_LEGACY  # null: compact 0 / legacy -1
            else:
                if isinstance(records, (bytes, bytearray, memoryview)):
                    records = (records,)
                size = p.records_size
                if size < 0:
                    size = response_size(records)
                out += encode_uvarint(size + 1) if flexible else pack_i32(size)
                if size:
                    buffers.append(bytes(out))
                    buffers.extend(records)
                    out = bytearray()
            if flexible:
                if p.diverging_epoch is None and p.current_leader is None and p.snapshot_id is None:
                    out += EMPTY_TAGGED_FIELDS
                else:
                    out += _partition_tags(p)
        if flexible:
            out += EMPTY_TAGGED_FIELDS
    if flexible:
        if node_endpoints and version >= FIRST_NODE_ENDPOINTS_VERSION:
            out += encode_node_endpoints_tag(node_endpoints)
        else:
            out += EMPTY_TAGGED_FIELDS
    if out:  # empty when v4-v11 records end the response
        buffers.append(bytes(out))
    return buffers


def _partition_tags(p: FetchPartitionResponse) -> bytes:
    tags = []
    if p.diverging_epoch is not None and tuple(p.diverging_epoch) != _NO_TAGS:
        tags.append(_DIVERGING.pack(0, 12 + 1, p.diverging_epoch[0], p.diverging_epoch[1], 0))
    if p.current_leader is not None and tuple(p.current_leader) != _NO_TAGS:
        tags.append(_LEADER.pack(1, 8 + 1, p.current_leader[0], p.current_leader[1], 0))
    if p.snapshot_id is not None and tuple(p.snapshot_id) != _NO_TAGS:
        tags.append(_SNAPSHOT.pack(2, 12 + 1, p.snapshot_id[0], p.snapshot_id[1], 0))
    return encode_uvarint(len(tags)) + b"".join(tags)
