"""The cleaning plan: which compacted log to clean next, over which offsets, and how its segments group
into cleaned segments (Kafka's ``LogCleanerManager.grabFilthiestCompactedLog`` / ``cleanableOffsets`` and
``Cleaner.groupSegmentsBySize``; step 1 and the grouping of step 4 in :mod:`kavka.storage.cleaner`).

Contract: pure functions of the logs' state (segments, offsets, configs), the cleaner's checkpoints and
delete horizons, and a clock reading passed in. They read segment sizes, index entry counts and
timestamps the segments hold in memory; they write nothing and never touch a log's files.

- :func:`cleanable_range`: first dirty offset (the checkpoint, or the log start when absent or out of
  range), first uncleanable offset (the smallest of the last stable offset, the active segment's base,
  the recovery point and the first segment within ``min.compaction.lag.ms``, rounded down to a segment
  base), the clean and cleanable bytes below it, and whether ``max.compaction.lag.ms`` forces a clean;
- :func:`filthiest`: the log with the highest dirty ratio among those above
  ``min.cleanable.dirty.ratio``, forced by the max lag, or with a delete horizon that has passed;
- :func:`group_segments_by_size`: runs of segments that fit one cleaned segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kavka.storage.log import PartitionLog
from kavka.storage.segment import INT32_MAX, LogSegment

__all__ = ["cleanable_range", "filthiest", "group_segments_by_size"]


def cleanable_range(log: PartitionLog, checkpoint: int | None, now: int) -> tuple[int, int, int, int, bool]:
    """``(first dirty, first uncleanable, clean bytes, cleanable bytes, need compaction now)`` of ``log``,
    whose ``cleaner-offset-checkpoint`` entry is ``checkpoint`` (None when it has none)."""
    cfg = log.config
    segs = log.segments
    start, leo = log.log_start_offset, log.log_end_offset
    first_dirty = checkpoint
    if first_dirty is None or first_dirty < start or first_dirty > leo:
        first_dirty = start
    active = segs[-1]
    # Kavka addition: only fsynced data (below the recovery point) is cleaned. A roll's fsync is
    # deferred to the next tick; cleaning a rolled segment before it would let a crash lose both a
    # record that was durable and the unsynced newer value it was dropped for.
    uncleanable = min(log.last_stable_offset, active.base_offset, log.recovery_point)
    dirty_non_active = [s for i, s in enumerate(segs[:-1]) if segs[i + 1].base_offset > first_dirty]
    if cfg.min_compaction_lag_ms > 0:
        for s in dirty_non_active:
            if s.largest_timestamp > now - cfg.min_compaction_lag_ms:
                uncleanable = min(uncleanable, s.base_offset)
                break
    first_uncleanable = active.base_offset  # rounded down to the base of the segment holding it
    for i, s in enumerate(segs):
        nxt = segs[i + 1].base_offset if i + 1 < len(segs) else None
        if nxt is None or nxt > uncleanable:
            first_uncleanable = s.base_offset
            break
    clean_bytes = cleanable_bytes = 0
    for i, s in enumerate(segs):
        if s.base_offset >= first_uncleanable:
            break
        nxt = segs[i + 1].base_offset
        if nxt <= first_dirty:
            clean_bytes += s.size()
        else:
            cleanable_bytes += s.size()
    need_now = False
    if cfg.max_compaction_lag_ms < 2**63 - 1:
        stamps = [s.first_batch_timestamp for s in dirty_non_active if s.first_batch_timestamp > 0]
        if stamps and min(stamps) < now - max(cfg.max_compaction_lag_ms, 0):
            need_now = True
    return first_dirty, first_uncleanable, clean_bytes, cleanable_bytes, need_now


def filthiest(
    logs: Iterable[tuple[str, PartitionLog]],
    now: int,
    checkpoint_of: Callable[[str, PartitionLog], int | None],
    horizons: dict[str, int],
    uncleanable: set[str],
) -> tuple[str, PartitionLog, int, int] | None:
    """``(log dir, log, first dirty, first uncleanable)`` of the log to clean next, or None.

    ``logs`` are ``(log dir, PartitionLog)`` pairs; closed logs, logs without ``compact`` and logs in
    ``uncleanable`` (by ``log.dir``) are skipped; ``horizons`` holds the earliest delete horizon the
    cleaner stamped on each log (by ``log.dir``).
    """
    best = None
    best_key = None
    for log_dir, log in logs:
        if log.closed or not log.config.compact or log.dir in uncleanable:
            continue
        first_dirty, upper, clean, cleanable, need_now = cleanable_range(log, checkpoint_of(log_dir, log), now)
        total = clean + cleanable
        if total <= 0:
            continue
        ratio = cleanable / total
        horizon = horizons.get(log.dir)
        horizon_due = horizon is not None and horizon <= now and upper > log.log_start_offset
        if (need_now and cleanable > 0) or ratio > log.config.min_cleanable_dirty_ratio or horizon_due:
            if best_key is None or ratio > best_key:
                best, best_key = (log_dir, log, first_dirty, upper), ratio
    return best


def group_segments_by_size(
    segments: list[LogSegment], max_size: int, max_index_size: int, first_uncleanable: int
) -> list[list[LogSegment]]:
    """Kafka's ``groupSegmentsBySize``: consecutive segments whose log bytes fit ``max_size``, whose
    index bytes fit ``max_index_size``, and whose offsets fit an int32 from the group's base."""
    groups: list[list[LogSegment]] = []
    i = 0
    while i < len(segments):
        group = [segments[i]]
        log_size = segments[i].size()
        index_size = segments[i].offset_index.entries * 8
        time_size = segments[i].time_index.entries * 12
        i += 1
        while i < len(segments):
            seg = segments[i]
            last = segments[i + 1].base_offset - 1 if i + 1 < len(segments) else first_uncleanable - 1
            if (
                log_size + seg.size() > max_size
                or index_size + seg.offset_index.entries * 8 > max_index_size
                or time_size + seg.time_index.entries * 12 > max_index_size
                or (seg.size() > 0 and last - group[0].base_offset > INT32_MAX)
            ):
                break
            group.append(seg)
            log_size += seg.size()
            index_size += seg.offset_index.entries * 8
            time_size += seg.time_index.entries * 12
            i += 1
        groups.append(group)
    return groups
