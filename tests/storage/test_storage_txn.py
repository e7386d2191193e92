"""Transactions in the log: LSO, end-transaction markers, epoch fencing, the .txnindex, restart and crash."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kavka.protocol.batch import compute_crc
from kavka.protocol.records import decode_batch, parse_end_txn_marker
from kavka.storage.config import LogConfig
from kavka.storage.errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)
from kavka.storage.log import PartitionLog
from kavka.storage.txn_index import ENTRY_SIZE
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch

NOW = 1_700_000_000_000
DIR = "/data/t-0"


def _open(fs, config=None, **kw):
    return PartitionLog(fs, DIR, config or LogConfig(), now_ms=NOW, **kw)


def _fresh(config=None, seed=1):
    fs = MemoryFileSystem(seed=seed)
    fs.makedirs(DIR)
    return fs, _open(fs, config)


class Producer:
    """A transactional producer's batches: sequence numbers kept per epoch."""

    def __init__(self, pid: int, epoch: int = 0):
        self.pid, self.epoch, self.seq = pid, epoch, 0

    def batch(self, n=1, transactional=True):
        data = make_batch(n, producer_id=self.pid, producer_epoch=self.epoch, base_sequence=self.seq, timestamp=NOW)
        self.seq += n
        if transactional:
            data = bytearray(data)
            attrs = struct.unpack_from(">h", data, 21)[0] | 0x10
            struct.pack_into(">h", data, 21, attrs)
            struct.pack_into(">I", data, 17, compute_crc(data, 0, len(data)))
        return bytearray(data)

    def send(self, log, n=1, transactional=True):
        return _hw(log, log.append_as_leader(self.batch(n, transactional), leader_epoch=0, now_ms=NOW))

    def bump(self):
        self.epoch += 1
        self.seq = 0


def _hw(log, result):
    """The broker moves the high watermark to the log end after each append (single node)."""
    log.update_high_watermark(log.log_end_offset)
    return result


def _plain(log, n=1):
    return _hw(log, log.append_as_leader(bytearray(make_batch(n, timestamp=NOW)), leader_epoch=0, now_ms=NOW))


def _marker(log, p: Producer, commit: bool, coordinator_epoch: int = 0):
    return _hw(log, log.append_control_marker(p.pid, p.epoch, commit, coordinator_epoch, NOW))


# ---------------------------------------------------------------------------------------------- basics


def test_lso_stops_at_open_transaction_and_moves_on_commit():
    fs, log = _fresh()
    a, b = Producer(1), Producer(2)
    _plain(log, 2)
    assert log.last_stable_offset == log.high_watermark == 2
    first = a.send(log, 3).base_offset
    _plain(log)
    b.send(log, 2)
    assert log.high_watermark == 8
    assert log.last_stable_offset == first == 2
    assert log.ongoing_transactions() == [(1, 2), (2, 6)]
    r = _marker(log, a, commit=True)
    assert r.base_offset == 8 and log.log_end_offset == 9
    assert log.last_stable_offset == 6  # b is still open
    _marker(log, b, commit=True)
    assert log.last_stable_offset == log.high_watermark == 10
    assert log.collect_aborted_transactions(0, 10) == []
    # the marker is a control batch holding a COMMIT record with the coordinator epoch
    data = bytes(log.read(8, 10_000).chunks[0])
    h, recs = decode_batch(data)
    assert h.is_control and h.is_transactional and h.producer_id == 1 and h.base_offset == 8
    assert parse_end_txn_marker(recs[0]).commit


def test_lso_waits_for_the_high_watermark_past_the_marker():
    fs, log = _fresh()
    a = Producer(7)
    log.append_as_leader(a.batch(2), leader_epoch=0, now_ms=NOW)
    log.update_high_watermark(1)
    log.append_control_marker(7, 0, True, 0, NOW)
    assert log.last_stable_offset == 0  # marker not replicated yet
    log.update_high_watermark(2)
    assert log.last_stable_offset == 0
    log.update_high_watermark(3)
    assert log.last_stable_offset == 3


