"""The records of ``__transaction_state``, byte for byte as Kafka writes them.

Key and value each start with an INT16 version. A null value is a tombstone (the transactional id
expired; compaction drops its older records).

TransactionLogKey v0 (non-flexible)::

    transactionalId STRING

TransactionLogValue (Kafka writes v0 until ``transaction.version`` 1 enables flexible records; Kavka
finalizes version 2, so :func:`txn_record` writes v1, as Kafka 4.4 does on a new cluster)::

    v0  producerId INT64, producerEpoch INT16, transactionTimeoutMs INT32, transactionStatus INT8,
        transactionPartitions NULLABLE ARRAY of {topic STRING, partitionIds ARRAY of INT32},
        transactionLastUpdateTimestampMs INT64, transactionStartTimestampMs INT64
    v1  the same fields in the flexible encoding (compact strings/arrays, a tagged-field section after
        each partition entry and after the value); tagged fields of the value:
        0 previousProducerId INT64 (default -1), 1 nextProducerId INT64 (default -1),
        2 clientTransactionVersion INT16 (default 0)

transactionStatus is Kafka's TransactionState id: Empty 0, Ongoing 1, PrepareCommit 2,
PrepareAbort 3, CompleteCommit 4, CompleteAbort 5, Dead 6, PrepareEpochFence 7.
transactionPartitions is null in the Empty state (Kafka writes it so), partitions grouped by topic.

Readers raise :class:`ProtocolDecodeError` for malformed bytes and ignore bytes after the last field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kavka.protocol.primitives import (
    ProtocolDecodeError,
    as_view,
    encode_array_length,
    encode_compact_array_length,
    encode_compact_string,
    encode_int8,
    encode_int16,
    encode_int32,
    encode_int64,
    encode_string,
    encode_tagged_fields,
    read_array_length,
    read_compact_array_length,
    read_compact_string,
    read_int8,
    read_int16,
    read_int32,
    read_int64,
    read_string,
    read_tagged_fields,
    skip_tagged_fields,
)

__all__ = [
    "TransactionLogValue",
    "encode_key",
    "decode_key",
    "encode_value",
    "decode_value",
    "txn_record",
    "txn_tombstone",
]

_KEY_VERSION = 0
_VALUE_VERSION = 0


@dataclass(frozen=True, slots=True)
class TransactionLogValue:
    producer_id: int
    producer_epoch: int
    transaction_timeout_ms: int
    transaction_status: int
    # ((topic, (partition, ...)), ...), sorted; empty (written as null) in the Empty state
    transaction_partitions: tuple[tuple[str, tuple[int, ...]], ...] = field(default_factory=tuple)
    transaction_last_update_timestamp_ms: int = -1
    transaction_start_timestamp_ms: int = -1
    previous_producer_id: int = -1
    next_producer_id: int = -1
    client_transaction_version: int = 0


def encode_key(transactional_id: str) -> bytes:
    return encode_int16(_KEY_VERSION) + encode_string(transactional_id)


def decode_key(data: bytes | memoryview) -> str:
    buf = as_view(data)
    version, pos = read_int16(buf, 0)
    if version != _KEY_VERSION:
        raise ProtocolDecodeError(f"unknown TransactionLogKey version {version}")
    transactional_id, _ = read_string(buf, pos)
    return transactional_id


def encode_value(v: TransactionLogValue, version: int = _VALUE_VERSION) -> bytes:
    if version not in (0, 1):
        raise ValueError(f"TransactionLogValue has no version {version}")
    flex = version >= 1
    parts = [
        encode_int16(version),
        encode_int64(v.producer_id),
        encode_int16(v.producer_epoch),
        encode_int32(v.transaction_timeout_ms),
        encode_int8(v.transaction_status),
    ]
    if v.transaction_status == 0:  # Empty: null
        parts.append(encode_compact_array_length(None) if flex else encode_array_length(None))
    else:
        topics = v.transaction_partitions
        parts.append(encode_compact_array_length(len(topics)) if flex else encode_array_length(len(topics)))
        for topic, partitions in topics:
            if flex:
                parts.append(encode_compact_string(topic))
                parts.append(encode_compact_array_length(len(partitions)))
            else:
                parts.append(encode_string(topic))
                parts.append(encode_array_length(len(partitions)))
            parts.extend(encode_int32(p) for p in partitions)
            if flex:
                parts.append(b"\x00")
    parts.append(encode_int64(v.transaction_last_update_timestamp_ms))
    parts.append(encode_int64(v.transaction_start_timestamp_ms))
    if flex:
        tags = {}
        if v.previous_producer_id != -1:
            tags[0] = encode_int64(v.previous_producer_id)
        if v.next_producer_id != -1:
            tags[1] = encode_int64(v.next_producer_id)
        if v.client_transaction_version != 0:
            tags[2] = encode_int16(v.client_transaction_version)
        parts.append(encode_tagged_fields(tags))
    return b"".join(parts)


def decode_value(data: bytes | memoryview | None) -> TransactionLogValue | None:
    """The value, or None for a tombstone (``data`` None)."""
    if data is None:
        return None
    buf = as_view(data)
    version, pos = read_int16(buf, 0)
    if version not in (0, 1):
        raise ProtocolDecodeError(f"unknown TransactionLogValue version {version}")
    flex = version >= 1
    producer_id, pos = read_int64(buf, pos)
    producer_epoch, pos = read_int16(buf, pos)
    timeout, pos = read_int32(buf, pos)
    status, pos = read_int8(buf, pos)
    count, pos = (read_compact_array_length if flex else read_array_length)(buf, pos)
    topics = []
    for _ in range(count or 0):
        topic, pos = (read_compact_string if flex else read_string)(buf, pos)
        n, pos = (read_compact_array_length if flex else read_array_length)(buf, pos)
        partitions = []
        for _ in range(n or 0):
            p, pos = read_int32(buf, pos)
            partitions.append(p)
        if flex:
            pos = skip_tagged_fields(buf, pos)
        topics.append((topic, tuple(partitions)))
    last_update, pos = read_int64(buf, pos)
    start, pos = read_int64(buf, pos)
    previous, nxt, ctv = -1, -1, 0
    if flex:
        tags, pos = read_tagged_fields(buf, pos)
        if 0 in tags:
            previous, _ = read_int64(tags[0], 0)
        if 1 in tags:
            nxt, _ = read_int64(tags[1], 0)
        if 2 in tags:
            ctv, _ = read_int16(tags[2], 0)
    return TransactionLogValue(
        producer_id, producer_epoch, timeout, status, tuple(topics), last_update, start, previous, nxt, ctv
    )


#: the value version the coordinator writes (flexible: it can hold the client's transaction version)
RECORD_VALUE_VERSION = 1


def txn_record(transactional_id: str, value: TransactionLogValue) -> tuple[bytes, bytes]:
    return encode_key(transactional_id), encode_value(value, RECORD_VALUE_VERSION)


def txn_tombstone(transactional_id: str) -> tuple[bytes, None]:
    return encode_key(transactional_id), None
