"""Partition leadership and ISR on the controller's side (Kafka's ``ReplicationControlManager``): broker
fencing, unfencing, controlled shutdown and unregistration, AlterPartition, ElectLeaders, the automatic
preferred and unclean elections, and partition reassignments.

Pure: each function reads an immutable ``MetadataImage`` and returns the ``PartitionChangeRecord``\\ s to
append (with the answers where there is a request); ``QuorumController`` commits them. Every change goes
through ``partition_change.PartitionChangeBuilder``. Rules (Kafka 4.4's, messages Kafka's):

- A broker may lead when it is *active*: registered, unfenced and not in controlled shutdown.
- ``unclean.leader.election.enable``: the topic's config, else the controller node's dynamic broker
  config, else the cluster-wide dynamic default, else the static config (default false). When it is on,
  the elections that keep a partition online may pick a replica outside the ISR.
- A broker fenced (session expiry, a heartbeat asking for it, the shutdown it was granted), entering
  controlled shutdown or unregistered leaves every ISR it is in (never emptying one) and the leadership
  of its partitions moves to the first active ISR replica (or -1). The records go in the same batch as
  the broker's own record (before it when fencing or unregistering, after it otherwise), so no
  committed state has a fenced leader.
- A broker unfenced: every partition without a leader gets one, this broker counting as active.
- AlterPartition (key 56, v2+): see :func:`alter_partition`.
- ElectLeaders: PREFERRED is not needed when the first replica leads, UNCLEAN when there is a leader
  (ELECTION_NOT_NEEDED); an election that changes nothing answers PREFERRED_LEADER_NOT_AVAILABLE /
  ELIGIBLE_LEADERS_NOT_AVAILABLE.
- Auto rebalance (``auto.leader.rebalance.enable``, every ``leader.imbalance.check.interval.seconds``):
  a PREFERRED election for every partition whose leader is not its first replica, at most 1000 per
  run (Kafka's ``MAX_ELECTIONS_PER_IMBALANCE``). Kafka's KRaft controller ignores
  ``leader.imbalance.per.broker.percentage`` (only the ZooKeeper controller read it); so does Kavka.
- Unclean timer (every ``unclean.leader.election.interval.ms``): an UNCLEAN election for each
  leaderless partition of a topic that allows it.
- Reassignment: see :func:`alter_partition_reassignments`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from kavka.metadata.config import BrokerConfig
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.image import MetadataImage, PartitionImage, TopicImage
from kavka.metadata.records import NO_LEADER, NO_LEADER_CHANGE, MetadataRecord, PartitionChangeRecord
from kavka.metadata.topicconfigs import TOPIC_CONFIGS
from kavka.protocol.api import ErrorCode

from .partition_change import Election, PartitionChangeBuilder

__all__ = [
    "MAX_ELECTIONS_PER_IMBALANCE",
    "PREFERRED",
    "NONE",
    "PartitionError",
    "UNCLEAN",
    "AlterPartitionData",
    "AlterPartitionResult",
    "ReassignmentResult",
    "is_active",
    "unclean_enabled",
    "has_leaderships",
    "merged",
    "broker_removed",
    "broker_unfenced",
    "alter_partition",
    "elect_leader",
    "elect_leaders",
    "balance_partition_leaders",
    "elect_unclean_leaders",
    "alter_partition_reassignments",
    "reassigning_partitions",
]

MAX_ELECTIONS_PER_IMBALANCE = 1000


class PartitionError(NamedTuple):
    """A partition's answer: a Kafka error code (0: none) and its message."""

    code: int
    message: str | None = None


NONE = PartitionError(0)
PREFERRED, UNCLEAN = 0, 1  # ElectLeaders' election_type
_UNCLEAN_KEY = "unclean.leader.election.enable"


def is_active(image: MetadataImage, broker_id: int) -> bool:
    """Kafka's ``ClusterControlManager.isActive``: registered, unfenced, not in controlled shutdown."""
    b = image.brokers.get(broker_id)
    return b is not None and not b.fenced and not b.in_controlled_shutdown