def test_abort_is_indexed_in_kafka_format():
    fs, log = _fresh()
    a, b = Producer(10), Producer(11)
    a.send(log, 2)  # 0-1
    b.send(log, 1)  # 2
    a.send(log, 1)  # 3
    _marker(log, a, commit=False)  # 4; LSO after it: b's first offset
    _marker(log, b, commit=False)  # 5
    assert log.last_stable_offset == 6
    assert log.collect_aborted_transactions(0, 6) == [(10, 0), (11, 2)]
    assert log.collect_aborted_transactions(3, 4) == [(10, 0), (11, 2)]
    assert log.collect_aborted_transactions(5, 6) == [(10, 0), (11, 2)][1:]
    raw = fs.read_bytes(log.active_segment.txn_index_path)
    assert len(raw) == 2 * ENTRY_SIZE == 68
    assert struct.unpack(">hqqqq", raw[:34]) == (0, 10, 0, 4, 2)
    assert struct.unpack(">hqqqq", raw[34:]) == (0, 11, 2, 5, 6)


def test_empty_transaction_marker_changes_nothing_and_no_index_file():
    fs, log = _fresh()
    a = Producer(3)
    _plain(log)
    _marker(log, a, commit=False)
    assert log.last_stable_offset == 2
    assert not fs.exists(log.active_segment.txn_index_path)


def test_non_transactional_write_inside_a_transaction_is_refused():
    fs, log = _fresh()
    a = Producer(4)
    a.send(log)
    with pytest.raises(InvalidTxnStateError) as e:
        a.send(log, transactional=False)
    assert e.value.error_code == 48


def test_epoch_fencing_of_markers_and_zombies():
    fs, log = _fresh()
    a = Producer(5, epoch=3)
    a.send(log)
    with pytest.raises(InvalidProducerEpochError):
        log.append_control_marker(5, 2, True, 0, NOW)  # from before a fence
    # the coordinator aborts with a bumped epoch (the producer timed out): the old epoch is fenced
    _hw(log, log.append_control_marker(5, 4, False, 0, NOW))
    assert log.last_stable_offset == log.log_end_offset
    with pytest.raises(InvalidProducerEpochError):
        a.send(log)  # zombie at epoch 3
    a.bump()
    a.epoch = 4
    a.send(log)
    # a coordinator with an older coordinator epoch is fenced
    _hw(log, log.append_control_marker(5, 4, True, 7, NOW))
    a.send(log)
    with pytest.raises(TransactionCoordinatorFencedError) as e:
        _hw(log, log.append_control_marker(5, 4, True, 6, NOW))
    assert e.value.error_code == 52


def test_produce_with_newer_epoch_fences_older():
    fs, log = _fresh()
    old = Producer(6, epoch=0)
    old.send(log)
    new = Producer(6, epoch=1)
    new.send(log)
    with pytest.raises(InvalidProducerEpochError):
        old.send(log)
    with pytest.raises(InvalidProducerEpochError):
        _hw(log, log.append_control_marker(6, 0, True, 0, NOW))
    with pytest.raises(OutOfOrderSequenceError):  # a bumped epoch starts at sequence 0
        log.append_as_leader(
            bytearray(make_batch(1, producer_id=6, producer_epoch=2, base_sequence=5, timestamp=NOW)),
            leader_epoch=0,
            now_ms=NOW,
        )


def test_retried_transactional_batch_is_a_duplicate():
    fs, log = _fresh()
    a = Producer(8)
    batch = a.batch(2)
    first = log.append_as_leader(bytearray(batch), leader_epoch=0, now_ms=NOW)
    again = log.append_as_leader(bytearray(batch), leader_epoch=0, now_ms=NOW)
    assert again.duplicate and again.base_offset == first.base_offset
    assert log.ongoing_transactions() == [(8, 0)]


