"""The broker's side of partition replication (Kafka's ``ReplicaManager.applyDelta`` and
``AlterPartitionManager``): each partition of the committed image that names this broker as a replica
is hosted here, as its leader or as a follower of the image's leader.

- Leader (image leader = this node): Kafka's ``makeLeader`` (kavka.broker.replica_manager): clients are
  served, followers' fetches are answered (kavka.broker.replica_fetch), the high watermark follows the
  ISR. An ISR change the leader wants (a follower fell behind for ``replica.lag.time.max.ms``, or caught
  up) goes to the active controller as AlterPartition v3 (KIP-497), one in flight per partition; the
  answer, once committed, is the partition's new ISR and partition epoch.
- Follower: clients get NOT_LEADER_OR_FOLLOWER; the server's fetcher for the leader's broker
  (kavka.server.replica_fetcher, through ``replica_fetchers.assign``) copies the leader's log.
- In a cluster, a partition first hosted after a start begins at the high watermark recorded in
  ``replication-offset-checkpoint`` (written every ``replica.high.watermark.checkpoint.interval.ms`` and
  at shutdown): what lies above it may not be committed, and is not served before the ISR has it.

On a single node (no quorum voters) every partition is led here with this node as its whole ISR: the
high watermark is the log end offset after each append, as before replication existed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kavka.broker.replica_manager import Partition
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.storage.errors import KafkaStorageError

log = logging.getLogger(__name__)

__all__ = ["ReplicationService"]

ALTER_PARTITION_VERSION = 3


class ReplicationService:
    def __init__(self, broker) -> None:
        self.broker = broker
        self.rm = broker.replica_manager
        # set by the server in cluster mode: assign({leader id: [(topic, partition), ...]})
        self.replica_fetchers = None
        self._last_hw_checkpoint_ms = broker.clock_ms()
        rm = self.rm
        if broker.cluster_mode:
            rm.on_isr_change = self._propose_isr
            rm.is_active = self._is_active

    # --- hosting partitions ------------------------------------------------------------------

    def host(self, topic, index: int, pimg, config: Callable[[], object]) -> None:
        """Host partition ``index`` of ``topic`` (a TopicImage) as the image ``pimg`` says: open its log if
        needed, then become its leader or a follower, or take in a new ISR."""
        broker, rm = self.broker, self.rm
        p = rm.get(topic.name, index)
        if p is not None and p.offline:
            return  # its log dir failed: offline until a restart, whatever the image says
        now = broker.clock_ms()
        if p is None:
            cfg = config()
            try:
                plog = broker.log_manager.get_or_create_log(topic.name, index, topic.topic_id, cfg)
            except KafkaStorageError as e:
                # its dir failed (and is offline now): the partition is offline here, KAFKA_STORAGE_ERROR
                # to clients; the request that created it still succeeds, as the controller committed it
                log.error("cannot open the log of %s-%d: %s", topic.name, index, e)
                rm.mark_offline([(topic.name, index)])
                return
            if broker.cluster_mode:
                checkpointed = broker.log_manager.high_watermark_checkpoints.pop((topic.name, index), None)
                plog.update_high_watermark(plog.log_start_offset if checkpointed is None else checkpointed)
            p = Partition(
                topic=topic.name,
                index=index,
                topic_id=topic.topic_id,
                log=plog,
                leader_epoch=-1,
                min_insync_replicas=cfg.min_insync_replicas,
                is_leader=False,
            )
            rm.add(p)
        if not broker.cluster_mode:
            if not p.is_leader or p.leader_epoch != pimg.leader_epoch:
                rm.make_leader(p, pimg, now, replicated=False)
            return
        if pimg.leader == broker.node_id:
            if not p.is_leader or p.leader_epoch != pimg.leader_epoch:
                rm.make_leader(p, pimg, now, replicated=True)
            elif p.partition_epoch != pimg.partition_epoch:
                rm.update_isr(p, pimg.replicas, pimg.isr, pimg.partition_epoch, now)
        elif p.is_leader or p.leader_epoch != pimg.leader_epoch or p.leader_id != pimg.leader:
            rm.make_follower(p, pimg)
        else:
            p.replicas, p.isr, p.partition_epoch = tuple(pimg.replicas), tuple(pimg.isr), pimg.partition_epoch

    def assign_fetchers(self) -> None:
        """Point the fetchers at the current leaders of the partitions this broker follows."""
        if self.replica_fetchers is None:
            return
        targets: dict[int, list[tuple[str, int]]] = {}
        for key, p in self.rm.partitions.items():
            if not p.is_leader and p.leader_id >= 0 and not p.offline:
                targets.setdefault(p.leader_id, []).append(key)
        self.replica_fetchers.assign(targets)

    # --- the ISR -----------------------------------------------------------------------------

    def _is_active(self, broker_id: int) -> bool:
        registration = self.broker.image.brokers.get(broker_id)
        return registration is not None and not registration.fenced and not registration.in_controlled_shutdown

    def tick(self, now_ms: int) -> None:
        """The ISR expiration check and the high watermark checkpoint, from the broker's housekeeping."""
        broker = self.broker
        if broker.cluster_mode:
            self.rm.propose_isr_shrinks(now_ms, broker.config["replica.lag.time.max.ms"])
        if now_ms - self._last_hw_checkpoint_ms >= broker.config["replica.high.watermark.checkpoint.interval.ms"]:
            self._last_hw_checkpoint_ms = now_ms
            if broker.log_manager is not None:
                broker.log_manager.checkpoint_high_watermarks()

    def _propose_isr(self, p: Partition, isr: tuple[int, ...]) -> None:
        """Ask the active controller for ``isr`` (AlterPartition v3); the answer, if it committed, becomes
        the partition's ISR. Until then the maximal ISR counts both old and new members."""
        broker = self.broker
        state = p.leader_state
        if state is None or state.pending_isr is not None or broker.controller_channel is None:
            return
        state.pending_isr = isr
        brokers = broker.image.brokers
        body = {
            "broker_id": broker.node_id,
            "broker_epoch": broker.broker_epoch,
            "topics": [
                {
                    "topic_id": p.topic_id,
                    "partitions": [
                        {
                            "partition_index": p.index,
                            "leader_epoch": p.leader_epoch,
                            "new_isr_with_epochs": [
                                {
                                    "broker_id": b,
                                    "broker_epoch": brokers[b].broker_epoch if b in brokers else -1,
                                }
                                for b in isr
                            ],
                            "leader_recovery_state": 0,
                            "partition_epoch": p.partition_epoch,
                        }
                    ],
                }
            ],
        }
        shrink = len(isr) < len(state.isr)

        async def send() -> None:
            try:
                response = await broker.controller_channel(ApiKey.ALTER_PARTITION, ALTER_PARTITION_VERSION, body)
            finally:
                if p.leader_state is state and state.pending_isr == isr:
                    state.pending_isr = None
            code = response.error_code
            answer = None
            if code == ErrorCode.none:
                answer = response.topics[0].partitions[0]
                code = answer.error_code
            if code != ErrorCode.none:
                log.info(
                    "AlterPartition of %s-%d to ISR %s refused: %s", p.topic, p.index, list(isr), ErrorCode(code).name
                )
                return
            if p.leader_state is not state or answer.leader_epoch != p.leader_epoch:
                return  # leadership moved meanwhile: the image says what holds now
            if shrink:
                self.rm.isr_shrinks += 1
            else:
                self.rm.isr_expands += 1
            log.info("ISR of %s-%d is now %s", p.topic, p.index, list(answer.isr))
            self.rm.update_isr(p, p.replicas, tuple(answer.isr), answer.partition_epoch, broker.clock_ms())

        broker._in_background(send(), f"AlterPartition of {p.topic}-{p.index}")
