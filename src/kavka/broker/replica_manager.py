"""ReplicaManager: routes produce and fetch to partition logs, and wakes long polls.

Owns one :class:`Partition` per hosted topic-partition: its log, topic id, leader epoch, replicas and
ISR, and the topic's config. On a single node this broker leads every partition, the ISR is itself,
and the high watermark follows the log end offset right after each append (an append is "in the log
of the whole ISR" the moment it is in ours). Replication, when it comes, changes only how the high
watermark advances.

Failed log dirs: a partition whose log dir went offline (kavka.storage.manager) is marked ``offline``
and answers KAFKA_STORAGE_ERROR to every read and write, as Kafka's ``HostedPartition.Offline``. An I/O
error met here (``KafkaStorageError`` from the log, or a bare ``OSError``) is reported through
``on_storage_error`` (the broker takes the dir offline) and answered KAFKA_STORAGE_ERROR.

Long polls: a Fetch that finds fewer than ``min_bytes`` parks a future on each partition it reads
(:meth:`wait_for_data`); an append that moves a partition's high watermark resolves them at once, so
consumers see new records without waiting out ``max_wait_ms``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from kavka.broker.metrics import BrokerTopicMetrics
from kavka.protocol import batch as batchmod
from kavka.protocol.api import ErrorCode
from kavka.protocol.fetch import FetchPartitionResponse
from kavka.protocol.produce import PartitionResponse
from kavka.storage.errors import KafkaStorageError, OffsetOutOfRangeError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FollowerState:
    """What the leader knows of one follower replica (Kafka's ``Replica``): the log end offset of its
    last fetch, when it last fetched, and the last time it was caught up (fetched up to the leader's log
    end offset as it was at the previous fetch), which decides whether it stays in the ISR."""

    log_end_offset: int = -1
    last_fetch_ms: int = -1
    last_caught_up_ms: int = -1


@dataclass(slots=True)
class Partition:
    topic: str
    index: int
    topic_id: object
    log: object  # kavka.storage.log.PartitionLog
    leader_epoch: int = 0
    replicas: tuple = ()
    isr: tuple = ()
    min_insync_replicas: int = 1
    waiters: list = field(default_factory=list)
    offline: bool = False  # its log dir failed: KAFKA_STORAGE_ERROR until a restart
    leader_id: int = -1  # the partition's leader in the committed image (-1: none)
    is_leader: bool = True  # this broker leads it (a single node leads everything)
    followers: dict = field(default_factory=dict)  # leader only: node id -> FollowerState
    fetch_lag: int = 0  # follower only: the leader's high watermark at the last fetch minus our LEO


def _offline_message(p: Partition) -> str:
    return f"the log dir of {p.topic}-{p.index} is offline (I/O error); see the broker's log"


_NO_LOG_START_OFFSET = frozenset(
    {ErrorCode.message_too_large, ErrorCode.record_list_too_large, ErrorCode.corrupt_message}
)


def _error_code_of(exc: Exception) -> int:
    if isinstance(exc, batchmod.CorruptRecordError):
        return ErrorCode.corrupt_message
    if isinstance(exc, batchmod.InvalidRecordError):
        return ErrorCode.invalid_record
    code = getattr(exc, "error_code", None)
    if code is None:
        raise exc
    return int(code)


class ReplicaManager:
    def __init__(self, clock_ms):
        self._clock_ms = clock_ms
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.bytes_in = 0
        self.bytes_out = 0
        self.messages_in = 0
        self.topic_metrics = BrokerTopicMetrics()
        # called with (partition, exception) on an I/O error in its log; the broker takes the dir offline
        self.on_storage_error = None
        self.offline: set[tuple[str, int]] = set()  # partitions in failed log dirs (hosted or not)
        self.isr_shrinks = 0  # ISR changes this broker made as leader (IsrShrinksPerSec / IsrExpandsPerSec)
        self.isr_expands = 0

    def storage_failed(self, p: Partition, exc: Exception) -> None:
        """An I/O error on ``p``'s log: reported (its dir goes offline), ``p`` offline from now on."""
        log.error("I/O error on %s-%d: %s", p.topic, p.index, exc)
        if self.on_storage_error is not None:
            self.on_storage_error(p, exc)
        p.offline = True

    def mark_offline(self, keys) -> None:
        """Partitions whose log dir failed: every request on them is KAFKA_STORAGE_ERROR from now on."""
        for key in keys:
            self.offline.add(key)
            p = self.partitions.get(key)
            if p is not None:
                p.offline = True
                self._wake(p)

    def missing_code(self, topic: str, index: int) -> int:
        """The error for a partition not hosted: KAFKA_STORAGE_ERROR if its log dir failed (it could not be
        opened), else UNKNOWN_TOPIC_OR_PARTITION."""
        if (topic, index) in self.offline:
            return ErrorCode.kafka_storage_error
        return ErrorCode.unknown_topic_or_partition

    def add(self, partition: Partition) -> None:
        self.partitions[(partition.topic, partition.index)] = partition

    def remove_topic(self, topic: str) -> list[Partition]:
        self.offline = {key for key in self.offline if key[0] != topic}
        removed = [p for key, p in self.partitions.items() if key[0] == topic]
        for p in removed:
            del self.partitions[(topic, p.index)]
            self._wake(p)
        self.topic_metrics.remove_topic(topic)
        return removed

    def get(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    # --- produce -----------------------------------------------------------------------------

    def append(self, topic: str, index: int, records, acks: int) -> PartitionResponse:
        """Append one partition's record set as leader; never raises for a client's bad input."""
        p = self.partitions.get((topic, index))
        if p is None:
            return PartitionResponse(index, self.missing_code(topic, index))
        if p.offline:
            self.topic_metrics.record_failed_produce(topic)
            return PartitionResponse(index, ErrorCode.kafka_storage_error, error_message=_offline_message(p))
        size = 0 if records is None else len(records)
        if size == 0:
            return PartitionResponse(index, ErrorCode.corrupt_message, error_message="empty record set")
        if acks == -1 and len(p.isr) < p.min_insync_replicas:
            return PartitionResponse(
                index,
                ErrorCode.not_enough_replicas,
                error_message=f"The size of the current ISR {len(p.isr)} is insufficient to satisfy "
                f"the min.isr requirement of {p.min_insync_replicas} for partition "
                f"{topic}-{index}",
            )
        plog = p.log
        try:
            result = plog.append_as_leader(records, leader_epoch=p.leader_epoch, now_ms=self._clock_ms())
        except (KafkaStorageError, OSError) as e:
            self.storage_failed(p, e)
            self.topic_metrics.record_failed_produce(topic)
            return PartitionResponse(index, ErrorCode.kafka_storage_error, error_message=_offline_message(p))
        except Exception as e:  # noqa: BLE001 - mapped to a Kafka error code, re-raised if unknown
            code = _error_code_of(e)
            log.debug("append to %s-%d refused: %s", topic, index, e)
            self.topic_metrics.record_failed_produce(topic)
            return PartitionResponse(
                index,
                code,
                # Kafka's ReplicaManager: no log start offset with these errors (an unknown append info)
                log_start_offset=-1 if code in _NO_LOG_START_OFFSET else plog.log_start_offset,
                error_message=str(e),
                record_errors=getattr(e, "record_errors", ()),
            )
        if not result.duplicate:
            self.bytes_in += size
            self.messages_in += result.num_records
            self.topic_metrics.record_produce(topic, size, result.num_records)
            plog.update_high_watermark(plog.log_end_offset)
            self._wake(p)
        return PartitionResponse(index, 0, result.base_offset, result.log_append_time, result.log_start_offset)

    def write_txn_marker(
        self, topic: str, index: int, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int
    ) -> int:
        """Write a COMMIT/ABORT marker for ``producer_id`` to one partition as leader (what a
        WriteTxnMarkers request does to it) and move the high watermark; an error code, NONE on success.

        A partition not hosted here is UNKNOWN_TOPIC_OR_PARTITION; the log refuses a stale producer
        epoch (INVALID_PRODUCER_EPOCH) or coordinator epoch (TRANSACTION_COORDINATOR_FENCED).
        """
        p = self.partitions.get((topic, index))
        if p is None:
            return self.missing_code(topic, index)
        if p.offline:
            return ErrorCode.kafka_storage_error
        plog = p.log
        try:
            plog.append_control_marker(
                producer_id, producer_epoch, commit, coordinator_epoch, self._clock_ms(), leader_epoch=p.leader_epoch
            )
        except (KafkaStorageError, OSError) as e:
            self.storage_failed(p, e)
            return ErrorCode.kafka_storage_error
        except Exception as e:  # noqa: BLE001 - mapped to a Kafka error code
            code = getattr(e, "error_code", None)
            if code is None:  # an I/O failure or a bug: reported, and the marker is retried
                log.exception("marker on %s-%d failed", topic, index)
                return ErrorCode.unknown_server_error
            log.debug("marker on %s-%d refused: %s", topic, index, e)
            return int(code)
        plog.update_high_watermark(plog.log_end_offset)
        self._wake(p)
        return ErrorCode.none

    # --- fetch -------------------------------------------------------------------------------

    def read(
        self, topic: str, index: int, offset: int, max_bytes: int, *, read_committed: bool, min_one_batch: bool
    ) -> FetchPartitionResponse:
        p = self.partitions.get((topic, index))
        if p is None:
            # Kafka sends empty (never null) records with an error: librdkafka rejects null.
            return FetchPartitionResponse(
                index, self.missing_code(topic, index), -1, -1, -1, records=(), records_size=0
            )
        if p.offline:
            return FetchPartitionResponse(index, ErrorCode.kafka_storage_error, -1, -1, -1, records=(), records_size=0)
        plog = p.log
        hw = plog.high_watermark
        lso = plog.last_stable_offset
        upper = lso if read_committed else hw
        end = offset
        try:
            if offset >= upper and offset <= plog.log_end_offset and offset >= plog.log_start_offset:
                chunks, size = [], 0
            else:
                res = plog.read_for_fetch(offset, max_bytes, max_offset=upper, min_one_batch=min_one_batch)
                chunks, size, end = res.chunks, res.size, res.next_offset
        except OffsetOutOfRangeError:
            return FetchPartitionResponse(
                index, ErrorCode.offset_out_of_range, hw, lso, plog.log_start_offset, records=(), records_size=0
            )
        except batchmod.CorruptRecordError as e:
            # Damage in the log is never served as a silent stall: the consumer gets CORRUPT_MESSAGE for
            # this partition and the operator a log line naming the segment, position and offset.
            log.error("fetch of %s-%d at offset %d: %s", topic, index, offset, e)
            return FetchPartitionResponse(
                index, ErrorCode.corrupt_message, hw, lso, plog.log_start_offset, records=(), records_size=0
            )
        except (KafkaStorageError, OSError) as e:
            self.storage_failed(p, e)
            return FetchPartitionResponse(index, ErrorCode.kafka_storage_error, -1, -1, -1, records=(), records_size=0)
        self.bytes_out += size
        self.topic_metrics.record_fetch(topic, size)
        aborted = None
        if read_committed:
            # Kafka's upper bound: the offset after the data returned (else where the read stopped)
            aborted = plog.collect_aborted_transactions(offset, end) if size else []
        return FetchPartitionResponse(
            index,
            0,
            hw,
            lso,
            plog.log_start_offset,
            aborted_transactions=aborted,
            records=chunks,
            records_size=size,
        )

    def wait_for_data(self, keys, loop: asyncio.AbstractEventLoop) -> asyncio.Future:
        """A future resolved at the next append to any of ``keys`` (topic, partition)."""
        fut = loop.create_future()
        for key in keys:
            p = self.partitions.get(key)
            if p is not None:
                p.waiters.append(fut)
        return fut

    @staticmethod
    def _wake(p: Partition) -> None:
        if p.waiters:
            waiters, p.waiters = p.waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def forget_waiter(self, keys, fut) -> None:
        for key in keys:
            p = self.partitions.get(key)
            if p is not None and fut in p.waiters:
                p.waiters.remove(fut)
