"""Validating a produce request's record set and assigning its offsets (Kafka's ``LogValidator``).

Pure functions over the bytes and the topic's LogConfig: no log state, no I/O. ``PartitionLog.
append_as_leader`` (kavka.storage.log) calls ``validate_records`` once per request, stages the plan
with the producer state, rolls if needed, then calls ``assign_offsets`` once before the single write.

``validate_records`` contract, in Kafka's order and with its errors:

- every batch's header and CRC (``validate_batches``: CorruptRecordError -> CORRUPT_MESSAGE);
- with ``compression.type`` other than ``producer``, batches in another codec are rewritten in the
  topic's (``recompress``; the only path besides compaction that touches records);
- on compacted topics every record needs a key (``check_keys``; InvalidRecordError with Kafka's
  per-record summary -> INVALID_RECORD);
- the record set fits ``segment.bytes`` and each batch ``max.message.bytes`` (RecordTooLargeError),
  no client control batch, ``records_count == lastOffsetDelta + 1`` (InvalidRecordError);
- with CreateTime, each batch's timestamps lie within ``message.timestamp.before/after.max.ms`` of
  now (InvalidTimestampError); with LogAppendTime every batch's timestamp is now.

Offsets are planned from ``next_offset`` (the log end) per batch, never per record. ``assign_offsets``
patches base offset and partition leader epoch in place (outside the CRC) and, for LogAppendTime,
stamps the time (recomputing that batch's CRC).
"""

from __future__ import annotations

from kavka.protocol.batch import (
    LOG_OVERHEAD,
    BatchHeader,
    InvalidRecordError,
    patch_base_offset,
    patch_leader_epoch,
    stamp_log_append_time,
    validate_batches,
)
from kavka.protocol.compression import codec_id, decompressed_limit
from kavka.protocol.records import build_batch, decode_batch
from kavka.protocol.varint import Buffer
from kavka.storage.config import LogConfig
from kavka.storage.errors import InvalidTimestampError, RecordTooLargeError

__all__ = ["PlannedBatch", "ValidatedRecords", "validate_records", "assign_offsets", "recompress", "check_keys"]


#: One planned batch: (header, base offset, timestamp recorded in the producer state).
PlannedBatch = tuple[BatchHeader, int, int]

#: What ``validate_records`` returns: (records: the possibly copied or recompressed record set, plan,
#: next_offset: the log end offset after the append, max_timestamp, offset_of_max_timestamp, num_records).
ValidatedRecords = tuple[bytearray | memoryview, list[PlannedBatch], int, int, int, int]


def validate_records(
    records: bytearray | memoryview, config: LogConfig, next_offset: int, now_ms: int, topic: str, partition: int
) -> ValidatedRecords:
    """Validate one produce request's record set for ``topic``-``partition`` and plan its offsets from
    ``next_offset`` (see the module docstring). ``records`` is a bytearray or a writable memoryview (a
    slice of the request frame); anything read-only is copied once so ``assign_offsets`` can patch it.
    Returns a plain tuple in ``ValidatedRecords``' field order (no constructor call on the hot path)."""
    if not isinstance(records, bytearray) and (not isinstance(records, memoryview) or records.readonly):
        records = bytearray(records)
    cfg = config
    headers = validate_batches(records)
    if cfg.compression_type != "producer":
        records, headers = recompress(records, headers, cfg.compression_type, cfg.max_message_bytes)
    if cfg.compact:
        check_keys(records, headers, cfg.max_message_bytes, f"{topic}-{partition}")
    if len(records) > cfg.segment_bytes:
        raise RecordTooLargeError(f"record set of {len(records)} bytes exceeds segment.bytes {cfg.segment_bytes}")
    log_append = cfg.log_append_time
    max_size = cfg.max_message_bytes
    before, after = cfg.message_timestamp_before_max_ms, cfg.message_timestamp_after_max_ms
    plan: list[PlannedBatch] = []
    max_ts, offset_of_max = -1, next_offset
    num_records = 0
    for h in headers:
        size = h.batch_length + LOG_OVERHEAD
        if size > max_size:
            raise RecordTooLargeError(f"batch of {size} bytes exceeds max.message.bytes {max_size}")
        if h.is_control:
            raise InvalidRecordError("clients may not write control batches")
        if h.records_count != h.last_offset_delta + 1 or h.records_count <= 0:
            raise InvalidRecordError(f"batch has {h.records_count} records but lastOffsetDelta {h.last_offset_delta}")
        if log_append:
            ts = now_ms
        else:
            ts = h.max_timestamp
            if ts >= 0 and (ts > now_ms + after or h.base_timestamp < now_ms - before):
                raise InvalidTimestampError(
                    f"batch timestamps [{h.base_timestamp}, {ts}] outside the allowed range around {now_ms}"
                )
        last = next_offset + h.last_offset_delta
        plan.append((h, next_offset, ts))
        if ts > max_ts:
            max_ts, offset_of_max = ts, last
        num_records += h.records_count
        next_offset = last + 1
    return records, plan, next_offset, max_ts, offset_of_max, num_records