def unclean_enabled(image: MetadataImage, config: BrokerConfig, topic: TopicImage) -> bool:
    """The topic's effective ``unclean.leader.election.enable`` (Kafka's
    ``ConfigurationControlManager.uncleanLeaderElectionEnabledForTopic``)."""
    value = topic.configs.get(_UNCLEAN_KEY)
    if value is not None:
        return bool(TOPIC_CONFIGS[_UNCLEAN_KEY].parse(value))
    for layer in (image.broker_configs(config.node_id), image.broker_configs(None)):
        value = layer.get(_UNCLEAN_KEY)
        if value is not None:
            return bool(BROKER_CONFIGS[_UNCLEAN_KEY].parse(value))
    return bool(config[_UNCLEAN_KEY])


def has_leaderships(image: MetadataImage, broker_id: int) -> bool:
    """Whether the broker leads any partition (Kafka's ``BrokersToIsrs.hasLeaderships``): a broker in
    controlled shutdown is told to stop only once this is false."""
    return any(p.leader == broker_id for t in image.topics_by_name.values() for p in t.partitions.values())


def merged(p: PartitionImage, r: PartitionChangeRecord) -> PartitionImage:
    """The partition after ``r`` (the image's replay rule, for answers computed before the commit)."""
    changes_leader = r.leader != NO_LEADER_CHANGE
    return PartitionImage(
        leader=r.leader if changes_leader else p.leader,
        leader_epoch=p.leader_epoch + 1 if changes_leader else p.leader_epoch,
        replicas=p.replicas if r.replicas is None else r.replicas,
        isr=p.isr if r.isr is None else r.isr,
        partition_epoch=p.partition_epoch + 1,
        removing_replicas=p.removing_replicas if r.removing_replicas is None else r.removing_replicas,
        adding_replicas=p.adding_replicas if r.adding_replicas is None else r.adding_replicas,
    )


def _partitions(image: MetadataImage) -> Iterator[tuple[TopicImage, int, PartitionImage]]:
    for name in sorted(image.topics_by_name):
        topic = image.topics_by_name[name]
        for pid in sorted(topic.partitions):
            yield topic, pid, topic.partitions[pid]


def _online(image: MetadataImage, config: BrokerConfig, topic: TopicImage) -> Election:
    return Election.UNCLEAN if unclean_enabled(image, config, topic) else Election.ONLINE


# ---- broker state changes -----------------------------------------------------------------------


def broker_removed(image: MetadataImage, config: BrokerConfig, broker_id: int) -> list[MetadataRecord]:
    """The broker leaves every ISR it is in and can lead nothing (fenced, controlled shutdown,
    unregistered): Kafka's ``generateLeaderAndIsrUpdates`` with ``brokerToRemove``."""

    def acceptable(r: int) -> bool:
        return r != broker_id and is_active(image, r)

    records: list[MetadataRecord] = []
    for topic, pid, p in _partitions(image):
        if broker_id not in p.isr and p.leader != broker_id:
            continue
        builder = PartitionChangeBuilder(p, topic.topic_id, pid, acceptable, _online(image, config, topic))
        builder.set_target_isr([r for r in p.isr if r != broker_id])
        record = builder.build()
        if record is not None:
            records.append(record)
    return records


def broker_unfenced(image: MetadataImage, config: BrokerConfig, broker_id: int) -> list[MetadataRecord]:
    """Partitions with no leader get one now that ``broker_id`` is back (it counts as active although
    the image, before its unfencing record, still says fenced)."""

    def acceptable(r: int) -> bool:
        return r == broker_id or is_active(image, r)

    records: list[MetadataRecord] = []
    for topic, pid, p in _partitions(image):
        if p.leader != NO_LEADER:
            continue
        record = PartitionChangeBuilder(p, topic.topic_id, pid, acceptable, _online(image, config, topic)).build()
        if record is not None:
            records.append(record)
    return records


