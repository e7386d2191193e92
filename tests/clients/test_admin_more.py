"""More of the admin surface, against what Apache Kafka 4.0 answers.

- ListPartitionReassignments (46) / AlterPartitionReassignments (45): nothing is ever reassigning on
  one broker; the current replica list is the only valid target (Kafka's ReplicationControlManager).
- DescribeUserScramCredentials (50): this broker has no SCRAM users (Kafka's ScramImage.describe).
- DescribeTopicPartitions (75, KIP-966): pages with a cursor (DescribeTopicPartitionsRequestHandler).
- Authorized operations (KIP-430) with no authorizer: every supported operation when asked
  (AuthHelper.authorizedOperations, AclEntry.supportedOperations), INT32_MIN when not.
- DescribeConfigs of a GROUP resource (Kafka's GroupConfig, ConfigHelper.createGroupConfigEntry).

Through kafka-python's KafkaAdminClient, confluent-kafka's AdminClient and aiokafka's admin where
they have the call, and at the wire (``adminwire.call``) for what they do not show.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from kavka.broker.acl_operations import CLUSTER_OPERATIONS, GROUP_OPERATIONS, TOPIC_OPERATIONS
from kavka.testing.process import api_versions_round_trip, wait_until
from tests.clients.adminwire import call

METADATA, DESCRIBE_GROUPS, DESCRIBE_CONFIGS, DESCRIBE_CLUSTER, CONSUMER_GROUP_DESCRIBE = 3, 15, 32, 60, 69
ALTER_REASSIGNMENTS, LIST_REASSIGNMENTS, DESCRIBE_SCRAM, DESCRIBE_TOPIC_PARTITIONS = 45, 46, 50, 75
GROUP_RESOURCE = 32
NONE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, INVALID_REPLICA_ASSIGNMENT = 0, 3, 17, 39
INVALID_REQUEST, GROUP_ID_NOT_FOUND, NO_REASSIGNMENT_IN_PROGRESS = 42, 69, 85
RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE, MISMATCHED_ENDPOINT_TYPE, UNSUPPORTED_ENDPOINT_TYPE = 91, 92, 114, 115
NOT_REQUESTED = -(2**31)
DEFAULT_CONFIG, INT_TYPE = 5, 3


def gid() -> str:
    return f"gm-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    yield admin
    admin.close()


@pytest.fixture
def ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def simple_commit(bootstrap: str, group: str, topic: str) -> None:
    """A classic group with a committed offset and no members (state Empty)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    finally:
        c.close()


def bits(field: int) -> set[int]:
    return {i for i in range(32) if field & (1 << i)}


def test_new_apis_are_advertised(broker):
    versions = api_versions_round_trip(broker.host, broker.port)
    for key in (LIST_REASSIGNMENTS, DESCRIBE_SCRAM, DESCRIBE_TOPIC_PARTITIONS):
        assert versions[key] == (0, 0), (key, versions.get(key))
    assert versions[ALTER_REASSIGNMENTS] == (0, 1)  # v1: allow_replication_factor_change (KIP-860)
    assert versions[51] == (0, 0)  # AlterUserScramCredentials (KIP-554)


def test_operation_bit_fields_are_kafkas():
    # AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
    # DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
    assert bits(TOPIC_OPERATIONS) == {3, 4, 5, 6, 7, 8, 10, 11}
    assert bits(GROUP_OPERATIONS) == {3, 6, 8, 10, 11}
    assert bits(CLUSTER_OPERATIONS) == {5, 7, 8, 9, 10, 11, 12}
    assert (TOPIC_OPERATIONS, GROUP_OPERATIONS, CLUSTER_OPERATIONS) == (3576, 3400, 8096)


# -- partition reassignments ---------------------------------------------------------------------------------


def test_kafka_python_lists_no_reassignments(kp_admin, create_topic):
    from kafka import TopicPartition

    topic = create_topic(partitions=2)
    assert kp_admin.list_partition_reassignments() == {}
    assert kp_admin.list_partition_reassignments([TopicPartition(topic, 0), TopicPartition(topic, 1)]) == {}
    assert kp_admin.list_partition_reassignments({topic: [0, 7], "no-such-topic-x": [0]}) == {}


