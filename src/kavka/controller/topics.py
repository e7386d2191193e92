"""Topic decisions: create, delete and grow topics (Kafka's ``ReplicationControlManager``).

Each function reads an immutable ``MetadataImage`` and returns ``(results, records)``; nothing changes
until the caller appends the records (``QuorumController`` does). Rules and messages are Kafka 4's:

- Names (``Topic.validate``): non-empty, not ``.``/``..``, at most 249 chars, only ``[a-zA-Z0-9._-]``
  -> INVALID_TOPIC_EXCEPTION (17), e.g. ``Topic name is invalid: '.' is not allowed``.
  A name that equals an existing one after mapping ``.`` to ``_`` -> 17,
  ``Topic 'a.b' collides with existing topic: a_b`` (Kavka also checks earlier topics of the same
  request; Kafka checks existing topics only). ``__cluster_metadata`` and duplicate names in one
  request -> INVALID_REQUEST (42).
- TOPIC_ALREADY_EXISTS (36): ``Topic 'x' already exists.``
- Null config values or bad/unknown configs -> INVALID_CONFIG (40) with the config error's text.
- Manual assignments need partitions and RF of -1 (INVALID_REQUEST), consecutive partition ids,
  one replication factor, registered brokers, no duplicates (INVALID_REPLICA_ASSIGNMENT, 39).
- RF 0 or < -1 -> INVALID_REPLICATION_FACTOR (38); partitions 0 or < -1 -> INVALID_PARTITIONS (37);
  every broker fenced -> 38, ``Unable to replicate the partition 3 time(s): All brokers are currently
  fenced, or have all their log directories cordoned.``; RF above the usable brokers -> 38,
  ``Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached
  because only 1 broker(s) are registered or some brokers have all their log directories cordoned.``
  (Kafka 4.4's words, cordoning (KIP-1066) included though Kavka has none).
- Placement: Kafka's striped placer, rack-aware (``place_replicas``); leader = first replica (always
  unfenced), ISR = active replicas (unfenced, not in controlled shutdown).
- A request whose topics add up to more than 10000 partitions (``num.partitions`` for -1, the
  assignment count for manual ones) fails as a whole with POLICY_VIOLATION (44), ``Excessively large
  number of partitions per request.``, before any placement (Kafka 4, KAFKA-17870); one whose records
  (topic, config and partition records) pass 10000 fails as a whole with 44, ``Unable to perform
  excessively large batch operation.`` (Kafka's bound on one atomic metadata batch). CreatePartitions
  refuses a topic whose new partitions would take the request past 10000 records with the same 44
  before placing them (Kafka fails it too, as an unexpected error, after the placement).
- Two manual assignments for one partition -> INVALID_REPLICA_ASSIGNMENT, ``Found multiple manual
  partition assignments for partition 0``.
- validate_only computes the same results and returns no records.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kavka.metadata.config import BrokerConfig, ConfigEntry, validate_topic_configs
from kavka.metadata.configtypes import ConfigError
from kavka.metadata.ids import random_uuid
from kavka.metadata.image import BrokerRegistration, MetadataImage
from kavka.metadata.internal_topics import METADATA_TOPIC
from kavka.metadata.records import (
    ConfigRecord,
    ConfigResourceType,
    MetadataRecord,
    PartitionRecord,
    RemoveTopicRecord,
    TopicRecord,
)

from .errors import NONE, ApiError, ErrorCode

# A client's controller mutation quota: asked with a topic's partition count, False refuses the topic.
Admit = Callable[[int], bool]

__all__ = [
    "CreatableTopic",
    "CreateTopicResult",
    "DeleteTopicResult",
    "CreatePartitionsTopic",
    "CreatePartitionsResult",
    "MAX_TOPIC_NAME_LENGTH",
    "ZERO_UUID",
    "topic_name_error",
    "create_topics",
    "delete_topics",
    "create_partitions",
    "place_replicas",
]

MAX_TOPIC_NAME_LENGTH = 249
#: Kafka's QuorumController.MAX_RECORDS_PER_USER_OP and ReplicationControlManager.MAX_PARTITIONS_PER_BATCH
MAX_RECORDS_PER_USER_OP = 10_000
MAX_PARTITIONS_PER_BATCH = 10_000
_TOO_MANY_PARTITIONS = "Excessively large number of partitions per request."
_TOO_MANY_RECORDS = "Unable to perform excessively large batch operation."
ZERO_UUID = uuid.UUID(int=0)
_LEGAL = re.compile(r"[a-zA-Z0-9._-]+")


@dataclass(frozen=True)
class CreatableTopic:
    """One topic of a CreateTopics request. ``assignments`` maps partition -> broker ids, or is a
    sequence of ``(partition, broker ids)`` pairs as the request carries them (duplicates refused)."""

    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    assignments: Mapping[int, Sequence[int]] | Sequence[tuple[int, Sequence[int]]] = field(default_factory=dict)
    configs: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateTopicResult:
    name: str
    error_code: int
    error_message: str | None
    topic_id: uuid.UUID = ZERO_UUID
    num_partitions: int = -1
    replication_factor: int = -1
    configs: list[ConfigEntry] = field(default_factory=list)


@dataclass(frozen=True)
class DeleteTopicResult:
    name: str | None
    topic_id: uuid.UUID
    error_code: int
    error_message: str | None


@dataclass(frozen=True)
class CreatePartitionsTopic:
    name: str
    count: int
    assignments: Sequence[Sequence[int]] | None = None


@dataclass(frozen=True)
class CreatePartitionsResult:
    name: str
    error_code: int
    error_message: str | None


class _Reject(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def _reject(code: ErrorCode, message: str | None = None) -> _Reject:
    return _Reject(ApiError.of(code, message))


def topic_name_error(name: str) -> str | None:
    """Kafka's ``Topic.validate`` message for an illegal name, ``None`` if the name is legal."""
    if not name:
        reason = "the empty string is not allowed"
    elif name == ".":
        reason = "'.' is not allowed"
    elif name == "..":
        reason = "'..' is not allowed"
    elif len(name) > MAX_TOPIC_NAME_LENGTH:
        reason = f"the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME_LENGTH}"
    elif not _LEGAL.fullmatch(name):
        reason = f"'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
    else:
        return None
    return "Topic name is invalid: " + reason


