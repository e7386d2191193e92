"""Opening a partition directory (Kafka's ``LogLoader``): clean start, or recovery after a crash.

Steps, in order:

1. Leftovers of interrupted operations (Kafka's rules): ``*.deleted`` and ``*.tmp`` files are removed;
   ``*.cleaned`` files (a cleaning that had not committed) are removed, and so is every ``*.swap`` file
   whose base offset is at or above the lowest ``.cleaned`` one (a swap cut short before its commit:
   rolled back). A remaining ``<base>.log.swap`` is a committed swap (kavka.storage.local_log
   ``replace_segments``): it is recovered (CRC-checked, indexes rebuilt), the old segment files whose
   base offset lies in [lowest swap base, highest swap next offset) are removed -- the segments it
   replaced, exactly, because the cleaner keeps the last batch of every group it rewrites -- and the
   swap files are renamed to their live names. Other ``*.swap`` files and index files without a
   ``.log`` are removed.
2. Every ``<20-digit base offset>.log`` becomes a ``LogSegment``; a segment whose index files are
   missing is recovered (its indexes rebuilt).
3. Clean shutdown: indexes are trusted, nothing is scanned except the batch headers after the active
   segment's last index entry (to learn the log end offset). This is what makes a clean start fast.
   Unclean: every segment from the one holding the recovery point onward is recovered (length, magic,
   CRC32C and increasing offsets checked; the first invalid byte and everything after it truncated;
   indexes rebuilt; fsynced). After a segment that lost bytes, or one that does not start where the
   previous one ended (a rolled segment whose deferred fsync never happened lost its tail), all later
   segments are deleted, so what survives is a prefix of what was written.
4. The log end offset is the active segment's next offset; the log start offset is the larger of the
   checkpointed one and the first segment's base. A log start above the end empties the log there.
5. Producer state: the newest snapshot at or below the log end is loaded, and batch headers from its
   offset to the end are replayed (nothing to replay after a clean shutdown, which writes a snapshot at
   the log end). Transactional data batches reopen their producer's transaction; end-transaction
   markers (whose control record is read, a few dozen bytes each) close it, so transactions left open
   by a crash are open again (the coordinator aborts them later) and the LSO is right.
6. Aborted-transaction indexes (``.txnindex``): trusted after a clean shutdown and below the recovery
   point. After a crash, the index of every recovered segment is emptied and refilled while replaying
   the producer state, which then starts from a snapshot at or below the first recovered segment
   (Kafka rebuilds it the same way: an abort's entry needs the transactions open at its marker).
7. Leader epoch cache (kavka.storage.epoch_cache): ``leader-epoch-checkpoint`` is read, entries starting
   at or after the log end are dropped, and every batch replayed in step 5 assigns its
   ``partition_leader_epoch`` if newer than the latest known (Kafka's ``LogSegment.recover``); the file
   holds every entry below the recovery point and the replay covers the rest, so the cache is exact
   after a crash even though the file is written without fsync on the append path. A missing or
   unreadable file is rebuilt from the batch headers of the whole log. The front is then truncated to
   the log start offset. Producers expired by ``producer.id.expiration.ms`` are dropped from the loaded
   snapshot (Kafka's ``loadFromSnapshot``).

The loader writes only what recovery requires (truncations, rebuilt indexes, deleted leftovers).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from kavka.storage.config import LogConfig
from kavka.storage.epoch_cache import LeaderEpochCache
from kavka.storage.fs import FileSystem
from kavka.storage.producer_state import ProducerStateManager
from kavka.storage.segment import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    INDEX_SUFFIX,
    LOG_SUFFIX,
    SWAP_SUFFIX,
    TIME_INDEX_SUFFIX,
    TXN_INDEX_SUFFIX,
    LogSegment,
)
from kavka.storage.txn_index import AbortedTxn

__all__ = ["LogLoader", "LoadedLog", "parse_segment_name", "replay_producer_state", "scan_leader_epochs"]

_INDEX_SUFFIXES = (INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX)


def parse_segment_name(name: str) -> tuple[int, str] | None:
    """``'00000000000000000042.log'`` -> ``(42, '.log')``; None if not a segment file name."""
    stem, dot, rest = name.partition(".")
    if not dot or len(stem) != 20 or not stem.isdigit():
        return None
    return int(stem), "." + rest


def replay_producer_state(
    producer_state: ProducerStateManager,
    segments: list[LogSegment],
    start: int,
    index_from: int | None = None,
    epoch_cache: LeaderEpochCache | None = None,
) -> None:
    """Replay batch headers of ``segments`` from offset ``start`` to their end into ``producer_state``;
    with ``index_from``, append each abort whose marker is at or after it to its segment's ``.txnindex``;
    with ``epoch_cache``, assign each batch's leader epoch that is newer than the latest one known."""
    seg_bases = [s.base_offset for s in segments]
    i = max(0, bisect.bisect_right(seg_bases, start) - 1)
    for seg in segments[i:]:
        found = seg.find_batch(start)
        if found is None:
            continue
        for pos, header in seg.iter_headers(found[0]):
            if epoch_cache is not None and header.partition_leader_epoch > epoch_cache.latest_epoch:
                epoch_cache.assign(header.partition_leader_epoch, header.base_offset)
            if header.is_control and header.is_transactional and header.producer_id >= 0:
                done = producer_state.replay(header, seg.end_txn_marker_type(pos, header))
                if (
                    done is not None
                    and index_from is not None
                    and done[0].is_aborted
                    and header.base_offset >= index_from
                ):
                    completed, lso = done
                    seg.txn_index.append(
                        AbortedTxn(completed.producer_id, completed.first_offset, completed.last_offset, lso)
                    )
            else:
                producer_state.replay(header)


