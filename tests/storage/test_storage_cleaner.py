"""The log cleaner: Kafka's compaction semantics, bounded work per call, crash-safe swaps, and the
issue's test (1,000,000 updates over 10,000 keys, tombstones for 1,000 of them)."""

from __future__ import annotations

import time

import pytest

from kavka.protocol.records import (
    DELETE_HORIZON_BIT,
    Record,
    build_batch,
    build_control_batch,
    iter_batches,
)
from kavka.storage.checkpoints import read_offset_checkpoint
from kavka.storage.cleaner import CLEANER_OFFSET_CHECKPOINT, LogCleaner
from kavka.storage.config import LogConfig
from kavka.storage.errors import InvalidRecordError, error_code_of
from kavka.storage.fs import OsFileSystem
from kavka.storage.log import PartitionLog
from kavka.storage.manager import LogManager
from kavka.testing.memfs import MemoryFileSystem

NOW = 1_700_000_000_000
DAY = 86_400_000


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def _config(**kw):
    base = dict(
        cleanup_policy="compact",
        segment_bytes=64 * 1024,
        file_delete_delay_ms=0,
        min_cleanable_dirty_ratio=0.5,
        delete_retention_ms=DAY,
    )
    base.update(kw)
    return LogConfig(**base)


def _open(fs, root="/data", name="kv-0", **kw):
    fs.makedirs(f"{root}/{name}")
    return PartitionLog(fs, f"{root}/{name}", _config(**kw), now_ms=NOW)


def _put(log, pairs, *, now=NOW, compression=0, pid=-1, epoch=-1, seq=-1):
    """Append one batch of (key, value) pairs; keys/values given as str or None."""
    recs = [
        Record(i, now, k.encode() if isinstance(k, str) else k, v.encode() if isinstance(v, str) else v)
        for i, (k, v) in enumerate(pairs)
    ]
    r = log.append_as_leader(
        bytearray(build_batch(recs, compression=compression, producer_id=pid, producer_epoch=epoch, base_sequence=seq)),
        leader_epoch=0,
        now_ms=now,
    )
    log.update_high_watermark(log.log_end_offset)
    return r


def _roll(log, now=NOW):
    """Roll, then the deferred flush the manager's tick does (the cleaner only cleans fsynced data)."""
    log.roll(now)
    log.flush_rolled()


def _read_all(log, start=None):
    """(header, records) of every batch from ``start`` (default: log start), as a consumer fetches."""
    out = []
    offset = log.log_start_offset if start is None else start
    while offset < log.high_watermark:
        res = log.read(offset, 1 << 20)
        if not res.size:
            break
        for chunk in res.chunks:
            for _pos, header, records in iter_batches(bytes(chunk)):
                out.append((header, records))
                offset = header.base_offset + header.last_offset_delta + 1
    return out


def _state(batches, state=None, start=0):
    """A consumer's table: apply records in order, tombstones delete."""
    state = {} if state is None else state
    last = -1
    for header, records in batches:
        for r in records:
            if r.offset < start:
                continue
            assert r.offset > last, "offsets must strictly increase"
            last = r.offset
            if header.is_control:
                continue
            if r.value is None:
                state.pop(r.key, None)
            else:
                state[r.key] = r.value
    return state


def _latest(batches):
    """key -> value of its latest record (None for a tombstone)."""
    out = {}
    for header, records in batches:
        if not header.is_control:
            for r in records:
                out[r.key] = r.value
    return out


def _segment_files(fs, d):
    return sorted(n for n in fs.listdir(d) if ".log" in n or "index" in n)


# ------------------------------------------------------------------------------------------ the issue