# ---- AlterPartition -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlterPartitionData:
    """One partition of an AlterPartition request: the ISR the leader proposes, each member with the
    broker epoch it knows (-1: unchecked)."""

    partition_index: int
    leader_epoch: int
    partition_epoch: int
    new_isr_with_epochs: tuple[tuple[int, int], ...]
    leader_recovery_state: int = 0


@dataclass(frozen=True)
class AlterPartitionResult:
    partition_index: int
    error_code: int
    leader_id: int = 0
    leader_epoch: int = 0
    isr: tuple[int, ...] = ()
    partition_epoch: int = 0


def _alter_partition_error(
    image: MetadataImage, broker_id: int, p: PartitionImage | None, data: AlterPartitionData
) -> int:
    """Kafka's ``validateAlterPartitionData``, in its order."""
    if p is None:
        return ErrorCode.unknown_topic_or_partition
    if data.leader_epoch > p.leader_epoch or data.partition_epoch > p.partition_epoch:
        return ErrorCode.not_controller  # the broker knows newer state: this controller may be stale
    if data.leader_epoch < p.leader_epoch:
        return ErrorCode.fenced_leader_epoch
    if broker_id != p.leader:
        return ErrorCode.invalid_request
    if data.partition_epoch < p.partition_epoch:
        return ErrorCode.invalid_update_version
    new_isr = [b for b, _ in data.new_isr_with_epochs]
    if new_isr and (len(set(new_isr)) != len(new_isr) or any(b < 0 or b not in p.replicas for b in new_isr)):
        return ErrorCode.invalid_request
    if p.leader not in new_isr:
        return ErrorCode.invalid_request
    if data.leader_recovery_state == 1 and len(new_isr) > 1:
        return ErrorCode.invalid_request  # still recovering from an unclean election: the leader alone
    if data.leader_recovery_state == 1:
        # RECOVERED -> RECOVERING is refused; Kavka's partitions are always RECOVERED (no recovery state)
        return ErrorCode.invalid_request
    for b, epoch in data.new_isr_with_epochs:
        registration = image.brokers.get(b)
        if (
            registration is None
            or registration.in_controlled_shutdown
            or registration.fenced
            or (epoch != -1 and registration.broker_epoch != epoch)
        ):
            return ErrorCode.ineligible_replica
    return ErrorCode.none


def alter_partition(
    image: MetadataImage,
    config: BrokerConfig,
    broker_id: int,
    topics: Sequence[tuple[uuid.UUID, Sequence[AlterPartitionData]]],
) -> tuple[list[tuple[uuid.UUID, list[AlterPartitionResult]]], list[MetadataRecord]]:
    """AlterPartition from a partition leader (the broker epoch is checked by the caller:
    STALE_BROKER_EPOCH for the whole request). Per partition, in Kafka's order: an unknown topic id ->
    UNKNOWN_TOPIC_ID; an unknown partition -> UNKNOWN_TOPIC_OR_PARTITION; a leader or partition epoch
    above the controller's -> NOT_CONTROLLER; an older leader epoch -> FENCED_LEADER_EPOCH; a sender that
    is not the leader -> INVALID_REQUEST; an older partition epoch -> INVALID_UPDATE_VERSION; an ISR
    with duplicates, non-replicas or without the leader -> INVALID_REQUEST; an ISR member not
    registered, fenced, shutting down or at another broker epoch -> INELIGIBLE_REPLICA. Otherwise the
    change is made (an unchanged ISR makes no record) and the answer is the partition after it, unless
    the change completed a reassignment that moved leadership away from the sender: NEW_LEADER_ELECTED,
    with the change still made."""
    answers: list[tuple[uuid.UUID, list[AlterPartitionResult]]] = []
    records: list[MetadataRecord] = []
    for topic_id, partitions in topics:
        topic = image.topic_by_id(topic_id)
        results: list[AlterPartitionResult] = []
        answers.append((topic_id, results))
        if topic is None:
            results.extend(AlterPartitionResult(d.partition_index, ErrorCode.unknown_topic_id) for d in partitions)
            continue
        for data in partitions:
            p = topic.partitions.get(data.partition_index)
            error = _alter_partition_error(image, broker_id, p, data)
            if error != ErrorCode.none or p is None:
                results.append(AlterPartitionResult(data.partition_index, error))
                continue
            builder = PartitionChangeBuilder(
                p,
                topic.topic_id,
                data.partition_index,
                lambda r: is_active(image, r),
                _online(image, config, topic),
            )
            record = builder.set_target_isr([b for b, _ in data.new_isr_with_epochs]).build()
            if record is not None:
                records.append(record)
                p = merged(p, record)
                if record.leader not in (broker_id, NO_LEADER_CHANGE):
                    results.append(AlterPartitionResult(data.partition_index, ErrorCode.new_leader_elected))
                    continue
            results.append(
                AlterPartitionResult(
                    data.partition_index, ErrorCode.none, p.leader, p.leader_epoch, p.isr, p.partition_epoch
                )
            )
    return answers, records


