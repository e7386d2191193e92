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
from kavka.metadata.internal_topics import INTERNAL_TOPICS
from kavka.protocol import batch as batchmod
from kavka.protocol.api import ErrorCode
from kavka.protocol.fetch import FetchPartitionResponse
from kavka.protocol.produce import PartitionResponse
from kavka.replication.leader import FollowerState, LeaderState
from kavka.storage.errors import KafkaStorageError, OffsetOutOfRangeError

log = logging.getLogger(__name__)


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
    waiters: list = field(default_factory=list)  # woken when the high watermark moves (consumers, acks=all)
    offline: bool = False  # its log dir failed: KAFKA_STORAGE_ERROR until a restart
    leader_id: int = -1  # the partition's leader in the committed image (-1: none)
    is_leader: bool = True  # this broker leads it (a single node leads everything)
    partition_epoch: int = 0
    leader_state: LeaderState | None = None  # leader only, in a cluster: followers, ISR changes
    replica_waiters: list = field(default_factory=list)  # woken by any append (followers' long polls)
    fetch_lag: int = 0  # follower only: the leader's high watermark at the last fetch minus our LEO

    @property
    def followers(self) -> dict[int, FollowerState]:
        """Leader only: node id -> what this leader knows of that follower."""
        return {} if self.leader_state is None else self.leader_state.followers


def _offline_message(p: Partition) -> str:
    return f"the log dir of {p.topic}-{p.index} is offline (I/O error); see the broker's log"


_NO_LOG_START_OFFSET = frozenset(
    {ErrorCode.message_too_large, ErrorCode.record_list_too_large, ErrorCode.corrupt_message}
)


def _resolve(waiters: list) -> None:
    for fut in waiters:
        if not fut.done():
            fut.set_result(None)


def _failed(index: int, code: int) -> FetchPartitionResponse:
    """A fetch answer with an error and no offsets; records empty, never null (librdkafka rejects null)."""
    return FetchPartitionResponse(index, code, -1, -1, -1, records=(), records_size=0)


def _empty(index: int, code: int, plog, **kw) -> FetchPartitionResponse:
    """A fetch answer with the log's offsets and no records (an error of the read, or a diverging epoch)."""
    return FetchPartitionResponse(
        index,
        code,
        plog.high_watermark,
        plog.last_stable_offset,
        plog.log_start_offset,
        records=(),
        records_size=0,
        **kw,
    )


