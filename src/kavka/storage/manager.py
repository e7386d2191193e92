"""Every partition log under ``log.dirs`` (Kafka's ``LogManager``).

Layout of each log directory::

    <log dir>/
        meta.properties                     (kavka.storage.checkpoints; written by the broker)
        recovery-point-offset-checkpoint    <topic> <partition> <offset> per log (offset checkpoint)
        log-start-offset-checkpoint         same format
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
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Callable, Iterator

from kavka.storage.cleaner import LogCleaner
from kavka.storage.checkpoints import (
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    CheckpointError,
    read_offset_checkpoint,
    read_partition_metadata,
    topic_id_to_str,
    write_offset_checkpoint,
    write_partition_metadata,
)
from kavka.storage.config import LogConfig
from kavka.storage.errors import LogDirError
from kavka.storage.fs import FileLock, FileSystem
from kavka.storage.log import PartitionLog, parse_partition_dir_name

__all__ = ["LogManager", "CLEAN_SHUTDOWN_MARKER", "LOCK_FILE"]

log = logging.getLogger(__name__)

CLEAN_SHUTDOWN_MARKER = ".kafka_cleanshutdown"
LOCK_FILE = ".lock"
DELETE_SUFFIX = "-delete"
FUTURE_SUFFIX = "-future"


class LogManager:
    def __init__(self, fs: FileSystem, log_dirs: list[str], default_config: LogConfig,
                 clock_ms: Callable[[], int], *, retention_check_interval_ms: int = 300000,
                 cleaner_enable: bool = True, cleaner_dedupe_buffer_size: int = 128 * 1024 * 1024,
                 cleaner_io_buffer_size: int = 512 * 1024, cleaner_backoff_ms: int = 15000,
                 cleaner_max_ms_per_tick: float | None = 100.0, cleaner_io_max_bytes_per_second: float | None = None,
                 producer_id_expiration_ms: int = 86_400_000,
                 producer_id_expiration_check_interval_ms: int = 600_000) -> None:
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
            self.cleaner = LogCleaner(fs, clock_ms, dedupe_buffer_size=cleaner_dedupe_buffer_size,
                                      io_buffer_size=cleaner_io_buffer_size, backoff_ms=cleaner_backoff_ms,
                                      max_ms_per_run=cleaner_max_ms_per_tick,
                                      io_max_bytes_per_second=cleaner_io_max_bytes_per_second)

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
                raise LogDirError(f"Failed to acquire lock on file {LOCK_FILE} in {log_dir}: another process "
                                  "is using this directory")
            self._locks.append(lock)

    def release_locks(self) -> None:
        for lock in self._locks:
            lock.release()
        self._locks.clear()

    def startup(self, topic_configs: dict[str, LogConfig] | None = None) -> None:
        """Open every partition directory found. ``topic_configs`` overrides the default per topic."""
        if topic_configs:
            self._topic_configs.update(topic_configs)
        fs = self.fs
        now = self.clock_ms()
        for log_dir in self.log_dirs:
            fs.makedirs(log_dir)
            marker = f"{log_dir}/{CLEAN_SHUTDOWN_MARKER}"
            clean = fs.exists(marker)
            self.had_clean_shutdown[log_dir] = clean
            recovery_points = self._read_checkpoint(f"{log_dir}/{RECOVERY_POINT_CHECKPOINT}")
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
                log = PartitionLog(fs, path, self.config_for(topic), now_ms=now,
                                   recovery_point=recovery_points.get(key, 0),
                                   log_start_offset=(start_offsets or {}).get(key, 0),
                                   clean_shutdown=clean, topic_id=topic_id,
                                   producer_id_expiration_ms=self.producer_id_expiration_ms)
                self._logs[key] = log
                self._log_dir_of[key] = log_dir
            if fs.exists(marker):
                fs.remove(marker)  # durable before the first append
        if self.cleaner is not None:
            self.cleaner.load_checkpoints(self.log_dirs)
        self._started = True

    def _read_checkpoint(self, path: str) -> dict[tuple[str, int], int] | None:
        """The checkpoint's entries; None (with a warning) if it is unreadable: as Kafka's LogManager,
        the broker then starts as if it were missing (every log recovered, log starts from the segments)."""
        try:
            return read_offset_checkpoint(self.fs, path)
        except CheckpointError as e:
            log.warning("Error occurred while reading %s: %s; resetting it (all of its logs are recovered)",
                        path, e)
            return None

    def shutdown(self) -> None:
        """Flush and close every log, write checkpoints, then the clean-shutdown marker in each dir."""
        if self.cleaner is not None:
            self.cleaner.shutdown()  # an unfinished round's .cleaned files go; its work is redone later
        for log in self._logs.values():
            log.close()
        self.checkpoint_recovery_points()
        self.checkpoint_log_start_offsets()
        body = json.dumps({"version": 0, "brokerEpoch": -1}).encode()
        for log_dir in self.log_dirs:
            self.fs.write_atomic(f"{log_dir}/{CLEAN_SHUTDOWN_MARKER}", body)
        self._logs.clear()
        self._log_dir_of.clear()
        self._started = False
        self.release_locks()

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
        counts = {d: 0 for d in self.log_dirs}
        for d in self._log_dir_of.values():
            counts[d] += 1
        return min(self.log_dirs, key=lambda d: (counts[d], self.log_dirs.index(d)))

    def get_or_create_log(self, topic: str, partition: int, topic_id: bytes | str | None = None,
                          config: LogConfig | None = None) -> PartitionLog:
        """The log of ``topic-partition``, created in the log dir holding the fewest partitions if new."""
        key = (topic, partition)
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
        log_dir = self._pick_log_dir()
        path = f"{log_dir}/{topic}-{partition}"
        self.fs.makedirs(path)
        tid = None
        if topic_id is not None:
            write_partition_metadata(self.fs, path, topic_id)
            tid = topic_id_to_str(topic_id)
        log = PartitionLog(self.fs, path, config or self.config_for(topic), now_ms=self.clock_ms(),
                           clean_shutdown=True, topic_id=tid,
                           producer_id_expiration_ms=self.producer_id_expiration_ms)
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
        self.fs.rename(log.dir, doomed)
        self.fs.rmtree(doomed)
        return True

    def update_config(self, topic: str, config: LogConfig) -> None:
        self._topic_configs[topic] = config
        for (t, _p), log in self._logs.items():
            if t == topic:
                log.update_config(config)

    # -- periodic work --------------------------------------------------------------------------------

    def flush_all(self) -> None:
        now = self.clock_ms()
        for log in self._logs.values():
            log.flush(now)

    def tick(self) -> None:
        """Periodic housekeeping; call about once a second: flush.ms flushes, checkpoints, retention."""
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

    def run_cleaner(self, **budget) -> int:
        """One bounded slice of log cleaning (see kavka.storage.cleaner); bytes processed."""
        if self.cleaner is None:
            return 0
        return self.cleaner.run_once(self.logs_with_dirs(), **budget)

    def logs_with_dirs(self) -> list[tuple[str, PartitionLog]]:
        return [(self._log_dir_of[key], log) for key, log in self._logs.items()]

    def delete_expired_files(self) -> int:
        """Remove ``*.deleted`` segment files whose ``file.delete.delay.ms`` has passed."""
        now = self.clock_ms()
        return sum(log.delete_expired_files(now) for log in self._logs.values())

    def flush_rolled(self) -> int:
        """The deferred flush of every log that rolled since the last call; returns how many flushed."""
        return sum(1 for log in self._logs.values() if log.flush_rolled())

    def remove_expired_producers(self) -> int:
        """Producer id expiration on every log now; returns how many producers were forgotten."""
        now = self.clock_ms()
        return sum(len(log.remove_expired_producers(now, self.producer_id_expiration_ms))
                   for log in self._logs.values())

    def flush_dirty(self) -> int:
        """Flush logs whose ``flush.ms`` has elapsed; returns how many were flushed."""
        now = self.clock_ms()
        return sum(1 for log in self._logs.values() if log.maybe_flush(now))

    def enforce_retention(self) -> int:
        """Retention on every log now; the log-start-offset checkpoint is rewritten if a start moved."""
        now = self.clock_ms()
        deleted = 0
        moved = False
        for log in self._logs.values():
            before = log.log_start_offset
            deleted += log.enforce_retention(now)
            moved = moved or log.log_start_offset != before
        if moved:
            self.checkpoint_log_start_offsets()
        return deleted

    def _per_dir(self, value: Callable[[PartitionLog], int]) -> dict[str, dict[tuple[str, int], int]]:
        out: dict[str, dict[tuple[str, int], int]] = {d: {} for d in self.log_dirs}
        for key, log in self._logs.items():
            out[self._log_dir_of[key]][key] = value(log)
        return out

    def checkpoint_recovery_points(self) -> None:
        for log_dir, entries in self._per_dir(lambda log: log.recovery_point).items():
            write_offset_checkpoint(self.fs, f"{log_dir}/{RECOVERY_POINT_CHECKPOINT}", entries)

    def checkpoint_log_start_offsets(self) -> None:
        for log_dir, entries in self._per_dir(lambda log: log.log_start_offset).items():
            write_offset_checkpoint(self.fs, f"{log_dir}/{LOG_START_OFFSET_CHECKPOINT}", entries)