# ---- elections ----------------------------------------------------------------------------------


def elect_leader(
    image: MetadataImage, topic_name: str, partition_id: int, election_type: int
) -> tuple[PartitionError, PartitionChangeRecord | None]:
    """One partition of ElectLeaders (Kafka's ``ReplicationControlManager.electLeader``)."""
    topic = image.topic(topic_name)
    if topic is None:
        return PartitionError(ErrorCode.unknown_topic_or_partition, f"No such topic as {topic_name}"), None
    p = topic.partitions.get(partition_id)
    if p is None:
        return PartitionError(
            ErrorCode.unknown_topic_or_partition, f"No such partition as {topic_name}-{partition_id}"
        ), None
    if (election_type == PREFERRED and p.replicas and p.leader == p.replicas[0]) or (
        election_type == UNCLEAN and p.leader != NO_LEADER
    ):
        return PartitionError(ErrorCode.election_not_needed, "Leader election not needed for topic partition."), None
    election = Election.UNCLEAN if election_type == UNCLEAN else Election.PREFERRED
    record = PartitionChangeBuilder(p, topic.topic_id, partition_id, lambda r: is_active(image, r), election).build()
    if record is None:
        if election_type == PREFERRED:
            return PartitionError(
                ErrorCode.preferred_leader_not_available, "The preferred leader was not available."
            ), None
        return PartitionError(
            ErrorCode.eligible_leaders_not_available, "Eligible topic partition leaders are not available."
        ), None
    return NONE, record


def elect_leaders(
    image: MetadataImage, election_type: int, topic_partitions: Sequence[tuple[str, Sequence[int]]] | None
) -> tuple[list[tuple[str, list[tuple[int, PartitionError]]]], list[MetadataRecord]]:
    """ElectLeaders: per topic, ``(partition, error)`` in request order. ``None`` means every partition,
    and then those that need no election are left out of the answer."""
    results: list[tuple[str, list[tuple[int, PartitionError]]]] = []
    records: list[MetadataRecord] = []
    wanted: list[tuple[str, Sequence[int]]]
    every = topic_partitions is None
    if topic_partitions is None:
        wanted = [(name, sorted(t.partitions)) for name, t in image.topics_by_name.items()]
    else:
        wanted = list(topic_partitions)
    for name, partition_ids in wanted:
        out: list[tuple[int, PartitionError]] = []
        for pid in partition_ids:
            error, record = elect_leader(image, name, pid, election_type)
            if record is not None:
                records.append(record)
            if not (every and error.code == ErrorCode.election_not_needed):
                out.append((pid, error))
        results.append((name, out))
    return results, records


