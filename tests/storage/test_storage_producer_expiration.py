"""Producer id expiration (Kafka's ``removeExpiredProducers``, ``producer.id.expiration.ms``): which
producers go, what an expired producer's next write gets, restarts, the log manager's schedule, and the
cleaner letting an expired producer's last batch go."""

from __future__ import annotations

import pytest

from kavka.protocol.records import Record, build_batch, iter_batches
from kavka.storage.cleaner import LogCleaner
from kavka.storage.config import LogConfig
from kavka.storage.errors import OutOfOrderSequenceError
from kavka.storage.log import PartitionLog
from kavka.storage.manager import LogManager
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import idempotent_batch

NOW = 1_700_000_000_000
DIR = "/data/t-0"
EXPIRY = 86_400_000  # Kafka's default producer.id.expiration.ms


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def _open(fs=None, config=None, *, now=NOW, clean=False, recovery_point=0, expiry=EXPIRY):
    if fs is None:
        fs = MemoryFileSystem(seed=5)
        fs.makedirs(DIR)
    return fs, PartitionLog(
        fs,
        DIR,
        config or LogConfig(),
        now_ms=now,
        clean_shutdown=clean,
        recovery_point=recovery_point,
        producer_id_expiration_ms=expiry,
    )


def _send(log, pid, seq, *, epoch=0, n=1, ts=NOW, now=None, transactional=False):
    batch = build_batch(
        [Record(i, ts, b"k%d" % (seq + i), b"v") for i in range(n)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        transactional=transactional,
    )
    return log.append_as_leader(bytearray(batch), leader_epoch=0, now_ms=ts if now is None else now)


def test_expired_when_idle_for_the_expiration_time_measured_from_the_last_batch_timestamp():
    _fs, log = _open()
    _send(log, 1, 0, ts=NOW)
    _send(log, 2, 0, ts=NOW + 1000)
    assert log.remove_expired_producers(NOW + EXPIRY - 1) == []  # idle for less than the expiration
    assert log.remove_expired_producers(NOW + EXPIRY) == [1]  # Kafka: now - lastTimestamp >= expiration
    assert set(log.producer_state.producers) == {2}
    assert log.remove_expired_producers(NOW + 1000 + EXPIRY, expiration_ms=EXPIRY) == [2]
    assert log.producer_state.producers == {}


def test_last_timestamp_is_the_batch_max_timestamp_or_the_log_append_time():
    _fs, log = _open()
    _send(log, 1, 0, ts=NOW - EXPIRY, now=NOW)  # CreateTime a day old (within message.timestamp bounds)
    assert log.producer_state.producers[1].last_timestamp == NOW - EXPIRY
    assert log.remove_expired_producers(NOW) == [1]
    _fs, log = _open(config=LogConfig(message_timestamp_type="LogAppendTime"))
    _send(log, 1, 0, ts=NOW - EXPIRY, now=NOW)  # stamped with the broker's time
    assert log.producer_state.producers[1].last_timestamp == NOW
    assert log.remove_expired_producers(NOW) == []


def test_a_producer_with_an_open_transaction_never_expires():
    _fs, log = _open()
    _send(log, 1, 0, transactional=True)
    _send(log, 2, 0)
    assert log.remove_expired_producers(NOW + 100 * EXPIRY) == [2]
    assert 1 in log.producer_state.producers and log.ongoing_transactions() == [(1, 0)]
    # its marker closes the transaction and stamps the producer's last timestamp with its own time
    log.append_control_marker(1, 0, True, 0, NOW + 5 * EXPIRY)
    assert log.producer_state.producers[1].last_timestamp == NOW + 5 * EXPIRY
    assert log.remove_expired_producers(NOW + 6 * EXPIRY - 1) == []
    assert log.remove_expired_producers(NOW + 6 * EXPIRY) == [1]


def test_an_expired_producer_may_continue_from_any_sequence_and_is_no_longer_deduplicated():
    """What Kafka 2.5+ does (KIP-360): no state, so any sequence is accepted and UNKNOWN_PRODUCER_ID is
    never returned; a retry of a batch written before the expiration is written again."""
    _fs, log = _open()
    first = _send(log, 7, 0, n=3)
    _send(log, 7, 3, n=2)
    with pytest.raises(OutOfOrderSequenceError):
        _send(log, 7, 9)
    assert _send(log, 7, 3, n=2).duplicate
    log.remove_expired_producers(NOW + EXPIRY)
    later = NOW + EXPIRY
    r = _send(log, 7, 9, ts=later)  # a gap, but nothing is known of producer 7 any more
    assert not r.duplicate and r.base_offset == 5
    assert log.producer_state.producers[7].last_seq == 9
    with pytest.raises(OutOfOrderSequenceError):  # from here on the sequence is checked again
        _send(log, 7, 11, ts=later)
    retry = _send(log, 7, 10, ts=later)
    assert not retry.duplicate and retry.base_offset == 6
    # a different epoch after the expiration is accepted whatever its sequence, too
    log.remove_expired_producers(later + EXPIRY)
    assert not _send(log, 7, 4, epoch=3, ts=later + EXPIRY).duplicate
    assert first.base_offset == 0


def test_snapshots_after_expiration_lack_the_producer_and_a_restart_keeps_it_expired():
    fs, log = _open()
    _send(log, 1, 0)
    _send(log, 2, 0, ts=NOW + EXPIRY)
    log.remove_expired_producers(NOW + EXPIRY)
    log.close()
    _fs, again = _open(fs, clean=True, recovery_point=log.log_end_offset, now=NOW + EXPIRY)
    assert set(again.producer_state.producers) == {2}
    assert again.load_info.segments_recovered == 0


def test_load_drops_expired_producers_of_the_snapshot_as_kafka_does():
    fs, log = _open()
    _send(log, 1, 0)
    _send(log, 2, 0, transactional=True)
    _send(log, 3, 0, ts=NOW + 10)
    log.close()  # snapshot at the log end holds all three
    leo = log.log_end_offset
    log2 = _open(fs, clean=True, recovery_point=leo, now=NOW + EXPIRY - 1)[1]
    assert set(log2.producer_state.producers) == {1, 2, 3}
    log2.close_handles()
    log3 = _open(fs, clean=True, recovery_point=leo, now=NOW + EXPIRY)[1]
    assert set(log3.producer_state.producers) == {2, 3}  # the open transaction stays
    log3.close_handles()
    log4 = _open(fs, clean=True, recovery_point=leo, now=NOW + EXPIRY, expiry=None)[1]
    assert set(log4.producer_state.producers) == {1, 2, 3}  # no expiration configured: nothing dropped


def test_producers_replayed_after_the_snapshot_are_kept_until_the_next_check():
    """Kafka filters the snapshot it loads, not the batches it replays after it."""
    fs, log = _open()
    _send(log, 1, 0)
    log.roll(NOW)  # snapshot at offset 1 holds producer 1
    log.flush_rolled()
    _send(log, 2, 0)
    log.flush()
    fs.crash()
    _fs, again = _open(fs, recovery_point=1, now=NOW + EXPIRY)
    assert set(again.producer_state.producers) == {2}  # 1 came from the snapshot, 2 from the replay
    assert again.remove_expired_producers(NOW + EXPIRY) == [2]


def test_log_manager_removes_expired_producers_every_check_interval():
    fs = MemoryFileSystem()
    clock = Clock()
    lm = LogManager(
        fs,
        ["/a"],
        LogConfig(),
        clock,
        cleaner_enable=False,
        producer_id_expiration_ms=60_000,
        producer_id_expiration_check_interval_ms=100_000,
    )
    lm.startup()
    logs = [lm.get_or_create_log("t", p) for p in range(2)]
    for i, log in enumerate(logs):
        log.append_as_leader(bytearray(idempotent_batch(10 + i, 0, 0, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    clock.now = NOW + 60_000
    lm.tick()  # past the expiration, but the first check is one interval after startup
    assert all(log.producer_state.producers for log in logs)
    clock.now = NOW + 100_000
    lm.tick()
    assert all(not log.producer_state.producers for log in logs)
    # the expiration is a live setting (dynamic in Kafka)
    logs[0].append_as_leader(
        bytearray(idempotent_batch(5, 0, 0, timestamp=clock.now)), leader_epoch=0, now_ms=clock.now
    )
    lm.producer_id_expiration_ms = 1
    clock.now += 100_000
    lm.tick()
    assert not logs[0].producer_state.producers
    # logs opened by the manager drop expired producers of their snapshots
    logs[1].append_as_leader(
        bytearray(idempotent_batch(6, 0, 0, timestamp=clock.now)), leader_epoch=0, now_ms=clock.now
    )
    lm.shutdown()
    clock.now += 5
    lm2 = LogManager(fs, ["/a"], LogConfig(), clock, cleaner_enable=False, producer_id_expiration_ms=5)
    lm2.startup()
    assert not lm2.get_log("t", 1).producer_state.producers


def _cleaner_log(fs):
    fs.makedirs("/data/kv-0")
    cfg = LogConfig(
        cleanup_policy="compact", segment_bytes=64 * 1024, file_delete_delay_ms=0, min_cleanable_dirty_ratio=0.5
    )
    return PartitionLog(fs, "/data/kv-0", cfg, now_ms=NOW, producer_id_expiration_ms=EXPIRY)


def _batches(log):
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        res = log.read(offset, 1 << 20)
        for chunk in res.chunks:
            for _pos, header, records in iter_batches(bytes(chunk)):
                out.append((header, records))
                offset = header.base_offset + header.last_offset_delta + 1
    return out


@pytest.mark.parametrize("expired", [False, True])
def test_cleaner_keeps_the_last_batch_of_active_producers_only(expired):
    """Kafka's cleaner retains (possibly emptied) the last batch of each producer in the producer state,
    so its sequence survives; an expired producer is not in it any more, so its batch is cleaned away."""
    fs = MemoryFileSystem()
    log = _cleaner_log(fs)
    for seq in range(3):
        _send(log, 42, seq)  # keys k0, k1, k2
    for key in (b"k0", b"k1", b"k2"):  # every key of producer 42 overwritten by a plain producer
        log.append_as_leader(bytearray(build_batch([Record(0, NOW, key, b"new")])), leader_epoch=0, now_ms=NOW)
    log.update_high_watermark(log.log_end_offset)
    log.roll(NOW)
    if expired:
        assert log.remove_expired_producers(NOW + EXPIRY) == [42]
    LogCleaner(fs, Clock(NOW + EXPIRY)).clean_now("/data", log)
    producer_batches = [
        (h.base_offset, h.base_sequence, h.records_count) for h, _recs in _batches(log) if h.producer_id == 42
    ]
    if expired:
        assert producer_batches == []
    else:
        assert producer_batches == [(2, 2, 0)]  # its last batch, emptied, keeps sequence 2
        assert _send(log, 42, 3, ts=NOW + 10).base_offset == log.log_end_offset - 1
    log.close()
