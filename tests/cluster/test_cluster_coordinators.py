"""Group and transaction coordinators on a real KRaft cluster of ``kavka serve`` processes.

- The internal topics get their configured replication factor (3, the default): while a broker is
  down (SIGSTOP, fenced) FindCoordinator answers COORDINATOR_NOT_AVAILABLE and creates nothing, as
  Kafka does; once it is back the topics are created with three replicas per partition.
- FindCoordinator, asked of any broker, names the leader of the key's partition; the coordinator APIs
  sent to another broker answer NOT_COORDINATOR; a consumer group whose coordinator is not its
  bootstrap broker commits and resumes.
- A group's coordinator killed with kill -9: the group moves to the new leader of its
  ``__consumer_offsets`` partition with its committed offsets (this needs the partition replicated).
"""

from __future__ import annotations

import os
import signal
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.coordinator.runtime import partition_for
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.clients.adminwire import call
from tests.cluster.test_cluster_transactions import GROUP, TRANSACTION, find_coordinator, leaders
from tests.cluster.test_kraft_cluster import active_controller, all_list_every_broker, broker_ids
from tests.needs import require_kafka

OFFSET_FETCH, HEARTBEAT, INIT_PRODUCER_ID = 9, 12, 22
NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE = 16, 15
SETTINGS = {
    "broker.heartbeat.interval.ms": 200,
    "broker.session.timeout.ms": 1500,
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.num.partitions": 3,
    # Kafka's defaults (``kavka serve`` starts from a single node's 1, as Kafka's server.properties does)
    "offsets.topic.replication.factor": 3,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LocalCluster(nodes=3, base_dir=tmp_path_factory.mktemp("coordinators"), overrides=SETTINGS)
    with c:
        wait_until(lambda: all_list_every_broker(c), timeout=60, message="every broker listed by every node")
        yield c


def test_internal_topics_wait_for_as_many_brokers_as_their_replication_factor(cluster):
    controller = active_controller(cluster)
    victim = next(n for n in cluster.brokers if n.node_id != controller)
    asked = next(n for n in cluster.brokers if n.node_id != victim.node_id)
    os.kill(victim.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: victim.node_id not in broker_ids(asked.bootstrap), timeout=30, message="victim fenced")
        for key_type in (GROUP, TRANSACTION):
            answer = find_coordinator(asked.bootstrap, "g", key_type)
            assert (answer.error_code, answer.node_id) == (COORDINATOR_NOT_AVAILABLE, -1)
        topics = AdminClient({"bootstrap.servers": asked.bootstrap}).list_topics(timeout=10).topics
        assert "__consumer_offsets" not in topics and "__transaction_state" not in topics
    finally:
        os.kill(victim.pid, signal.SIGCONT)
    wait_until(lambda: victim.node_id in broker_ids(asked.bootstrap), timeout=30, message="victim back")
    for key_type in (GROUP, TRANSACTION):
        wait_until(
            lambda: find_coordinator(asked.bootstrap, "g", key_type).error_code == 0,
            timeout=30,
            message="a coordinator once three brokers are live",
        )
    md = AdminClient({"bootstrap.servers": asked.bootstrap}).list_topics(timeout=10)
    for name in ("__consumer_offsets", "__transaction_state"):
        assert {len(p.replicas) for p in md.topics[name].partitions.values()} == {3}, name


def _coordinator_of(cluster: LocalCluster, group: str) -> int:
    return leaders(cluster.bootstrap, "__consumer_offsets").get(partition_for(group, 3), -1)


def _group_coordinated_elsewhere(cluster: LocalCluster, bootstrap_node: int) -> str:
    wait_until(
        lambda: find_coordinator(cluster.brokers[0].bootstrap, "probe", GROUP).error_code == 0,
        timeout=30,
        message="__consumer_offsets created",
    )
    return next(
        g
        for g in (f"group-{uuid.uuid4().hex[:8]}" for _ in range(1000))
        if _coordinator_of(cluster, g) not in (bootstrap_node, -1)
    )


def _consume(consumer: Consumer, n: int) -> list:
    got: list = []

    def poll() -> bool:
        got.extend(m for m in consumer.consume(n, 0.5) if m.error() is None)
        return len(got) >= n

    wait_until(poll, timeout=60, message=lambda: f"{n} records, not {len(got)}")
    return got


def test_a_group_coordinated_by_another_broker_than_its_bootstrap(cluster):
    first = cluster.brokers[0]
    group = _group_coordinated_elsewhere(cluster, first.node_id)
    coordinator = _coordinator_of(cluster, group)
    # every broker names the same coordinator: the leader of the group's partition
    for node in cluster.brokers:
        answer = find_coordinator(node.bootstrap, group, GROUP)
        assert (answer.error_code, answer.node_id) == (0, coordinator)
    # the coordinator APIs asked of the others: NOT_COORDINATOR (clients look the coordinator up again)
    for node in cluster.brokers:
        if node.node_id == coordinator:
            continue
        body = {"group_id": group, "topics": None, "require_stable": False}
        assert call(node.bootstrap, OFFSET_FETCH, 7, body).error_code == NOT_COORDINATOR
        body = {"group_id": group, "generation_id": 1, "member_id": "m", "group_instance_id": None}
        assert call(node.bootstrap, HEARTBEAT, 4, body).error_code == NOT_COORDINATOR
    topic = f"events-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": cluster.bootstrap})
    for i in range(30):
        producer.produce(topic, value=b"%d" % i, partition=i % 3)
    assert producer.flush(30) == 0
    settings = {"bootstrap.servers": first.bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    consumer = Consumer({**settings, "enable.auto.commit": False})
    consumer.subscribe([topic])
    _consume(consumer, 20)
    consumer.commit(asynchronous=False)
    consumer.close()
    consumer = Consumer(settings)
    # a partition nothing was consumed from has no offset (-1001)
    committed = {
        tp.partition: max(tp.offset, 0)
        for tp in consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    }
    assert sum(committed.values()) >= 20
    consumer.subscribe([topic])
    rest = _consume(consumer, 30 - sum(committed.values()))
    consumer.close()
    # partition p holds p, p+3, p+6, ... in order: the rest starts at each committed offset
    below = {b"%d" % (p + 3 * k) for p, offset in committed.items() for k in range(offset)}
    assert sorted(m.value() for m in rest) == sorted({b"%d" % i for i in range(30)} - below)


def test_transaction_coordinator_apis_on_another_broker_answer_not_coordinator(cluster):
    txn_id = f"tx-{uuid.uuid4()}"
    wait_until(
        lambda: find_coordinator(cluster.brokers[0].bootstrap, txn_id, TRANSACTION).error_code == 0,
        timeout=30,
        message="__transaction_state created",
    )
    coordinator = find_coordinator(cluster.brokers[0].bootstrap, txn_id, TRANSACTION).node_id
    body = {"transactional_id": txn_id, "transaction_timeout": 60000, "producer_id": -1, "producer_epoch": -1}
    for node in cluster.brokers:
        if node.node_id == coordinator:
            # COORDINATOR_LOAD_IN_PROGRESS while its first producer id block comes from the controller
            wait_until(
                lambda: call(node.bootstrap, INIT_PRODUCER_ID, 4, body).error_code == 0,
                timeout=30,
                message="a producer id from the coordinator",
            )
        else:
            assert call(node.bootstrap, INIT_PRODUCER_ID, 4, body).error_code == NOT_COORDINATOR, node.node_id


def test_a_group_moves_to_the_new_leader_when_its_coordinator_is_killed(cluster):
    first = cluster.brokers[0]
    wait_until(
        lambda: find_coordinator(first.bootstrap, "probe", GROUP).error_code == 0,
        timeout=30,
        message="__consumer_offsets created",
    )
    controller = active_controller(cluster)
    # a coordinator that is neither the bootstrap broker nor the active controller (kept for speed)
    group = next(
        g
        for g in (f"group-{uuid.uuid4().hex[:8]}" for _ in range(1000))
        if _coordinator_of(cluster, g) not in (first.node_id, controller, -1)
    )
    topic = f"moves-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": first.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    wait_until(lambda: leaders(first.bootstrap, topic).get(0, -1) >= 0, timeout=30, message="topic led")
    consumer = Consumer({"bootstrap.servers": first.bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, 7)], asynchronous=False)
    consumer.close()
    old = _coordinator_of(cluster, group)
    cluster.nodes[old].kill()
    wait_until(
        lambda: find_coordinator(first.bootstrap, group, GROUP).node_id not in (old, -1),
        timeout=20,
        message="a new coordinator for the group",
    )
    consumer = Consumer({"bootstrap.servers": first.bootstrap, "group.id": group})
    [tp] = wait_until(
        lambda: consumer.committed([TopicPartition(topic, 0)], timeout=5), timeout=30, message="committed offsets"
    )
    consumer.close()
    assert tp.offset == 7