def balance_partition_leaders(image: MetadataImage, limit: int = MAX_ELECTIONS_PER_IMBALANCE) -> list[MetadataRecord]:
    """The auto rebalance: a PREFERRED election for each partition whose leader is not its first
    replica (Kafka's ``maybeBalancePartitionLeaders``), at most ``limit`` records."""
    records: list[MetadataRecord] = []
    for topic, pid, p in _partitions(image):
        if len(records) >= limit:
            break
        if not p.replicas or p.leader == p.replicas[0]:
            continue
        record = PartitionChangeBuilder(
            p, topic.topic_id, pid, lambda r: is_active(image, r), Election.PREFERRED
        ).build()
        if record is not None:
            records.append(record)
    return records


def elect_unclean_leaders(
    image: MetadataImage, config: BrokerConfig, limit: int = MAX_ELECTIONS_PER_IMBALANCE
) -> list[MetadataRecord]:
    """The unclean election timer: each leaderless partition of a topic that allows unclean
    elections gets an UNCLEAN election (Kafka's ``maybeElectUncleanLeaders``)."""
    records: list[MetadataRecord] = []
    for topic, pid, p in _partitions(image):
        if len(records) >= limit:
            break
        if p.leader != NO_LEADER or not unclean_enabled(image, config, topic):
            continue
        _, record = elect_leader(image, topic.name, pid, UNCLEAN)
        if record is not None:
            records.append(record)
    return records


# ---- reassignments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReassignmentResult:
    partition_index: int
    error: PartitionError = field(default=NONE)


class _Refused(Exception):
    def __init__(self, code: int, message: str | None) -> None:
        super().__init__(message)
        self.error = PartitionError(code, message)


def _check_target(image: MetadataImage, replicas: Sequence[int]) -> None:
    """Kafka's ``validateManualPartitionAssignment`` (brokers checked in ascending id order)."""
    if not replicas:
        raise _Refused(
            ErrorCode.invalid_replica_assignment, "The manual partition assignment includes an empty replica list."
        )
    previous = None
    for broker_id in sorted(replicas):
        if broker_id not in image.brokers:
            raise _Refused(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes broker {broker_id}, but no such broker is registered.",
            )
        if broker_id == previous:
            raise _Refused(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes the broker {previous} more than once.",
            )
        previous = broker_id


def _reassigning(p: PartitionImage) -> bool:
    return bool(p.adding_replicas or p.removing_replicas)


def _cancel(
    image: MetadataImage, config: BrokerConfig, topic: TopicImage, pid: int, p: PartitionImage
) -> PartitionChangeRecord | None:
    """Kafka's ``cancelPartitionReassignment`` (``PartitionReassignmentRevert``): back to the original
    replicas, the ISR less the replicas being added (if that empties it: the first original replica,
    which is an unclean election)."""
    if not _reassigning(p):
        # no message: Kafka's ApiError.fromThrowable drops one that is the error's default text
        raise _Refused(ErrorCode.no_reassignment_in_progress, None)
    replicas = [r for r in p.replicas if r not in p.adding_replicas]
    isr = [r for r in p.isr if r not in p.adding_replicas]
    unclean = unclean_enabled(image, config, topic)
    if not isr:
        if not replicas:
            raise _Refused(
                ErrorCode.invalid_replica_assignment,
                "Invalid replica assignment: addingReplicas contains all replicas.",
            )
        isr = [replicas[0]]
        if not unclean:
            raise _Refused(
                ErrorCode.invalid_replica_assignment,
                f"Unable to revert partition assignment for {topic.name}:{pid} because it would require an "
                "unclean leader election.",
            )
    builder = PartitionChangeBuilder(
        p, topic.topic_id, pid, lambda r: is_active(image, r), Election.UNCLEAN if unclean else Election.ONLINE
    )
    return (
        builder.set_target_isr(isr).set_target_replicas(replicas).set_target_removing(()).set_target_adding(()).build()
    )