def _unify(name: str) -> str:
    return name.replace(".", "_")


# ---------------------------------------------------------------------------------------------
# placement


class _BrokerList:
    """Kafka's ``StripedReplicaPlacer.BrokerList``: sorted ids read round-robin from an offset that
    moves on by one at every new iteration epoch."""

    def __init__(self) -> None:
        self.brokers: list[int] = []
        self.index = 0
        self.offset = 0
        self.epoch = 0

    def initialize(self, rng: random.Random) -> None:
        if self.brokers:
            self.brokers.sort()
            self.offset = rng.randrange(len(self.brokers))

    def next(self, epoch: int) -> int:
        """The next broker of this epoch, or -1 when every one was returned in it."""
        if not self.brokers:
            return -1
        if self.epoch != epoch:
            self.epoch, self.index = epoch, 0
            self.offset = (self.offset + 1) % len(self.brokers)
        if self.index >= len(self.brokers):
            return -1
        broker = self.brokers[(self.index + self.offset) % len(self.brokers)]
        self.index += 1
        return broker


class _Rack:
    def __init__(self) -> None:
        self.unfenced = _BrokerList()
        self.fenced = _BrokerList()

    def next(self, epoch: int) -> int:
        found = self.unfenced.next(epoch)
        return found if found >= 0 else self.fenced.next(epoch)