def assign_offsets(
    records: bytearray | memoryview,
    plan: list[PlannedBatch],
    leader_epoch: int,
    log_append_time_ms: int | None,
) -> None:
    """Patch each planned batch's base offset and partition leader epoch in place; with
    ``log_append_time_ms`` (LogAppendTime topics) also stamp that time, recomputing the batch's CRC."""
    pos = 0
    for h, offset, _ts in plan:
        patch_base_offset(records, pos, offset)
        patch_leader_epoch(records, pos, leader_epoch)
        size = h.batch_length + LOG_OVERHEAD
        if log_append_time_ms is not None:
            stamp_log_append_time(records, pos, size, log_append_time_ms)
        pos += size


def check_keys(records: Buffer, headers: list[BatchHeader], max_message_bytes: int, topic_partition: str) -> None:
    """Compacted topics refuse records without a key (Kafka's LogValidator), which needs the records.
    Each keyless record is named by its index in the batch, and the message is Kafka's summary.
    A batch that decompresses past ``decompressed_limit`` is a CorruptRecordError (CORRUPT_MESSAGE)."""
    pos = 0
    errors: list[tuple[int, str]] = []
    message = f"Compacted topic cannot accept message without key in topic partition {topic_partition}."
    for h in headers:
        if not h.is_control:
            _h, recs = decode_batch(
                records,
                pos,
                check_crc=False,
                max_decompressed_size=decompressed_limit(h.records_count, max_message_bytes),
            )
            errors.extend((i, message) for i, r in enumerate(recs) if r.key is None)
        pos += h.batch_length + LOG_OVERHEAD
    if errors:
        shown = ", ".join(f"RecordError(batchIndex={i}, message='{m}')" for i, m in errors[:3])
        raise InvalidRecordError(
            f"One or more records have been rejected due to {len(errors)} record errors in total, and only "
            f"showing the first three errors at most: [{shown}]",
            tuple(errors),
        )


def recompress(
    records: bytearray | memoryview, headers: list[BatchHeader], compression_type: str, max_message_bytes: int
) -> tuple[bytearray | memoryview, list[BatchHeader]]:
    """Rewrite the batches whose codec differs from the topic's ``compression.type`` (Kafka's broker-side
    recompression); batches already in the right codec stay as they are. Returns the (possibly new)
    record set and its headers. Producer id, epoch, sequences, timestamps and the transactional flag are
    kept, so idempotence and transactions work unchanged. Per-record work, only for such topics. A batch
    that decompresses past ``decompressed_limit`` is a CorruptRecordError (CORRUPT_MESSAGE)."""
    target = 0 if compression_type == "uncompressed" else codec_id(compression_type)
    if all(h.compression == target for h in headers):
        return records, headers
    out = bytearray()
    pos = 0
    for h in headers:
        size = h.size
        if h.compression == target:
            out += records[pos : pos + size]
        else:
            header, recs = decode_batch(
                records, pos, max_decompressed_size=decompressed_limit(h.records_count, max_message_bytes)
            )
            out += build_batch(
                recs,
                base_offset=header.base_offset,
                compression=target,
                timestamp_type_log_append=header.log_append_time,
                producer_id=header.producer_id,
                producer_epoch=header.producer_epoch,
                base_sequence=header.base_sequence,
                transactional=header.is_transactional,
                partition_leader_epoch=header.partition_leader_epoch,
            )
        pos += size
    return out, validate_batches(out)