def scan_leader_epochs(segments: list[LogSegment], start: int, end: int, epoch_cache: LeaderEpochCache) -> None:
    """Assign the leader epochs of the batches of ``segments`` holding offsets in ``[start, end)``."""
    seg_bases = [s.base_offset for s in segments]
    i = max(0, bisect.bisect_right(seg_bases, start) - 1)
    for seg in segments[i:]:
        if seg.base_offset >= end:
            return
        found = seg.find_batch(start)
        if found is None:
            continue
        for _pos, header in seg.iter_headers(found[0]):
            if header.base_offset >= end:
                return
            if header.partition_leader_epoch > epoch_cache.latest_epoch:
                epoch_cache.assign(header.partition_leader_epoch, header.base_offset)


@dataclass
class LoadedLog:
    segments: list[LogSegment]
    log_start_offset: int
    log_end_offset: int
    recovery_point: int
    producer_state: ProducerStateManager
    leader_epoch_cache: LeaderEpochCache
    bytes_truncated: int = 0
    segments_recovered: int = 0
    deleted_files: list[str] = field(default_factory=list)


class LogLoader:
    def __init__(
        self,
        fs: FileSystem,
        dir_path: str,
        config: LogConfig,
        *,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        clean_shutdown: bool = False,
        now_ms: int = 0,
        producer_id_expiration_ms: int | None = None,
    ) -> None:
        self.fs = fs
        self.dir = dir_path
        self.config = config
        self.recovery_point = recovery_point
        self.log_start_offset = log_start_offset
        self.clean_shutdown = clean_shutdown
        self.now_ms = now_ms
        self.producer_id_expiration_ms = producer_id_expiration_ms

    def _segment(self, base_offset: int) -> LogSegment:
        return LogSegment(
            self.fs,
            self.dir,
            base_offset,
            index_interval_bytes=self.config.index_interval_bytes,
            max_index_size=self.config.segment_index_bytes,
            created_ms=self.now_ms,
        )

    def _new_segment(self, base_offset: int) -> LogSegment:
        return LogSegment.create(
            self.fs,
            self.dir,
            base_offset,
            index_interval_bytes=self.config.index_interval_bytes,
            max_index_size=self.config.segment_index_bytes,
            created_ms=self.now_ms,
        )

    def _clean_leftovers(self, names: list[str], deleted: list[str]) -> set[str]:
        fs, d = self.fs, self.dir
        min_cleaned = None
        for name in names:
            if name.endswith(CLEANED_SUFFIX):
                parsed = parse_segment_name(name[: -len(CLEANED_SUFFIX)])
                if parsed is not None:
                    min_cleaned = parsed[0] if min_cleaned is None else min(min_cleaned, parsed[0])
            if name.endswith((DELETED_SUFFIX, CLEANED_SUFFIX, ".tmp")):
                fs.remove(f"{d}/{name}")
                deleted.append(name)
        swap_bases = set()
        for name in names:
            if not name.endswith(SWAP_SUFFIX):
                continue
            parsed = parse_segment_name(name[: -len(SWAP_SUFFIX)])
            if parsed is None or (min_cleaned is not None and parsed[0] >= min_cleaned):
                fs.remove(f"{d}/{name}")  # part of a swap that never committed
                deleted.append(name)
            elif parsed[1] == LOG_SUFFIX:
                swap_bases.add(parsed[0])
        if swap_bases:
            self._complete_swaps(swap_bases, deleted)
        present = set(fs.listdir(d))
        logs = {p[0] for n in present if (p := parse_segment_name(n)) and p[1] == LOG_SUFFIX}
        for name in list(present):
            parsed = parse_segment_name(name)
            if parsed and parsed[1] in _INDEX_SUFFIXES and parsed[0] not in logs:
                fs.remove(f"{d}/{name}")
                deleted.append(name)
                present.discard(name)
        return present

    def _complete_swaps(self, swap_bases: set[int], deleted: list[str]) -> None:
        """Roll committed swaps forward: drop the segments they replaced, give them their live names."""
        fs, d = self.fs, self.dir
        lo = min(swap_bases)
        hi = lo + 1
        for base in swap_bases:
            seg = LogSegment(
                fs,
                d,
                base,
                index_interval_bytes=self.config.index_interval_bytes,
                max_index_size=self.config.segment_index_bytes,
                created_ms=self.now_ms,
                file_suffix=SWAP_SUFFIX,
            )
            _truncated, next_offset = seg.recover()  # rebuilds its indexes under the .swap names
            seg.close_handles()
            hi = max(hi, next_offset)
        for name in fs.listdir(d):
            parsed = parse_segment_name(name)
            if parsed is not None and parsed[1] in (LOG_SUFFIX,) + _INDEX_SUFFIXES and lo <= parsed[0] < hi:
                fs.remove(f"{d}/{name}")  # replaced by the swap
                deleted.append(name)
        for name in fs.listdir(d):
            if name.endswith(SWAP_SUFFIX):
                parsed = parse_segment_name(name[: -len(SWAP_SUFFIX)])
                if parsed is not None and parsed[0] in swap_bases and parsed[1] in (LOG_SUFFIX,) + _INDEX_SUFFIXES:
                    fs.rename(f"{d}/{name}", f"{d}/{name[: -len(SWAP_SUFFIX)]}")
                else:
                    fs.remove(f"{d}/{name}")
                    deleted.append(name)

    def load(self) -> LoadedLog:
        fs = self.fs
        fs.makedirs(self.dir)
        deleted: list[str] = []
        present = self._clean_leftovers(fs.listdir(self.dir), deleted)
        bases = sorted(p[0] for n in present if (p := parse_segment_name(n)) and p[1] == LOG_SUFFIX)
        segments = [self._segment(b) for b in bases]
        truncated_total = 0
        recovered = 0
        index_from: int | None = None  # base of the first segment whose .txnindex is rebuilt

        def indexes_present(seg: LogSegment) -> bool:
            return (
                f"{seg.base_offset:020d}{INDEX_SUFFIX}" in present
                and f"{seg.base_offset:020d}{TIME_INDEX_SUFFIX}" in present
            )

        if self.clean_shutdown:
            for seg in segments:
                if not indexes_present(seg):
                    seg.recover()
                    recovered += 1
        else:
            first = max(0, bisect.bisect_right(bases, self.recovery_point) - 1)
            for seg in segments[:first]:
                if not indexes_present(seg):
                    seg.recover()
                    recovered += 1
            i = first
            next_offset = segments[first].base_offset if segments else 0
            while i < len(segments):
                seg = segments[i]
                # Each segment starts where the one before ends (a roll starts the new segment at the log
                # end; the cleaner keeps every group's last batch). An overlap cannot be trusted, and a gap
                # means the segment before lost its tail: the roll's fsync is deferred, so a crash can
                # empty a rolled segment while a later one keeps bytes. Either way, the log ends here.
                if seg.base_offset != next_offset:
                    break
                truncated, next_offset = seg.recover()
                seg.txn_index.reset()
                if index_from is None:
                    index_from = seg.base_offset
                recovered += 1
                truncated_total += truncated
                i += 1
                if truncated:
                    break
            for seg in segments[i:]:
                seg.delete()
                deleted.append(seg.log_path)
            segments = segments[:i]

        if not segments:
            segments = [self._new_segment(self.log_start_offset)]
        active = segments[-1]
        if self.clean_shutdown and indexes_present(active):
            log_end = active.load_tail()
        else:
            log_end = active.next_offset
        log_start = max(self.log_start_offset, segments[0].base_offset)
        epoch_cache = LeaderEpochCache(fs, self.dir)
        if log_start > log_end:
            for seg in segments:
                seg.delete()
            segments = [self._new_segment(log_start)]
            log_end = log_start
            epoch_cache.clear()
        epoch_cache.truncate_from_end(log_end)

        producer_state = ProducerStateManager(fs, self.dir)
        replay_from = producer_state.load(
            log_start, log_end, max_offset=index_from, now_ms=self.now_ms, expiration_ms=self.producer_id_expiration_ms
        )
        if not epoch_cache.loaded_from_file and log_start < log_end:
            # no usable file: what the replay below does not cover comes from the batch headers
            scan_leader_epochs(segments, log_start, replay_from, epoch_cache)
            epoch_cache.mark_dirty()
        if replay_from < log_end:
            replay_producer_state(producer_state, segments, replay_from, index_from, epoch_cache)
        epoch_cache.truncate_from_start(log_start)
        if index_from is not None:
            for seg in segments:
                if seg.base_offset >= index_from:
                    seg.txn_index.flush()  # rebuilt: as durable as the segment it indexes
            # the recovery point becomes the log end: the snapshots in the recovered range must be durable too
            producer_state.sync_found_snapshots(index_from, log_end)
        producer_state.map_end_offset = log_end
        return LoadedLog(
            segments=segments,
            log_start_offset=log_start,
            log_end_offset=log_end,
            recovery_point=log_end,
            producer_state=producer_state,
            leader_epoch_cache=epoch_cache,
            bytes_truncated=truncated_total,
            segments_recovered=recovered,
            deleted_files=deleted,
        )