def _epoch_error(p: Partition, current_leader_epoch: int) -> int | None:
    """Kafka's leader epoch check of a fetch or offset request (-1: the client does not say):
    FENCED_LEADER_EPOCH when it knows an older epoch, UNKNOWN_LEADER_EPOCH when a newer one."""
    if current_leader_epoch < 0 or current_leader_epoch == p.leader_epoch:
        return None
    if current_leader_epoch < p.leader_epoch:
        return ErrorCode.fenced_leader_epoch
    return ErrorCode.unknown_leader_epoch


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
        # called with (partition, proposed ISR) when a leader's ISR should change; the broker sends
        # AlterPartition to the controller
        self.on_isr_change = None
        # is_active(broker id): registered, unfenced and not shutting down (from the metadata image)
        self.is_active = lambda broker_id: True

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
                self._wake_replicas(p)

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
            self._wake_replicas(p)
        self.topic_metrics.remove_topic(topic)
        return removed

    def remove_partition(self, topic: str, index: int) -> None:
        """Stop hosting one partition (its topic was deleted, or a reassignment moved it away)."""
        p = self.partitions.pop((topic, index), None)
        self.offline.discard((topic, index))
        if p is not None:
            self._wake(p)
            self._wake_replicas(p)
        if not any(key[0] == topic for key in self.partitions):
            self.topic_metrics.remove_topic(topic)

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
        if not p.is_leader:
            return PartitionResponse(index, ErrorCode.not_leader_or_follower)
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
            self._appended(p)
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
        if not p.is_leader:
            return ErrorCode.not_leader_or_follower
        if p.leader_state is not None and len(p.isr) < p.min_insync_replicas:
            return ErrorCode.not_enough_replicas  # markers are written with acks=all, as Kafka writes them
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
        self._appended(p)
        return ErrorCode.none

    # --- the high watermark ------------------------------------------------------------------

    def _appended(self, p: Partition) -> None:
        """After an append as leader: followers' long polls wake, and the high watermark moves if the
        ISR is this broker alone (a single node, or a leader whose followers all fell out)."""
        self._wake_replicas(p)
        self.maybe_advance_high_watermark(p)

    def maybe_advance_high_watermark(self, p: Partition) -> bool:
        """Move a leader's high watermark to the smallest log end offset of its maximal ISR (never back);
        wakes consumers' long polls and delayed produces when it moves."""
        plog = p.log
        state = p.leader_state
        target = plog.log_end_offset if state is None else state.high_watermark(plog.log_end_offset)
        if target <= plog.high_watermark:
            return False
        plog.update_high_watermark(target)
        self._wake(p)
        return True

    async def until_high_watermark(self, p: Partition, offset: int, timeout: float) -> bool:
        """Wait until ``p``'s high watermark reaches ``offset`` while this broker leads it at the same
        epoch; False if leadership moved or ``timeout`` seconds passed first."""
        return await self.until_replicated(p, offset, timeout, check_min_isr=False) == ErrorCode.none

    def unreplicated_end(self, topic: str, index: int) -> tuple[Partition, int] | None:
        """(partition, log end offset) when ``topic-index`` is led here and its high watermark is behind
        its log end (right after an append: what the append must wait for with acks=all); else None."""
        p = self.partitions.get((topic, index))
        if p is None or not p.is_leader or p.log.high_watermark >= p.log.log_end_offset:
            return None
        return p, p.log.log_end_offset

    def unreplicated_internal_writes(self) -> list[tuple[Partition, int]]:
        """(partition, its log end offset) of every internal-topic partition this broker leads whose
        high watermark is behind: the coordinators' writes not yet in their whole ISR."""
        return [
            (p, p.log.log_end_offset)
            for (topic, _), p in self.partitions.items()
            if topic in INTERNAL_TOPICS
            and p.is_leader
            and not p.offline
            and p.log.high_watermark < p.log.log_end_offset
        ]

    async def until_replicated(self, p: Partition, offset: int, timeout: float, *, check_min_isr: bool = True) -> int:
        """acks=all (Kafka's DelayedProduce): wait until the high watermark reaches ``offset`` (the log end
        offset right after the append); NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below
        min.insync.replicas meanwhile, NOT_LEADER_OR_FOLLOWER if leadership moved (the write may be
        truncated away), REQUEST_TIMED_OUT after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        epoch = p.leader_epoch
        while True:
            current = self.partitions.get((p.topic, p.index))
            if current is not p or not p.is_leader or p.leader_epoch != epoch:
                return ErrorCode.not_leader_or_follower
            if p.offline:
                return ErrorCode.kafka_storage_error
            if p.log.high_watermark >= offset:
                if check_min_isr and len(p.isr) < p.min_insync_replicas:
                    return ErrorCode.not_enough_replicas_after_append
                return ErrorCode.none
            remaining = deadline - loop.time()
            if remaining <= 0:
                return ErrorCode.request_timed_out
            fut = loop.create_future()
            p.waiters.append(fut)
            try:
                async with asyncio.timeout(remaining):
                    await fut
            except TimeoutError:
                if fut in p.waiters:
                    p.waiters.remove(fut)

    # --- leaders and followers ---------------------------------------------------------------

    def make_leader(self, p: Partition, image_partition, now_ms: int, *, replicated: bool) -> None:
        """This broker leads ``p`` at the image's leader epoch (Kafka's ``Partition.makeLeader``): the
        epoch starts at our log end offset in the leader epoch cache, followers are tracked anew, and the
        high watermark moves as soon as the ISR allows it. Not ``replicated`` (a single node): no
        follower is tracked and the high watermark is the log end offset."""
        plog = p.log
        p.is_leader, p.leader_id = True, image_partition.leader
        p.leader_epoch, p.partition_epoch = image_partition.leader_epoch, image_partition.partition_epoch
        p.replicas, p.isr = tuple(image_partition.replicas), tuple(image_partition.isr)
        p.fetch_lag = 0
        if not replicated:
            p.leader_state = None
            self.maybe_advance_high_watermark(p)
            return
        if plog.leader_epoch_cache.latest_epoch < p.leader_epoch:
            plog.leader_epoch_cache.assign(p.leader_epoch, plog.log_end_offset)
            plog.leader_epoch_cache.flush()
        p.leader_state = LeaderState.become_leader(
            image_partition.leader,
            p.replicas,
            p.isr,
            p.leader_epoch,
            p.partition_epoch,
            plog.log_end_offset,
            now_ms,
        )
        self.maybe_advance_high_watermark(p)
        self._wake(p)  # delayed produces of an older epoch answer NOT_LEADER_OR_FOLLOWER
        self._wake_replicas(p)

    def make_follower(self, p: Partition, image_partition) -> None:
        """``p`` follows the image's leader (or waits for one, leader -1): clients get
        NOT_LEADER_OR_FOLLOWER, delayed produces of our leadership end, the fetcher takes over."""
        p.is_leader, p.leader_id = False, image_partition.leader
        p.leader_epoch, p.partition_epoch = image_partition.leader_epoch, image_partition.partition_epoch
        p.replicas, p.isr = tuple(image_partition.replicas), tuple(image_partition.isr)
        p.leader_state = None
        self._wake(p)
        self._wake_replicas(p)

    def update_isr(self, p: Partition, replicas, isr, partition_epoch: int, now_ms: int) -> None:
        """A committed (or AlterPartition-answered) ISR or replica change at the same leader epoch."""
        if partition_epoch < p.partition_epoch:
            return
        p.replicas, p.isr, p.partition_epoch = tuple(replicas), tuple(isr), partition_epoch
        if p.leader_state is not None:
            p.leader_state.update(replicas, isr, partition_epoch, now_ms)
            self.maybe_advance_high_watermark(p)
            self._wake(p)  # a delayed produce re-checks min.insync.replicas against the new ISR

    # --- fetch -------------------------------------------------------------------------------

    def read(
        self,
        topic: str,
        index: int,
        offset: int,
        max_bytes: int,
        *,
        read_committed: bool,
        min_one_batch: bool,
        current_leader_epoch: int = -1,
        follower_reads: bool = False,
    ) -> FetchPartitionResponse:
        """A consumer's read of one partition, up to the high watermark (the last stable offset for
        ``read_committed``). On a follower only with ``follower_reads`` (Kafka: a Fetch v11+ carries
        client metadata, and then a follower serves it from its own log, up to its own high watermark,
        KIP-392); else NOT_LEADER_OR_FOLLOWER."""
        p = self._fetchable(topic, index, current_leader_epoch)
        if isinstance(p, FetchPartitionResponse):
            return p
        if not p.is_leader and not (follower_reads and p.leader_id >= 0):
            return _failed(index, ErrorCode.not_leader_or_follower)
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
            return _empty(index, ErrorCode.offset_out_of_range, plog)
        except batchmod.CorruptRecordError as e:
            # Damage in the log is never served as a silent stall: the consumer gets CORRUPT_MESSAGE for
            # this partition and the operator a log line naming the segment, position and offset.
            log.error("fetch of %s-%d at offset %d: %s", topic, index, offset, e)
            return _empty(index, ErrorCode.corrupt_message, plog)
        except (KafkaStorageError, OSError) as e:
            self.storage_failed(p, e)
            return _failed(index, ErrorCode.kafka_storage_error)
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

    def _fetchable(self, topic: str, index: int, current_leader_epoch: int) -> Partition | FetchPartitionResponse:
        """The hosted, online partition a fetch names at a leader epoch that matches ours, else the
        fetch's error answer (unknown, KAFKA_STORAGE_ERROR, FENCED_ / UNKNOWN_LEADER_EPOCH)."""
        p = self.partitions.get((topic, index))
        if p is None:
            return _failed(index, self.missing_code(topic, index))
        if p.offline:
            return _failed(index, ErrorCode.kafka_storage_error)
        code = _epoch_error(p, current_leader_epoch)
        return p if code is None else _failed(index, code)

    def read_for_replica(
        self,
        topic: str,
        index: int,
        replica_id: int,
        offset: int,
        max_bytes: int,
        *,
        last_fetched_epoch: int,
        current_leader_epoch: int,
        now_ms: int,
    ) -> FetchPartitionResponse:
        """A follower's fetch (Kafka's ``Partition.fetchRecords`` for a replica): its position is
        recorded (which may move the high watermark or grow the ISR), then records up to our log end
        offset -- or, when its log diverged from ours at ``last_fetched_epoch``, the diverging epoch and
        where that epoch ends here, so it truncates (KIP-320)."""
        p = self._fetchable(topic, index, current_leader_epoch)
        if isinstance(p, FetchPartitionResponse):
            return p
        if not p.is_leader or p.leader_state is None or replica_id not in p.leader_state.followers:
            return _failed(index, ErrorCode.not_leader_or_follower)
        plog = p.log
        if last_fetched_epoch >= 0:
            epoch, end = plog.end_offset_for_epoch(last_fetched_epoch)
            if epoch < 0 or end < 0 or offset < plog.log_start_offset:
                # Kafka: the epoch's end cannot be told (older than all we know), or the follower is below
                # our log start: out of range, and the follower asks where our log ends
                return _empty(index, ErrorCode.offset_out_of_range, plog)
            if epoch < last_fetched_epoch or end < offset:
                return _empty(index, ErrorCode.none, plog, diverging_epoch=(epoch, end))
        leo = plog.log_end_offset
        try:
            res = plog.read_for_fetch(offset, max_bytes, max_offset=leo, min_one_batch=True)
        except OffsetOutOfRangeError:
            return _empty(index, ErrorCode.offset_out_of_range, plog)
        except (KafkaStorageError, OSError) as e:
            self.storage_failed(p, e)
            return _failed(index, ErrorCode.kafka_storage_error)
        state = p.leader_state
        state.follower_fetched(replica_id, offset, leo, now_ms)
        self.maybe_advance_high_watermark(p)
        if self.on_isr_change is not None:
            grown = state.isr_to_expand(replica_id, plog.high_watermark, self.is_active)
            if grown is not None:
                self.on_isr_change(p, grown)
        return FetchPartitionResponse(
            index,
            0,
            plog.high_watermark,
            plog.last_stable_offset,
            plog.log_start_offset,
            records=res.chunks,
            records_size=res.size,
        )

    def preferred_read_replica(
        self, topic: str, index: int, offset: int, rack: str, racks: dict[int, str | None]
    ) -> int:
        """KIP-392's RackAwareReplicaSelector on a leader: a replica in the consumer's ``rack`` that has
        the data at ``offset`` (its log end at or past it), this leader first; -1 when the consumer should
        stay here (no rack, this leader in it, or no replica there)."""
        p = self.partitions.get((topic, index))
        if p is None or not p.is_leader or p.leader_state is None or not rack:
            return -1
        if racks.get(p.leader_id) == rack:
            return -1
        for replica in p.isr:
            state = p.leader_state.followers.get(replica)
            if state is not None and racks.get(replica) == rack and state.log_end_offset >= offset:
                return replica
        return -1

    def propose_isr_shrinks(self, now_ms: int, lag_time_max_ms: int) -> None:
        """Kafka's ISR expiration task: every led partition whose followers have not caught up for
        ``replica.lag.time.max.ms`` asks the controller to take them out of the ISR."""
        if self.on_isr_change is None:
            return
        for p in list(self.partitions.values()):
            state = p.leader_state
            if state is None or not p.is_leader or p.offline:
                continue
            shrunk = state.isr_to_shrink(now_ms, lag_time_max_ms)
            if shrunk is not None:
                self.on_isr_change(p, shrunk)

    def wait_for_data(self, keys, loop: asyncio.AbstractEventLoop, *, replica: bool = False) -> asyncio.Future:
        """A future resolved when the high watermark of any of ``keys`` (topic, partition) moves, or for
        a ``replica`` at the next append to any of them."""
        fut = loop.create_future()
        for key in keys:
            p = self.partitions.get(key)
            if p is not None:
                (p.replica_waiters if replica else p.waiters).append(fut)
        return fut

    @staticmethod
    def _wake_replicas(p: Partition) -> None:
        """Followers' long polls: at any append."""
        if p.replica_waiters:
            waiters, p.replica_waiters = p.replica_waiters, []
            _resolve(waiters)

    @staticmethod
    def _wake(p: Partition) -> None:
        """Consumers' long polls and delayed produces: when the high watermark moves."""
        if p.waiters:
            waiters, p.waiters = p.waiters, []
            _resolve(waiters)

    def forget_waiter(self, keys, fut) -> None:
        for key in keys:
            p = self.partitions.get(key)
            if p is not None:
                if fut in p.waiters:
                    p.waiters.remove(fut)
                if fut in p.replica_waiters:
                    p.replica_waiters.remove(fut)