def test_million_updates_over_ten_thousand_keys_with_tombstones():
    """1,000,000 updates of 10,000 keys, the last update of keys 0-999 a tombstone, in 500 batches of
    2,000 records (codecs rotating), then compaction: the issue's acceptance test."""
    fs = MemoryFileSystem(seed=3)
    clock = Clock()
    log = _open(fs, segment_bytes=4 * 1024 * 1024, delete_retention_ms=DAY)
    n, keys, per_batch = 1_000_000, 10_000, 2_000
    codecs = [0, 3, 4, 2, 0]
    t0 = time.perf_counter()
    for b in range(n // per_batch):
        recs = []
        for i in range(per_batch):
            off = b * per_batch + i
            k = off % keys
            value = None if off >= n - keys and k < 1_000 else b"v%07d-%05d" % (off, k) + b"." * 24
            recs.append(Record(i, NOW, b"key-%05d" % k, value))
        log.append_as_leader(
            bytearray(build_batch(recs, compression=codecs[b % len(codecs)])), leader_epoch=0, now_ms=NOW
        )
    log.roll(NOW)
    log.update_high_watermark(log.log_end_offset)
    build_s = time.perf_counter() - t0
    before_bytes = log.size_in_bytes
    before_segments = [s.base_offset for s in log.segments]

    # a consumer two fifths of the way through when cleaning starts
    midway = 400_000
    consumer = _state(_read_all(log, 0)[: midway // per_batch])

    cleaner = LogCleaner(fs, clock, backoff_ms=0)
    t0 = time.perf_counter()
    stats = cleaner.clean_now("/data", log)
    clean_s = time.perf_counter() - t0
    assert stats.completed and stats.end_offset == log.active_segment.base_offset
    assert stats.map_entries == keys and stats.records_read == n

    after = _read_all(log, 0)
    live = {b"key-%05d" % k for k in range(1_000, keys)}
    view = _state(after)
    assert set(view) == live
    assert all(view[b"key-%05d" % k].startswith(b"v%07d" % (n - keys + k)) for k in range(1_000, keys))
    tombstones = [r for h, rs in after for r in rs if r.value is None]
    assert len(tombstones) == 1_000  # kept until delete.retention.ms after this cleaning
    horizons = {h.base_timestamp for h, rs in after if any(r.value is None for r in rs)}
    assert horizons == {NOW + DAY}
    assert all(h.attributes & DELETE_HORIZON_BIT for h, rs in after if any(r.value is None for r in rs))
    assert log.size_in_bytes < before_bytes / 20
    assert [h.compression for h, rs in after if rs] != [] and {h.compression for h, rs in after if rs} <= set(codecs)

    # the consumer that was mid-way continues where it was and ends with the right table
    state = _state(_read_all(log, midway), consumer, start=midway)
    assert set(state) == live and all(state[k] == view[k] for k in live)
    # reading from an offset that was compacted away gives the next surviving record
    first = next(r.offset for h, rs in _read_all(log, 123_457) for r in rs if r.offset >= 123_457)
    assert first == n - keys  # everything before the last round of updates is gone

    # once delete.retention.ms has passed, the next round removes the tombstones
    clock.now += DAY + 1
    assert cleaner.run_once([("/data", log)], max_ms=None) > 0
    final = _read_all(log, 0)
    assert not [r for h, rs in final for r in rs if r.value is None]
    assert set(_state(final)) == live
    print(
        f"\n1M updates: built in {build_s:.1f}s, {before_bytes / 1e6:.1f} MB -> "
        f"{log.size_in_bytes / 1e6:.2f} MB over {len(before_segments)} segments; cleaned in {clean_s:.2f}s "
        f"({(stats.bytes_read + stats.map_bytes_read) / 1e6 / clean_s:.1f} MB/s on disk, {n / clean_s / 1e6:.2f} M records/s)"
    )


# ---------------------------------------------------------------------------------------- semantics


def test_latest_value_per_key_offsets_kept_and_batches_rebuilt_faithfully():
    fs = MemoryFileSystem()
    log = _open(fs)
    _put(log, [("a", "1"), ("b", "1"), ("c", "1")], compression=4)
    _put(log, [("a", "2"), ("d", "1")], compression=3)
    log.roll(NOW)
    _put(log, [("b", "2")])
    log.roll(NOW)
    before = _read_all(log)
    stats = LogCleaner(fs, Clock()).clean_now("/data", log)
    assert stats.completed
    after = _read_all(log)
    offsets = [r.offset for h, rs in after for r in rs]
    assert offsets == [2, 3, 4, 5]  # c@2, a@3, d@4, b@5
    assert _latest(after) == _latest(before)
    h0, h1 = after[0][0], after[1][0]
    # first batch: base offset and last offset delta preserved, codec kept
    assert (h0.base_offset, h0.last_offset_delta, h0.compression) == (0, 2, 4)
    assert (h1.base_offset, h1.last_offset_delta, h1.compression) == (3, 1, 3)
    # the second batch kept all its records: copied byte for byte
    assert after[1] == before[1]


def test_tombstones_stay_until_delete_retention_after_cleaning():
    fs = MemoryFileSystem()
    clock = Clock()
    log = _open(fs, delete_retention_ms=1000)
    _put(log, [("a", "1"), ("b", "1")])
    _put(log, [("a", None)])
    log.roll(NOW)
    cleaner = LogCleaner(fs, clock, backoff_ms=0)
    cleaner.clean_now("/data", log)
    batches = _read_all(log)
    assert [(r.key, r.value) for h, rs in batches for r in rs] == [(b"b", b"1"), (b"a", None)]
    assert batches[-1][0].attributes & DELETE_HORIZON_BIT and batches[-1][0].base_timestamp == NOW + 1000
    assert batches[-1][1][0].timestamp == NOW  # record timestamps survive the horizon
    clock.now += 999
    assert cleaner.run_once([("/data", log)], max_ms=None) == 0  # not due: nothing dirty, horizon ahead
    clock.now += 1
    cleaner.run_once([("/data", log)], max_ms=None)  # due: a round just for the tombstones
    batches = _read_all(log)
    assert [(r.key, r.value) for h, rs in batches for r in rs] == [(b"b", b"1")]
    # the emptied last batch of the round stays as a header, so the offsets still end where they did
    assert batches[-1][0].records_count == 0 and batches[-1][0].base_offset == 2


def test_dirty_ratio_and_compaction_lags_choose_what_to_clean():
    fs = MemoryFileSystem()
    clock = Clock()
    log = _open(fs, min_cleanable_dirty_ratio=0.5)
    for i in range(4):
        _put(log, [("k", str(i))] * 1 + [("x%d" % i, "v")])
        _roll(log)
    cleaner = LogCleaner(fs, clock, backoff_ms=0)
    assert cleaner.run_once([("/data", log)], max_ms=None) > 0  # all dirty: ratio 1.0
    assert cleaner.checkpoint_of("/data", log) == log.active_segment.base_offset
    assert read_offset_checkpoint(fs, f"/data/{CLEANER_OFFSET_CHECKPOINT}") == {("kv", 0): 8}
    # a little new dirty data: ratio below 0.5, nothing happens
    _put(log, [("k", "new")])
    _roll(log)
    assert cleaner.run_once([("/data", log)], max_ms=None) == 0
    # ...unless the oldest dirty batch is older than max.compaction.lag.ms
    log.update_config(_config(max_compaction_lag_ms=1000))
    clock.now += 1001
    assert cleaner.run_once([("/data", log)], max_ms=None) > 0
    assert _latest(_read_all(log))[b"k"] == b"new"
    # min.compaction.lag.ms keeps recent segments out
    log.update_config(_config(min_compaction_lag_ms=DAY))
    _put(log, [("k", "newer")], now=clock.now)
    _roll(log, clock.now)
    assert cleaner.run_once([("/data", log)], max_ms=None) == 0
    assert log.update_high_watermark(log.log_end_offset) and len(_read_all(log)) >= 2


def test_offset_map_bounded_by_dedupe_buffer_cleans_in_several_rounds():
    fs = MemoryFileSystem()
    log = _open(fs)
    for rnd in range(3):
        for b in range(10):
            _put(log, [("key%03d" % (b * 10 + i), "r%d" % rnd) for i in range(10)])
        log.roll(NOW)
    from kavka.storage.cleaner import MAP_ENTRY_BYTES

    cleaner = LogCleaner(fs, Clock(), dedupe_buffer_size=int(45 * MAP_ENTRY_BYTES / 0.9) + 1, backoff_ms=0)
    assert cleaner.max_map_entries == 45
    ends = []
    while True:
        stats = cleaner.clean_now("/data", log)
        ends.append(stats.end_offset)
        if stats.end_offset == log.active_segment.base_offset:
            break
        assert len(ends) < 20
    assert ends == sorted(ends) and len(ends) > 3
    view = _state(_read_all(log))
    assert view == {b"key%03d" % i: b"r2" for i in range(100)}
    assert sum(len(rs) for h, rs in _read_all(log)) == 100


def test_keyless_records_are_refused_on_compacted_topics():
    fs = MemoryFileSystem()
    log = _open(fs)
    with pytest.raises(InvalidRecordError, match="Compacted topic cannot accept message without key") as e:
        _put(log, [("a", "1"), (None, "2")], compression=3)
    assert error_code_of(e.value) == 87 and log.log_end_offset == 0
    plain = _open(fs, name="plain-0", cleanup_policy="delete")
    assert _put(plain, [(None, "x")]).base_offset == 0


def test_idempotent_producer_dedup_survives_cleaning_and_restarts():
    fs = MemoryFileSystem(seed=5)
    log = _open(fs)
    pid, epoch = 77, 0
    for seq in range(0, 30, 3):
        _put(
            log, [("k", "s%d" % seq), ("k", "s%d" % (seq + 1)), ("k", "s%d" % (seq + 2))], pid=pid, epoch=epoch, seq=seq
        )
    log.roll(NOW)
    _put(log, [("other", "1")])
    LogCleaner(fs, Clock()).clean_now("/data", log)
    batches = _read_all(log)
    producer_batches = [h for h, rs in batches if h.producer_id == pid]
    # only the producer's last batch is left (holding the latest "k"), its sequence intact
    assert [(h.base_sequence, h.last_sequence) for h in producer_batches] == [(27, 29)]
    # a retry of the last batch is a duplicate, the next sequence goes on
    dup = _put(log, [("k", "s27"), ("k", "s28"), ("k", "s29")], pid=pid, epoch=epoch, seq=27)
    assert dup.duplicate and (dup.base_offset, dup.last_offset) == (27, 29)
    # producer state rebuilt from the log alone (snapshots lost) still knows the sequence
    log.close()
    for name in fs.listdir(log.dir):
        if name.endswith(".snapshot"):
            fs.remove(f"{log.dir}/{name}")
    reopened = PartitionLog(fs, log.dir, log.config, now_ms=NOW)
    reopened.update_high_watermark(reopened.log_end_offset)
    dup = _put(reopened, [("k", "s27"), ("k", "s28"), ("k", "s29")], pid=pid, epoch=epoch, seq=27)
    assert dup.duplicate
    ok = _put(reopened, [("k", "s30")], pid=pid, epoch=epoch, seq=30)
    assert not ok.duplicate


def test_an_emptied_last_batch_of_a_producer_stays_as_a_header():
    fs = MemoryFileSystem()
    log = _open(fs)
    _put(log, [("k", "old")], pid=5, epoch=0, seq=0)
    _put(log, [("j", "x")])
    _put(log, [("k", "new")])  # non-idempotent overwrite of k
    log.roll(NOW)
    LogCleaner(fs, Clock()).clean_now("/data", log)
    batches = _read_all(log)
    first = batches[0][0]
    assert (first.producer_id, first.base_sequence, first.records_count, first.base_offset) == (5, 0, 0, 0)
    assert _state(batches) == {b"j": b"x", b"k": b"new"}


def _write_raw_segment(fs, d, batches):
    fs.makedirs(d)
    h = fs.open(f"{d}/{0:020d}.log")
    for b in batches:
        h.append(b)
    h.fsync()
    h.close()


def test_aborted_transactions_and_markers_removed_as_kafka_does():
    fs = MemoryFileSystem()
    d = "/data/txn-0"

    def data(offset, key, value, pid, seq, transactional=True):
        return build_batch(
            [Record(offset, NOW, key, value)],
            base_offset=offset,
            producer_id=pid,
            producer_epoch=0,
            base_sequence=seq,
            transactional=transactional,
        )

    raw = [
        data(0, b"a", b"aborted", 1, 0),
        data(1, b"b", b"committed", 2, 0),
        build_control_batch(False, 1, 0, 0, NOW, base_offset=2),  # abort pid 1
        build_control_batch(True, 2, 0, 0, NOW, base_offset=3),  # commit pid 2
        build_batch([Record(4, NOW, b"c", b"plain")], base_offset=4),
        build_batch([Record(5, NOW, b"b", b"later")], base_offset=5),
        data(6, b"p1", b"x", 1, 1, transactional=False),  # both producers write on later,
        data(7, b"p2", b"x", 2, 1, transactional=False),  # so their old batches may go
    ]
    _write_raw_segment(fs, d, raw)
    clock = Clock()
    log = PartitionLog(fs, d, _config(delete_retention_ms=1000), now_ms=NOW)
    log.roll(NOW)
    log.update_high_watermark(log.log_end_offset)
    cleaner = LogCleaner(fs, clock, backoff_ms=0)

    def view():
        return [
            (h.base_offset, h.is_control, h.records_count, h.attributes & DELETE_HORIZON_BIT)
            for h, rs in _read_all(log)
        ]

    cleaner.clean_now("/data", log)
    # aborted data is gone, the superseded committed value too; both markers stay: the abort marker
    # because its transaction's data was still in the log during this pass, the commit marker likewise
    assert [(o, c) for o, c, _n, _hz in view()] == [
        (2, True),
        (3, True),
        (4, False),
        (5, False),
        (6, False),
        (7, False),
    ]
    assert _state(_read_all(log)) == {b"b": b"later", b"c": b"plain", b"p1": b"x", b"p2": b"x"}
    # next pass: the transactions are empty now, so the markers get a delete horizon...
    cleaner.clean_now("/data", log)
    assert [(o, hz > 0) for o, c, _n, hz in view() if c] == [(2, True), (3, True)]
    # ...and go once it has passed (the horizon makes the log due for a round by itself)
    clock.now += 1001
    cleaner.run_once([("/data", log)], max_ms=None)
    assert [o for o, c, _n, _hz in view() if c] == []
    assert _state(_read_all(log)) == {b"b": b"later", b"c": b"plain", b"p1": b"x", b"p2": b"x"}


def test_transaction_marker_that_is_a_producers_last_word_is_kept():
    fs = MemoryFileSystem()
    d = "/data/txn-0"
    raw = [
        build_batch(
            [Record(0, NOW, b"a", b"1")],
            base_offset=0,
            producer_id=9,
            producer_epoch=3,
            base_sequence=0,
            transactional=True,
        ),
        build_batch([Record(1, NOW, b"a", b"2")], base_offset=1),
        build_control_batch(True, 9, 3, 0, NOW, base_offset=2),
    ]
    _write_raw_segment(fs, d, raw)
    log = PartitionLog(fs, d, _config(delete_retention_ms=0), now_ms=NOW)
    log.roll(NOW)
    log.update_high_watermark(log.log_end_offset)
    cleaner = LogCleaner(fs, Clock(), backoff_ms=0)
    for _ in range(3):
        cleaner.clean_now("/data", log)
    headers = [h for h, rs in _read_all(log)]
    # the data batch is pid 9's last data batch (kept empty); the marker stays while it does
    assert [(h.base_offset, h.producer_id, h.records_count) for h in headers] == [(0, 9, 0), (1, -1, 1), (2, 9, 1)]


# ------------------------------------------------------------------------------- incremental and safe


def _churned_log(fs) -> PartitionLog:
    """A compacted log of 300 batches rewriting 200 keys over and over, rolled: mostly dirty."""
    log = _open(fs, segment_bytes=32 * 1024)
    for b in range(300):
        _put(log, [("k%03d" % ((b * 7 + i) % 200), "v%d-%d" % (b, i)) for i in range(10)])
    _roll(log)
    return log


def test_bounded_work_per_call_interleaves_with_produce_and_fetch():
    fs = MemoryFileSystem()
    clock = Clock()
    log = _churned_log(fs)
    expected = _latest(_read_all(log))
    cleaner = LogCleaner(fs, clock, backoff_ms=0, io_buffer_size=4096)
    calls = 0
    while cleaner.rounds_completed == 0:
        t0 = time.perf_counter()
        cleaner.run_once([("/data", log)], max_bytes=4096, max_ms=None)
        assert time.perf_counter() - t0 < 0.5
        calls += 1
        # the log stays fully usable between slices
        _put(log, [("live%d" % calls, "x")])
        now_latest = _latest(_read_all(log))
        assert all(now_latest[k] == v for k, v in expected.items())
        assert calls < 10_000
    assert calls > 10
    after = _read_all(log)
    latest = _latest(after)
    assert all(latest[k] == v for k, v in expected.items())
    assert sum(1 for _ in after) < 300


def test_round_abandoned_when_retention_removes_its_segments():
    fs = MemoryFileSystem()
    clock = Clock()
    log = _open(fs, segment_bytes=4096, cleanup_policy="compact,delete", retention_ms=DAY)
    for b in range(40):
        _put(log, [("k%d" % (b % 5), "v" * 50)] * 1)
        if b % 10 == 9:
            _roll(log)
    _roll(log)
    cleaner = LogCleaner(fs, clock, backoff_ms=0, io_buffer_size=4096)
    cleaner.run_once([("/data", log)], max_bytes=1, max_ms=None)
    assert cleaner.in_progress is log
    clock.now += 2 * DAY
    assert log.enforce_retention(clock.now) > 0
    cleaner.run_once([("/data", log)], max_ms=None)
    assert not [n for n in fs.listdir(log.dir) if n.endswith((".cleaned", ".swap"))]
    assert log.log_start_offset == log.log_end_offset


class KillingFs(MemoryFileSystem):
    """Raises Killed at the n-th rename after ``arm(n)``: the process dies mid-swap."""

    class Killed(BaseException):
        pass

    def __init__(self, seed=0):
        super().__init__(seed)
        self.countdown = None

    def arm(self, n):
        self.countdown = n

    def rename(self, src, dst):
        if self.countdown is not None:
            if self.countdown == 0:
                self.countdown = None
                raise KillingFs.Killed(f"killed before rename {src} -> {dst}")
            self.countdown -= 1
        super().rename(src, dst)


def _build_for_crash(fs):
    log = _open(fs, segment_bytes=3000)
    for b in range(60):
        _put(log, [("k%02d" % ((b * 3 + i) % 17), "v%d" % (b * 3 + i)) for i in range(3)])
    _put(log, [("k00", None)])
    log.roll(NOW)
    # a first round leaves small cleaned segments, which the next round groups together
    LogCleaner(fs, Clock()).clean_now("/data", log)
    for b in range(20):
        _put(log, [("k%02d" % ((b * 5) % 17), "w%d" % b)])
    log.roll(NOW)
    log.flush()
    return log


@pytest.mark.parametrize("kill_at", range(0, 40))
def test_crash_at_any_point_of_a_swap_leaves_old_or_new_segments(kill_at):
    fs = KillingFs(seed=kill_at)
    log = _build_for_crash(fs)
    before = _read_all(log)
    before_records = {r.offset: (r.key, r.value) for h, rs in before for r in rs}
    expected = _latest(before)
    old_bases = [s.base_offset for s in log.segments]
    cleaner = LogCleaner(fs, Clock())
    fs.arm(kill_at)
    try:
        cleaner.clean_now("/data", log)
        killed = False
    except KillingFs.Killed:
        killed = True
    fs.countdown = None
    fs.crash()
    reopened = PartitionLog(
        fs, log.dir, log.config, now_ms=NOW, recovery_point=log.recovery_point, clean_shutdown=False
    )
    reopened.update_high_watermark(reopened.log_end_offset)
    names = fs.listdir(log.dir)
    assert not [n for n in names if n.endswith((".cleaned", ".swap", ".deleted"))]
    after = _read_all(reopened)
    # nothing invented, nothing duplicated, nothing lost: same latest value per key, offsets increasing
    assert _latest(after) == expected
    offsets = [r.offset for h, rs in after for r in rs]
    assert offsets == sorted(set(offsets))
    assert all(before_records[r.offset] == (r.key, r.value) for h, rs in after for r in rs)
    assert reopened.log_end_offset == log.log_end_offset
    bases = [s.base_offset for s in reopened.segments]
    assert set(bases) <= set(old_bases) | {0}
    if not killed:
        assert len(bases) < len(old_bases)


def test_real_files_clean_and_reopen(tmp_path):
    fs = OsFileSystem()
    root = str(tmp_path)
    log = _open(fs, root=root, segment_bytes=2000)
    for b in range(50):
        _put(log, [("k%d" % (b % 7), "v%d" % b), ("z", "%d" % b)])
    log.roll(NOW)
    expected = _latest(_read_all(log))
    size = log.size_in_bytes
    LogCleaner(fs, Clock()).clean_now(root, log)
    assert log.size_in_bytes < size / 3
    assert not [n for n in fs.listdir(log.dir) if n.endswith((".cleaned", ".swap", ".deleted"))]
    log.close()
    reopened = PartitionLog(fs, log.dir, log.config, now_ms=NOW, clean_shutdown=True)
    reopened.update_high_watermark(reopened.log_end_offset)
    assert _latest(_read_all(reopened)) == expected
    assert reopened.load_info.segments_recovered == 0


def test_log_manager_compacts_internal_topics_through_tick():
    fs = MemoryFileSystem()
    clock = Clock()
    lm = LogManager(fs, ["/a"], LogConfig(), clock, cleaner_backoff_ms=1000)
    lm.startup()
    cfg = _config(segment_bytes=2000)
    logs = [lm.get_or_create_log("__consumer_offsets", p, None, cfg) for p in range(2)]
    plain = lm.get_or_create_log("orders", 0, None, LogConfig(segment_bytes=2000))
    for log in logs + [plain]:
        for b in range(60):
            _put(log, [("group-%d" % (b % 3), "offset-%d" % b)])
    for _ in range(5):
        clock.now += 1000
        lm.tick()
    for log in logs:
        assert sum(1 for _ in _read_all(log)) < 25  # the active segment (~12 batches) is never cleaned
        assert _latest(_read_all(log))[b"group-2"] == b"offset-59"
    assert sum(1 for _ in _read_all(plain)) == 60  # cleanup.policy=delete: untouched
    ckpt = read_offset_checkpoint(fs, f"/a/{CLEANER_OFFSET_CHECKPOINT}")
    assert set(ckpt) == {("__consumer_offsets", 0), ("__consumer_offsets", 1)}
    lm.shutdown()
    lm2 = LogManager(fs, ["/a"], LogConfig(), clock)
    lm2.startup({"__consumer_offsets": cfg})
    log = lm2.get_log("__consumer_offsets", 0)
    assert lm2.cleaner.checkpoint_of("/a", log) == ckpt[("__consumer_offsets", 0)]
    assert lm2.delete_log("__consumer_offsets", 0)
    assert set(read_offset_checkpoint(fs, f"/a/{CLEANER_OFFSET_CHECKPOINT}")) == {("__consumer_offsets", 1)}
    lm2.shutdown()


def test_io_throttle_keeps_the_cleaners_reads_to_the_configured_rate():
    """``log.cleaner.io.max.bytes.per.second``: with a fake clock, each call reads no more than the rate
    refilled since the last one (plus at most one chunk past it), nothing while the budget is spent, and
    the round still finishes; over the whole round the average stays at the rate."""
    fs = MemoryFileSystem()
    clock = Clock()
    log = _churned_log(fs)
    expected = _latest(_read_all(log))
    rate, chunk = 20_000, 4096
    cleaner = LogCleaner(
        fs, clock, backoff_ms=0, io_buffer_size=chunk, max_ms_per_run=None, io_max_bytes_per_second=rate
    )
    start = clock.now
    total = cleaner.run_once([("/data", log)])
    assert 0 < total <= rate + chunk  # a second's worth to begin with
    assert cleaner.run_once([("/data", log)]) == 0  # the clock has not moved: nothing refilled
    while cleaner.rounds_completed == 0:
        clock.now += 100
        n = cleaner.run_once([("/data", log)])
        assert n <= rate // 10 + chunk
        total += n
        assert clock.now - start < 60_000
    seconds = (clock.now - start) / 1000
    assert total <= rate * (seconds + 1) + chunk  # the average holds
    assert seconds >= (total - rate - chunk) / rate  # and it really was held back
    assert _latest(_read_all(log)) == expected

    unthrottled = LogCleaner(
        fs, clock, backoff_ms=0, max_ms_per_run=None, io_max_bytes_per_second=1.7976931348623157e308
    )
    for b in range(300):
        _put(log, [("k%03d" % ((b * 7 + i) % 200), "w%d-%d" % (b, i)) for i in range(10)])
    _roll(log)
    unthrottled.run_once([("/data", log)])  # Kafka's default (Double.MAX_VALUE): no limit, one call
    assert unthrottled.rounds_completed == 1