def _change(
    image: MetadataImage, topic: TopicImage, pid: int, p: PartitionImage, target: Sequence[int], allow_rf_change: bool
) -> PartitionChangeRecord | None:
    """Kafka's ``changePartitionReassignment``: the replicas become the target plus those to remove
    (sorted), adding/removing say which; the builder completes it at once when the ISR allows."""
    _check_target(image, target)
    if not allow_rf_change:
        current = (
            len((set(p.replicas) | set(p.adding_replicas)) - set(p.removing_replicas))
            if _reassigning(p)
            else len(p.replicas)
        )
        if current != len(target):
            raise _Refused(
                ErrorCode.invalid_replication_factor,
                f"The replication factor is changed from {current} to {len(target)}",
            )
    removing = sorted(set(p.replicas) - set(target))
    adding = sorted(set(target) - set(p.replicas))
    replicas = [*target, *removing]
    builder = PartitionChangeBuilder(p, topic.topic_id, pid, lambda r: is_active(image, r))
    if replicas != list(p.replicas):
        builder.set_target_replicas(replicas)
    if removing:
        builder.set_target_removing(removing)
    if adding:
        builder.set_target_adding(adding)
    return builder.build()


def alter_partition_reassignments(
    image: MetadataImage,
    config: BrokerConfig,
    topics: Sequence[tuple[str, Sequence[tuple[int, Sequence[int] | None]]]],
    allow_rf_change: bool = True,
) -> tuple[list[tuple[str, list[ReassignmentResult]]], list[MetadataRecord]]:
    """AlterPartitionReassignments: per partition a target replica list, or None to cancel the move in
    progress. Errors, in Kafka's order: UNKNOWN_TOPIC_OR_PARTITION ``Unable to find a topic named t.`` /
    ``Unable to find partition t:5.``; a cancel with nothing in progress -> NO_REASSIGNMENT_IN_PROGRESS
    (with no message, as Kafka answers it); an
    empty target, an unregistered broker or one named twice -> INVALID_REPLICA_ASSIGNMENT; without
    ``allow_rf_change`` (v1, KIP-860) another number of replicas -> INVALID_REPLICATION_FACTOR.

    A move starts with one record (replicas = target + those leaving, adding/removing set) and ends
    with a second once every target replica is in the ISR (AlterPartition from the leader, see
    :func:`alter_partition`): those leaving go, and leadership moves if the leader was one of them.
    A target the ISR already covers (a reordering, fewer replicas) completes in the first record."""
    results: list[tuple[str, list[ReassignmentResult]]] = []
    records: list[MetadataRecord] = []
    for name, partitions in topics:
        out: list[ReassignmentResult] = []
        results.append((name, out))
        for pid, target in partitions:
            try:
                topic = image.topic(name)
                if topic is None:
                    raise _Refused(ErrorCode.unknown_topic_or_partition, f"Unable to find a topic named {name}.")
                p = topic.partitions.get(pid)
                if p is None:
                    raise _Refused(ErrorCode.unknown_topic_or_partition, f"Unable to find partition {name}:{pid}.")
                if target is None:
                    record = _cancel(image, config, topic, pid, p)
                else:
                    record = _change(image, topic, pid, p, list(target), allow_rf_change)
            except _Refused as e:
                out.append(ReassignmentResult(pid, e.error))
                continue
            if record is not None:
                records.append(record)
            out.append(ReassignmentResult(pid))
    return results, records


def reassigning_partitions(
    image: MetadataImage, wanted: Sequence[tuple[str, Sequence[int]]] | None
) -> list[tuple[str, list[tuple[int, PartitionImage]]]]:
    """ListPartitionReassignments: the partitions with a move in progress, by topic; ``None`` asks for
    all. Unknown topics and partitions, and those not moving, are left out."""
    if wanted is None:
        wanted = [(name, sorted(t.partitions)) for name, t in sorted(image.topics_by_name.items())]
    out: list[tuple[str, list[tuple[int, PartitionImage]]]] = []
    for name, pids in wanted:
        topic = image.topic(name)
        if topic is None:
            continue
        found = [(pid, p) for pid in pids if (p := topic.partitions.get(pid)) is not None and _reassigning(p)]
        if found:
            out.append((name, found))
    return out
