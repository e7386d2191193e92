"""CreateTopics / DeleteTopics / Metadata through AdminClient, with Kafka's errors."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from kavka.testing.process import wait_until


@pytest.fixture
def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create_error(admin: AdminClient, topic: NewTopic, validate_only: bool = False) -> KafkaError | None:
    """Create one topic; return the KafkaError the broker answered with, or None on success."""
    fut = admin.create_topics([topic], validate_only=validate_only, request_timeout=15)[topic.topic]
    try:
        fut.result(timeout=30)
    except KafkaException as exc:
        return exc.args[0]
    return None


def topic_names(admin: AdminClient) -> set[str]:
    return set(admin.list_topics(timeout=10).topics)


def test_create_with_partitions_and_configs(admin, topic_name):
    err = create_error(
        admin, NewTopic(topic_name, 3, 1, config={"retention.ms": "123456", "cleanup.policy": "compact"})
    )
    assert err is None
    md = wait_until(
        lambda: admin.list_topics(topic=topic_name, timeout=5).topics.get(topic_name), 15, message="topic in metadata"
    )
    assert md.error is None
    assert sorted(md.partitions) == [0, 1, 2]
    for p in md.partitions.values():
        assert p.leader == 1
        assert p.replicas == [1]
        assert p.isrs == [1]


def test_describe_configs_shows_topic_overrides(admin, topic_name):
    assert create_error(admin, NewTopic(topic_name, 1, 1, config={"retention.ms": "123456"})) is None
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    configs = admin.describe_configs([resource])[resource].result(timeout=15)
    assert configs["retention.ms"].value == "123456"


def test_list_and_describe_topics(admin, create_topic):
    from confluent_kafka import TopicCollection

    a = create_topic(partitions=2)
    b = create_topic(partitions=5)
    md = admin.list_topics(timeout=10)
    assert {a, b} <= set(md.topics)
    assert len(md.topics[a].partitions) == 2 and len(md.topics[b].partitions) == 5
    assert md.controller_id == 1
    assert [broker.id for broker in md.brokers.values()] == [1]
    described = admin.describe_topics(TopicCollection([a, b]))
    desc = {name: f.result(timeout=15) for name, f in described.items()}
    assert len(desc[a].partitions) == 2 and len(desc[b].partitions) == 5
    assert desc[a].topic_id is not None and desc[a].topic_id != desc[b].topic_id


def test_validate_only_creates_nothing(admin, topic_name):
    assert create_error(admin, NewTopic(topic_name, 3, 1), validate_only=True) is None
    assert topic_name not in topic_names(admin)
    # and validate_only still reports errors
    err = create_error(admin, NewTopic(topic_name, 1, 1, config={"cleanup.policy": "bogus"}), validate_only=True)
    assert err is not None and err.code() == KafkaError.INVALID_CONFIG


def test_default_partitions_when_unspecified(admin, topic_name):
    # num_partitions=-1 / replication_factor=-1 (CreateTopics v4+) take the broker's defaults;
    # the session broker runs with num.partitions=1.
    assert create_error(admin, NewTopic(topic_name)) is None
    md = wait_until(
        lambda: admin.list_topics(topic=topic_name, timeout=5).topics.get(topic_name), 15, message="topic in metadata"
    )
    assert len(md.partitions) == 1


def test_topic_already_exists(admin, create_topic):
    name = create_topic(partitions=1)
    err = create_error(admin, NewTopic(name, 1, 1))
    assert err is not None and err.code() == KafkaError.TOPIC_ALREADY_EXISTS


@pytest.mark.parametrize(
    "name",
    ["a" * 250, ".", "..", "bad/name", "has space", "b\u00e4d", "semi;colon"],
    ids=["too-long", "dot", "dotdot", "slash", "space", "non-ascii", "semicolon"],
)
def test_invalid_topic_name(admin, name):
    err = create_error(admin, NewTopic(name, 1, 1))
    assert err is not None and err.code() == KafkaError.TOPIC_EXCEPTION, err  # INVALID_TOPIC_EXCEPTION (17)
    assert name not in topic_names(admin)


def test_longest_legal_topic_name(admin, new_topic_name):
    name = new_topic_name("")
    name = name + "x" * (249 - len(name))
    assert create_error(admin, NewTopic(name, 1, 1)) is None
    assert name in topic_names(admin)


def test_invalid_partitions(bootstrap, topic_name):
    # librdkafka rejects 0 partitions locally, so send it with kafka-python's admin client.
    from kafka.admin import KafkaAdminClient
    from kafka.admin import NewTopic as KpNewTopic
    from kafka.errors import InvalidPartitionsError

    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        with pytest.raises(InvalidPartitionsError):
            client.create_topics([KpNewTopic(topic_name, 0, 1)])
    finally:
        client.close()


def test_invalid_replication_factor(admin, topic_name):
    err = create_error(admin, NewTopic(topic_name, 1, 3))  # one live broker
    assert err is not None and err.code() == KafkaError.INVALID_REPLICATION_FACTOR
    assert topic_name not in topic_names(admin)


@pytest.mark.parametrize(
    "config",
    [{"cleanup.policy": "bogus"}, {"retention.ms": "not-a-number"}, {"no.such.topic.config": "1"}],
    ids=["bad-enum", "bad-long", "unknown-name"],
)
def test_invalid_config(admin, topic_name, config):
    err = create_error(admin, NewTopic(topic_name, 1, 1, config=config))
    assert err is not None and err.code() == KafkaError.INVALID_CONFIG, err
    assert topic_name not in topic_names(admin)


def test_delete_topic(admin, create_topic):
    name = create_topic(partitions=2)
    admin.delete_topics([name], request_timeout=15)[name].result(timeout=30)
    wait_until(lambda: name not in topic_names(admin), 15, message="topic gone from metadata")
    # The name can be reused, starting from offset 0 again.
    assert create_error(admin, NewTopic(name, 1, 1)) is None


def test_delete_unknown_topic(admin, topic_name):
    fut = admin.delete_topics([topic_name], request_timeout=15)[topic_name]
    with pytest.raises(KafkaException) as info:
        fut.result(timeout=30)
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_metadata_for_unknown_topic_without_auto_create(admin, bootstrap, topic_name):
    # A consumer-side metadata request (no auto-creation) for an unknown topic answers
    # UNKNOWN_TOPIC_OR_PARTITION and creates nothing.
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "allow.auto.create.topics": False})
    try:
        md = consumer.list_topics(topic=topic_name, timeout=10)
        assert md.topics[topic_name].error is not None
        assert md.topics[topic_name].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    finally:
        consumer.close()
    assert topic_name not in topic_names(admin)
