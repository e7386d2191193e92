"""Admin surface explored with the real clients, beyond what the other admin tests cover.

kafka-python 3's KafkaAdminClient (group offsets: alter / reset / delete, list_partition_offsets,
transactions, features), confluent-kafka's AdminClient (group listing filters, authorized operations,
group offsets on unknown topics) and aiokafka's AIOKafkaAdminClient, compared with what Apache Kafka
4.0 answers. Tests marked ``xfail(strict=True)`` document a difference from Kafka (the reason says
what Kafka does); the others document behaviour that works.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import pytest

from kavka.testing.process import wait_until
from tests.clients.adminwire import call

DELETE_TOPICS, OFFSET_COMMIT, DESCRIBE_TRANSACTIONS, DESCRIBE_CONFIGS = 20, 8, 65, 32
GROUP_RESOURCE = 32
TRANSACTIONAL_ID_NOT_FOUND, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST = 105, 3, 42


def gid() -> str:
    return f"gx-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield admin
    admin.close()


def produce(bootstrap: str, topic: str, per_partition: dict[int, int], base_ts: int | None = None) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    i = 0
    for partition, count in per_partition.items():
        for _ in range(count):
            kw = {"timestamp": base_ts + i * 1000} if base_ts is not None else {}
            p.produce(topic, value=f"v{i}".encode(), partition=partition, **kw)
            i += 1
    assert p.flush(15) == 0


def simple_commit(bootstrap: str, group: str, offsets: list[tuple[str, int, int]]) -> None:
    """Commit as a consumer using assign() (generation -1), which creates an empty classic group."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(t, p, o) for t, p, o in offsets], asynchronous=False)
    finally:
        c.close()


def topic_id_of(ck_admin, topic: str) -> uuid.UUID:
    from confluent_kafka import TopicCollection

    desc = ck_admin.describe_topics(TopicCollection([topic]))[topic].result()
    return uuid.UUID(bytes=base64.urlsafe_b64decode(str(desc.topic_id) + "=="))


def joined_group_member(bootstrap: str, topic: str, group: str, **conf):
    """A confluent consumer subscribed to ``topic`` in ``group``, returned once it has an assignment."""
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, **conf})
    c.subscribe([topic])

    def assigned():
        c.poll(0.2)
        return c.assignment()

    wait_until(assigned, 20, message="an assignment")
    return c


# -- kafka-python KafkaAdminClient: group offsets ------------------------------------------------------


def test_kafka_python_group_offsets_alter_reset_delete_round_trip(kp_admin, bootstrap, create_topic):
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec
    from kafka.errors import NoError
    from kafka.structs import OffsetAndMetadata

    topic = create_topic(partitions=2)
    produce(bootstrap, topic, {0: 4, 1: 6})
    group = gid()
    simple_commit(bootstrap, group, [(topic, 0, 3), (topic, 1, 2)])
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)

    listed = kp_admin.list_group_offsets(group)[group]
    assert {tp: o.offset for tp, o in listed.items()} == {tp0: 3, tp1: 2}

    assert kp_admin.alter_group_offsets(group, {tp0: OffsetAndMetadata(1, "altered", -1)}) == {tp0: NoError}
    listed = kp_admin.list_group_offsets(group)[group]
    assert (listed[tp0].offset, listed[tp0].metadata) == (1, "altered")

    reset = kp_admin.reset_group_offsets(group, {tp0: OffsetSpec.LATEST, tp1: OffsetSpec.EARLIEST})
    assert {tp: r["offset"] for tp, r in reset.items()} == {tp0: 4, tp1: 0}
    assert all(r["error"] is NoError for r in reset.values())

    assert kp_admin.delete_group_offsets(group, [tp1]) == {tp1: NoError}
    assert set(kp_admin.list_group_offsets(group)[group]) == {tp0}