# --- against Kafka: a broker that cannot coordinate yet ----------------------------------------------------

RF3 = {"offsets.topic.replication.factor": 3, "transaction.state.log.replication.factor": 3}
NO_COORDINATOR_YET = [
    ("FindCoordinator v3, group", 10, 3, {"key": "g", "key_type": 0}),
    ("FindCoordinator v3, transaction", 10, 3, {"key": "t", "key_type": 1}),
    ("FindCoordinator v4", 10, 4, {"key_type": 0, "coordinator_keys": ["g", "h"]}),
    ("OffsetFetch v7", OFFSET_FETCH, 7, {"group_id": "g", "topics": None, "require_stable": False}),
    ("Heartbeat v4", HEARTBEAT, 4, {"group_id": "g", "generation_id": 1, "member_id": "m", "group_instance_id": None}),
    (
        "InitProducerId v4",
        INIT_PRODUCER_ID,
        4,
        {"transactional_id": "t", "transaction_timeout": 60000, "producer_id": -1, "producer_epoch": -1},
    ),
    ("EndTxn v3", 26, 3, {"transactional_id": "t", "producer_id": 1, "producer_epoch": 0, "committed": True}),
    ("DescribeGroups v5", 15, 5, {"groups": ["g"], "include_authorized_operations": False}),
    ("DescribeTransactions v0", 65, 0, {"transactional_ids": ["t"]}),
    ("ListTransactions v0", 66, 0, {"state_filters": [], "producer_id_filters": []}),
]


def test_no_coordinator_until_enough_brokers_as_kafka_answers(tmp_path):
    """One KRaft node of each, internal topics at replication factor 3: FindCoordinator is
    COORDINATOR_NOT_AVAILABLE (nothing is created) and the coordinator APIs NOT_COORDINATOR, the same
    answers, field for field, from Kafka and from Kavka."""
    require_kafka()
    kafka = ApacheKafka(tmp_path / "kafka", overrides=RF3)
    kavka = LocalCluster(nodes=1, base_dir=tmp_path / "kavka", overrides=RF3)
    with kafka, kavka:
        [node] = kavka.brokers
        wait_until(lambda: broker_ids(node.bootstrap) == {1}, timeout=30, message="the node registered")
        for step, api_key, version, body in NO_COORDINATOR_YET:
            assert call(node.bootstrap, api_key, version, body) == call(kafka.bootstrap, api_key, version, body), step
        assert (
            "__consumer_offsets"
            not in AdminClient({"bootstrap.servers": node.bootstrap}).list_topics(timeout=10).topics
        )