def test_list_reassignments_at_the_wire(bootstrap, create_topic):
    topic = create_topic()
    for topics in (
        None,
        [],
        [{"name": topic, "partition_indexes": [0, 3]}, {"name": "nope-x", "partition_indexes": [0]}],
    ):
        r = call(bootstrap, LIST_REASSIGNMENTS, 0, {"timeout": 30000, "topics": topics})
        assert (int(r.error_code), r.error_message, r.topics) == (NONE, None, ())


def test_kafka_python_alter_reassignments(kp_admin, create_topic):
    from kafka import TopicPartition
    from kafka.errors import InvalidReplicationAssignmentError, NoReassignmentInProgressError

    topic = create_topic(partitions=2)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    assert kp_admin.alter_partition_reassignments({tp0: [1], tp1: [1]}) == {tp0: None, tp1: None}
    assert kp_admin.alter_partition_reassignments({tp0: [2]}) == {tp0: InvalidReplicationAssignmentError}
    assert kp_admin.alter_partition_reassignments({tp1: None}) == {tp1: NoReassignmentInProgressError}
    assert kp_admin.list_partition_reassignments() == {}
    md = kp_admin.describe_topics([topic])[0]
    assert [p["replica_nodes"] for p in sorted(md["partitions"], key=lambda p: p["partition_index"])] == [[1], [1]]


