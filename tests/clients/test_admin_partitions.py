"""CreatePartitions, DeleteRecords, DescribeLogDirs and ElectLeaders with real clients (issue 5).

CreatePartitions only grows a topic (Kafka 4's controller messages for the same or a lower count);
new partitions are usable at once. DeleteRecords moves the log start offset (-1 = high watermark),
refuses an offset past the high watermark, and what it deleted stays deleted after a restart.
"""

from __future__ import annotations

import pytest
from confluent_kafka import ElectionType, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce, ck_read_all, kp_read_all


def admin_for(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def admin(bootstrap):
    return admin_for(bootstrap)


@pytest.fixture
def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def grow(admin: AdminClient, topic: str, count: int, assignment=None, validate_only=False) -> KafkaError | None:
    new = NewPartitions(topic, count) if assignment is None else NewPartitions(topic, count, assignment)
    fut = admin.create_partitions([new], validate_only=validate_only, request_timeout=15)[topic]
    try:
        fut.result(timeout=30)
    except KafkaException as exc:
        return exc.args[0]
    return None


def partition_count(admin: AdminClient, topic: str) -> int:
    return len(admin.list_topics(topic=topic, timeout=10).topics[topic].partitions)


def delete_records(admin: AdminClient, topic: str, partition: int, offset: int):
    tp = TopicPartition(topic, partition, offset)
    return admin.delete_records([tp], request_timeout=15)[tp].result(timeout=30)


def watermarks(bootstrap: str, topic: str, partition: int = 0) -> tuple[int, int]:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kavka-admin-watermarks"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


# -- CreatePartitions ------------------------------------------------------------------------------


def test_create_partitions_up_and_refusals(admin, bootstrap, create_topic):
    topic = create_topic(partitions=3)
    err = grow(admin, topic, 2)
    assert err.code() == KafkaError.INVALID_PARTITIONS
    assert err.str() == f"The topic {topic} currently has 3 partition(s); 2 would not be an increase."
    err = grow(admin, topic, 3)
    assert err.code() == KafkaError.INVALID_PARTITIONS
    assert err.str() == "Topic already has 3 partition(s)."
    assert grow(admin, topic, 5, validate_only=True) is None
    assert partition_count(admin, topic) == 3
    assert grow(admin, topic, 5) is None
    wait_until(lambda: partition_count(admin, topic) == 5, 15, message="5 partitions in metadata")
    md = admin.list_topics(topic=topic, timeout=10).topics[topic]
    assert all(p.leader == 1 and p.replicas == [1] and p.isrs == [1] for p in md.partitions.values())
    # The new partitions take records at once.
    ck_produce(bootstrap, topic, [Out(b"k", b"to-4", partition=4), Out(b"k", b"to-3", partition=3)])
    assert sorted((r.partition, r.value) for r in ck_read_all(bootstrap, topic, 5)) == [(3, b"to-3"), (4, b"to-4")]


def test_create_partitions_with_assignment(admin, create_topic):
    topic = create_topic(partitions=1)
    assert grow(admin, topic, 3, assignment=[[1], [1]]) is None
    wait_until(lambda: partition_count(admin, topic) == 3, 15, message="3 partitions")
    err = grow(admin, topic, 4, assignment=[[2]])
    assert err.code() == KafkaError.INVALID_REPLICA_ASSIGNMENT


def test_create_partitions_unknown_topic(admin, topic_name):
    err = grow(admin, topic_name, 4)
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_kafka_python_create_partitions(kp_admin, admin, create_topic):
    from kafka.admin import NewPartitions as KpNewPartitions
    from kafka.errors import InvalidPartitionsError

    topic = create_topic(partitions=1)
    r = kp_admin.create_partitions({topic: KpNewPartitions(4)})
    assert [(t.name, t.error_code) for t in r.results] == [(topic, 0)]
    wait_until(lambda: partition_count(admin, topic) == 4, 15, message="4 partitions")
    with pytest.raises(InvalidPartitionsError, match="would not be an increase"):
        kp_admin.create_partitions({topic: KpNewPartitions(2)})


# -- DeleteRecords ---------------------------------------------------------------------------------


def test_delete_records_moves_the_log_start(admin, bootstrap, create_topic):
    topic = create_topic(partitions=2)
    ck_produce(bootstrap, topic, [Out(b"k", b"v%d" % i, partition=0) for i in range(10)])
    ck_produce(bootstrap, topic, [Out(b"k", b"w%d" % i, partition=1) for i in range(4)])
    assert delete_records(admin, topic, 0, 6).low_watermark == 6
    assert watermarks(bootstrap, topic, 0) == (6, 10)
    got = ck_read_all(bootstrap, topic, [0])
    assert [(r.offset, r.value) for r in got] == [(i, b"v%d" % i) for i in range(6, 10)]
    assert [r.offset for r in kp_read_all(bootstrap, topic, [0])] == [6, 7, 8, 9]
    # -1 means the high watermark: everything goes.
    assert delete_records(admin, topic, 1, -1).low_watermark == 4
    assert watermarks(bootstrap, topic, 1) == (4, 4)
    # Producing continues after the new start.
    ck_produce(bootstrap, topic, [Out(b"k", b"later", partition=1)])
    assert [(r.offset, r.value) for r in ck_read_all(bootstrap, topic, [1])] == [(4, b"later")]


def test_delete_records_beyond_high_watermark(admin, bootstrap, create_topic):
    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(b"k", b"v%d" % i) for i in range(3)])
    with pytest.raises(KafkaException) as info:
        delete_records(admin, topic, 0, 4)
    assert info.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    assert watermarks(bootstrap, topic) == (0, 3)


