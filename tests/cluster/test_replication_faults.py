"""Replication under faults, on real processes, as the guide's internals chapter promises: with RF=3,
``min.insync.replicas=2`` and ``acks=all``, a leader killed with kill -9 loses no acknowledged record
(a new leader comes from the ISR); a paused follower leaves the ISR after ``replica.lag.time.max.ms``
and writes go on; when it resumes it catches up and is back in the ISR; with too few in-sync replicas
a producer gets NOT_ENOUGH_REPLICAS."""

from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.cluster.test_kraft_cluster import all_list_every_broker

FAST = {
    "replica.lag.time.max.ms": 2000,
    "broker.session.timeout.ms": 3000,
    "broker.heartbeat.interval.ms": 500,
}


@pytest.fixture
def cluster(tmp_path):
    with LocalCluster(nodes=3, base_dir=tmp_path, overrides=FAST) as c:
        wait_until(lambda: all_list_every_broker(c), timeout=60, message="every broker listed by every node")
        yield c


def admin(cluster: LocalCluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap})


def create(cluster: LocalCluster, name: str, partitions: int = 1, min_isr: int = 2) -> None:
    topic = NewTopic(name, partitions, 3, config={"min.insync.replicas": str(min_isr)})
    client = admin(cluster)  # kept alive until the answer: a collected client fails its futures
    client.create_topics([topic])[name].result(30)


def partition_state(cluster: LocalCluster, topic: str, partition: int = 0) -> tuple[int, list[int]]:
    """(leader, sorted ISR) as Metadata from a live broker says."""
    for node in cluster.brokers:
        if not node.is_running():
            continue
        try:
            md = AdminClient({"bootstrap.servers": node.bootstrap}).list_topics(topic, timeout=5).topics[topic]
            p = md.partitions[partition]
            return p.leader, sorted(p.isrs)
        except Exception:
            continue
    return -1, []


def read_all(cluster: LocalCluster, topic: str, expected: int, timeout: float = 60) -> list[bytes]:
    """Every partition of ``topic`` from the beginning, by assignment: a group would need
    ``__consumer_offsets``, which (as in Kafka) cannot be created with its three replicas while a
    broker of the three is down."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "unused", "enable.auto.commit": False})
    partitions = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(partitions.partitions)])
    values: list[bytes] = []

    def enough() -> bool:
        for m in consumer.consume(1000, 0.5):
            if m.error() is None:
                values.append(m.value())
        return len(values) >= expected

    try:
        wait_until(enough, timeout=timeout, message=f"{expected} records read back")
    finally:
        consumer.close()
    return values


def test_killing_the_leader_loses_no_acknowledged_write(cluster):
    topic = f"k-{uuid.uuid4().hex[:6]}"
    create(cluster, topic)
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": 60000,
        }
    )
    acked: list[bytes] = []
    failed: list = []

    def delivered(err, msg) -> None:
        (failed if err else acked).append(err or msg.value())

    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set():
            producer.produce(topic, f"{i:06d}".encode(), on_delivery=delivered)
            producer.poll(0.002)
            i += 1
        producer.flush(60)

    writer = threading.Thread(target=produce)
    writer.start()
    try:
        wait_until(lambda: len(acked) > 500, timeout=30, message="writes acknowledged before the kill")
        leader, _ = partition_state(cluster, topic)
        cluster.nodes[leader].kill()
        wait_until(
            lambda: partition_state(cluster, topic)[0] not in (-1, leader),
            timeout=30,
            message="a new leader elected from the ISR",
        )
        before = len(acked)
        wait_until(lambda: len(acked) > before + 500, timeout=60, message="writes acknowledged by the new leader")
    finally:
        stop.set()
        writer.join(90)
    assert not failed
    values = read_all(cluster, topic, len(acked))
    assert set(acked) <= set(values), "an acknowledged write was lost"
    assert len(values) == len(set(values)), "a write was duplicated (idempotence across the leader change)"
    assert values == sorted(values), "records out of order"
    new_leader, isr = partition_state(cluster, topic)
    assert leader not in isr
    cluster.nodes[leader].start()
    wait_until(
        lambda: partition_state(cluster, topic)[1] == [1, 2, 3], timeout=60, message="the old leader back in sync"
    )


def test_a_paused_follower_leaves_the_isr_and_rejoins_after_catching_up(cluster):
    topic = f"p-{uuid.uuid4().hex[:6]}"
    create(cluster, topic)
    leader, isr = partition_state(cluster, topic)
    assert isr == [1, 2, 3]
    follower = next(i for i in isr if i != leader)
    os.kill(cluster.nodes[follower].pid, signal.SIGSTOP)
    try:
        wait_until(
            lambda: follower not in partition_state(cluster, topic)[1],
            timeout=30,
            message="the paused follower out of the ISR",
        )
        # bootstrapped from the running brokers: a client asking the paused one for metadata would wait out
        # its socket timeout, longer than the message timeout
        running = ",".join(n.bootstrap for n in cluster.brokers if n.node_id != follower)
        producer = Producer({"bootstrap.servers": running, "acks": "all", "message.timeout.ms": 20000})
        errors: list = []
        for i in range(200):
            producer.produce(topic, b"%d" % i, on_delivery=lambda e, m: e and errors.append(e))
        assert producer.flush(30) == 0 and not errors  # two in sync: min.insync.replicas=2 holds
    finally:
        os.kill(cluster.nodes[follower].pid, signal.SIGCONT)
    wait_until(lambda: partition_state(cluster, topic)[1] == [1, 2, 3], timeout=60, message="back in the ISR")
    assert len(read_all(cluster, topic, 200)) == 200


def test_too_few_in_sync_replicas_refuse_acks_all_but_not_acks_1(cluster):
    topic = f"n-{uuid.uuid4().hex[:6]}"
    create(cluster, topic, min_isr=3)
    leader, _ = partition_state(cluster, topic)
    follower = next(n for n in cluster.nodes if n != leader)
    cluster.nodes[follower].kill()
    wait_until(lambda: len(partition_state(cluster, topic)[1]) == 2, timeout=30, message="the ISR shrunk to two")
    errors: list = []
    # no retries: librdkafka would retry the retriable error until its message timeout
    strict = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "retries": 0})
    strict.produce(topic, b"refused", on_delivery=lambda e, m: errors.append(e))
    strict.flush(20)
    assert [e.code() for e in errors] == [KafkaError.NOT_ENOUGH_REPLICAS]
    loose = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "1"})
    done: list = []
    loose.produce(topic, b"accepted", on_delivery=lambda e, m: done.append(e))
    loose.flush(20)
    assert done == [None]
