"""The follower side of replication (Kafka's ``AbstractFetcherThread`` / ``ReplicaFetcherThread``,
without the thread): what a follower asks its leader for, and what it does with each partition's answer.

Pure and synchronous over the partition's log (kavka.storage.log.PartitionLog); the server's fetcher
task (kavka.server.replica_fetcher) sends the requests and feeds the answers in.

A follower fetches from its log end offset with ``last_fetched_epoch`` = its latest leader epoch
(Fetch v12+, KIP-320 / KIP-595's truncation by fetch): when the leader's log diverged from ours at
that epoch, the leader answers ``diverging_epoch`` (the largest epoch it knows at or below ours and
where that epoch ends in its log) instead of records, and we truncate to where the two logs agree --
the smaller of that end offset and our own end offset for that epoch -- then fetch again. Records are
appended as the leader wrote them (offsets and epochs kept, producer state replayed, so idempotence and
open transactions survive a change of leader); the high watermark follows the leader's, never past our
log end.

OFFSET_OUT_OF_RANGE (the leader cannot find our last epoch, or our log ends past its end or before its
start): the caller learns the leader's log end offset (ListOffsets LATEST as a replica) and calls
:func:`truncate_after_out_of_range`; a leader whose log starts past our end needs no question: we start
again, empty, at its log start offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kavka.protocol.api import ErrorCode
from kavka.storage.log import PartitionLog

__all__ = ["FetchOutcome", "fetch_position", "apply_partition_response", "truncate_after_out_of_range"]


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one partition's answer did: ``appended`` bytes, ``truncated_to`` (an offset, or -1),
    ``error`` (a Kafka error code the caller backs off on, NONE otherwise), ``out_of_range`` when the
    caller must learn the leader's log end offset and call :func:`truncate_after_out_of_range`."""

    appended: int = 0
    truncated_to: int = -1
    error: int = ErrorCode.none
    out_of_range: bool = False
    leader_high_watermark: int = -1


def fetch_position(log: PartitionLog) -> tuple[int, int]:
    """(fetch offset, last fetched epoch) for the next Fetch of ``log``."""
    epoch = log.latest_epoch
    return log.log_end_offset, (epoch if epoch >= 0 else -1)


def _records_bytes(records: Any) -> bytes | bytearray | memoryview | None:
    if records is None:
        return None
    if isinstance(records, bytes | bytearray | memoryview):
        return records
    return bytes(records)


def apply_partition_response(log: PartitionLog, part: Any, now_ms: int) -> FetchOutcome:
    """Apply one partition of a Fetch response (kio's entity: ``error_code``, ``high_watermark``,
    ``log_start_offset``, ``records``, ``diverging_epoch``) to the follower's ``log``."""
    code = part.error_code
    if code == ErrorCode.offset_out_of_range:
        if part.log_start_offset > log.log_end_offset:
            log.truncate_fully_and_start_at(part.log_start_offset, now_ms)
            return FetchOutcome(truncated_to=part.log_start_offset)
        return FetchOutcome(out_of_range=True)
    if code != ErrorCode.none:
        return FetchOutcome(error=code)
    diverging = getattr(part, "diverging_epoch", None)
    if diverging is not None and diverging.end_offset >= 0:
        epoch, end = log.end_offset_for_epoch(diverging.epoch)
        target = diverging.end_offset if epoch < 0 else min(diverging.end_offset, end)
        target = min(target, log.log_end_offset)
        log.truncate_to(target, now_ms)
        return FetchOutcome(truncated_to=target)
    records = _records_bytes(part.records)
    appended = 0
    if records:
        log.append_as_follower(records, now_ms=now_ms)
        appended = len(records)
    hw = part.high_watermark
    if hw > log.high_watermark:  # never back: a new leader may not have caught up with ours yet
        log.update_high_watermark(min(hw, log.log_end_offset))
    if part.log_start_offset > log.log_start_offset:
        log.advance_log_start_offset(min(part.log_start_offset, log.high_watermark), now_ms)
    return FetchOutcome(appended=appended, leader_high_watermark=hw)


def truncate_after_out_of_range(
    log: PartitionLog, leader_end_offset: int, leader_start_offset: int, now_ms: int
) -> int:
    """After OFFSET_OUT_OF_RANGE, with the leader's log end and start offsets (Kafka's
    ``handleOutOfRangeError``): truncate to the leader's end if ours is past it; otherwise our log cannot
    be matched to the leader's by epochs (the leader knows nothing of our last epoch, or has deleted what
    we miss), so start again, empty, at the leader's log start. Returns our new log end offset."""
    if leader_end_offset < log.log_end_offset:
        log.truncate_to(max(leader_end_offset, 0), now_ms)
    else:
        log.truncate_fully_and_start_at(leader_start_offset, now_ms)
    return log.log_end_offset
