"""The log cleaner (Kafka's ``LogCleaner`` / ``LogCleanerManager`` / ``Cleaner``): compaction of logs whose
``cleanup.policy`` contains ``compact`` (``compact`` and ``compact,delete``).

Why incremental work units on the broker's thread, not a worker thread
-----------------------------------------------------------------------
The broker is one asyncio thread and ``PartitionLog`` is single-owner (not thread-safe). Cleaning is
per-record Python work (decode, dict lookups, re-encode), so a worker thread would not run in parallel
with the event loop -- it would take the GIL in 5 ms slices at moments nobody chooses, and every touch
of a live log (segment list, producer state, the swap) would need locks the rest of storage does not
have. Instead the cleaner is a resumable generator: ``run_once()`` (called from ``LogManager.tick()``)
advances it by whole-batch chunks until a time budget (``max_ms_per_run``) or byte budget is spent,
then returns. ``log.cleaner.io.max.bytes.per.second`` (Kafka's throttle on the cleaner's I/O) is a token
bucket on top: each tick may read at most what the rate has refilled since the last (bytes of the log
read; what is written back is never more). The pause a tick adds is bounded and measured; between ticks produce and fetch run
untouched; tests drive it deterministically with the in-memory file system and a fake clock. Files of
a group being rewritten are written under ``.cleaned`` across many ticks, so the swap protocol below is
what keeps a crash at any moment harmless.

One round of cleaning (``Cleaner.doClean``)
-------------------------------------------
1. Choose the log (``grabFilthiestCompactedLog``). For each compacted log: first dirty offset = the
   ``cleaner-offset-checkpoint`` entry (the log start offset if absent, below the log start, or past the
   end); first uncleanable offset = the smallest of the last stable offset, the active segment's base,
   the recovery point (Kavka addition: a roll's fsync is deferred to the next tick, and only durable
   data is cleaned), and the base of the first segment whose largest timestamp is within
   ``min.compaction.lag.ms`` of now, rounded down to a segment base. Dirty ratio = bytes of [first
   dirty, uncleanable) over bytes of the log below uncleanable. A log qualifies with ratio >
   ``min.cleanable.dirty.ratio``, or with any cleanable bytes once its oldest dirty segment's first
   batch is older than ``max.compaction.lag.ms``;
   the highest ratio wins. Kavka addition (proposed in KAFKA-8522's review, not in Kafka): a log also
   qualifies once the earliest delete horizon the cleaner stamped on it has passed, so tombstones of an
   idle topic go away one round after ``delete.retention.ms`` instead of waiting for new dirty data.
   With nothing to clean, the next look is ``log.cleaner.backoff.ms`` later.
2. Transactions: one headers-only pass over the range collects the aborted transactions (a producer's
   transactional batches followed by its ABORT marker) -- what Kafka reads from the transaction index
   (Kavka keeps ``.txnindex`` for Fetch; the cleaner does not read it). Data whose marker is not in the range yet is kept.
3. Offset map of the dirty section: key -> latest offset, skipping control batches and aborted data,
   bounded by ``log.cleaner.dedupe.buffer.size`` (charged ``MAP_ENTRY_BYTES`` per key; keys longer
   than 16 bytes are stored as a 17-byte BLAKE2b digest, Kafka's MD5 idea, so an entry's memory is
   bounded). When full, the map stops at a batch boundary and this round ends there (records past the
   map's latest offset are kept untouched; the next round starts there).
4. Rewrite every segment below the map's end, from the log start, grouped into runs that fit
   ``segment.bytes`` / ``segment.index.bytes`` (``groupSegmentsBySize``). Per batch (``filterTo``):
   a record survives if it is past the map, or it is the latest offset for its key and either has a
   value or is a tombstone whose batch has no delete horizon yet / one still in the future; keyless
   records are dropped. A batch keeping all its records and needing no horizon is copied byte for
   byte; otherwise it is rebuilt with the same base offset, last offset delta, producer id, epoch,
   base sequence, partition leader epoch, timestamp type and compression. A batch that keeps a
   tombstone (or an empty-transaction marker) gets ``deleteHorizonMs = now + delete.retention.ms``
   (KIP-534, attributes bit 6) the first time. Aborted transactional batches are dropped; a
   COMMIT/ABORT marker goes once no data of its transaction remains and its horizon passed. Kept as
   empty batches (header only): the last batch of every active producer (its sequence and epoch:
   idempotence survives; active means still in the log's producer state, so once
   ``producer.id.expiration.ms`` has expired a producer its last batch is cleaned like any other, as in
   Kafka), and the last batch of every group (Kafka keeps the round's last one; Kavka
   each group's, so a cleaned segment always ends where the segments it replaces ended -- the loader
   relies on that to complete a swap exactly).
5. Swap each group in (``PartitionLog.replace_segments``): ``.cleaned`` -> ``.swap`` (commit) -> old
   segments to ``.deleted`` -> live names. Groups go in ascending order, so a crash leaves a prefix
   cleaned and the rest as it was: each is a valid compacted log. The checkpoint becomes the map's end.

Where each part lives
---------------------
- ``cleaner_plan``: step 1 (which log, first dirty / first uncleanable offsets, dirty ratio) and the
  grouping of step 4 -- pure functions of the logs' state and the clock;
- ``cleaner_filter``: the per-batch rule of steps 2-4 (aborted data, markers, the offset map's
  verdict per record, horizons, empty headers) -- one batch in, the bytes that stay out, no I/O;
- this module: the ``LogCleaner`` itself -- the scheduler driven by ``LogManager.tick()`` (budgets,
  throttle, backoff), the round as a resumable generator (the passes of steps 2-4 over segment bytes,
  writing ``.cleaned`` segments, the swap of step 5), ``cleaner-offset-checkpoint`` and the figures.
  Record bodies are decoded only by :mod:`kavka.protocol.records`.

If the log changes under a round (retention, DeleteRecords or truncation removes or shrinks a segment
the round still needs, or the log is closed), the round is abandoned and its ``.cleaned`` files removed.
A log whose data fails to decode is marked uncleanable until restart, as Kafka does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from kavka.protocol.batch import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC,
    BatchHeader,
    CorruptRecordError,
    InvalidRecordError,
    parse_header,
)
from kavka.protocol.compression import decompressed_limit
from kavka.protocol.records import ControlType, decode_batch, records_section, scan_records
from kavka.storage.checkpoints import CheckpointError, read_offset_checkpoint, write_offset_checkpoint
from kavka.storage.cleaner_filter import CleanedTransactions, control_type, filter_batch, map_key
from kavka.storage.cleaner_plan import cleanable_range, filthiest, group_segments_by_size
from kavka.storage.fs import FileSystem
from kavka.storage.log import PartitionLog
from kavka.storage.segment import CLEANED_SUFFIX, LogSegment

__all__ = [
    "LogCleaner",
    "CleanerBudget",
    "CleanerStats",
    "CLEANER_OFFSET_CHECKPOINT",
    "MAP_ENTRY_BYTES",
    "group_segments_by_size",
]

logger = logging.getLogger(__name__)

CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
# What one offset-map entry costs in CPython: a dict slot, a bytes key of at most 17 bytes, an int.
MAP_ENTRY_BYTES = 136
DEDUPE_LOAD_FACTOR = 0.9  # Kafka's log.cleaner.io.buffer.load.factor


# ------------------------------------------------------------------------------------------------ stats


@dataclass
class CleanerStats:
    """Figures of one round (Kafka's ``CleanerStats``)."""

    topic: str = ""
    partition: int = -1
    first_dirty_offset: int = 0
    end_offset: int = 0
    map_bytes_read: int = 0
    map_records_read: int = 0
    map_entries: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_retained: int = 0
    groups: int = 0
    busy_seconds: float = 0.0  # time spent inside run_once on this round
    completed: bool = False

    @property
    def mb_per_second(self) -> float:
        return (self.bytes_read + self.map_bytes_read) / 1e6 / self.busy_seconds if self.busy_seconds else 0.0


@dataclass
class _Round:
    log: PartitionLog
    log_dir: str
    first_dirty: int
    upper: int  # first uncleanable offset (a segment base)
    now_ms: int
    # the round's passes, resumable (set by _new_round right after construction)
    steps: Generator[int, None, None] = field(init=False)
    # segment identity -> (segment, size when the round began): what the round still relies on
    sources: dict[int, tuple[LogSegment, int]] = field(default_factory=dict)
    cleaned: LogSegment | None = None  # the group being written
    stats: CleanerStats = field(default_factory=CleanerStats)
    end_offset: int = -1
    min_horizon: int | None = None


class _Abandon(Exception):
    pass


# ----------------------------------------------------------------------------------------------- cleaner


class CleanerBudget(TypedDict, total=False):
    """The budget keywords of :meth:`LogCleaner.run_once` (None: unbounded; omitted: the defaults)."""

    max_ms: float | None
    max_bytes: int | None


class LogCleaner:
    """Compacts logs a bounded slice at a time; see the module docstring. One round at a time.

    ``run_once(logs)`` takes ``(log dir, PartitionLog)`` pairs (the manager's) and works until
    ``max_ms_per_run`` milliseconds or ``max_bytes_per_run`` bytes are spent (either may be None: no
    bound). ``clean_now(log_dir, log)`` runs a whole round on one log, ignoring the dirty ratio (tests,
    tools). ``abort(log)`` drops a round on a log being deleted or truncated.
    """

    def __init__(
        self,
        fs: FileSystem,
        clock_ms: Callable[[], int],
        *,
        dedupe_buffer_size: int = 128 * 1024 * 1024,
        io_buffer_size: int = 512 * 1024,
        backoff_ms: int = 15000,
        max_ms_per_run: float | None = 100.0,
        max_bytes_per_run: int | None = None,
        io_max_bytes_per_second: float | None = None,
    ) -> None:
        self.fs = fs
        self.clock_ms = clock_ms
        self.max_map_entries = max(1, int(dedupe_buffer_size * DEDUPE_LOAD_FACTOR) // MAP_ENTRY_BYTES)
        self.io_buffer_size = max(io_buffer_size, 4096)
        self.backoff_ms = backoff_ms
        self.max_ms_per_run = max_ms_per_run
        self.max_bytes_per_run = max_bytes_per_run
        # log.cleaner.io.max.bytes.per.second (Kafka's Throttler): a token bucket refilled by the clock,
        # holding at most one second's worth; None (or Kafka's default, Double.MAX_VALUE) is no limit
        self.io_max_bytes_per_second = io_max_bytes_per_second
        self._io_allowance = 0.0
        self._io_refilled_ms: int | None = None
        self._checkpoints: dict[str, dict[tuple[str, int], int]] = {}
        self._horizons: dict[str, int] = {}  # log dir path -> earliest delete horizon stamped
        self._uncleanable: set[str] = set()
        self._round: _Round | None = None
        self._next_look_ms = 0
        self.last_stats: CleanerStats | None = None
        self.rounds_completed = 0

    # -- checkpoints ----------------------------------------------------------------------------------

    def reconfigure(self, *, dedupe_buffer_size: int, io_buffer_size: int, backoff_ms: int) -> None:
        """Apply changed dynamic ``log.cleaner.*`` configs. Kafka restarts its cleaner threads on such a
        change, so an idle cleaner looks for work at once; a round under way finishes with the key-map
        size it started with. Unchanged values change nothing."""
        entries = max(1, int(dedupe_buffer_size * DEDUPE_LOAD_FACTOR) // MAP_ENTRY_BYTES)
        new = (entries, max(io_buffer_size, 4096), backoff_ms)
        if new != (self.max_map_entries, self.io_buffer_size, self.backoff_ms):
            self.max_map_entries, self.io_buffer_size, self.backoff_ms = new
            self._next_look_ms = 0

    def load_checkpoints(self, log_dirs: Iterable[str]) -> None:
        for d in log_dirs:
            try:
                self._checkpoints[d] = read_offset_checkpoint(self.fs, f"{d}/{CLEANER_OFFSET_CHECKPOINT}")
            except CheckpointError:
                self._checkpoints[d] = {}

    def checkpoint_of(self, log_dir: str, log: PartitionLog) -> int | None:
        return self._checkpoints.get(log_dir, {}).get((log.topic, log.partition))

    def _write_checkpoint(self, log_dir: str) -> None:
        write_offset_checkpoint(self.fs, f"{log_dir}/{CLEANER_OFFSET_CHECKPOINT}", self._checkpoints.get(log_dir, {}))

    def forget(self, log_dir: str, log: PartitionLog) -> None:
        """The log is gone (deleted): abort its round, drop its checkpoint entry."""
        self.abort(log)
        entries = self._checkpoints.get(log_dir)
        if entries is not None and entries.pop((log.topic, log.partition), None) is not None:
            self._write_checkpoint(log_dir)
        self._horizons.pop(log.dir, None)

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def in_progress(self) -> PartitionLog | None:
        return self._round.log if self._round is not None else None

    def abort(self, log: PartitionLog | None = None) -> None:
        """Drop the current round (if on ``log``, or any when None), removing its ``.cleaned`` files."""
        r = self._round
        if r is None or (log is not None and r.log is not log):
            return
        self._round = None
        r.steps.close()
        self._discard_cleaned(r)

    def shutdown(self) -> None:
        self.abort()

    def _discard_cleaned(self, r: _Round) -> None:
        if r.cleaned is not None:
            try:
                r.cleaned.delete()
            except OSError:  # pragma: no cover - the loader removes *.cleaned anyway
                pass
            r.cleaned = None

    # -- choosing a log -------------------------------------------------------------------------------

    def _grab_filthiest(self, logs: Iterable[tuple[str, PartitionLog]], now: int) -> _Round | None:
        best = filthiest(logs, now, self.checkpoint_of, self._horizons, self._uncleanable)
        if best is None:
            return None
        log_dir, log, first_dirty, upper = best
        return self._new_round(log_dir, log, first_dirty, upper, now)

    def _new_round(self, log_dir: str, log: PartitionLog, first_dirty: int, upper: int, now: int) -> _Round:
        r = _Round(log, log_dir, first_dirty, upper, now)
        r.stats = CleanerStats(log.topic, log.partition, first_dirty)
        segs = log.segments
        for s in segs[:-1]:
            if s.base_offset < upper:
                r.sources[id(s)] = (s, s.size())
        r.steps = self._round_steps(r)
        return r

    # -- driving --------------------------------------------------------------------------------------

    def _still_valid(self, r: _Round) -> bool:
        log = r.log
        if log.closed:
            return False
        live = {id(s) for s in log.segments}
        return all(k in live and s.size() == size for k, (s, size) in r.sources.items())

    def run_once(
        self,
        logs: Iterable[tuple[str, PartitionLog]],
        *,
        max_ms: float | None = -1.0,
        max_bytes: int | None = -1,
        _one_round: bool = False,
    ) -> int:
        """Advance cleaning within the budget (defaults: the constructor's); returns bytes processed."""
        max_ms = self.max_ms_per_run if max_ms == -1.0 else max_ms
        max_bytes = self.max_bytes_per_run if max_bytes == -1 else max_bytes
        throttled = self._io_budget()
        if throttled is not None:
            if throttled <= 0:
                return 0
            max_bytes = throttled if max_bytes is None else min(max_bytes, throttled)
        done = self._run(logs, max_ms, max_bytes, _one_round)
        if throttled is not None:
            self._io_allowance -= done
        return done

    def _io_budget(self) -> int | None:
        """Bytes the throttle allows now (refilled at ``io_max_bytes_per_second`` since the last call,
        at most a second's worth), or None when there is no limit."""
        rate = self.io_max_bytes_per_second
        if rate is None or rate >= 1e300:
            return None
        now = self.clock_ms()
        if self._io_refilled_ms is None:
            self._io_allowance = rate  # start with a second's worth
        else:
            self._io_allowance = min(rate, self._io_allowance + rate * max(0, now - self._io_refilled_ms) / 1000.0)
        self._io_refilled_ms = now
        return int(self._io_allowance)

    def _run(
        self, logs: Iterable[tuple[str, PartitionLog]], max_ms: float | None, max_bytes: int | None, _one_round: bool
    ) -> int:
        started = time.perf_counter()
        deadline = None if max_ms is None else started + max_ms / 1000.0
        done = 0
        logs = list(logs)
        while True:
            if self._round is None:
                if _one_round:
                    return done
                now = self.clock_ms()
                if now < self._next_look_ms:
                    return done
                self._round = self._grab_filthiest(logs, now)
                if self._round is None:
                    self._next_look_ms = now + self.backoff_ms
                    return done
            r = self._round
            t0 = time.perf_counter()
            try:
                if not self._still_valid(r):
                    raise _Abandon()
                n = next(r.steps)
            except StopIteration:
                r.stats.busy_seconds += time.perf_counter() - t0
                self._finish(r)
                continue
            except _Abandon:
                logger.info("cleaning of %s-%s abandoned: the log changed", r.log.topic, r.log.partition)
                self.abort(r.log)
                continue
            except (CorruptRecordError, InvalidRecordError, ValueError, OSError) as e:
                logger.error("cleaning of %s-%s failed, marking it uncleanable: %s", r.log.topic, r.log.partition, e)
                self._uncleanable.add(r.log.dir)
                self.abort(r.log)
                continue
            r.stats.busy_seconds += time.perf_counter() - t0
            done += n
            if (deadline is not None and time.perf_counter() >= deadline) or (
                max_bytes is not None and done >= max_bytes
            ):
                return done

    def clean_now(self, log_dir: str, log: PartitionLog) -> CleanerStats:
        """Run one whole round on ``log`` now, whatever its dirty ratio (an in-progress round elsewhere is
        abandoned). For tests and tools; the broker uses ``run_once``."""
        self.abort()
        log.flush_rolled()  # what the manager's tick does before cleaning
        now = self.clock_ms()
        first_dirty, upper, _clean, _cleanable, _need = cleanable_range(log, self.checkpoint_of(log_dir, log), now)
        self._round = self._new_round(log_dir, log, first_dirty, upper, now)
        r = self._round
        self._run([(log_dir, log)], None, None, True)  # not throttled: the caller asked for it now
        return r.stats

    def _finish(self, r: _Round) -> None:
        self._round = None
        log = r.log
        if r.end_offset >= 0:
            self._checkpoints.setdefault(r.log_dir, {})[(log.topic, log.partition)] = r.end_offset
            self._write_checkpoint(r.log_dir)
        if r.min_horizon is not None:
            self._horizons[log.dir] = r.min_horizon
        else:
            self._horizons.pop(log.dir, None)
        r.stats.end_offset = r.end_offset
        r.stats.completed = True
        self.last_stats = r.stats
        self.rounds_completed += 1
        logger.info(
            "cleaned %s-%s: offsets [%d, %d), %d -> %d bytes, %.1f MB/s",
            log.topic,
            log.partition,
            r.first_dirty,
            r.end_offset,
            r.stats.bytes_read,
            r.stats.bytes_written,
            r.stats.mb_per_second,
        )

    # -- the round, as a generator of work units (bytes processed) -------------------------------------

    def _chunks(
        self, seg: LogSegment, pos: int, end: int
    ) -> Iterator[tuple[bytes, list[tuple[int, BatchHeader]], int]]:
        """``(data, [(offset in data, header)], bytes consumed)`` of whole batches from ``pos``."""
        while pos < end:
            data = seg.log.pread(pos, min(self.io_buffer_size, end - pos))
            batches = []
            off = 0
            n = len(data)
            while n - off >= HEADER_SIZE:
                h = parse_header(data, off)
                if h.magic != MAGIC or h.batch_length < HEADER_SIZE - LOG_OVERHEAD:
                    raise CorruptRecordError(f"{seg.log_path}: no batch at position {pos + off}")
                size = h.batch_length + LOG_OVERHEAD
                if off + size > n:
                    if off == 0:  # a batch larger than the buffer: read it whole
                        data = seg.log.pread(pos, size)
                        n = len(data)
                        if n < size:
                            raise CorruptRecordError(f"{seg.log_path}: batch at {pos} runs past the end")
                        continue
                    break
                batches.append((off, h))
                off += size
            if off == 0:
                raise CorruptRecordError(f"{seg.log_path}: truncated batch at position {pos}")
            yield data, batches, off
            pos += off

    def _round_steps(self, r: _Round) -> Generator[int, None, None]:
        log = r.log
        below = [s for s, _ in r.sources.values()]
        below.sort(key=lambda s: s.base_offset)

        # 1. aborted transactions in the range (what Kafka reads from .txnindex)
        # Batches in the log were accepted under whatever max.message.bytes was then: the ceiling alone
        limit = decompressed_limit(None, r.log.config.max_message_bytes)
        aborted: list[tuple[int, int, int]] = []
        open_first: dict[int, int] = {}
        for seg in below:
            count = 0
            for pos, h in seg.iter_headers():
                if h.is_transactional:
                    if h.is_control:
                        batch = seg.log.pread(pos, h.batch_length + LOG_OVERHEAD)
                        _hh, recs = decode_batch(batch, max_decompressed_size=limit)
                        ctype = control_type(recs)
                        first = open_first.pop(h.producer_id, None)
                        if ctype == ControlType.ABORT and first is not None:
                            aborted.append((h.producer_id, first, h.last_offset))
                    else:
                        open_first.setdefault(h.producer_id, h.base_offset)
                count += 1
                if count % 4096 == 0:
                    yield 0
            yield 0

        # 2. the offset map of the dirty section
        first_dirty = r.first_dirty
        omap: dict[bytes, int] = {}
        latest = first_dirty - 1
        txn = CleanedTransactions(aborted)
        full = False
        cap = self.max_map_entries
        stats = r.stats
        for i, seg in enumerate(below):
            nxt = below[i + 1].base_offset if i + 1 < len(below) else r.upper
            if nxt <= first_dirty:
                continue
            start = seg.offset_index.lookup(first_dirty)[1] if seg.base_offset < first_dirty else 0
            for data, batches, _consumed in self._chunks(seg, start, seg.size()):
                for off, h in batches:
                    if h.is_control:
                        _hh, recs = decode_batch(data, off, max_decompressed_size=limit)
                        txn.on_control_batch_read(h, control_type(recs))
                    elif not txn.on_batch_read(h) and h.last_offset >= first_dirty:
                        scanned = scan_records(records_section(data, off, h, limit), h)
                        if omap and len(omap) + len(scanned) > cap:
                            full = True
                            break
                        for offset, key, _v, _t, _s, _e in scanned:
                            if key is not None and offset >= first_dirty:
                                omap[key if len(key) <= 16 else map_key(key)] = offset
                        stats.map_records_read += len(scanned)
                    if h.last_offset > latest:
                        latest = h.last_offset
                    size = h.batch_length + LOG_OVERHEAD
                    stats.map_bytes_read += size
                    yield size  # the budget is checked between batches
                if full:
                    break
            if full:
                break
            latest = max(latest, nxt - 1)  # past any offset gap up to the next segment
        end = latest + 1
        r.end_offset = end
        stats.map_entries = len(omap)

        # 3. rewrite every segment below the map's end, group by group, from the log start
        segs = [s for s in below if s.base_offset < end]
        groups = group_segments_by_size(segs, log.config.segment_bytes, log.config.segment_index_bytes, r.upper)
        txn = CleanedTransactions(aborted)
        now = r.now_ms
        delete_retention = log.config.delete_retention_ms
        for group in groups:
            producers = log.last_records_of_active_producers()
            cfg = log.config
            cleaned = LogSegment.create(
                self.fs,
                log.dir,
                group[0].base_offset,
                index_interval_bytes=cfg.index_interval_bytes,
                max_index_size=cfg.segment_index_bytes,
                created_ms=now,
                file_suffix=CLEANED_SUFFIX,
            )
            r.cleaned = cleaned
            for gi, seg in enumerate(group):
                seg_end = seg.size()
                pos = 0
                for data, batches, consumed in self._chunks(seg, 0, seg_end):
                    for off, h in batches:
                        is_group_tail = gi == len(group) - 1 and pos + off + h.batch_length + LOG_OVERHEAD == seg_end
                        out, retained, h_at = filter_batch(
                            data, off, h, omap, latest, txn, producers, is_group_tail, now, delete_retention, limit
                        )
                        stats.records_read += h.records_count
                        stats.records_retained += retained
                        if h_at is not None and (r.min_horizon is None or h_at < r.min_horizon):
                            r.min_horizon = h_at
                        if out is not None:
                            oh = parse_header(out)
                            cleaned.append(
                                out,
                                last_offset=oh.base_offset + oh.last_offset_delta,
                                max_timestamp=oh.max_timestamp,
                                offset_of_max_timestamp=oh.base_offset + oh.last_offset_delta,
                                first_batch_max_timestamp=oh.max_timestamp,
                            )
                            stats.bytes_written += len(out)
                        size = h.batch_length + LOG_OVERHEAD
                        stats.bytes_read += size
                        yield size  # the budget is checked between batches
                    pos += consumed
            cleaned.on_become_inactive()
            cleaned.flush()
            log.replace_segments(cleaned, group, self.clock_ms())
            r.cleaned = None
            stats.groups += 1
            for s in group:
                r.sources.pop(id(s), None)
            yield 0
