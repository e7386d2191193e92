"""Builders of valid RecordBatch v2 bytes for storage tests (on top of kavka.protocol.records)."""

from __future__ import annotations

from kavka.protocol.records import Record, build_batch


def make_batch(
    n: int = 1,
    *,
    value_size: int = 10,
    timestamp: int = 1_000,
    timestamps: list[int] | None = None,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    compression: int = 0,
) -> bytes:
    """One batch of ``n`` records (offsets 0..n-1, to be reassigned by the log)."""
    ts = timestamps if timestamps is not None else [timestamp + i for i in range(n)]
    records = [Record(offset=i, timestamp=ts[i], key=b"k%d" % i, value=bytes([i % 251]) * value_size) for i in range(n)]
    return build_batch(
        records,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        compression=compression,
    )


def idempotent_batch(pid: int, epoch: int, seq: int, n: int = 1, **kw) -> bytes:
    return make_batch(n, producer_id=pid, producer_epoch=epoch, base_sequence=seq, **kw)