def test_alter_reassignments_errors_at_the_wire(bootstrap, create_topic):
    topic = create_topic()
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    r = call(
        bootstrap,
        ALTER_REASSIGNMENTS,
        0,
        {
            "timeout": 30000,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": 0, "replicas": [1]},
                        {"partition_index": 0, "replicas": []},
                        {"partition_index": 0, "replicas": [3, 1]},
                        {"partition_index": 0, "replicas": [1, 1, 5]},
                        {"partition_index": 0, "replicas": None},
                        {"partition_index": 4, "replicas": [1]},
                    ],
                },
                {"name": missing, "partitions": [{"partition_index": 0, "replicas": [1]}]},
            ],
        },
    )
    assert (int(r.error_code), r.error_message) == (NONE, None)
    got = [(t.name, p.partition_index, int(p.error_code), p.error_message) for t in r.responses for p in t.partitions]
    assert got == [
        (topic, 0, NONE, None),
        (topic, 0, INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."),
        (
            topic,
            0,
            INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes broker 3, but no such broker is registered.",
        ),
        (topic, 0, INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes the broker 1 more than once."),
        (topic, 0, NO_REASSIGNMENT_IN_PROGRESS, None),  # Kafka drops a message that is the default text
        (topic, 4, UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find partition {topic}:4."),
        (missing, 0, UNKNOWN_TOPIC_OR_PARTITION, f"Unable to find a topic named {missing}."),
    ]


# -- SCRAM credentials ----------------------------------------------------------------------------------------


def test_confluent_describe_scram_credentials(ck_admin):
    from confluent_kafka import KafkaError, KafkaException

    assert ck_admin.describe_user_scram_credentials().result() == {}
    with pytest.raises(KafkaException) as e:
        ck_admin.describe_user_scram_credentials(["alice"])["alice"].result()
    err = e.value.args[0]
    assert err.code() == KafkaError.RESOURCE_NOT_FOUND
    # librdkafka 2.16 shows the message with a stray byte after it; kio and kafka-python read it exactly
    assert err.str().startswith("Attempt to describe a user credential that does not exist: alice")


def test_kafka_python_describe_scram_credentials(kp_admin):
    assert kp_admin.describe_user_scram_credentials() == {}
    assert kp_admin.describe_user_scram_credentials(["bob"]) == {
        "bob": {"error": "Attempt to describe a user credential that does not exist: bob", "credential_infos": []}
    }


def test_describe_scram_credentials_at_the_wire(bootstrap):
    for users in (None, []):
        r = call(bootstrap, DESCRIBE_SCRAM, 0, {"users": users})
        assert (int(r.error_code), r.error_message, r.results) == (NONE, None, ())
    r = call(bootstrap, DESCRIBE_SCRAM, 0, {"users": [{"name": "alice"}, {"name": "bob"}, {"name": "alice"}]})
    assert int(r.error_code) == NONE
    got = {x.user: (int(x.error_code), x.error_message, x.credential_infos) for x in r.results}
    assert got == {
        "alice": (
            DUPLICATE_RESOURCE,
            "Cannot describe SCRAM credentials for the same user twice in a single request: alice",
            (),
        ),
        "bob": (RESOURCE_NOT_FOUND, "Attempt to describe a user credential that does not exist: bob", ()),
    }


# -- DescribeTopicPartitions ----------------------------------------------------------------------------------


def dtp(bootstrap: str, names: list[str], limit: int = 2000, cursor: tuple[str, int] | None = None):
    return call(
        bootstrap,
        DESCRIBE_TOPIC_PARTITIONS,
        0,
        {
            "topics": [{"name": n} for n in names],
            "response_partition_limit": limit,
            "cursor": None if cursor is None else {"topic_name": cursor[0], "partition_index": cursor[1]},
        },
    )


def page(r) -> tuple[list[tuple[str, list[int]]], tuple[str, int] | None]:
    cursor = None if r.next_cursor is None else (r.next_cursor.topic_name, r.next_cursor.partition_index)
    return [(t.name, [p.partition_index for p in t.partitions]) for t in r.topics], cursor


def test_kafka_python_describe_topic_partitions(kp_admin, ck_admin, create_topic):
    from confluent_kafka import TopicCollection

    topic = create_topic(partitions=3)
    got = kp_admin.describe_topic_partitions([topic])
    assert got["next_cursor"] is None
    [t] = got["topics"]
    assert (t["error_code"], t["name"], t["is_internal"]) == (0, topic, False)
    assert t["topic_authorized_operations"] == TOPIC_OPERATIONS
    desc = ck_admin.describe_topics(TopicCollection([topic]))[topic].result()
    assert t["topic_id"] == uuid.UUID(bytes=_b64(str(desc.topic_id)))
    assert [
        (p["partition_index"], p["leader_id"], p["replica_nodes"], p["isr_nodes"], p["offline_replicas"])
        for p in t["partitions"]
    ] == [(i, 1, [1], [1], []) for i in range(3)]
    assert all(p["leader_epoch"] >= 0 for p in t["partitions"])


def test_describe_topic_partitions_fields_at_the_wire(ck_admin, bootstrap, create_topic):
    from confluent_kafka import TopicCollection

    topic = create_topic(partitions=2)
    r = dtp(bootstrap, [topic])
    [t] = r.topics
    desc = ck_admin.describe_topics(TopicCollection([topic]))[topic].result()
    assert t.topic_id == uuid.UUID(bytes=_b64(str(desc.topic_id)))
    assert (int(t.error_code), t.is_internal, t.topic_authorized_operations) == (NONE, False, TOPIC_OPERATIONS)
    for p in t.partitions:
        # no ELR is kept (KIP-966): both lists empty, not null
        assert (p.eligible_leader_replicas, p.last_known_elr, p.offline_replicas) == ((), (), ())
        assert (int(p.error_code), p.leader_id, p.replica_nodes, p.isr_nodes) == (NONE, 1, (1,), (1,))


def _b64(s: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_describe_topic_partitions_pages(bootstrap, create_topic):
    stem = f"dtp-{uuid.uuid4().hex[:8]}"
    a = create_topic(f"{stem}-a", partitions=3)
    b = create_topic(f"{stem}-b", partitions=2)
    c = create_topic(f"{stem}-c", partitions=1)
    names = [c, a, b]  # answered in name order whatever the request's order
    assert page(dtp(bootstrap, names)) == ([(a, [0, 1, 2]), (b, [0, 1]), (c, [0])], None)
    assert page(dtp(bootstrap, names, limit=2)) == ([(a, [0, 1])], (a, 2))
    assert page(dtp(bootstrap, names, limit=2, cursor=(a, 2))) == ([(a, [2]), (b, [0])], (b, 1))
    assert page(dtp(bootstrap, names, limit=2, cursor=(b, 1))) == ([(b, [1]), (c, [0])], None)
    # the limit used up exactly at the end of a topic: the next page starts at the next topic
    assert page(dtp(bootstrap, names, limit=3)) == ([(a, [0, 1, 2])], (b, 0))
    # topics below the cursor's are skipped; a limit below 1 counts as 1
    assert page(dtp(bootstrap, names, limit=0, cursor=(b, 0))) == ([(b, [0])], (b, 1))
    # a cursor past the topic's last partition answers the topic with no partitions
    assert page(dtp(bootstrap, names, cursor=(c, 5))) == ([(c, [])], None)


def test_describe_topic_partitions_all_topics(bootstrap, create_topic):
    topic = create_topic(partitions=2)
    listed, _ = page(dtp(bootstrap, []))
    assert (topic, [0, 1]) in listed
    assert [n for n, _ in listed] == sorted(n for n, _ in listed)
    listed, cursor = page(dtp(bootstrap, [], cursor=(topic, 1)))
    assert listed[0] == (topic, [1])
    assert all(n >= topic for n, _ in listed)


def test_describe_topic_partitions_errors(bootstrap, create_topic):
    topic = create_topic()
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    r = dtp(bootstrap, [topic, missing, "bad name!"])
    by_name = {t.name: t for t in r.topics}
    assert int(by_name[topic].error_code) == NONE
    assert int(by_name[missing].error_code) == UNKNOWN_TOPIC_OR_PARTITION
    assert int(by_name["bad name!"].error_code) == INVALID_TOPIC_EXCEPTION
    for name in (missing, "bad name!"):
        t = by_name[name]
        # the zero uuid (kio reads it as None)
        assert (t.partitions, t.topic_id, t.topic_authorized_operations) == ((), None, TOPIC_OPERATIONS)
    # the cursor's topic must be among those named, and its partition not negative
    for cursor in ((missing + "z", 0), (topic, -1)):
        r = dtp(bootstrap, [topic, missing], cursor=cursor)
        assert {(t.name, int(t.error_code), t.partitions) for t in r.topics} == {
            (topic, INVALID_REQUEST, ()),
            (missing, INVALID_REQUEST, ()),
        }
        assert r.next_cursor is None


def test_describe_topic_partitions_internal_topic(bootstrap, create_topic):
    topic = create_topic()
    simple_commit(bootstrap, gid(), topic)  # makes sure __consumer_offsets exists
    [t] = dtp(bootstrap, ["__consumer_offsets"], limit=1).topics
    assert (t.name, int(t.error_code), t.is_internal, len(t.partitions)) == ("__consumer_offsets", NONE, True, 1)


# -- authorized operations -----------------------------------------------------------------------------------


def test_confluent_topic_authorized_operations(ck_admin, create_topic):
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AclOperation as Op

    topic = create_topic()
    asked = ck_admin.describe_topics(TopicCollection([topic]), include_authorized_operations=True)[topic].result()
    assert set(asked.authorized_operations) == {
        Op.READ,
        Op.WRITE,
        Op.CREATE,
        Op.DELETE,
        Op.ALTER,
        Op.DESCRIBE,
        Op.DESCRIBE_CONFIGS,
        Op.ALTER_CONFIGS,
    }
    assert ck_admin.describe_topics(TopicCollection([topic]))[topic].result().authorized_operations is None


def test_confluent_cluster_authorized_operations(ck_admin):
    from confluent_kafka.admin import AclOperation as Op

    asked = ck_admin.describe_cluster(include_authorized_operations=True).result()
    assert set(asked.authorized_operations) == {
        Op.CREATE,
        Op.CLUSTER_ACTION,
        Op.DESCRIBE_CONFIGS,
        Op.ALTER_CONFIGS,
        Op.IDEMPOTENT_WRITE,
        Op.ALTER,
        Op.DESCRIBE,
    }
    assert ck_admin.describe_cluster().result().authorized_operations is None


def test_confluent_group_authorized_operations(ck_admin, bootstrap, create_topic):
    from confluent_kafka.admin import AclOperation as Op

    topic = create_topic()
    group = gid()
    simple_commit(bootstrap, group, topic)
    asked = ck_admin.describe_consumer_groups([group], include_authorized_operations=True)[group].result()
    assert set(asked.authorized_operations) == {Op.READ, Op.DESCRIBE, Op.DELETE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS}
    assert ck_admin.describe_consumer_groups([group])[group].result().authorized_operations is None


def test_aiokafka_describe_groups_asking_for_authorized_operations(bootstrap, create_topic):
    # aiokafka sends DescribeGroups v3 with the flag, but reads the answer with its v2 schema
    # (DescribeGroupsRequest_v3.RESPONSE_TYPE), so it never shows the field; the call must still work.
    from aiokafka.admin import AIOKafkaAdminClient

    topic = create_topic()
    group = gid()
    simple_commit(bootstrap, group, topic)

    async def describe():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            [resp] = await admin.describe_consumer_groups([group], include_authorized_operations=True)
            return [(g[0], g[1], g[2]) for g in resp.groups]
        finally:
            await admin.close()

    assert asyncio.run(describe()) == [(NONE, group, "Empty")]


def test_metadata_authorized_operations_at_the_wire(bootstrap, create_topic):
    topic = create_topic()
    unknown_id = uuid.uuid4()
    for version in (8, 10, 11, 12):
        body = {
            "topics": [{"name": topic, "topic_id": None}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": True,
            "include_cluster_authorized_operations": True,
        }
        r = call(bootstrap, METADATA, version, body)
        [t] = r.topics
        assert t.topic_authorized_operations == TOPIC_OPERATIONS, version
        if version <= 10:  # the cluster field is gone from v11 (DescribeCluster has it)
            assert r.cluster_authorized_operations == CLUSTER_OPERATIONS, version
        body.update(include_topic_authorized_operations=False, include_cluster_authorized_operations=False)
        r = call(bootstrap, METADATA, version, body)
        assert r.topics[0].topic_authorized_operations == NOT_REQUESTED
        if version <= 10:
            assert r.cluster_authorized_operations == NOT_REQUESTED
    # unknown names get the field too; unknown ids do not (Kafka sets it on the topics it looked up by name)
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    r = call(
        bootstrap,
        METADATA,
        12,
        {
            "topics": [{"name": missing, "topic_id": None}, {"name": None, "topic_id": unknown_id}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": True,
        },
    )
    ops = {t.name: (int(t.error_code), t.topic_authorized_operations) for t in r.topics}
    assert ops == {missing: (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_OPERATIONS), None: (100, NOT_REQUESTED)}


def test_describe_groups_authorized_operations_at_the_wire(bootstrap):
    group = gid()  # does not exist: Dead, no error, so it gets the field
    r = call(bootstrap, DESCRIBE_GROUPS, 5, {"groups": [group], "include_authorized_operations": True})
    [g] = r.groups
    assert (g.group_state, g.authorized_operations) == ("Dead", GROUP_OPERATIONS)
    r = call(bootstrap, DESCRIBE_GROUPS, 3, {"groups": [group], "include_authorized_operations": False})
    assert r.groups[0].authorized_operations == NOT_REQUESTED


def test_consumer_group_describe_authorized_operations(bootstrap, create_topic):
    from confluent_kafka import Consumer

    topic = create_topic()
    group = gid()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer"})
    c.subscribe([topic])
    try:

        def assigned():
            c.poll(0.2)
            return c.assignment()

        wait_until(assigned, 20, message="an assignment")
        missing = gid()
        r = call(
            bootstrap,
            CONSUMER_GROUP_DESCRIBE,
            0,
            {"group_ids": [group, missing], "include_authorized_operations": True},
        )
        got = {g.group_id: (int(g.error_code), g.authorized_operations) for g in r.groups}
        assert got == {group: (NONE, GROUP_OPERATIONS), missing: (GROUP_ID_NOT_FOUND, NOT_REQUESTED)}
        r = call(bootstrap, CONSUMER_GROUP_DESCRIBE, 0, {"group_ids": [group], "include_authorized_operations": False})
        assert r.groups[0].authorized_operations == NOT_REQUESTED
    finally:
        c.close()


def test_describe_cluster_endpoint_types_at_the_wire(bootstrap):
    r = call(bootstrap, DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": True, "endpoint_type": 1})
    assert (int(r.error_code), r.endpoint_type, r.controller_id, r.cluster_authorized_operations) == (
        NONE,
        1,
        1,
        CLUSTER_OPERATIONS,
    )
    r = call(bootstrap, DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": False, "endpoint_type": 2})
    assert (int(r.error_code), r.error_message, r.brokers) == (
        MISMATCHED_ENDPOINT_TYPE,
        "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
        (),
    )
    r = call(bootstrap, DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": False, "endpoint_type": 9})
    assert (int(r.error_code), r.error_message) == (UNSUPPORTED_ENDPOINT_TYPE, "Unsupported endpoint type 9")


# -- group configs -------------------------------------------------------------------------------------------


def describe_group(bootstrap: str, group: str, keys=None, synonyms=True, documentation=False):
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {
            "resources": [{"resource_type": GROUP_RESOURCE, "resource_name": group, "configuration_keys": keys}],
            "include_synonyms": synonyms,
            "include_documentation": documentation,
        },
    )
    [res] = r.results
    return res


def test_describe_group_configs_at_the_wire(bootstrap):
    res = describe_group(bootstrap, gid(), documentation=True)  # a group that does not exist is described
    assert (int(res.error_code), res.error_message) == (NONE, "")  # Kafka sends "", not null
    got = {c.name: c for c in res.configs}
    assert set(got) == {"consumer.session.timeout.ms", "consumer.heartbeat.interval.ms"}
    for name, value in (("consumer.session.timeout.ms", "45000"), ("consumer.heartbeat.interval.ms", "5000")):
        c = got[name]
        assert (c.value, c.config_source, c.read_only, c.is_sensitive, c.config_type) == (
            value,
            DEFAULT_CONFIG,
            False,
            False,
            INT_TYPE,
        )
        assert [(s.name, s.value, s.source) for s in c.synonyms] == [(name, value, DEFAULT_CONFIG)]
        assert c.documentation
    res = describe_group(bootstrap, gid(), keys=["consumer.session.timeout.ms", "nope"], synonyms=False)
    assert [(c.name, c.synonyms, c.documentation) for c in res.configs] == [("consumer.session.timeout.ms", (), None)]


def test_describe_group_configs_of_an_empty_name(bootstrap):
    res = describe_group(bootstrap, "")
    assert (int(res.error_code), res.error_message, res.configs) == (
        INVALID_REQUEST,
        "Group name must not be empty",
        (),
    )


def test_clients_describe_group_configs(bootstrap, kp_admin, ck_admin):
    from confluent_kafka.admin import ConfigResource, ResourceType
    from kafka.admin import ConfigResource as KpConfigResource
    from kafka.admin import ConfigResourceType

    group = gid()
    [future] = ck_admin.describe_configs([ConfigResource(ResourceType.GROUP, group)]).values()
    assert {n: (e.value, e.source) for n, e in future.result().items()} == {
        "consumer.session.timeout.ms": ("45000", DEFAULT_CONFIG),
        "consumer.heartbeat.interval.ms": ("5000", DEFAULT_CONFIG),
    }
    got = kp_admin.describe_configs([KpConfigResource(ConfigResourceType.GROUP, group)], config_filter="all")
    assert {n: c["value"] for n, c in got["group"][group].items()} == {
        "consumer.session.timeout.ms": "45000",
        "consumer.heartbeat.interval.ms": "5000",
    }


def test_group_config_defaults_follow_the_broker(broker_factory):
    b = broker_factory(
        overrides={"group.consumer.session.timeout.ms": 50000, "group.consumer.heartbeat.interval.ms": 6000}
    )
    res = describe_group(b.bootstrap, gid())
    assert {c.name: (c.value, c.config_source) for c in res.configs} == {
        "consumer.session.timeout.ms": ("50000", DEFAULT_CONFIG),
        "consumer.heartbeat.interval.ms": ("6000", DEFAULT_CONFIG),
    }
