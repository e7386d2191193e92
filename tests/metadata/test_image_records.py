"""``image_to_records``: the records of a snapshot rebuild the image they were taken from.

Images come from random runs of the real controller (``QuorumController`` over the in-memory local
quorum): topics created, grown and deleted, topic / broker / cluster configs set and deleted, client
quotas, feature levels, producer id blocks, brokers registered, re-registered fenced or in controlled
shutdown, and unregistered, and partition changes (leader, ISR, replicas, reassignment) as Kafka's
AlterPartition would commit them. The records go through their bytes (``encode_record`` /
``decode_record``) and are replayed into an empty image, which must equal the original field by field.
"""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kavka.controller import (
    AlterableConfig,
    AlterConfigOp,
    AlterConfigsResource,
    CreatableTopic,
    CreatePartitionsTopic,
    QuorumController,
)
from kavka.controller.client_quotas import QuotaAlteration, QuotaOp
from kavka.controller.features import BOOTSTRAP_LEVELS, SUPPORTED_FEATURES, FeatureUpdate
from kavka.metadata.config import BrokerConfig, Listener
from kavka.metadata.image import MetadataApplyError, MetadataDelta, MetadataImage
from kavka.metadata.image_records import image_to_records
from kavka.metadata.records import (
    BrokerEndpoint,
    ClientQuotaRecord,
    ConfigRecord,
    ConfigResourceType,
    FeatureLevelRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    TopicRecord,
    decode_record,
    encode_record,
)
from kavka.raft.local import InMemoryMetadataLogStore, LocalMetadataQuorum

CLUSTER = "snapshot-cluster"
TOPIC, BROKER = ConfigResourceType.TOPIC, ConfigResourceType.BROKER
NAMES = ["orders", "events", "audit", "a.b", "x_y"]
SUPPORTED = {n: (lo, hi, BOOTSTRAP_LEVELS.get(n, 0)) for n, (lo, hi) in SUPPORTED_FEATURES.items()}
TOPIC_CONFIGS = {
    "retention.ms": ["1000", "3600000", "-1"],
    "cleanup.policy": ["compact", "delete", "compact,delete"],
    "max.message.bytes": ["1024", "2000000"],
}
BROKER_CONFIG_VALUES = {"log.retention.ms": ["1000", "600000"], "custom.thing": ["a", "b"]}
QUOTA_ENTITIES = [
    (("user", "alice"),),
    (("user", None),),
    (("client-id", "app"),),
    (("user", "bob"), ("client-id", "app")),
    (("ip", "10.0.0.1"),),
    (("ip", None),),
]


def _controller() -> tuple[QuorumController, LocalMetadataQuorum]:
    quorum = LocalMetadataQuorum(InMemoryMetadataLogStore(), CLUSTER)
    controller = QuorumController(quorum, BrokerConfig.for_serve(), rng=random.Random(0))
    controller.bootstrap()
    return controller, quorum


def _listeners(broker_id: int) -> list[Listener]:
    return [Listener("PLAINTEXT", f"host{broker_id}", 9090 + broker_id, "PLAINTEXT")]