def test_read_committed_bound_and_index_across_segments():
    fs, log = _fresh(LogConfig(segment_bytes=400))
    a, b = Producer(1), Producer(2)
    a.send(log)
    for _ in range(6):
        _plain(log)
        b.send(log)
    assert log.num_segments > 2
    _marker(log, b, commit=False)
    assert log.last_stable_offset == 0
    _marker(log, a, commit=False)
    end = log.log_end_offset
    assert log.last_stable_offset == end
    # b's abort lives in the last segment; a fetch from the first segment finds both
    assert sorted(log.collect_aborted_transactions(0, end)) == [(1, 0), (2, 2)]
    assert sorted(log.collect_aborted_transactions(5, 6)) == [(1, 0), (2, 2)]


def test_truncation_drops_index_entries_and_reopens_transactions():
    fs, log = _fresh()
    a = Producer(1)
    a.send(log, 2)
    _marker(log, a, commit=False)  # 2
    a.send(log)  # 3
    assert log.last_stable_offset == 3
    log.truncate_to(2)
    assert log.log_end_offset == 2
    assert log.collect_aborted_transactions(0, 2) == []
    assert log.ongoing_transactions() == [(1, 0)]
    assert log.last_stable_offset == 0
    assert fs.read_bytes(log.active_segment.txn_index_path) == b""


# ---------------------------------------------------------------------------------------- restarts


def _state(log):
    return (
        log.log_end_offset,
        log.last_stable_offset,
        log.ongoing_transactions(),
        log.collect_aborted_transactions(log.log_start_offset, log.log_end_offset),
    )


def test_snapshot_carries_open_transactions_across_clean_restart():
    fs, log = _fresh(LogConfig(segment_bytes=500))
    a, b = Producer(1), Producer(2)
    a.send(log, 2)
    for _ in range(5):
        _plain(log)
    b.send(log)
    _marker(log, a, commit=False)
    before = _state(log)
    log.close()
    again = _open(fs, LogConfig(segment_bytes=500), clean_shutdown=True, recovery_point=before[0])
    assert again.load_info.segments_recovered == 0
    assert _state(again) == before
    assert before[1] == 7 and before[2] == [(2, 7)]
    # the snapshot holds b's open transaction in Kafka's field
    e = again.producer_state.producers[2]
    assert e.current_txn_first_offset == 7
    # and the coordinator can still finish it
    _hw(again, again.append_control_marker(2, 0, True, 0, NOW))
    assert again.last_stable_offset == again.log_end_offset


def test_kill_9_rebuilds_open_transactions_and_the_index():
    fs, log = _fresh(LogConfig(segment_bytes=500))
    a, b, c = Producer(1), Producer(2), Producer(3)
    a.send(log)
    for i in range(8):
        _plain(log)
        if i == 2:
            b.send(log)
            _marker(log, b, commit=False)
        if i == 5:
            c.send(log)
    before = _state(log)
    assert before[2] == [(1, 0), (3, c_first := before[2][1][1])] and c_first > 0
    log.flush()  # kill -9 keeps the page cache: model it as everything durable, with stale checkpoints
    fs.crash(torn=False)
    again = _open(fs, LogConfig(segment_bytes=500), clean_shutdown=False, recovery_point=0)
    assert _state(again) == before
    _hw(again, again.append_control_marker(1, 0, False, 0, NOW))
    _hw(again, again.append_control_marker(3, 0, False, 0, NOW))
    assert again.last_stable_offset == again.log_end_offset
    assert len(again.collect_aborted_transactions(0, again.log_end_offset)) == 3


def test_corrupt_txn_index_is_rebuilt():
    fs, log = _fresh()
    a = Producer(1)
    a.send(log)
    _marker(log, a, commit=False)
    path = log.active_segment.txn_index_path
    log.close()
    h = fs.open(path)
    h.append(b"\x00" * 5)
    h.fsync()
    h.close()
    again = _open(fs, clean_shutdown=True, recovery_point=2)
    assert again.collect_aborted_transactions(0, 2) == [(1, 0)]
    assert len(fs.read_bytes(path)) == ENTRY_SIZE


# -------------------------------------------------------------------------------- property: a model