class _RackList:
    """Kafka's ``StripedReplicaPlacer.RackList``: racks (sorted by name, no rack first) read
    round-robin from a random offset that moves on by one per partition; the leader comes from the
    first rack with an unfenced broker, the other replicas from the following racks (unfenced brokers
    of a rack before its fenced ones). After as many partitions as there are unfenced brokers, racks
    and brokers are shuffled so the next round does not repeat the same lists."""

    def __init__(self, rng: random.Random, brokers: Iterable[BrokerRegistration]) -> None:
        self.rng = rng
        self.racks: dict[str | None, _Rack] = {}
        self.total = self.unfenced = 0
        for b in brokers:
            rack = self.racks.setdefault(b.rack, _Rack())
            (rack.fenced if b.fenced else rack.unfenced).brokers.append(b.broker_id)
            self.total += 1
            self.unfenced += 0 if b.fenced else 1
        for rack in self.racks.values():
            rack.fenced.initialize(rng)
            rack.unfenced.initialize(rng)
        self.names: list[str | None] = sorted(self.racks, key=lambda n: (n is not None, n or ""))
        self.epoch = 0
        self.offset = rng.randrange(len(self.names)) if self.names else 0

    def place(self, replication_factor: int) -> list[int]:
        if self.epoch == self.unfenced and self.unfenced > 1:
            self.rng.shuffle(self.names)
            for rack in self.racks.values():
                self.rng.shuffle(rack.fenced.brokers)
                self.rng.shuffle(rack.unfenced.brokers)
            self.epoch = 0
        if self.offset == len(self.names):
            self.offset = 0
        first_rack = self.offset
        while True:
            leader = self.racks[self.names[first_rack]].unfenced.next(self.epoch)
            if leader >= 0:
                break
            first_rack = (first_rack + 1) % len(self.names)
        replicas = [leader]
        rack_index = self.offset
        for _ in range(1, replication_factor):
            found = -1
            while found < 0:
                if rack_index == first_rack:
                    first_rack = -1
                else:
                    found = self.racks[self.names[rack_index]].next(self.epoch)
                rack_index = (rack_index + 1) % len(self.names)
            replicas.append(found)
        self.epoch += 1
        self.offset += 1
        return replicas


def place_replicas(
    image: MetadataImage,
    num_partitions: int,
    replication_factor: int,
    rng: random.Random,
    start_partition: int = 0,
) -> list[list[int]]:
    """Replica lists for ``num_partitions`` new partitions; raises ``_Reject`` (38) if impossible.

    Kafka's ``StripedReplicaPlacer`` over the usable brokers (registered, not in controlled shutdown;
    fenced ones too, but never as leader), rack-aware by ``broker.rack``: its rules, not its random
    choices (Python's generator). ``start_partition`` is unused, as in Kafka (a fresh rack list per
    request)."""
    if replication_factor <= 0:
        raise _reject(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Invalid replication factor {replication_factor}: the replication factor must be positive.",
        )
    usable = [b for _, b in sorted(image.brokers.items()) if not b.in_controlled_shutdown]
    racks = _RackList(rng, usable)
    prefix = f"Unable to replicate the partition {replication_factor} time(s): "
    if racks.unfenced == 0:
        raise _reject(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            prefix + "All brokers are currently fenced, or have all their log directories cordoned.",
        )
    if replication_factor > racks.total:
        raise _reject(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            prefix + f"The target replication factor of {replication_factor} cannot be reached because only "
            f"{racks.total} broker(s) are registered or some brokers have all their log directories cordoned.",
        )
    return [racks.place(replication_factor) for _ in range(num_partitions)]


def _partition_records(
    image: MetadataImage, topic_id: uuid.UUID, replica_lists: Iterable[Sequence[int]], first_id: int
) -> list[PartitionRecord]:
    records = []
    for offset, replicas in enumerate(replica_lists):
        # Kafka's clusterControl.isActive: registered, unfenced and not in controlled shutdown
        isr = tuple(
            r
            for r in replicas
            if r in image.brokers and not image.brokers[r].fenced and not image.brokers[r].in_controlled_shutdown
        )
        if not isr:
            raise _reject(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"All brokers specified in the manual partition assignment for partition "
                f"{first_id + offset} are fenced or in controlled shutdown.",
            )
        records.append(PartitionRecord(first_id + offset, topic_id, tuple(replicas), isr, isr[0], 0, 0))
    return records


def _check_manual_assignment(
    image: MetadataImage, partition: int, replicas: Sequence[int], expected_rf: int | None
) -> None:
    if not replicas:
        raise _reject(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."
        )
    if len(set(replicas)) != len(replicas):
        raise _reject(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"The manual partition assignment includes the broker {_first_dup(replicas)} more than once.",
        )
    for broker in replicas:
        if broker not in image.brokers:
            raise _reject(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes broker {broker}, but no such broker is registered.",
            )
    if expected_rf is not None and len(replicas) != expected_rf:
        raise _reject(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"The manual partition assignment includes a partition with {len(replicas)} replica(s), "
            f"but this is not consistent with previous partitions, which have {expected_rf} replica(s).",
        )


