"""Producer state after the log start moved and an unclean restart (kill -9: the page cache keeps every
write, the recovery point checkpoint is older than the log start).

A producer snapshot at or below the log start only knows what happened before it; replaying the log
from the log start on top of it would skip the batches and markers in between. Kafka deletes such
snapshots when it reloads (``truncateAndReload``), so a producer with nothing left in the log is unknown
and its next batch is taken at any sequence (KIP-360); these tests pin that down.
"""

from __future__ import annotations

from kavka.protocol.records import Record, build_batch
from kavka.storage.config import LogConfig
from kavka.storage.log import PartitionLog
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import idempotent_batch, make_batch

NOW = 1_700_000_000_000
DIR = "/data/t-0"
CFG = LogConfig(segment_bytes=400)  # a roll every few batches, each with its producer snapshot


def _log(fs: MemoryFileSystem, **kw) -> PartitionLog:
    return PartitionLog(fs, DIR, CFG, now_ms=NOW, **kw)


def _append(log: PartitionLog, batch: bytes) -> None:
    log.append_as_leader(bytearray(batch), leader_epoch=0, now_ms=NOW)
    log.update_high_watermark(log.log_end_offset)


def test_idempotent_producer_continues_after_delete_records_and_kill_9():
    fs = MemoryFileSystem(seed=3)
    fs.makedirs(DIR)
    log = _log(fs)
    seq = 0
    for _ in range(7):
        _append(log, idempotent_batch(7, 0, seq, 1, value_size=60, timestamp=NOW))
        seq += 1
    log.flush_rolled()
    recovery_checkpoint = log.recovery_point  # the last checkpoint written before the kill
    for _ in range(5):
        _append(log, idempotent_batch(7, 0, seq, 1, value_size=60, timestamp=NOW))
        seq += 1
        log.flush_rolled()
    log.advance_log_start_offset(log.high_watermark)  # DeleteRecords to the end
    assert log.producer_state.producers[7].last_seq == seq - 1

    restarted = _log(fs, recovery_point=recovery_checkpoint, log_start_offset=log.log_start_offset)
    assert 7 not in restarted.producer_state.producers  # nothing of it is left in the log
    _append(restarted, idempotent_batch(7, 0, seq, 1, value_size=60, timestamp=NOW))  # taken (KIP-360)
    assert restarted.producer_state.producers[7].last_seq == seq


def test_transaction_closed_before_the_log_start_stays_closed_after_kill_9():
    fs = MemoryFileSystem(seed=3)
    fs.makedirs(DIR)
    log = _log(fs)
    _append(
        log,
        build_batch(
            [Record(0, NOW, b"k", b"v" * 60)], producer_id=9, producer_epoch=0, base_sequence=0, transactional=True
        ),
    )
    for _ in range(5):  # rolls: their snapshots hold producer 9's open transaction
        _append(log, make_batch(1, value_size=60, timestamp=NOW))
    log.flush_rolled()
    recovery_checkpoint = log.recovery_point
    log.append_control_marker(9, 0, True, 0, NOW)
    log.update_high_watermark(log.log_end_offset)
    for _ in range(2):
        _append(log, make_batch(1, value_size=60, timestamp=NOW))
    log.advance_log_start_offset(log.high_watermark)

    restarted = _log(fs, recovery_point=recovery_checkpoint, log_start_offset=log.log_start_offset)
    for _ in range(3):
        _append(restarted, make_batch(1, value_size=60, timestamp=NOW))
    assert restarted.ongoing_transactions() == []
    assert restarted.last_stable_offset == restarted.high_watermark == log.log_start_offset + 3