class Model:
    """What the log must answer, from the events alone: ``(kind, pid, first, last)`` per batch."""

    def __init__(self):
        self.events: list[tuple[str, int, int, int]] = []

    def add(self, kind, pid, first, last):
        self.events.append((kind, pid, first, last))

    def answers(self, leo):
        open_: dict[int, int] = {}
        aborted = []
        for kind, pid, first, _last in self.events:
            if first >= leo:
                break
            if kind == "txn":
                open_.setdefault(pid, first)
            elif kind in ("commit", "abort"):
                start = open_.pop(pid, None)
                if start is not None and kind == "abort":
                    aborted.append((pid, start, first))
        lso = min(open_.values(), default=leo)
        return lso, sorted((f, p) for p, f in open_.items()), aborted


def _collect_model(aborted, start, upper):
    if upper <= start:
        return []
    return sorted((p, f) for p, f, last in aborted if last >= start and f < upper)


def _check(log, model, rng):
    leo = log.log_end_offset
    lso, ongoing, aborted = model.answers(leo)
    assert log.last_stable_offset == lso
    assert sorted((f, p) for p, f in log.ongoing_transactions()) == ongoing
    for _ in range(6):
        start = rng.randint(log.log_start_offset, leo)
        upper = rng.randint(start, leo)
        assert sorted(log.collect_aborted_transactions(start, upper)) == _collect_model(aborted, start, upper)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80), segment_bytes=st.sampled_from([300, 700, 10**6]))
def test_random_interleavings_match_the_model(seed, n, segment_bytes):
    rng = random.Random(seed)
    config = LogConfig(segment_bytes=segment_bytes, index_interval_bytes=100)
    fs, log = _fresh(config, seed=seed)
    producers = [Producer(pid) for pid in range(1, 5)]
    model = Model()
    in_txn: set[int] = set()
    checkpoint = 0
    for _ in range(n):
        op = rng.random()
        p = rng.choice(producers)
        if op < 0.45:
            r = p.send(log, rng.randint(1, 3))
            in_txn.add(p.pid)
            model.add("txn", p.pid, r.base_offset, r.last_offset)
        elif op < 0.6:
            r = _plain(log, rng.randint(1, 2))
            model.add("plain", -1, r.base_offset, r.last_offset)
        elif op < 0.85:
            commit = rng.random() < 0.5
            r = _marker(log, p, commit)
            in_txn.discard(p.pid)
            model.add("commit" if commit else "abort", p.pid, r.base_offset, r.base_offset)
        elif op < 0.92:
            if p.pid not in in_txn:
                r = p.send(log, 1, transactional=False)
                model.add("idem", p.pid, r.base_offset, r.last_offset)
        elif op < 0.96:
            log.close()
            log = _open(fs, config, clean_shutdown=True, recovery_point=log.recovery_point)
        else:
            checkpoint = rng.choice([0, checkpoint, log.recovery_point])
            log.flush()
            fs.crash(torn=False)
            log = _open(fs, config, clean_shutdown=False, recovery_point=checkpoint)
        _check(log, model, rng)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_power_loss_keeps_a_consistent_prefix(seed, n):
    rng = random.Random(seed)
    config = LogConfig(segment_bytes=rng.choice([300, 800, 10**6]), index_interval_bytes=100)
    fs, log = _fresh(config, seed=seed)
    producers = [Producer(pid) for pid in range(1, 4)]
    model = Model()
    checkpoint = 0
    for _ in range(n):
        p = rng.choice(producers)
        if rng.random() < 0.6:
            r = p.send(log, rng.randint(1, 3))
            model.add("txn", p.pid, r.base_offset, r.last_offset)
        else:
            commit = rng.random() < 0.5
            r = _marker(log, p, commit)
            model.add("commit" if commit else "abort", p.pid, r.base_offset, r.base_offset)
        if rng.random() < 0.2:
            log.flush()
        if rng.random() < 0.2:
            checkpoint = log.recovery_point
    fs.crash(torn=True, rng=rng)
    log = _open(fs, config, clean_shutdown=False, recovery_point=checkpoint)
    _check(log, model, rng)
    # the log goes on: every open transaction can be aborted and the LSO reaches the end
    for pid, _first in log.ongoing_transactions():
        _hw(log, log.append_control_marker(pid, 0, False, 0, NOW))
    assert log.last_stable_offset == log.log_end_offset
