"""The transaction coordinator inside the broker: ``__transaction_state`` logs, markers, timers.

:class:`kavka.coordinator.txn.TransactionCoordinator` is a synchronous state machine; this module gives
it what it needs from the broker. Appends, loading, timers and shutdown are
:class:`~kavka.broker.coordinator_service.CoordinatorService`'s; this module adds:

- **The log.** ``__transaction_state`` is an ordinary compacted topic, created through the controller
  the first time a client looks for a transaction coordinator (FindCoordinator key type 1), with
  ``transaction.state.log.num.partitions`` partitions and ``transaction.state.log.replication.factor``
  replicas (``Broker.ensure_internal_topic``: not created until that many brokers are live; capped
  on a single node); its batches are not compressed.
- **Loading.** The coordinator follows the leadership of the partitions (``load_led_partitions``);
  the partition's leader epoch is the coordinator epoch written into markers, and a new one reloads it.
- **Markers.** After every coordinator call and timer tick, the coordinator's marker jobs go to the
  :class:`~kavka.broker.txn_markers.MarkerWriter`: a partition this broker leads gets its marker in
  process (:meth:`write_marker`, ``PartitionLog.append_control_marker``; the high watermark moves and
  fetchers wake), a partition another broker leads gets it through a WriteTxnMarkers request to that
  broker, and each job is reported back to the coordinator once every partition answered, so the
  transaction completes (CompleteCommit/CompleteAbort) only when every marker is written. For
  ``__consumer_offsets`` partitions the group coordinator is told once the marker is in the log
  (:meth:`on_offsets_marker`): the offsets the transaction wrote there (TxnOffsetCommit, a
  transactional batch of the producer) become visible on commit and are dropped on abort. A partition
  of a deleted topic counts as done (Kafka skips it too); a partition that refuses is retried.
- **Producer ids** come from the broker's blocks (``Broker.next_producer_id``).
- **Verification** (KIP-890 part 1, :mod:`kavka.coordinator.txn.verification`): before the first
  transactional batch of a producer goes into a partition (Produce), or its offsets into
  ``__consumer_offsets`` (TxnOffsetCommit), :meth:`check_produce` / :meth:`check_txn_offset_commit`
  ask the coordinator whether that partition is in the producer's ongoing transaction -- Kafka's
  AddPartitionsToTxn ``verifyOnly`` round trip. When this broker coordinates the transactional id it is
  a synchronous read on the event loop right before the append, so no marker can slip in between.
  When another broker does, an AddPartitionsToTxn v5 goes to it (Kafka's AddPartitionsToTxnManager;
  a lost connection reads NETWORK_EXCEPTION) and the answer is an awaitable; a marker written to the
  partition for that producer while the question is out voids a positive answer (INVALID_TXN_STATE,
  Kafka's VerificationGuard), and the caller appends right after awaiting it.

Everything here runs on the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kavka.broker.coordinator_service import CoordinatorService
from kavka.broker.log_reading import iter_log_records
from kavka.broker.txn_markers import MarkerWriter
from kavka.controller.errors import ProducerIdsNotReady
from kavka.coordinator.runtime import CoordinatorError
from kavka.coordinator.txn import TransactionCoordinator, TxnConfig
from kavka.coordinator.txn.verification import VERIFICATION_ENABLE_CONFIG, produce_error, txn_offset_commit_error
from kavka.coordinator.txn.versions import TV2_PRODUCE_VERSION, TV2_TXN_OFFSET_COMMIT_VERSION
from kavka.metadata.internal_topics import OFFSETS_TOPIC, TXN_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.protocol.batch import CONTROL_BIT

__all__ = ["TxnService", "txn_service_of"]

log = logging.getLogger(__name__)

#: the AddPartitionsToTxn version a partition leader sends its coordinator (the broker form, KIP-890)
ADD_PARTITIONS_BROKER_VERSION = 5
#: what :meth:`TxnService._coordinator_node` says when the transactional id has no coordinator now
NO_COORDINATOR = -1
#: what a remote verification returns when a marker reached the partition meanwhile
_GUARD_LOST = object()
#: Kafka's message for a transactional batch that could not be verified
NOT_VERIFIED_MESSAGE = "Record was not part of an ongoing transaction"


class TxnService(CoordinatorService):
    topic = TXN_TOPIC
    # a new leader epoch is a new coordinator epoch: markers carry it (Kafka's TransactionStateManager
    # reloads the partition on every election)
    reload_on_new_epoch = True

    def __init__(self, broker):
        super().__init__(broker)
        self.config = TxnConfig.from_broker_config(broker.config)
        self.coordinator = TransactionCoordinator(self.config, self._append, broker.clock_ms, self._allocate)
        self.markers = MarkerWriter(
            broker, lambda topic, index, job: self._write_marker(topic, index, job), self._markers_done
        )
        # (topic, partition, producer id) -> [token, waiters] of a verification asked of another broker
        self._guards: dict[tuple[str, int, int], list] = {}
        self._writing = False

    def shutdown(self) -> None:
        self.markers.close()
        super().shutdown()

    def tick(self) -> int | None:
        """Fire the coordinator's due timers and write the markers they asked for."""
        deadline = super().tick()
        if not self._closed:
            self.write_markers()
        return deadline

    # --- the transaction state topic ---------------------------------------------------------

    def _allocate(self) -> int:
        try:
            return self.broker.next_producer_id()
        except ProducerIdsNotReady as e:
            # Kafka's RPCProducerIdManager while its next block is on the way: retriable
            raise CoordinatorError(ErrorCode.coordinator_load_in_progress, str(e)) from e
        except Exception as e:  # the controller could not hand out a block
            raise CoordinatorError(ErrorCode.coordinator_not_available, str(e)) from e

    def ensure_txn_topic(self) -> int:
        """Create ``__transaction_state`` if missing and load its partitions; NONE or an error code."""
        cfg = self.broker.config
        return self._ensure_topic(
            self.config.transaction_state_log_num_partitions,
            int(cfg.get("transaction.state.log.replication.factor", 3) or 3),
            {
                "cleanup.policy": "compact",
                "compression.type": "uncompressed",
                "min.insync.replicas": str(int(cfg.get("transaction.state.log.min.isr", 2) or 2)),
                "segment.bytes": str(cfg.get("transaction.state.log.segment.bytes", 104857600)),
            },
        )

    def load_led_partitions(self) -> None:
        super().load_led_partitions()
        self.write_markers()

    def _begin_load(self, index: int, partition) -> None:
        self.coordinator.begin_load(index, coordinator_epoch=int(partition.leader_epoch))

    def _replay(self, index: int, plog) -> int:
        n = 0
        for key, value in _read_records(plog):
            self.coordinator.replay(index, key, value)
            n += 1
        return n

    # --- markers -----------------------------------------------------------------------------

    def write_markers(self) -> None:
        """Hand every marker job the coordinator has to the marker writer (local partitions are written
        at once, remote ones asked of their leaders; each job is reported back when done)."""
        if self._writing:
            return  # a job reported from inside the loop below: its follow-ups are taken by the loop
        self._writing = True
        try:
            for _ in range(100):
                jobs = self.coordinator.take_marker_jobs()
                if not jobs:
                    return
                self.markers.write(self._prepared(jobs))
        finally:
            self._writing = False

    def _prepared(self, jobs: list) -> list:
        """The jobs whose PrepareCommit / PrepareAbort is in its partition's ISR; the others are written
        once it is (Kafka sends markers only after the prepare record commits: a coordinator lost before
        that comes back without it, and could abort a transaction whose commit markers were out)."""
        if not self.broker.cluster_mode:
            return jobs
        rm = self.broker.replica_manager
        ready = []
        for job in jobs:
            waiting = rm.unreplicated_end(self.topic, job.txn_partition)
            if waiting is None:
                ready.append(job)
            else:
                self._write_when_prepared(job, *waiting)
        return ready

    def _write_when_prepared(self, job, partition, offset: int) -> None:
        timeout = self.broker.config["request.timeout.ms"] / 1000

        async def wait() -> None:
            if await self.broker.replica_manager.until_high_watermark(partition, offset, timeout):
                if not self._closed:
                    self.markers.write([job])
            elif not self._closed:
                self._markers_done(job, set(job.partitions), False)  # retried by the coordinator later

        self.broker._in_background(wait(), f"the markers of {job.transactional_id}")

    def _markers_done(self, job, failed: set[tuple[str, int]], fenced: bool) -> None:
        if self._closed:
            return
        self.coordinator.markers_written(job, failed, fenced)
        self.write_markers()

    def _write_marker(self, topic: str, index: int, job) -> int:
        return self.write_marker(topic, index, job.producer_id, job.producer_epoch, job.commit, job.coordinator_epoch)

    def write_marker(
        self, topic: str, index: int, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int
    ) -> int:
        """One marker into one partition this broker leads (the coordinator's, or a WriteTxnMarkers from
        a coordinator or an admin), then, for a ``__consumer_offsets`` partition, the group coordinator
        applies or drops the producer's offsets. In a cluster a partition another broker leads is
        NOT_LEADER_OR_FOLLOWER (one the image does not have, UNKNOWN_TOPIC_OR_PARTITION), as in Kafka.
        A verification of the producer in flight on the partition is void from here on (see
        :meth:`check_produce`)."""
        broker = self.broker
        if broker.cluster_mode and self._exists(topic, index) and not self._leads(topic, index):
            return ErrorCode.not_leader_or_follower  # Kafka's answer for a partition led elsewhere
        self._guards.pop((topic, index, producer_id), None)
        code = self.broker.replica_manager.write_txn_marker(
            topic, index, producer_id, producer_epoch, commit, coordinator_epoch
        )
        if code == ErrorCode.none and topic == OFFSETS_TOPIC:
            self.on_offsets_marker(index, producer_id, commit)
        return code

    # --- transactional offsets ---------------------------------------------------------------

    def on_offsets_marker(self, offsets_partition: int, producer_id: int, commit: bool) -> None:
        """The marker of ``producer_id`` is in ``__consumer_offsets-<offsets_partition>``: the group
        coordinator applies (commit) or drops (abort) the offsets that producer has pending there."""
        gs = self.broker.group_service
        if gs is not None:  # None only once the broker has shut down
            gs.coordinator.complete_transaction(offsets_partition, producer_id, commit)

    # --- transaction partition verification (KIP-890 part 1) ---------------------------------

    def verification_enabled(self) -> bool:
        """``transaction.partition.verification.enable`` (dynamic in Kafka too)."""
        return bool(self.broker.dynamic_config(VERIFICATION_ENABLE_CONFIG))

    def _needs_verification(
        self, topic: str, index: int, producer_id: int, producer_epoch: int, adds: bool = False
    ) -> bool:
        """True unless the partition is not hosted here (the append reports that), the producer already
        has a transaction open on it at this epoch (Kafka's ``hasOngoingTransaction(producerId,
        producerEpoch)``: only the first batch of a transaction on a partition is verified; one dict
        lookup), or verification is off -- which does not apply when the check ``adds`` the partition
        (transaction version 2: nothing else adds it)."""
        p = self.broker.replica_manager.get(topic, index)
        if p is None:
            return False
        entry = p.log.producer_state.producers.get(producer_id)
        if entry is not None and entry.current_txn_first_offset >= 0 and entry.epoch == producer_epoch:
            return False
        if self.broker.cluster_mode and not self._leads(topic, index):
            return False  # a follower's replica: the append refuses it (NOT_LEADER_OR_FOLLOWER)
        return adds or self.verification_enabled()

    def _exists(self, topic: str, index: int) -> bool:
        image = self.broker.topic(topic)
        return image is not None and index in image.partitions

    def _leads(self, topic: str, index: int) -> bool:
        image = self.broker.topic(topic)
        pimg = image.partitions.get(index) if image is not None else None
        return pimg is not None and pimg.leader == self.broker.node_id

    def verify(self, transactional_id: str, producer_id: int, producer_epoch: int, topic: str, index: int) -> ErrorCode:
        """The coordinator's answer for one partition (NONE: it is in the producer's ongoing transaction).
        No ``__transaction_state`` at all: COORDINATOR_NOT_AVAILABLE, as a leader finding no coordinator."""
        if transactional_id and self.broker.topic(TXN_TOPIC) is None:
            return ErrorCode.coordinator_not_available
        return self.coordinator.verify_partition(
            transactional_id=transactional_id,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            topic=topic,
            partition=index,
        )

    def add_implicitly(
        self, transactional_id: str, producer_id: int, producer_epoch: int, topic: str, index: int
    ) -> ErrorCode:
        """Transaction version 2 (KIP-890 part 2): add the partition to the producer's transaction, as
        Kafka's partition leader does for a Produce v12+ or TxnOffsetCommit v5+ (AddPartitionsToTxn v5,
        not verify-only); a transaction in Empty/Complete* begins. NONE, or the coordinator's error."""
        if self.broker.topic(TXN_TOPIC) is None:
            return ErrorCode.coordinator_not_available
        return ErrorCode(
            self.call(
                self.coordinator.add_partitions_to_txn,
                transactional_id=transactional_id,
                producer_id=producer_id,
                producer_epoch=producer_epoch,
                partitions=[(topic, index)],
                client_transaction_version=2,
            )
        )

    def check_produce(
        self, transactional_id: str | None, producer_id: int, producer_epoch: int, topic: str, index: int, version: int
    ) -> tuple[int, str | None] | None | Awaitable[tuple[int, str | None] | None]:
        """Before appending a transactional batch of ``producer_id`` to ``topic-index`` from a Produce of
        ``version``: None to go ahead, else the (error code, message) that partition gets. From v12
        (transaction version 2) the partition is added to the transaction instead of verified.

        When the transactional id's coordinator is another broker, the answer is an awaitable of the
        same (the coordinator is asked with AddPartitionsToTxn v5). Its caller must append right after
        awaiting it, with nothing awaited in between: the answer holds only until the event loop runs
        something else (a marker written to the partition after the question was asked makes a
        positive answer INVALID_TXN_STATE, Kafka's VerificationGuard)."""
        adds = version >= TV2_PRODUCE_VERSION
        if not self._needs_verification(topic, index, producer_id, producer_epoch, adds):
            return None
        if transactional_id is None:
            # Kafka's log refuses it: nothing could verify the batch
            return ErrorCode.invalid_txn_state, NOT_VERIFIED_MESSAGE
        node = self._coordinator_node(transactional_id)
        if node is None or node == NO_COORDINATOR:
            code = self._local_answer(node, transactional_id, producer_id, producer_epoch, topic, index, adds)
            if code == ErrorCode.none and self._state_unreplicated():

                async def replicated() -> tuple[int, str | None] | None:
                    code = await self._until_state_replicated((topic, index, producer_id))
                    if code is _GUARD_LOST:
                        return ErrorCode.invalid_txn_state, NOT_VERIFIED_MESSAGE
                    return self._produce_answer(
                        code, transactional_id, producer_id, producer_epoch, topic, index, version
                    )

                return replicated()
            return self._produce_answer(code, transactional_id, producer_id, producer_epoch, topic, index, version)

        async def remotely() -> tuple[int, str | None] | None:
            code = await self._ask_coordinator(node, transactional_id, producer_id, producer_epoch, topic, index, adds)
            if code is _GUARD_LOST:
                return ErrorCode.invalid_txn_state, NOT_VERIFIED_MESSAGE
            return self._produce_answer(code, transactional_id, producer_id, producer_epoch, topic, index, version)

        return remotely()

    def _produce_answer(
        self,
        code: int,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        topic: str,
        index: int,
        version: int,
    ) -> tuple[int, str | None] | None:
        if code == ErrorCode.none:
            return None
        log.debug(
            "transactional produce of %s (producer %d epoch %d) to %s-%d refused: %s",
            transactional_id,
            producer_id,
            producer_epoch,
            topic,
            index,
            ErrorCode(code).name,
        )
        return produce_error(code, version)

    def check_txn_offset_commit(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str, version: int
    ) -> int | Awaitable[int]:
        """Before a TxnOffsetCommit of ``version`` writes the group's offsets (a transactional batch of the
        producer in the group's ``__consumer_offsets`` partition): NONE, or the error for every partition
        of the request (Kafka verifies there too, since 3.6). From v5 the partition is added instead. An
        awaitable of the same when the coordinator is another broker (see :meth:`check_produce`)."""
        if not group_id:
            return ErrorCode.none  # the group coordinator refuses it (INVALID_GROUP_ID), as Kafka checks first
        topic, index = self.coordinator.offsets_partition(group_id)
        adds = version >= TV2_TXN_OFFSET_COMMIT_VERSION
        if not self._needs_verification(topic, index, producer_id, producer_epoch, adds):
            return ErrorCode.none
        node = self._coordinator_node(transactional_id)
        if node is None or node == NO_COORDINATOR:
            code = self._local_answer(node, transactional_id, producer_id, producer_epoch, topic, index, adds)
            if code == ErrorCode.none and self._state_unreplicated():

                async def replicated() -> int:
                    code = await self._until_state_replicated((topic, index, producer_id))
                    if code is _GUARD_LOST:
                        return ErrorCode.invalid_txn_state
                    return ErrorCode.none if code == ErrorCode.none else txn_offset_commit_error(code, version)

                return replicated()
            return ErrorCode.none if code == ErrorCode.none else txn_offset_commit_error(code, version)

        async def remotely() -> int:
            code = await self._ask_coordinator(node, transactional_id, producer_id, producer_epoch, topic, index, adds)
            if code is _GUARD_LOST:
                return ErrorCode.invalid_txn_state
            return ErrorCode.none if code == ErrorCode.none else txn_offset_commit_error(code, version)

        return remotely()

    # --- a local coordinator's writes, replicated before the append they allow ---------------------

    def _state_unreplicated(self) -> bool:
        """In a cluster: a write to ``__transaction_state`` this broker leads is not in its ISR yet."""
        if not self.broker.cluster_mode:
            return False
        return any(p.topic == TXN_TOPIC for p, _ in self.broker.replica_manager.unreplicated_internal_writes())

    async def _until_state_replicated(self, key: tuple[str, int, int]):
        """Wait until this coordinator's writes are in their ISR (Kafka answers an AddPartitionsToTxn only
        once its write is committed: a partition added, then lost with the coordinator, would leave the
        batch's transaction open there forever). NONE; NOT_ENOUGH_REPLICAS (the producer retries) if they
        are not replicated within ``request.timeout.ms``; ``_GUARD_LOST`` if a marker reached the
        partition meanwhile."""
        rm = self.broker.replica_manager
        timeout = self.broker.config["request.timeout.ms"] / 1000

        async def replicated() -> int:
            for p, offset in rm.unreplicated_internal_writes():
                if p.topic == TXN_TOPIC and not await rm.until_high_watermark(p, offset, timeout):
                    return ErrorCode.not_enough_replicas
            return ErrorCode.none

        return await self._guarded(key, replicated())

    async def _guarded(self, key: tuple[str, int, int], work: Awaitable[int]):
        """``work``'s code, or ``_GUARD_LOST`` when a marker reached the partition of ``key`` (topic,
        partition, producer id) while it ran (Kafka's VerificationGuard)."""
        guard = self._guards.get(key)
        if guard is None:
            guard = self._guards[key] = [object(), 0]
        guard[1] += 1
        try:
            code = await work
        finally:
            guard[1] -= 1
            current = self._guards.get(key)
            intact = current is guard
            if intact and guard[1] == 0:
                del self._guards[key]
        if code == ErrorCode.none and not intact:
            return _GUARD_LOST
        return code

    # --- verification by a coordinator on another broker (Kafka's AddPartitionsToTxnManager) ---------

    def _coordinator_node(self, transactional_id: str) -> int | None:
        """The broker coordinating ``transactional_id`` when it is another one (None: this broker, or no
        cluster; the local coordinator then answers, NOT_COORDINATOR if it does not own the id);
        NO_COORDINATOR when the topic or the partition's live leader is missing."""
        broker = self.broker
        if not broker.cluster_mode or broker.broker_channel is None:
            return None
        image = broker.topic(TXN_TOPIC)
        if image is None:
            return None  # the local answer: COORDINATOR_NOT_AVAILABLE
        pimg = image.partitions.get(self.partition_for(transactional_id))
        if pimg is None or pimg.leader < 0:
            return NO_COORDINATOR
        if pimg.leader == broker.node_id:
            return None
        if all(b.node_id != pimg.leader for b in broker.live_brokers()):
            return NO_COORDINATOR
        return int(pimg.leader)

    def _local_answer(
        self,
        node: int | None,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        topic: str,
        index: int,
        adds: bool,
    ) -> int:
        """The answer when no other broker is to be asked: no coordinator at all, or this one."""
        if node == NO_COORDINATOR:
            return ErrorCode.coordinator_not_available
        if adds:
            return self.add_implicitly(transactional_id, producer_id, producer_epoch, topic, index)
        return self.verify(transactional_id, producer_id, producer_epoch, topic, index)

    async def _ask_coordinator(
        self,
        node: int,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        topic: str,
        index: int,
        adds: bool,
    ):
        """The coordinator's answer for one partition (an error code), or ``_GUARD_LOST`` when a marker
        reached the partition while the question was out."""
        return await self._guarded(
            (topic, index, producer_id),
            self._add_partitions_request(node, transactional_id, producer_id, producer_epoch, topic, index, adds),
        )

    async def _add_partitions_request(
        self,
        node: int,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        topic: str,
        index: int,
        adds: bool,
    ) -> int:
        body = {
            "transactions": [
                {
                    "transactional_id": transactional_id,
                    "producer_id": producer_id,
                    "producer_epoch": producer_epoch,
                    "verify_only": not adds,
                    "topics": [{"name": topic, "partitions": [index]}],
                }
            ]
        }
        timeout = int(self.broker.config.get("request.timeout.ms", 30000) or 30000) / 1000
        try:
            response = await self.broker.broker_channel.request(
                node, ApiKey.ADD_PARTITIONS_TO_TXN, ADD_PARTITIONS_BROKER_VERSION, body, timeout, purpose="txn-verify"
            )
        except asyncio.CancelledError:
            raise
        except Exception as e:  # unreachable, timed out, disconnected: Kafka's NETWORK_EXCEPTION
            log.info("AddPartitionsToTxn to broker %d for %s failed: %s", node, transactional_id, e)
            return ErrorCode.network_exception
        if response.error_code:
            # Kafka hides CLUSTER_AUTHORIZATION_FAILED from clients: the verification did not complete
            if response.error_code == ErrorCode.cluster_authorization_failed:
                return ErrorCode.invalid_txn_state
            return int(response.error_code)
        for txn in response.results_by_transaction:
            for t in txn.topic_results:
                for p in t.results_by_partition:
                    if t.name == topic and int(p.partition_index) == index:
                        return int(p.partition_error_code)
        return ErrorCode.none  # not named in the answer: no error for it, as Kafka reads the answer

    # --- asyncio adaptation ------------------------------------------------------------------

    def call(self, fn: Callable[..., None], **kwargs) -> Any:
        """Run ``fn(respond=..., **kwargs)``, write the markers it asked for, return its answer."""
        self._ensure_timer_task()
        answers: list = []
        fn(respond=answers.append, **kwargs)
        self.write_markers()
        return answers[0]


def _read_records(plog):
    """(key, value) of every keyed data record of a partition log, oldest first."""
    for header, record in iter_log_records(plog):
        if not header.attributes & CONTROL_BIT and record.key is not None:
            yield bytes(record.key), None if record.value is None else bytes(record.value)


def txn_service_of(ctx) -> TxnService | None:
    """The broker's transaction service (started in ``Broker.startup``)."""
    return ctx.broker.txn_service