def test_kafka_python_groups_listed_described_and_deleted(kp_admin, bootstrap, create_topic):
    topic = create_topic()
    group = gid()
    simple_commit(bootstrap, group, [(topic, 0, 0)])
    listed = {g["group_id"]: g for g in kp_admin.list_groups(states_filter=["empty"])}
    assert listed[group]["group_state"] == "Empty"
    assert listed[group]["group_type"] == "classic"
    assert group not in {g["group_id"] for g in kp_admin.list_groups(states_filter=["stable"])}
    described = kp_admin.describe_groups([group])[group]
    assert (described["group_state"], described["members"]) == ("Empty", [])
    missing = gid()
    assert kp_admin.describe_groups([missing])[missing]["group_state"] == "Dead"
    assert kp_admin.list_group_offsets(missing) == {missing: {}}
    assert kp_admin.delete_groups([group, missing]) == {group: "OK", missing: "GroupIdNotFoundError"}
    assert kp_admin.list_group_offsets(group) == {group: {}}


def test_kafka_python_list_partition_offsets_specs(kp_admin, bootstrap, create_topic):
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    topic = create_topic(partitions=2)
    base = int(time.time() * 1000) - 600_000
    produce(bootstrap, topic, {0: 5}, base_ts=base)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    got = kp_admin.list_partition_offsets({tp0: OffsetSpec.EARLIEST, tp1: OffsetSpec.LATEST})
    assert (got[tp0].offset, got[tp1].offset) == (0, 0)
    assert kp_admin.list_partition_offsets({tp0: OffsetSpec.LATEST})[tp0].offset == 5
    mx = kp_admin.list_partition_offsets({tp0: OffsetSpec.MAX_TIMESTAMP})[tp0]
    assert (mx.offset, mx.timestamp) == (4, base + 4000)


def test_kafka_python_static_member_removed_by_admin(kp_admin, bootstrap, create_topic):
    from kafka.admin import MemberToRemove
    from kafka.errors import NoError, UnknownMemberIdError

    topic = create_topic()
    group = gid()
    c = joined_group_member(bootstrap, topic, group, **{"group.instance.id": "inst-1"})
    try:
        removed = kp_admin.remove_group_members(group, [MemberToRemove(group_instance_id="inst-1")])
        assert removed == {"inst-1": NoError}
        again = kp_admin.remove_group_members(group, [MemberToRemove(group_instance_id="inst-zz")])
        assert again == {"inst-zz": UnknownMemberIdError}
        assert kp_admin.describe_groups([group])[group]["group_state"] == "Empty"
    finally:
        c.close()


def test_kafka_python_delete_offsets_of_a_subscribed_topic_is_refused(kp_admin, bootstrap, create_topic):
    from confluent_kafka import TopicPartition as CkTopicPartition
    from kafka import TopicPartition
    from kafka.errors import GroupSubscribedToTopicError

    topic = create_topic()
    group = gid()
    c = joined_group_member(bootstrap, topic, group)
    try:
        c.commit(asynchronous=False, offsets=[CkTopicPartition(topic, 0, 0)])
        got = kp_admin.delete_group_offsets(group, [TopicPartition(topic, 0)])
        assert got == {TopicPartition(topic, 0): GroupSubscribedToTopicError}
    finally:
        c.close()


# -- transactions --------------------------------------------------------------------------------------


def test_kafka_python_lists_and_describes_an_ongoing_transaction(kp_admin, bootstrap, create_topic):
    from confluent_kafka import Producer
    from kafka import TopicPartition
    from kafka.admin import TransactionState

    topic = create_topic()
    txn_id = f"txx-{uuid.uuid4().hex[:8]}"
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    p.init_transactions(15)
    p.begin_transaction()
    p.produce(topic, b"x")
    assert p.flush(10) == 0
    try:
        listed = {row[0]: row for rows in kp_admin.list_transactions().values() for row in rows}
        assert listed[txn_id][2] == TransactionState.ONGOING
        desc = kp_admin.describe_transactions([txn_id])[txn_id]
        assert desc[1] == TransactionState.ONGOING
        assert desc[-1] == {TopicPartition(topic, 0)}
    finally:
        p.abort_transaction(10)