def _first_dup(values: Sequence[int]) -> int:
    seen = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    raise AssertionError


# ---------------------------------------------------------------------------------------------
# create


def create_topics(
    image: MetadataImage,
    config: BrokerConfig,
    topics: Sequence[CreatableTopic],
    validate_only: bool = False,
    rng: random.Random | None = None,
    admit: Admit | None = None,
) -> tuple[list[CreateTopicResult], list[MetadataRecord]]:
    """Results in request order, and the records to append (none if ``validate_only``). ``admit``
    (the client's controller mutation quota) is asked per valid topic with its partition count; a
    topic it refuses is THROTTLING_QUOTA_EXCEEDED, as Kafka's ``applyPartitionChangeQuota``.

    Per topic, records are: TopicRecord, then its ConfigRecords, then PartitionRecords (Kafka's order).
    """
    rng = rng or random.Random()
    if _requested_partitions(topics, config["num.partitions"]) > MAX_PARTITIONS_PER_BATCH:
        return _all_failed(topics, _TOO_MANY_PARTITIONS), []
    counts: dict[str, int] = {}
    for t in topics:
        counts[t.name] = counts.get(t.name, 0) + 1
    existing_unified: dict[str, str] = {}
    for name in image.topics_by_name:
        existing_unified.setdefault(_unify(name), name)

    results: list[CreateTopicResult] = []
    records: list[MetadataRecord] = []
    for topic in topics:
        try:
            if counts[topic.name] > 1:
                raise _reject(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
            result, topic_records = _create_one(image, config, topic, existing_unified, rng)
            if admit is not None and not admit(result.num_partitions):
                raise _reject(ErrorCode.THROTTLING_QUOTA_EXCEEDED)
        except _Reject as e:
            results.append(CreateTopicResult(topic.name, int(e.error.code), e.error.message))
            continue
        existing_unified.setdefault(_unify(topic.name), topic.name)
        results.append(result)
        records.extend(topic_records)
    if len(records) > MAX_RECORDS_PER_USER_OP:
        return _all_failed(topics, _TOO_MANY_RECORDS), []
    return results, ([] if validate_only else records)


def _requested_partitions(topics: Sequence[CreatableTopic], default: int) -> int:
    """Kafka's ``validateTotalNumberOfPartitions`` count: assignments, else the count (-1: default)."""
    total = 0
    for t in topics:
        if t.assignments:
            total += len(t.assignments)
        elif t.num_partitions == -1:
            total += default
        elif t.num_partitions > 0:
            total += t.num_partitions
    return total


def _all_failed(topics: Sequence[CreatableTopic], message: str) -> list[CreateTopicResult]:
    return [CreateTopicResult(t.name, int(ErrorCode.POLICY_VIOLATION), message) for t in topics]


def _assignment_map(topic: CreatableTopic) -> Mapping[int, Sequence[int]]:
    if isinstance(topic.assignments, Mapping):
        return topic.assignments
    out: dict[int, Sequence[int]] = {}
    for partition, replicas in topic.assignments:
        if partition in out:
            raise _reject(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"Found multiple manual partition assignments for partition {partition}",
            )
        out[partition] = replicas
    return out


def _create_one(
    image: MetadataImage,
    config: BrokerConfig,
    topic: CreatableTopic,
    existing_unified: Mapping[str, str],
    rng: random.Random,
) -> tuple[CreateTopicResult, list[MetadataRecord]]:
    name = topic.name
    if name == METADATA_TOPIC:
        raise _reject(ErrorCode.INVALID_REQUEST, f"Creation of internal topic {METADATA_TOPIC} is prohibited.")
    name_error = topic_name_error(name)
    if name_error:
        raise _reject(ErrorCode.INVALID_TOPIC_EXCEPTION, name_error)
    if name in image.topics_by_name:
        raise _reject(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
    colliding = existing_unified.get(_unify(name))
    if colliding is not None and ("." in name or "_" in name):
        raise _reject(ErrorCode.INVALID_TOPIC_EXCEPTION, f"Topic '{name}' collides with existing topic: {colliding}")
    try:
        validate_topic_configs(topic.configs, config)
    except ConfigError as e:
        raise _reject(ErrorCode.INVALID_CONFIG, str(e)) from None

    topic_id = random_uuid()
    if topic.assignments:
        if topic.replication_factor != -1:
            raise _reject(
                ErrorCode.INVALID_REQUEST,
                "A manual partition assignment was specified, but replication factor was not set to -1.",
            )
        if topic.num_partitions != -1:
            raise _reject(
                ErrorCode.INVALID_REQUEST,
                "A manual partition assignment was specified, but numPartitions was not set to -1.",
            )
        assignments = _assignment_map(topic)
        rf = None
        for partition in sorted(assignments):
            _check_manual_assignment(image, partition, assignments[partition], rf)
            rf = len(assignments[partition])
        if sorted(assignments) != list(range(len(assignments))):
            raise _reject(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions should be a consecutive 0-based integer sequence"
            )
        replica_lists = [list(assignments[p]) for p in range(len(assignments))]
    elif topic.replication_factor < -1 or topic.replication_factor == 0:
        raise _reject(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            "Replication factor must be larger than 0, or -1 to use the default value.",
        )
    elif topic.num_partitions < -1 or topic.num_partitions == 0:
        raise _reject(ErrorCode.INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value.")
    else:
        num_partitions = config["num.partitions"] if topic.num_partitions == -1 else topic.num_partitions
        rf = config["default.replication.factor"] if topic.replication_factor == -1 else topic.replication_factor
        replica_lists = place_replicas(image, num_partitions, rf, rng)

    partition_records = _partition_records(image, topic_id, replica_lists, 0)
    overrides = {k: v for k, v in topic.configs.items() if v is not None}
    records: list[MetadataRecord] = [TopicRecord(name, topic_id)]
    records += [ConfigRecord(ConfigResourceType.TOPIC, name, k, v) for k, v in sorted(overrides.items())]
    records += partition_records
    result = CreateTopicResult(
        name,
        int(ErrorCode.NONE),
        None,
        topic_id,
        len(replica_lists),
        len(replica_lists[0]),
        config.describe_topic(
            overrides, dynamic_default=image.broker_configs(None), dynamic_broker=image.broker_configs(config.node_id)
        ),
    )
    return result, records


# ---------------------------------------------------------------------------------------------
# delete


def delete_topics(
    image: MetadataImage,
    config: BrokerConfig,
    names: Sequence[str] = (),
    topic_ids: Sequence[uuid.UUID] = (),
    admit: Admit | None = None,
) -> tuple[list[DeleteTopicResult], list[MetadataRecord]]:
    """Delete by name and/or id (DeleteTopics v6 may mix). One RemoveTopicRecord per topic. ``admit``
    (the controller mutation quota) is asked per topic with its partition count; a refused topic is
    THROTTLING_QUOTA_EXCEEDED and stays.

    Unknown name -> UNKNOWN_TOPIC_OR_PARTITION (3); unknown id -> UNKNOWN_TOPIC_ID (100); duplicates
    -> INVALID_REQUEST (42); ``delete.topic.enable=false`` -> TOPIC_DELETION_DISABLED (73) for all.
    """
    results: list[DeleteTopicResult] = []
    if not config["delete.topic.enable"]:
        err = ApiError.of(ErrorCode.TOPIC_DELETION_DISABLED)
        for name in names:
            results.append(DeleteTopicResult(name, ZERO_UUID, int(err.code), err.message))
        for tid in topic_ids:
            results.append(DeleteTopicResult(None, tid, int(err.code), err.message))
        return results, []

    def fail(name: str | None, tid: uuid.UUID, code: ErrorCode, message: str | None = None) -> None:
        err = ApiError.of(code, message)
        results.append(DeleteTopicResult(name, tid, int(err.code), err.message))

    name_counts: dict[str, int] = {}
    for n in names:
        name_counts[n] = name_counts.get(n, 0) + 1
    id_counts: dict[uuid.UUID, int] = {}
    for t in topic_ids:
        id_counts[t] = id_counts.get(t, 0) + 1

    to_delete: dict[uuid.UUID, str] = {}
    for tid, count in id_counts.items():
        if count > 1:
            fail(None, tid, ErrorCode.INVALID_REQUEST, "Duplicate topic id.")
        elif tid == ZERO_UUID:
            fail(None, tid, ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified.")
        elif (topic := image.topic_by_id(tid)) is None:
            fail(None, tid, ErrorCode.UNKNOWN_TOPIC_ID)
        else:
            to_delete[tid] = topic.name
    for name, count in name_counts.items():
        if count > 1:
            fail(name, ZERO_UUID, ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
        elif (topic := image.topic(name)) is None:
            fail(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        elif topic.topic_id in to_delete or id_counts.get(topic.topic_id, 0) > 1:
            to_delete.pop(topic.topic_id, None)
            fail(
                name,
                topic.topic_id,
                ErrorCode.INVALID_REQUEST,
                "The provided topic name maps to an ID that was already supplied.",
            )
        else:
            to_delete[topic.topic_id] = name

    records: list[MetadataRecord] = []
    for tid, name in to_delete.items():
        if admit is not None and not admit(len(image.topic_by_id(tid).partitions)):  # type: ignore[union-attr]
            fail(name, tid, ErrorCode.THROTTLING_QUOTA_EXCEEDED)
            continue
        records.append(RemoveTopicRecord(tid))
        results.append(DeleteTopicResult(name, tid, int(ErrorCode.NONE), None))
    return results, records


# ---------------------------------------------------------------------------------------------
# create partitions


def create_partitions(
    image: MetadataImage,
    topics: Sequence[CreatePartitionsTopic],
    validate_only: bool = False,
    rng: random.Random | None = None,
    admit: Admit | None = None,
) -> tuple[list[CreatePartitionsResult], list[MetadataRecord]]:
    """Grow topics to ``count`` partitions (Kafka's ``createPartitions`` rules and messages); ``admit``
    (the controller mutation quota) is asked per topic with the partitions it adds."""
    rng = rng or random.Random()
    counts: dict[str, int] = {}
    for t in topics:
        counts[t.name] = counts.get(t.name, 0) + 1
    results: list[CreatePartitionsResult] = []
    records: list[MetadataRecord] = []
    for request in topics:
        try:
            if counts[request.name] > 1:
                raise _reject(ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
            records.extend(_grow(image, request, rng, MAX_RECORDS_PER_USER_OP - len(records), admit))
            error = NONE
        except _Reject as e:
            error = e.error
        results.append(CreatePartitionsResult(request.name, int(error.code), error.message))
    return results, ([] if validate_only else records)


def _grow(
    image: MetadataImage, request: CreatePartitionsTopic, rng: random.Random, room: int, admit: Admit | None = None
) -> list[MetadataRecord]:
    topic = image.topic(request.name)
    if topic is None:
        raise _reject(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    current = topic.num_partitions
    if request.count == current:
        raise _reject(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partition(s).")
    if request.count < current:
        raise _reject(
            ErrorCode.INVALID_PARTITIONS,
            f"The topic {request.name} currently has {current} partition(s); {request.count} would not be an increase.",
        )
    additional = request.count - current
    if request.assignments is not None and len(request.assignments) != additional:
        raise _reject(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"Attempted to add {additional} additional partition(s), but only "
            f"{len(request.assignments)} assignment(s) were specified.",
        )
    if admit is not None and not admit(additional):
        raise _reject(ErrorCode.THROTTLING_QUOTA_EXCEEDED)
    if additional > room:  # checked before placing: a count near 2**31 must not be placed one by one
        raise _reject(ErrorCode.POLICY_VIOLATION, _TOO_MANY_RECORDS)
    rf = topic.replication_factor
    if request.assignments is not None:
        for i, replicas in enumerate(request.assignments):
            _check_manual_assignment(image, current + i, replicas, rf)
        replica_lists = [list(r) for r in request.assignments]
    else:
        replica_lists = place_replicas(image, additional, rf, rng, start_partition=current)
    return list(_partition_records(image, topic.topic_id, replica_lists, current))