def _run(op: tuple, controller: QuorumController, quorum: LocalMetadataQuorum, rng: random.Random) -> None:
    image = quorum.image
    kind = op[0]
    if kind == "register":
        _, broker_id, rack = op
        controller.register_broker(broker_id, _listeners(broker_id), rack=rack)
    elif kind == "state":  # a broker re-registering fenced or in controlled shutdown
        _, broker_id, fenced, shutting_down = op
        endpoints = (BrokerEndpoint("PLAINTEXT", f"host{broker_id}", 9090 + broker_id, 0),)
        incarnation = uuid.UUID(int=rng.getrandbits(128))
        record = RegisterBrokerRecord(
            broker_id, incarnation, quorum.end_offset, endpoints, fenced=fenced, in_controlled_shutdown=shutting_down
        )
        quorum.append([record])
    elif kind == "unregister":
        controller.unregister_broker(op[1])
    elif kind == "create":
        _, name, partitions, rf, configs = op
        controller.create_topics([CreatableTopic(name, partitions, rf, configs=configs)])
    elif kind == "delete":
        controller.delete_topics([op[1]])
    elif kind == "grow":
        _, name, extra = op
        topic = image.topic(name)
        if topic is not None:
            controller.create_partitions([CreatePartitionsTopic(name, topic.num_partitions + extra)])
    elif kind == "config":
        _, rtype, rname, key, value = op
        change = AlterableConfig(key, AlterConfigOp.DELETE if value is None else AlterConfigOp.SET, value)
        controller.incremental_alter_configs([AlterConfigsResource(rtype, rname, [change])])
    elif kind == "quota":
        _, entity, key, value, remove = op
        controller.alter_client_quotas([QuotaAlteration(entity, (QuotaOp(key, value, remove),))], False, lambda _: True)
    elif kind == "feature":
        _, name, level = op
        current = image.features.get(name, SUPPORTED[name][2])
        kind_ = 1 if level >= current else 2
        controller.update_features([FeatureUpdate(name, level, kind_)], False, SUPPORTED, 1)
    elif kind == "pids":
        registration = image.brokers.get(op[1])
        if registration is not None:  # blocks go to registered brokers, at their epoch
            controller.allocate_producer_ids(op[1], registration.broker_epoch)
    elif kind == "pchange":  # what AlterPartition / a reassignment commits
        _, pick, new_leader, isr_size, reassign = op
        partitions = [(t, p) for t in sorted(image.topics_by_name.values(), key=lambda t: t.name) for p in t.partitions]
        if not partitions:
            return
        topic, pid = partitions[pick % len(partitions)]
        old = topic.partitions[pid]
        brokers = sorted(image.brokers) or [1]
        leader = brokers[new_leader % len(brokers)] if new_leader >= 0 else -1
        isr = tuple(brokers[: max(1, isr_size)])
        adding = tuple(b for b in brokers if b not in old.replicas)[:1] if reassign else None
        quorum.append(
            [
                PartitionChangeRecord(
                    pid,
                    topic.topic_id,
                    isr=isr,
                    leader=leader,
                    replicas=old.replicas + adding if adding else None,
                    adding_replicas=adding or None,
                    removing_replicas=old.replicas[:1] if adding else None,
                )
            ]
        )
    else:  # pragma: no cover - the strategy only makes the kinds above
        raise AssertionError(kind)


broker_ids = st.integers(1, 4)
topic_names = st.sampled_from(NAMES)
registrations = st.tuples(st.just("register"), broker_ids, st.none() | st.sampled_from(["r1", "r2"]))
creations = st.tuples(
    st.just("create"),
    topic_names,
    st.integers(1, 4),
    st.integers(1, 2),
    st.lists(st.sampled_from(sorted(TOPIC_CONFIGS)), max_size=2).map(
        lambda keys: {k: TOPIC_CONFIGS[k][0] for k in keys}
    ),
)
partition_changes = st.tuples(
    st.just("pchange"), st.integers(0, 30), st.integers(-1, 3), st.integers(1, 3), st.booleans()
)
# Creations, registrations and partition changes are drawn more often than the rest: most other
# operations need topics or brokers to act on.
ops = st.one_of(
    registrations,
    registrations,
    creations,
    creations,
    creations,
    partition_changes,
    partition_changes,
    st.tuples(st.just("state"), broker_ids, st.booleans(), st.booleans()),
    st.tuples(st.just("unregister"), broker_ids),
    st.tuples(st.just("delete"), topic_names),
    st.tuples(st.just("grow"), topic_names, st.integers(1, 3)),
    st.sampled_from(sorted(TOPIC_CONFIGS)).flatmap(
        lambda key: st.tuples(
            st.just("config"),
            st.just(TOPIC),
            topic_names,
            st.just(key),
            st.none() | st.sampled_from(TOPIC_CONFIGS[key]),
        )
    ),
    st.sampled_from(sorted(BROKER_CONFIG_VALUES)).flatmap(
        lambda key: st.tuples(
            st.just("config"),
            st.just(BROKER),
            st.sampled_from(["", "1", "2"]),
            st.just(key),
            st.none() | st.sampled_from(BROKER_CONFIG_VALUES[key]),
        )
    ),
    st.sampled_from(QUOTA_ENTITIES).flatmap(
        lambda entity: st.tuples(
            st.just("quota"),
            st.just(entity),
            st.just("connection_creation_rate" if entity[0][0] == "ip" else "producer_byte_rate"),
            st.sampled_from([100.0, 2048.0, 1e6]),
            st.booleans(),
        )
    ),
    st.tuples(st.just("feature"), st.just("group.version"), st.integers(0, 1)),
    st.tuples(st.just("feature"), st.just("transaction.version"), st.integers(0, 2)),
    st.tuples(st.just("pids"), broker_ids),
)


def _replayed(records, cluster_id=CLUSTER) -> MetadataImage:
    return MetadataDelta(MetadataImage.empty(cluster_id)).replay_all(records).build()