def test_kafka_python_delete_records(kp_admin, bootstrap, create_topic):
    from kafka import TopicPartition as KpTopicPartition

    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(b"k", b"v%d" % i) for i in range(8)])
    got = kp_admin.delete_records({KpTopicPartition(topic, 0): 5})
    assert got == {KpTopicPartition(topic, 0): {"partition_index": 0, "low_watermark": 5, "error_code": 0}}
    assert watermarks(bootstrap, topic) == (5, 8)


def test_deleted_records_stay_deleted_after_restart(broker_factory, create_topic):
    b = broker_factory()
    admin = admin_for(b.bootstrap)
    topic = create_topic(bootstrap=b.bootstrap)
    ck_produce(b.bootstrap, topic, [Out(b"k", b"v%d" % i) for i in range(10)])
    assert delete_records(admin, topic, 0, 7).low_watermark == 7
    b.kill()  # a crash: only what was checkpointed survives
    b.start()
    assert watermarks(b.bootstrap, topic) == (7, 10)
    assert [r.offset for r in ck_read_all(b.bootstrap, topic)] == [7, 8, 9]


# -- DescribeLogDirs / ElectLeaders ----------------------------------------------------------------


def test_kafka_python_describe_log_dirs(kp_admin, bootstrap, broker, create_topic):
    topic = create_topic(partitions=2)
    ck_produce(bootstrap, topic, [Out(b"k", b"x" * 2000, partition=0) for _ in range(5)])
    [node] = kp_admin.describe_log_dirs()
    assert node["broker"] == 1
    [log_dir] = node["log_dirs"]
    assert log_dir["error_code"] == 0 and log_dir["log_dir"] == str(broker.data_dir)
    parts = {p["partition_index"]: p for t in log_dir["topics"] if t["name"] == topic for p in t["partitions"]}
    assert set(parts) == {0, 1}
    assert parts[0]["partition_size"] > 10_000 and parts[1]["partition_size"] == 0
    assert all(p["offset_lag"] == 0 and not p["is_future_key"] for p in parts.values())


def test_confluent_elect_leaders_not_needed(admin, create_topic):
    topic = create_topic(partitions=2)
    # (confluent-kafka 2.16 fails locally when given request_timeout= here.)
    result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic, 0), TopicPartition(topic, 1)]).result(
        timeout=30
    )
    assert set(result) == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
    assert all(err is not None and err.code() == KafkaError.ELECTION_NOT_NEEDED for err in result.values())
