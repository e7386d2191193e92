"""Every partition log under ``log.dirs`` (Kafka's ``LogManager``).

Layout of each log directory::

    <log dir>/
        meta.properties                     (kavka.storage.checkpoints; written by the broker)
        recovery-point-offset-checkpoint    <topic> <partition> <offset> per log (offset checkpoint)
        log-start-offset-checkpoint         same format
        replication-offset-checkpoint       same format: each log's high watermark (read by a cluster broker)
        cleaner-offset-checkpoint           same format: where each compacted log's dirty part begins
        .kafka_cleanshutdown                present only between a clean shutdown and the next startup
        <topic>-<partition>/                one PartitionLog each (kavka.storage.log)
        <topic>-<partition>.<uuid hex>-delete/   a deleted log not yet removed

``startup`` reads the checkpoints, notes whether the marker is there (clean shutdown), opens every
partition directory (``-delete`` directories are removed, ``-future`` ones skipped), then removes the
marker durably before any append can happen, so a crash from then on is recovered next time.
``shutdown`` flushes and closes every log (producer snapshots at the log end), writes both checkpoints
and the marker. Every directory name is treated alike; ``__cluster_metadata-0`` is just another log.

``tick()`` (the broker calls it about once a second) does the periodic work: the deferred flush of
segments rolled since the last tick (``PartitionLog.flush_rolled``: Kafka's asynchronous flush after a
roll), ``flush.ms`` flushes, removal of ``*.deleted`` segment files whose ``file.delete.delay.ms``
passed, checkpoints every ``checkpoint_interval_ms``, retention every
``log.retention.check.interval.ms`` (the log-start-offset checkpoint is rewritten when retention moved a
log start), producer id expiration every ``producer.id.expiration.check.interval.ms`` (producers idle
for ``producer.id.expiration.ms`` with no open transaction are forgotten, Kafka's
``removeExpiredProducers``), and a bounded slice of log cleaning (kavka.storage.cleaner;
``log.cleaner.enable``). The cleaner handles every log whose topic config says
``cleanup.policy=compact`` -- ``__consumer_offsets`` and ``__transaction_state`` included.

Failed log dirs (Kafka's ``LogDirFailureChannel`` + ``LogManager.handleLogDirFailure``): an I/O error
(``OSError``, or the ``KafkaStorageError`` a log raises for one) in any work on a log dir takes the whole
dir offline: its logs leave the manager (file handles closed, nothing more written), their partitions are
remembered in ``offline_partitions``, no checkpoint, marker or new log goes there, and every callback in
``dir_failure_listeners`` is told ``(dir, partitions)`` once. The other dirs carry on. Nothing in an
offline dir is repaired in place: the next start (after space is freed or the disk replaced) recovers it
as after a crash, since it has no clean-shutdown marker. Deciding to halt (all dirs, or the metadata
log's dir, gone) is the broker's business. A dir that fails while loading at ``startup`` is LogDirError.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar, Unpack

from kavka.storage.checkpoints import (
    HIGH_WATERMARK_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    CheckpointError,
    read_offset_checkpoint,
    read_partition_metadata,
    topic_id_to_str,
    write_offset_checkpoint,
    write_partition_metadata,
)
from kavka.storage.cleaner import CleanerBudget, LogCleaner
from kavka.storage.config import LogConfig
from kavka.storage.errors import KafkaStorageError, LogDirError
from kavka.storage.fs import FileLock, FileSystem
from kavka.storage.log import PartitionLog, parse_partition_dir_name

__all__ = ["LogManager", "CLEAN_SHUTDOWN_MARKER", "LOCK_FILE"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


def _reason(exc: BaseException) -> str:
    """One line for an I/O failure: ``[Errno 28] No space left on device: '<path>'`` -> its strerror+path."""
    cause = exc.__cause__ if isinstance(exc, KafkaStorageError) and exc.__cause__ is not None else exc
    if isinstance(cause, OSError) and cause.strerror:
        return f"{cause.strerror}" + (f" ({cause.filename})" if cause.filename else "")
    return str(cause) or type(cause).__name__


CLEAN_SHUTDOWN_MARKER = ".kafka_cleanshutdown"
LOCK_FILE = ".lock"
DELETE_SUFFIX = "-delete"
FUTURE_SUFFIX = "-future"


class LogManager:
    def __init__(
        self,
        fs: FileSystem,
        log_dirs: list[str],
        default_config: LogConfig,
        clock_ms: Callable[[], int],
        *,
        retention_check_interval_ms: int = 300000,
        cleaner_enable: bool = True,
        cleaner_dedupe_buffer_size: int = 128 * 1024 * 1024,
        cleaner_io_buffer_size: int = 512 * 1024,
        cleaner_backoff_ms: int = 15000,
        cleaner_max_ms_per_tick: float | None = 100.0,
        cleaner_io_max_bytes_per_second: float | None = None,
        producer_id_expiration_ms: int = 86_400_000,
        producer_id_expiration_check_interval_ms: int = 600_000,
    ) -> None:
        """Broker configs, by Kafka name: ``log.retention.check.interval.ms``, ``log.cleaner.enable``,
        ``log.cleaner.dedupe.buffer.size``, ``log.cleaner.io.buffer.size``, ``log.cleaner.backoff.ms``,
        ``producer.id.expiration.ms`` (dynamic in Kafka: assign ``producer_id_expiration_ms``, it applies
        from the next check) and ``producer.id.expiration.check.interval.ms`` (internal in Kafka).
        ``cleaner_max_ms_per_tick`` bounds the time one tick spends cleaning (None: no bound);
        ``cleaner_io_max_bytes_per_second`` is ``log.cleaner.io.max.bytes.per.second``."""
        if not log_dirs:
            raise ValueError("at least one log directory is needed")
        self.fs = fs
        self.log_dirs = [d.rstrip("/") or "/" for d in log_dirs]
        self._locks: list[FileLock] = []
        self.lock_log_dirs()
        self.default_config = default_config
        self.clock_ms = clock_ms
        self._logs: dict[tuple[str, int], PartitionLog] = {}
        self._log_dir_of: dict[tuple[str, int], str] = {}
        self._topic_configs: dict[str, LogConfig] = {}
        self.had_clean_shutdown: dict[str, bool] = {}
        self._creating_in: str | None = None
        self.offline_dirs: dict[str, str] = {}  # failed log dir -> what failed
        self.offline_partitions: dict[tuple[str, int], str] = {}  # partition -> its failed log dir
        # the high watermarks replication-offset-checkpoint held at startup (the broker's to use)
        self.high_watermark_checkpoints: dict[tuple[str, int], int] = {}
        self.dir_failure_listeners: list[Callable[[str, list[tuple[str, int]]], None]] = []
        self._started = False
        # Kafka's log.flush.offset.checkpoint.interval.ms, log.flush.start.offset.checkpoint.interval.ms,
        # log.retention.check.interval.ms and log.flush.scheduler.interval.ms (there Long.MAX; here the
        # scheduler only acts on logs whose flush.ms elapsed, so checking each tick is cheap).
        self.checkpoint_interval_ms = 60000
        self.retention_check_interval_ms = retention_check_interval_ms
        self._last_checkpoint_ms = clock_ms()
        self._last_retention_ms = self._last_checkpoint_ms
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.producer_id_expiration_check_interval_ms = producer_id_expiration_check_interval_ms
        self._last_producer_expiration_ms = self._last_checkpoint_ms
        self.cleaner: LogCleaner | None = None
        if cleaner_enable:
            self.cleaner = LogCleaner(
                fs,
                clock_ms,
                dedupe_buffer_size=cleaner_dedupe_buffer_size,
                io_buffer_size=cleaner_io_buffer_size,
                backoff_ms=cleaner_backoff_ms,
                max_ms_per_run=cleaner_max_ms_per_tick,
                io_max_bytes_per_second=cleaner_io_max_bytes_per_second,
            )

    # -- lifecycle ------------------------------------------------------------------------------------

    def lock_log_dirs(self) -> None:
        """Take ``<dir>/.lock`` (an exclusive flock) in every log dir, as Kafka's LogManager does, so two
        brokers never write one directory; LogDirError naming the dir if another process holds one."""
        for log_dir in self.log_dirs:
            try:
                self.fs.makedirs(log_dir)
                lock = self.fs.try_lock(f"{log_dir}/{LOCK_FILE}")
            except OSError as e:
                self.release_locks()
                raise LogDirError(f"cannot lock log dir {log_dir}: {e.strerror or e}") from None
            if lock is None:
                self.release_locks()
                raise LogDirError(
                    f"Failed to acquire lock on file {LOCK_FILE} in {log_dir}: another process is using this directory"
                )
            self._locks.append(lock)

    def release_locks(self) -> None:
        for lock in self._locks:
            lock.release()
        self._locks.clear()

    def startup(self, topic_configs: dict[str, LogConfig] | None = None) -> None:
        """Open every partition directory found. ``topic_configs`` overrides the default per topic."""
        if topic_configs:
            self._topic_configs.update(topic_configs)
        for log_dir in self.log_dirs:
            try:
                self._load_dir(log_dir)
            except (OSError, KafkaStorageError) as e:
                raise LogDirError(f"cannot load log dir {log_dir}: {_reason(e)}") from None
        if self.cleaner is not None:
            self.cleaner.load_checkpoints(self.log_dirs)
        self._started = True

    def _load_dir(self, log_dir: str) -> None:
        fs = self.fs
        now = self.clock_ms()
        fs.makedirs(log_dir)
        marker = f"{log_dir}/{CLEAN_SHUTDOWN_MARKER}"
        clean = fs.exists(marker)
        self.had_clean_shutdown[log_dir] = clean
        recovery_points = self._read_checkpoint(f"{log_dir}/{RECOVERY_POINT_CHECKPOINT}")
        self.high_watermark_checkpoints.update(self._read_checkpoint(f"{log_dir}/{HIGH_WATERMARK_CHECKPOINT}") or {})
        start_offsets = self._read_checkpoint(f"{log_dir}/{LOG_START_OFFSET_CHECKPOINT}")
        if recovery_points is None:  # unreadable: recover every segment (Kafka resets the point to 0)
            recovery_points, clean = {}, False
        for name in sorted(fs.listdir(log_dir)):
            path = f"{log_dir}/{name}"
            if not fs.isdir(path):
                continue
            if name.endswith(DELETE_SUFFIX):
                fs.rmtree(path)
                continue
            if name.endswith(FUTURE_SUFFIX):
                continue
            try:
                topic, partition = parse_partition_dir_name(name)
            except ValueError:
                continue
            key = (topic, partition)
            topic_id = None
            try:
                topic_id = read_partition_metadata(fs, path)
            except CheckpointError:
                pass
            log = PartitionLog(
                fs,
                path,
                self.config_for(topic),
                now_ms=now,
                recovery_point=recovery_points.get(key, 0),
                log_start_offset=(start_offsets or {}).get(key, 0),
                clean_shutdown=clean,
                topic_id=topic_id,
                producer_id_expiration_ms=self.producer_id_expiration_ms,
            )
            self._logs[key] = log
            self._log_dir_of[key] = log_dir
        if fs.exists(marker):
            fs.remove(marker)  # durable before the first append

    def _read_checkpoint(self, path: str) -> dict[tuple[str, int], int] | None:
        """The checkpoint's entries; None (with a warning) if it is unreadable: as Kafka's LogManager,
        the broker then starts as if it were missing (every log recovered, log starts from the segments)."""
        try:
            return read_offset_checkpoint(self.fs, path)
        except CheckpointError as e:
            logger.warning("Error occurred while reading %s: %s; resetting it (all of its logs are recovered)", path, e)
            return None

    def shutdown(self) -> None:
        """Flush and close every log, write checkpoints, then the clean-shutdown marker in each live dir.

        A dir failing here goes offline like any other (no marker: the next start recovers it) and the
        shutdown goes on with the others; offline dirs are left untouched."""
        if self.cleaner is not None:
            self.cleaner.shutdown()  # an unfinished round's .cleaned files go; its work is redone later
        for key, plog in list(self._logs.items()):
            log_dir = self._log_dir_of.get(key)
            if log_dir is None or log_dir in self.offline_dirs:
                continue
            try:
                plog.close()
            except (OSError, KafkaStorageError) as e:
                self.handle_log_dir_failure(log_dir, e)
        self.checkpoint_recovery_points()
        self.checkpoint_log_start_offsets()
        self.checkpoint_high_watermarks()
        body = json.dumps({"version": 0, "brokerEpoch": -1}).encode()
        for log_dir in self.live_log_dirs:
            try:
                self.fs.write_atomic(f"{log_dir}/{CLEAN_SHUTDOWN_MARKER}", body)
            except OSError as e:
                self.handle_log_dir_failure(log_dir, e)
        self._logs.clear()
        self._log_dir_of.clear()
        self._started = False
        self.release_locks()

    # -- failed log dirs ------------------------------------------------------------------------------

    @property
    def live_log_dirs(self) -> list[str]:
        return [d for d in self.log_dirs if d not in self.offline_dirs]

    def log_dir_of(self, topic: str, partition: int) -> str | None:
        """The log dir holding the partition's log (also when that dir is offline); None if unknown."""
        return self._log_dir_of.get((topic, partition)) or self.offline_partitions.get((topic, partition))

    def handle_log_dir_failure(self, log_dir: str, exc: BaseException | str) -> list[tuple[str, int]]:
        """Take ``log_dir`` offline after an I/O error (see the module docstring); returns the partitions
        that went offline with it (none if it already was offline)."""
        if log_dir in self.offline_dirs or log_dir not in self.log_dirs:
            return []
        reason = exc if isinstance(exc, str) else _reason(exc)
        self.offline_dirs[log_dir] = reason
        logger.error("Stopping serving logs in dir %s: %s", log_dir, reason)
        offline = sorted(key for key, d in self._log_dir_of.items() if d == log_dir)
        for key in offline:
            plog = self._logs.pop(key)
            del self._log_dir_of[key]
            self.offline_partitions[key] = log_dir
            if self.cleaner is not None:
                self.cleaner.forget(log_dir, plog)
            plog.close_handles()
        if offline:
            logger.warning(
                "Logs for partitions %s are offline due to failure on log directory %s",
                ",".join(f"{t}-{p}" for t, p in offline),
                log_dir,
            )
        for listener in list(self.dir_failure_listeners):
            listener(log_dir, offline)
        return offline

    def handle_log_failure(self, plog: PartitionLog, exc: BaseException) -> list[tuple[str, int]]:
        """An I/O error on one log: its whole dir goes offline (Kafka's rule)."""
        log_dir = self._log_dir_of.get((plog.topic, plog.partition))
        if log_dir is None:
            return []
        return self.handle_log_dir_failure(log_dir, exc)

    def _guarded(self, plog: PartitionLog, work: Callable[[PartitionLog], _T]) -> _T | None:
        """``work(plog)``; an I/O error takes the log's dir offline and yields None. A log whose dir
        went offline earlier in the same sweep (its handles closed) is skipped."""
        if (plog.topic, plog.partition) in self.offline_partitions:
            return None
        try:
            return work(plog)
        except (OSError, KafkaStorageError) as e:
            self.handle_log_failure(plog, e)
            return None

    # -- logs -----------------------------------------------------------------------------------------

    def config_for(self, topic: str) -> LogConfig:
        return self._topic_configs.get(topic, self.default_config)

    def get_log(self, topic: str, partition: int) -> PartitionLog | None:
        return self._logs.get((topic, partition))

    def all_logs(self) -> list[PartitionLog]:
        return list(self._logs.values())

    def __iter__(self) -> Iterator[PartitionLog]:
        return iter(list(self._logs.values()))

    def _pick_log_dir(self) -> str:
        live = self.live_log_dirs
        if not live:
            raise KafkaStorageError(f"no log dir is online (offline: {', '.join(self.offline_dirs)})")
        counts = {d: 0 for d in live}
        for d in self._log_dir_of.values():
            if d in counts:
                counts[d] += 1
        return min(live, key=lambda d: (counts[d], self.log_dirs.index(d)))

    def get_or_create_log(
        self, topic: str, partition: int, topic_id: bytes | str | None = None, config: LogConfig | None = None
    ) -> PartitionLog:
        """The log of ``topic-partition``, created in the live log dir holding the fewest partitions if new.

        KafkaStorageError if the partition's dir is offline, or if the dir it is created in fails (that dir
        then goes offline) -- never a bare OSError."""
        key = (topic, partition)
        if key in self.offline_partitions:
            raise KafkaStorageError(f"log dir {self.offline_partitions[key]} of {topic}-{partition} is offline")
        try:
            return self._get_or_create_log(key, topic_id, config)
        except OSError as e:
            log_dir = self._log_dir_of.get(key) or self._creating_in
            if log_dir is not None:
                if key not in self._log_dir_of:
                    self.offline_partitions[key] = log_dir  # it was being created there
                self.handle_log_dir_failure(log_dir, e)
            raise KafkaStorageError(f"cannot open the log of {topic}-{partition}: {_reason(e)}") from e
        finally:
            self._creating_in = None

    def _get_or_create_log(
        self, key: tuple[str, int], topic_id: bytes | str | None, config: LogConfig | None
    ) -> PartitionLog:
        topic, partition = key
        if config is not None:
            self._topic_configs[topic] = config
        log = self._logs.get(key)
        if log is not None:
            if config is not None:
                log.update_config(config)
            if topic_id is not None and log.topic_id is None:
                write_partition_metadata(self.fs, log.dir, topic_id)
                log.topic_id = topic_id_to_str(topic_id)
            return log
        log_dir = self._creating_in = self._pick_log_dir()
        path = f"{log_dir}/{topic}-{partition}"
        self.fs.makedirs(path)
        tid = None
        if topic_id is not None:
            write_partition_metadata(self.fs, path, topic_id)
            tid = topic_id_to_str(topic_id)
        log = PartitionLog(
            self.fs,
            path,
            config or self.config_for(topic),
            now_ms=self.clock_ms(),
            clean_shutdown=True,
            topic_id=tid,
            producer_id_expiration_ms=self.producer_id_expiration_ms,
        )
        self._logs[key] = log
        self._log_dir_of[key] = log_dir
        return log

    def delete_log(self, topic: str, partition: int) -> bool:
        """Rename the directory to ``<topic>-<partition>.<uuid hex>-delete`` and remove it at once."""
        key = (topic, partition)
        log = self._logs.pop(key, None)
        log_dir = self._log_dir_of.pop(key, None)
        if log is None or log_dir is None:
            return False
        if self.cleaner is not None:
            self.cleaner.forget(log_dir, log)
        log.close_handles()
        doomed = f"{log_dir}/{topic}-{partition}.{uuid.uuid4().hex}{DELETE_SUFFIX}"
        try:
            self.fs.rename(log.dir, doomed)
            self.fs.rmtree(doomed)
        except OSError as e:  # the log is gone from the manager; a restart removes what is left
            self.handle_log_dir_failure(log_dir, e)
        return True

    def move_log(self, topic: str, partition: int, dest_dir: str) -> PartitionLog:
        """Move a partition's log to another live log dir (AlterReplicaLogDirs), synchronously, and
        return the reopened log (the caller swaps it in wherever the old one is held).

        The log is closed cleanly (flushed, producer snapshot written), its files are copied into
        ``<dest>/<topic>-<partition>.<uuid>-future`` (Kafka's name for a replica being moved, skipped at
        startup) and fsynced, that directory is renamed to ``<dest>/<topic>-<partition>``, and only then
        is the old directory removed. A crash before the rename leaves the old log in place (and a
        future directory a restart ignores); after it, the old directory is the one a restart would
        find twice, so it goes at once. KafkaStorageError when a dir fails meanwhile."""
        key = (topic, partition)
        log, src_dir = self._logs[key], self._log_dir_of[key]
        if dest_dir == src_dir:
            return log
        if dest_dir not in self.live_log_dirs:
            raise KafkaStorageError(f"log dir {dest_dir} is offline")
        log_start, topic_id = log.log_start_offset, log.topic_id
        if self.cleaner is not None:
            self.cleaner.forget(src_dir, log)
        log.close()
        future = f"{dest_dir}/{topic}-{partition}.{uuid.uuid4().hex}{FUTURE_SUFFIX}"
        final = f"{dest_dir}/{topic}-{partition}"
        try:
            self.fs.makedirs(future)
            for name in self.fs.listdir(log.dir):
                source = self.fs.open(f"{log.dir}/{name}")
                target = self.fs.open(f"{future}/{name}")
                try:
                    size, pos = source.size(), 0
                    while pos < size:
                        chunk = source.pread(pos, min(1 << 20, size - pos))
                        target.append(chunk)
                        pos += len(chunk)
                    target.fsync()
                finally:
                    source.close()
                    target.close()
            self.fs.fsync_dir(future)
            self.fs.rename(future, final)
            self.fs.fsync_dir(dest_dir)
            self.fs.rmtree(log.dir)
        except OSError as e:
            if not self.fs.exists(final):  # not moved: reopen it where it was, drop the partial copy
                self._logs[key] = self._reopen(topic, log.dir, log.log_end_offset, log_start, topic_id)
                try:
                    self.fs.rmtree(future)
                except OSError:
                    logger.warning("could not remove %s after a failed move; a restart ignores it", future)
            raise KafkaStorageError(f"moving {topic}-{partition} to {dest_dir} failed: {_reason(e)}") from e
        self._logs[key] = self._reopen(topic, final, log.log_end_offset, log_start, topic_id)
        self._log_dir_of[key] = dest_dir
        return self._logs[key]

    def _reopen(self, topic: str, path: str, recovery_point: int, log_start: int, topic_id: str | None) -> PartitionLog:
        return PartitionLog(
            self.fs,
            path,
            self.config_for(topic),
            now_ms=self.clock_ms(),
            recovery_point=recovery_point,
            log_start_offset=log_start,
            clean_shutdown=True,
            topic_id=topic_id,
            producer_id_expiration_ms=self.producer_id_expiration_ms,
        )

    def update_config(self, topic: str, config: LogConfig) -> None:
        self._topic_configs[topic] = config
        for (t, _p), log in self._logs.items():
            if t == topic:
                log.update_config(config)

    # -- periodic work --------------------------------------------------------------------------------

    def flush_all(self) -> None:
        now = self.clock_ms()
        for plog in list(self._logs.values()):
            self._guarded(plog, lambda lg: lg.flush(now))

    def tick(self) -> None:
        """Periodic housekeeping; call about once a second: flush.ms flushes, checkpoints, retention.
        An I/O error takes its log dir offline; the work goes on for the other dirs."""
        if not self._started:
            return
        now = self.clock_ms()
        self.flush_rolled()
        self.flush_dirty()
        self.delete_expired_files()
        if now - self._last_checkpoint_ms >= self.checkpoint_interval_ms:
            self._last_checkpoint_ms = now
            self.checkpoint_recovery_points()
            self.checkpoint_log_start_offsets()
        if now - self._last_retention_ms >= self.retention_check_interval_ms:
            self._last_retention_ms = now
            self.enforce_retention()
        if now - self._last_producer_expiration_ms >= self.producer_id_expiration_check_interval_ms:
            self._last_producer_expiration_ms = now
            self.remove_expired_producers()
        self.run_cleaner()

    def run_cleaner(self, **budget: Unpack[CleanerBudget]) -> int:
        """One bounded slice of log cleaning (see kavka.storage.cleaner); bytes processed. An I/O error
        whose file lies in a log dir takes that dir offline."""
        if self.cleaner is None:
            return 0
        try:
            return self.cleaner.run_once(self.logs_with_dirs(), **budget)
        except OSError as e:
            failed = next((d for d in self.log_dirs if str(e.filename or "").startswith(d + "/")), None)
            if failed is None:
                raise
            self.handle_log_dir_failure(failed, e)
            return 0

    def logs_with_dirs(self) -> list[tuple[str, PartitionLog]]:
        return [(self._log_dir_of[key], log) for key, log in self._logs.items()]

    def _each(self, work: Callable[[PartitionLog], int]) -> int:
        """Sum of ``work`` over every log, each guarded (see ``_guarded``)."""
        return sum(self._guarded(plog, work) or 0 for plog in list(self._logs.values()))

    def delete_expired_files(self) -> int:
        """Remove ``*.deleted`` segment files whose ``file.delete.delay.ms`` has passed."""
        now = self.clock_ms()
        return self._each(lambda lg: lg.delete_expired_files(now))

    def flush_rolled(self) -> int:
        """The deferred flush of every log that rolled since the last call; returns how many flushed."""
        return self._each(lambda lg: 1 if lg.flush_rolled() else 0)

    def remove_expired_producers(self) -> int:
        """Producer id expiration on every log now; returns how many producers were forgotten."""
        now = self.clock_ms()
        return self._each(lambda lg: len(lg.remove_expired_producers(now, self.producer_id_expiration_ms)))

    def flush_dirty(self) -> int:
        """Flush logs whose ``flush.ms`` has elapsed; returns how many were flushed."""
        now = self.clock_ms()
        return self._each(lambda lg: 1 if lg.maybe_flush(now) else 0)

    def enforce_retention(self) -> int:
        """Retention on every log now; the log-start-offset checkpoint is rewritten if a start moved."""
        now = self.clock_ms()
        moved = False

        def retain(plog: PartitionLog) -> int:
            nonlocal moved
            before = plog.log_start_offset
            deleted = plog.enforce_retention(now)
            moved = moved or plog.log_start_offset != before
            return deleted

        deleted = self._each(retain)
        if moved:
            self.checkpoint_log_start_offsets()
        return deleted

    def _per_dir(self, value: Callable[[PartitionLog], int]) -> dict[str, dict[tuple[str, int], int]]:
        out: dict[str, dict[tuple[str, int], int]] = {d: {} for d in self.live_log_dirs}
        for key, plog in self._logs.items():
            out[self._log_dir_of[key]][key] = value(plog)
        return out

    def _write_checkpoints(self, name: str, value: Callable[[PartitionLog], int]) -> None:
        for log_dir, entries in self._per_dir(value).items():
            try:
                write_offset_checkpoint(self.fs, f"{log_dir}/{name}", entries)
            except OSError as e:
                self.handle_log_dir_failure(log_dir, e)

    def checkpoint_recovery_points(self) -> None:
        self._write_checkpoints(RECOVERY_POINT_CHECKPOINT, lambda lg: lg.recovery_point)

    def checkpoint_log_start_offsets(self) -> None:
        self._write_checkpoints(LOG_START_OFFSET_CHECKPOINT, lambda lg: lg.log_start_offset)

    def checkpoint_high_watermarks(self) -> None:
        """``replication-offset-checkpoint``: each log's high watermark, which a restarted broker in a
        cluster starts from (anything above it may not be committed); Kafka's ReplicaManager writes it
        every ``replica.high.watermark.checkpoint.interval.ms`` and at shutdown."""
        self._write_checkpoints(HIGH_WATERMARK_CHECKPOINT, lambda lg: lg.high_watermark)