def _assert_same(rebuilt: MetadataImage, image: MetadataImage) -> None:
    # Field by field first, so a failure names the part that differs; then the whole image.
    for name in MetadataImage.__dataclass_fields__:
        assert getattr(rebuilt, name) == getattr(image, name), name
    assert rebuilt == image


def _image_from(run: list[tuple], seed: int) -> MetadataImage:
    controller, quorum = _controller()
    rng = random.Random(seed)
    controller.register_broker(1, _listeners(1))
    for op in run:
        _run(op, controller, quorum, rng)
    return quorum.image


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=10, max_size=40), st.integers(0, 2**32))
def test_records_rebuild_the_image(run, seed):
    image = _image_from(run, seed)
    records = image_to_records(image)
    through_bytes = [decode_record(encode_record(r)) for r in records]
    _assert_same(_replayed(through_bytes), image)
    assert image_to_records(_replayed(records)) == records  # one image, one list of records


def _rich_image() -> MetadataImage:
    run = [
        ("register", 2, "r1"),
        ("register", 3, None),
        ("state", 3, True, False),
        ("create", "orders", 3, 2, {"cleanup.policy": "compact"}),
        ("create", "events", 2, 1, {}),
        ("config", TOPIC, "events", "retention.ms", "1000"),
        ("config", BROKER, "", "log.retention.ms", "600000"),
        ("config", BROKER, "2", "custom.thing", "a"),
        ("quota", (("user", "alice"),), "producer_byte_rate", 2048.0, False),
        ("quota", (("ip", None),), "connection_creation_rate", 100.0, False),
        ("feature", "group.version", 1),
        ("pids", 1),
        ("pchange", 0, 1, 1, True),
    ]
    return _image_from(run, 7)


def test_the_rich_image_has_every_kind_of_state():
    # The fixed run below is the one the order and sensitivity tests use: it must really reach every
    # part of the image, or those tests would prove less than they claim.
    image = _rich_image()
    assert image.brokers[3].fenced and image.brokers[2].rack == "r1"
    assert {"orders", "events"} <= set(image.topics_by_name)
    assert image.configs[(TOPIC, "events")] == {"retention.ms": "1000"}
    assert image.broker_configs() and image.broker_configs(2)
    assert len(image.client_quotas) == 2 and image.next_producer_id == 1000
    assert any(p.partition_epoch > 0 for t in image.topics_by_name.values() for p in t.partitions.values())
    assert any(p.adding_replicas for t in image.topics_by_name.values() for p in t.partitions.values())


def test_records_come_in_kafkas_snapshot_order():
    records = image_to_records(_rich_image())
    assert records[0] == FeatureLevelRecord("metadata.version", 25)
    # MetadataImage.write: features, cluster, topics (each TopicRecord then its partitions), configs,
    # client quotas, producer ids.
    rank = {
        FeatureLevelRecord: 0,
        RegisterBrokerRecord: 1,
        TopicRecord: 2,
        PartitionRecord: 2,
        ConfigRecord: 3,
        ClientQuotaRecord: 4,
        ProducerIdsRecord: 5,
    }
    ranks = [rank[type(r)] for r in records]
    assert ranks == sorted(ranks) and set(ranks) == set(rank.values())
    topic_ids = [r.topic_id for r in records if isinstance(r, TopicRecord)]
    partition_owners = [r.topic_id for r in records if isinstance(r, PartitionRecord)]
    assert partition_owners == sorted(partition_owners, key=topic_ids.index)
    for r in records:
        if isinstance(r, TopicRecord):
            following = records[records.index(r) + 1]
            assert isinstance(following, PartitionRecord) and following.topic_id == r.topic_id
    assert ProducerIdsRecord(-1, -1, 1000) in records


def test_every_record_is_needed():
    """The comparison is sharp: leaving any one record out gives another image (or one that cannot be
    built), so the round-trip test would catch a record image_to_records forgot."""
    image = _rich_image()
    records = image_to_records(image)
    for i in range(len(records)):
        try:
            other = _replayed(records[:i] + records[i + 1 :])
        except MetadataApplyError:
            continue
        assert other != image, records[i]


def test_an_empty_image_is_no_records():
    assert image_to_records(MetadataImage.empty(CLUSTER)) == []


@pytest.mark.parametrize("level", [0, 25])
def test_metadata_version_is_written_as_finalized(level):
    image = _replayed([FeatureLevelRecord("group.version", 1), FeatureLevelRecord("metadata.version", level)])
    records = image_to_records(image)
    assert records == [FeatureLevelRecord("metadata.version", level), FeatureLevelRecord("group.version", 1)]
    _assert_same(_replayed(records), image)