def test_kafka_python_describes_a_transaction_in_state_empty(kp_admin, bootstrap):
    from confluent_kafka import Producer
    from kafka.admin import TransactionState

    txn_id = f"txe-{uuid.uuid4().hex[:8]}"
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    p.init_transactions(15)
    desc = kp_admin.describe_transactions([txn_id])[txn_id]
    assert desc[1] == TransactionState.EMPTY


def test_describe_transactions_of_an_unknown_id(kp_admin, bootstrap):
    from confluent_kafka import Producer
    from kafka.errors import TransactionalIdNotFoundError

    # a transactional producer first, so that __transaction_state and its coordinator exist
    Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txw-{uuid.uuid4().hex[:8]}"}).init_transactions(15)
    with pytest.raises(TransactionalIdNotFoundError):
        kp_admin.describe_transactions([f"nope-{uuid.uuid4().hex}"])


# -- confluent-kafka AdminClient -------------------------------------------------------------------------


def test_confluent_group_listing_filters_and_refusals_on_an_active_group(ck_admin, bootstrap, create_topic):
    from confluent_kafka import (
        ConsumerGroupState,
        ConsumerGroupTopicPartitions,
        ConsumerGroupType,
        KafkaException,
        TopicPartition,
    )

    topic = create_topic(partitions=2)
    group = gid()
    c = joined_group_member(bootstrap, topic, group)
    try:
        stable = {g.group_id for g in ck_admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result().valid}
        assert group in stable
        classic = {g.group_id for g in ck_admin.list_consumer_groups(types={ConsumerGroupType.CLASSIC}).result().valid}
        assert group in classic
        assert group not in {
            g.group_id for g in ck_admin.list_consumer_groups(types={ConsumerGroupType.CONSUMER}).result().valid
        }
        desc = ck_admin.describe_consumer_groups([group])[group].result()
        assert desc.state == ConsumerGroupState.STABLE and desc.partition_assignor == "range"
        assert sorted(tp.partition for tp in desc.members[0].assignment.topic_partitions) == [0, 1]
        with pytest.raises(KafkaException, match="NON_EMPTY_GROUP"):
            ck_admin.delete_consumer_groups([group])[group].result()
        altered = ck_admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 1, 3)])]
        )[group].result()
        assert altered.topic_partitions[0].error.name() == "UNKNOWN_MEMBER_ID"
    finally:
        c.close()


def test_confluent_unknown_group_is_dead_and_cannot_be_deleted(ck_admin):
    from confluent_kafka import ConsumerGroupState, KafkaException

    group = gid()
    assert ck_admin.describe_consumer_groups([group])[group].result().state == ConsumerGroupState.DEAD
    with pytest.raises(KafkaException, match="GROUP_ID_NOT_FOUND"):
        ck_admin.delete_consumer_groups([group])[group].result()


def test_confluent_list_consumer_group_offsets_of_unset_partition(ck_admin, bootstrap, create_topic):
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    topic = create_topic(partitions=3)
    group = gid()
    simple_commit(bootstrap, group, [(topic, 0, 5), (topic, 1, 3)])
    every = ck_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
    assert sorted((tp.partition, tp.offset) for tp in every.topic_partitions) == [(0, 5), (1, 3)]
    some = ck_admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0), TopicPartition(topic, 2)])]
    )[group].result()
    assert sorted((tp.partition, tp.offset) for tp in some.topic_partitions) == [(0, 5), (2, -1001)]


def test_confluent_describe_user_scram_credentials_fails_cleanly(ck_admin):
    from confluent_kafka import KafkaException

    started = time.monotonic()
    with pytest.raises(KafkaException):
        ck_admin.describe_user_scram_credentials(["alice"])["alice"].result()
    assert time.monotonic() - started < 10


