"""Replicated partitions on a cluster of real ``kavka serve`` processes, as a user sees them: what a
producer wrote with acks=all is in every replica's log (DescribeLogDirs on each broker, as
``kafka-log-dirs`` shows it), a consumer reads it all back from the leaders, and Metadata lists every
replica in sync."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.clients.adminwire import DESCRIBE_LOG_DIRS, call
from tests.cluster.test_kraft_cluster import all_list_every_broker
from tests.cluster.test_replication_faults import read_all


@pytest.fixture
def cluster(tmp_path):
    with LocalCluster(nodes=3, base_dir=tmp_path) as c:
        wait_until(lambda: all_list_every_broker(c), timeout=60, message="every broker listed by every node")
        yield c


def create(bootstrap: str, name: str, partitions: int, **configs: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 3, config=configs)])[name].result(30)


def replica_sizes(cluster: LocalCluster, topic: str) -> dict[int, dict[int, int]]:
    """{partition: {broker id: size of its replica}} from DescribeLogDirs sent to each broker."""
    sizes: dict[int, dict[int, int]] = {}
    for node in cluster.brokers:
        body = {"topics": [{"topic": topic, "partitions": list(range(16))}]}
        for result in call(node.bootstrap, DESCRIBE_LOG_DIRS, 4, body).results:
            for t in result.topics:
                for p in t.partitions:
                    sizes.setdefault(p.partition_index, {})[node.node_id] = p.partition_size
    return sizes


def test_acks_all_records_are_in_every_replica_and_read_back_in_order(cluster):
    topic = f"r-{uuid.uuid4().hex[:6]}"
    create(cluster.bootstrap, topic, 3, **{"min.insync.replicas": "2"})
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    failed: list = []
    for i in range(3000):
        producer.produce(topic, key=str(i % 30), value=f"v{i}", on_delivery=lambda e, m: e and failed.append(e))
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0 and not failed

    def same_everywhere() -> bool:
        sizes = replica_sizes(cluster, topic)
        return len(sizes) == 3 and all(len(set(s.values())) == 1 and len(s) == 3 for s in sizes.values())

    wait_until(same_everywhere, timeout=30, message="every replica the same size")
    assert all(min(s.values()) > 0 for s in replica_sizes(cluster, topic).values())
    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10).topics[topic]
    assert {p: sorted(pm.isrs) for p, pm in md.partitions.items()} == {p: [1, 2, 3] for p in range(3)}

    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen: dict[str, list[int]] = {}
    try:
        wait_until(lambda: _drain(consumer, seen) >= 3000, timeout=60, message="every record consumed from the leaders")
    finally:
        consumer.close()
    for key, values in seen.items():  # one key, one partition: in the order produced
        assert values == sorted(values), key


def _drain(consumer: Consumer, seen: dict[str, list[int]]) -> int:
    for m in consumer.consume(500, 0.5):
        if m.error() is None:
            seen.setdefault(m.key().decode(), []).append(int(m.value()[1:]))
    return sum(len(v) for v in seen.values())


def _consumer_fetch(bootstrap: str, topic: str, version: int, rack: str = ""):
    body = {
        "replica_id": -1,
        "max_wait": 0,
        "min_bytes": 0,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "topics": [
            {
                "topic": topic,
                "partitions": [
                    {
                        "partition": 0,
                        "current_leader_epoch": -1,
                        "fetch_offset": 0,
                        "log_start_offset": -1,
                        "partition_max_bytes": 1 << 20,
                    }
                ],
            }
        ],
        "forgotten_topics_data": [],
        "rack_id": rack,
    }
    [t] = call(bootstrap, 1, version, body).responses
    return t.partitions[0]


def test_a_follower_serves_consumers_from_fetch_v11_and_refuses_older_ones(cluster):
    """As Kafka: a Fetch v11+ carries client metadata, and a follower serves it from its own log up to
    its high watermark (KIP-392); an older consumer fetch at a follower is NOT_LEADER_OR_FOLLOWER."""
    topic = f"f-{uuid.uuid4().hex[:6]}"
    create(cluster.bootstrap, topic, 1)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    producer.produce(topic, b"one")
    assert producer.flush(10) == 0
    md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10).topics[topic]
    leader = md.partitions[0].leader
    follower = next(n for n in cluster.brokers if n.node_id != leader)
    assert _consumer_fetch(follower.bootstrap, topic, 10).error_code == 6  # NOT_LEADER_OR_FOLLOWER
    wait_until(
        lambda: _consumer_fetch(follower.bootstrap, topic, 11).high_watermark == 1,
        timeout=15,
        message="the follower's high watermark reaches the leader's",
    )
    answer = _consumer_fetch(follower.bootstrap, topic, 11)
    assert answer.error_code == 0 and answer.records


def test_kafka_reassign_partitions_adds_replicas_with_the_data_copied(cluster, apache_kafka, tmp_path):
    """Kafka's own ``kafka-reassign-partitions`` moves a one-replica partition onto all three brokers:
    the new replicas copy the log, join the ISR, the move completes (``--verify``), and with the first
    broker killed the records are read back from the others."""
    topic = f"mv-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    # the broker the admin client asks may learn of the new topic a moment after the controller did
    partitions = wait_until(
        lambda: admin.list_topics(topic, timeout=10).topics[topic].partitions, timeout=30, message="the new topic"
    )
    [first] = partitions[0].replicas
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(2000):
        producer.produce(topic, f"v{i}".encode())
    assert producer.flush(30) == 0
    target = [first] + [n.node_id for n in cluster.brokers if n.node_id != first]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": target}]}))
    common = ["--bootstrap-server", cluster.bootstrap, "--reassignment-json-file", str(plan)]
    tool = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
    started = apache_kafka.run_tool(tool, [*common, "--execute"])
    assert "Successfully started partition reassignment" in started.stdout, started.stdout + started.stderr

    def verified() -> bool:
        out = apache_kafka.run_tool(tool, [*common, "--verify"]).stdout
        return f"Reassignment of partition {topic}-0 is completed" in out

    wait_until(verified, timeout=60, message="the reassignment completed")
    # --verify asks the controller; each broker's metadata and logs follow a moment later

    def moved() -> bool:
        md = admin.list_topics(topic, timeout=10).topics[topic].partitions[0]
        return (sorted(md.replicas), sorted(md.isrs)) == ([1, 2, 3], [1, 2, 3])

    wait_until(moved, timeout=30, message="every broker's metadata showing the three replicas in sync")
    sizes = wait_until(
        lambda: (s := replica_sizes(cluster, topic).get(0, {})) and len(s) == 3 and len(set(s.values())) == 1 and s,
        timeout=30,
        message="three replicas of the same size",
    )
    assert sorted(sizes) == [1, 2, 3]
    cluster.nodes[first].kill()  # the only broker that had the records before the move
    values = read_all(cluster, topic, 2000)
    assert [int(v[1:]) for v in values] == list(range(2000))


def _drain_unkeyed(consumer: Consumer, seen: dict[str, list[int]]) -> int:
    values = seen.setdefault("values", [])
    for m in consumer.consume(500, 0.5):
        if m.error() is None:
            values.append(int(m.value()[1:]))
    return len(values)


def test_a_consumer_in_a_rack_is_sent_to_the_in_sync_replica_there(tmp_path):
    """KIP-392 with Kafka's RackAwareReplicaSelector: brokers in racks a, b, c; a consumer with
    ``client.rack`` set to a follower's rack reads from that follower (the leader answers its first fetch
    with the preferred read replica and no records), and gets every record."""
    racks = {1: "a", 2: "b", 3: "c"}
    selector = {"replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector"}
    with LocalCluster(
        nodes=3,
        base_dir=tmp_path,
        overrides=selector,
        node_overrides={i: {"broker.rack": rack} for i, rack in racks.items()},
    ) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed by every node")
        topic = f"rack-{uuid.uuid4().hex[:6]}"
        create(cluster.bootstrap, topic, 1)
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
        for i in range(100):
            producer.produce(topic, f"v{i}".encode())
        assert producer.flush(30) == 0
        md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10).topics[topic]
        leader = md.partitions[0].leader
        follower = next(i for i in racks if i != leader)
        by_id = {n.node_id: n for n in cluster.brokers}
        wait_until(
            lambda: (
                _consumer_fetch(by_id[leader].bootstrap, topic, 11, rack=racks[follower]).preferred_read_replica
                == follower
            ),
            timeout=30,
            message="the leader names the follower in the consumer's rack",
        )
        answer = _consumer_fetch(by_id[leader].bootstrap, topic, 11, rack=racks[follower])
        assert answer.error_code == 0 and not answer.records  # no data: read it there
        assert _consumer_fetch(by_id[leader].bootstrap, topic, 11, rack=racks[leader]).preferred_read_replica == -1
        consumer = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": topic,
                "auto.offset.reset": "earliest",
                "client.rack": racks[follower],
            }
        )
        consumer.subscribe([topic])
        seen: dict[str, list[int]] = {}
        try:
            wait_until(lambda: _drain_unkeyed(consumer, seen) >= 100, timeout=60, message="every record read")
        finally:
            consumer.close()
        assert seen["values"] == list(range(100))