def test_confluent_describe_all_user_scram_credentials_is_empty(ck_admin):
    assert ck_admin.describe_user_scram_credentials().result() == {}


def test_confluent_alter_group_offsets_of_an_unknown_topic_is_refused(ck_admin):
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

    group = gid()
    topic = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    with pytest.raises(KafkaException, match="UNKNOWN_TOPIC_OR_PART"):
        got = ck_admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 5)])]
        )[group].result()
        for tp in got.topic_partitions:
            if tp.error is not None:
                raise KafkaException(tp.error)


def test_offset_commit_to_missing_partitions_at_the_wire(bootstrap, create_topic):
    topic = create_topic(partitions=1)
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    group = gid()
    simple_commit(bootstrap, group, [(topic, 0, 0)])  # the coordinator is loaded and the group exists
    r = call(
        bootstrap,
        OFFSET_COMMIT,
        8,
        {
            "group_id": group,
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {
                            "partition_index": 7,
                            "committed_offset": 5,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                    ],
                },
                {
                    "name": missing,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 5,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                    ],
                },
            ],
        },
    )
    codes = {(t.name, p.partition_index): int(p.error_code) for t in r.topics for p in t.partitions}
    assert codes == {(topic, 7): UNKNOWN_TOPIC_OR_PARTITION, (missing, 0): UNKNOWN_TOPIC_OR_PARTITION}


def test_confluent_describe_topics_authorized_operations(ck_admin, create_topic):
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AclOperation

    topic = create_topic()
    desc = ck_admin.describe_topics(TopicCollection([topic]), include_authorized_operations=True)[topic].result()
    assert desc.authorized_operations is not None
    assert {AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE} <= set(desc.authorized_operations)


def test_confluent_describe_cluster_authorized_operations(ck_admin):
    from confluent_kafka.admin import AclOperation

    desc = ck_admin.describe_cluster(include_authorized_operations=True).result()
    assert desc.authorized_operations is not None
    assert AclOperation.DESCRIBE in set(desc.authorized_operations)


def test_confluent_describe_group_authorized_operations(ck_admin, bootstrap, create_topic):
    from confluent_kafka.admin import AclOperation

    topic = create_topic()
    group = gid()
    simple_commit(bootstrap, group, [(topic, 0, 1)])
    desc = ck_admin.describe_consumer_groups([group], include_authorized_operations=True)[group].result()
    assert desc.authorized_operations is not None
    assert AclOperation.DESCRIBE in set(desc.authorized_operations)


# -- topics at the wire -------------------------------------------------------------------------------------


def test_delete_topics_refuses_duplicate_names(bootstrap, create_topic):
    topic = create_topic()
    r = call(bootstrap, DELETE_TOPICS, 5, {"topic_names": [topic, topic], "timeout": 5000})
    assert [(x.name, int(x.error_code)) for x in r.responses] == [(topic, INVALID_REQUEST)]


def test_delete_topics_by_unknown_id(bootstrap):
    r = call(bootstrap, DELETE_TOPICS, 6, {"topics": [{"name": None, "topic_id": uuid.uuid4()}], "timeout": 5000})
    [res] = r.responses
    assert int(res.error_code) == 100  # UNKNOWN_TOPIC_ID


def test_delete_topics_by_id(ck_admin, bootstrap, create_topic):
    topic = create_topic()
    tid = topic_id_of(ck_admin, topic)
    r = call(bootstrap, DELETE_TOPICS, 6, {"topics": [{"name": None, "topic_id": tid}], "timeout": 5000})
    [res] = r.responses
    assert (int(res.error_code), res.name) == (0, topic)
    wait_until(lambda: topic not in ck_admin.list_topics(timeout=5).topics, 10, message="topic gone")


def test_delete_topics_with_both_name_and_id_deletes_nothing(ck_admin, bootstrap, create_topic):
    topic = create_topic()
    r = call(bootstrap, DELETE_TOPICS, 6, {"topics": [{"name": topic, "topic_id": uuid.uuid4()}], "timeout": 5000})
    [res] = r.responses
    assert int(res.error_code) == INVALID_REQUEST
    assert topic in ck_admin.list_topics(timeout=5).topics


# -- features, group configs and APIs Kafka 4.0 serves ----------------------------------------------------


def test_kafka_python_describe_features(kp_admin):
    features = kp_admin.describe_features()
    assert "metadata.version" in features
    assert {"supported", "finalized"} <= set(features["metadata.version"])


def test_describe_configs_of_a_group_resource(bootstrap):
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {
            "resources": [{"resource_type": GROUP_RESOURCE, "resource_name": gid(), "configuration_keys": None}],
            "include_synonyms": False,
        },
    )
    [res] = r.results
    assert int(res.error_code) == 0
    assert "consumer.session.timeout.ms" in {c.name for c in res.configs}


def test_kafka_python_list_partition_reassignments(kp_admin):
    assert not kp_admin.list_partition_reassignments()


def test_kafka_python_describe_topic_partitions(kp_admin, create_topic):
    topic = create_topic(partitions=2)
    got = kp_admin.describe_topic_partitions([topic])
    assert topic in repr(got)


def test_kafka_python_describe_groups_of_a_consumer_protocol_group(kp_admin, bootstrap, create_topic):
    topic = create_topic()
    group = gid()
    c = joined_group_member(bootstrap, topic, group, **{"group.protocol": "consumer"})
    try:
        assert kp_admin.describe_groups([group])[group]["group_state"] == "Dead"
    finally:
        c.close()


# -- aiokafka AIOKafkaAdminClient ----------------------------------------------------------------------------


def test_aiokafka_admin_round_trip(bootstrap, new_topic_name):
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka.structs import OffsetAndMetadata

    topic = new_topic_name("ak")
    group = gid()

    async def main():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            checked = await admin.create_topics([NewTopic(topic + "-v", 2, 1)], validate_only=True)
            assert checked.topic_errors[0][1] == 0
            assert topic + "-v" not in await admin.list_topics()
            created = await admin.create_topics([NewTopic(topic, 2, 1)])
            assert created.topic_errors[0][1] == 0
            again = await admin.create_topics([NewTopic(topic, 2, 1)])
            assert again.topic_errors[0][1] == 36  # TOPIC_ALREADY_EXISTS
            [altered] = await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": "123456"})]
            )
            assert altered.resources[0][0] == 0
            [described] = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, None)], include_synonyms=True
            )
            entries = {e[0]: e for e in described.resources[0][4]}
            assert entries["retention.ms"][1] == "123456"
            assert entries["retention.ms"][3] == 1  # DYNAMIC_TOPIC_CONFIG
            assert entries["cleanup.policy"][5] == [("log.cleanup.policy", "delete", 5)]
            grown = await admin.create_partitions({topic: NewPartitions(4)})
            assert grown.topic_errors[0][1] == 0
            [desc] = await admin.describe_topics([topic])
            assert len(desc["partitions"]) == 4

            c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
            await c.start()
            try:
                c.assign([TopicPartition(topic, 0)])
                await c.commit({TopicPartition(topic, 0): OffsetAndMetadata(0, "m")})
            finally:
                await c.stop()
            assert (group, "") in [tuple(g) for g in await admin.list_consumer_groups()]
            offsets = await admin.list_consumer_group_offsets(group)
            assert offsets[TopicPartition(topic, 0)].metadata == "m"
            assert await admin.find_coordinator(group) == 1
            low = await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(0)})
            assert low == {TopicPartition(topic, 0): 0}
            deleted = await admin.delete_topics([topic])
            assert deleted.topic_error_codes[0][1] == 0
        finally:
            await admin.close()

    asyncio.run(main())
