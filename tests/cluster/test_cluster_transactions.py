"""Transactions across the brokers of a real KRaft cluster of ``kavka serve`` processes.

A transactional producer (confluent-kafka) writes to partitions led by three different brokers: its
coordinator is one of them, so the others get their COMMIT/ABORT markers through WriteTxnMarkers and
answer the KIP-890 verification of each first batch through AddPartitionsToTxn sent to the coordinator.
read_committed consumers see exactly the committed records; a read_uncommitted one sees the aborted
ones too (so they were written, and it is the markers that hide them). Offsets sent in a transaction
for a group coordinated by yet another broker count once it commits.

The internal topics have one replica here (the cluster's data path does not replicate yet; see
test_cluster_coordinators.py for the default factor of 3).
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
from tests.clients.test_transactions_verification import (
    END_TXN,
    INVALID_TXN_STATE,
    NONE,
    TRANSACTION_ABORTABLE,
    add_partitions,
    end_txn,
    init_producer,
    offsets,
    produce,
    txn_batch,
)
from tests.cluster.test_kraft_cluster import active_controller, all_list_every_broker
from tests.needs import require_kafka

PARTITIONS = 3
COPIER = "org.apache.kafka.tools.TransactionalMessageCopier"
INTERNAL = {
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 3,
    # how long a coordinator waits for another broker's answer to WriteTxnMarkers before it retries
    "request.timeout.ms": 2000,
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = LocalCluster(nodes=3, base_dir=tmp_path_factory.mktemp("txn-cluster"), overrides=INTERNAL)
    with c:
        wait_until(lambda: all_list_every_broker(c), timeout=60, message="every broker listed by every node")
        yield c


FIND_COORDINATOR = 10
GROUP, TRANSACTION = 0, 1


def find_coordinator(bootstrap: str, key: str, key_type: int):
    """FindCoordinator v3 asked of that very broker."""
    return call(bootstrap, FIND_COORDINATOR, 3, {"key": key, "key_type": key_type})


def leaders(bootstrap: str, topic: str) -> dict[int, int]:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=5)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return {}
    return {p.id: p.leader for p in t.partitions.values()}


def spread_topic(cluster: LocalCluster, name: str) -> dict[int, int]:
    """A topic with one partition led by each broker."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(30)
    wait_until(
        lambda: set(leaders(cluster.bootstrap, name).values()) == {1, 2, 3},
        timeout=30,
        message=lambda: f"{name} led by every broker: {leaders(cluster.bootstrap, name)}",
    )
    return leaders(cluster.bootstrap, name)


def read_all(bootstrap: str, topic: str, isolation: str, until) -> list[bytes]:
    """Every value of ``topic`` from the start, read until ``until(values)`` holds."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4()}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    values: list[bytes] = []

    def poll() -> bool:
        for msg in consumer.consume(100, 0.5):
            if msg.error() is None:
                values.append(msg.value())
        return until(values)

    try:
        wait_until(poll, timeout=60, message=lambda: f"{isolation} read of {topic}: {sorted(values)}")
    finally:
        consumer.close()
    return values


def test_commit_and_abort_across_partition_leaders(cluster):
    topic = f"orders-{uuid.uuid4().hex[:6]}"
    spread_topic(cluster, topic)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": f"tx-{uuid.uuid4()}"})
    producer.init_transactions(60)
    for outcome in ("committed", "aborted", "after"):
        producer.begin_transaction()
        for p in range(PARTITIONS):
            for i in range(3):
                producer.produce(topic, value=f"{outcome}-{p}-{i}".encode(), partition=p)
        producer.flush(30)
        if outcome == "aborted":
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)

    committed = {f"{o}-{p}-{i}".encode() for o in ("committed", "after") for p in range(PARTITIONS) for i in range(3)}
    aborted = {f"aborted-{p}-{i}".encode() for p in range(PARTITIONS) for i in range(3)}
    # read_committed: the records after the abort are behind it in every partition, so once they are
    # all read, an aborted record would have been read too
    seen = read_all(cluster.bootstrap, topic, "read_committed", lambda v: committed <= set(v))
    assert set(seen) == committed and len(seen) == len(committed)
    # the aborted records are in the logs (read_uncommitted sees them): the ABORT markers hide them
    seen = read_all(cluster.bootstrap, topic, "read_uncommitted", lambda v: committed | aborted <= set(v))
    assert set(seen) == committed | aborted


def _coordinator_leader(bootstrap: str, topic: str, key: str) -> int:
    return leaders(bootstrap, topic).get(partition_for(key, 3), -1)


def test_offsets_sent_in_a_transaction_to_a_group_coordinated_elsewhere(cluster):
    topic = f"in-{uuid.uuid4().hex[:6]}"
    spread_topic(cluster, topic)
    txn_id = f"tx-{uuid.uuid4()}"
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
    producer.init_transactions(60)  # creates __transaction_state
    txn_node = _coordinator_leader(cluster.bootstrap, "__transaction_state", txn_id)
    assert txn_node in (1, 2, 3)
    # a group whose coordinator is another broker than the transaction's
    wait_until(
        lambda: find_coordinator(cluster.brokers[0].bootstrap, "probe", GROUP).error_code == 0,
        timeout=30,
        message="__consumer_offsets created",
    )
    group = next(
        g
        for g in (f"g-{i}" for i in range(1000))
        if _coordinator_leader(cluster.bootstrap, "__consumer_offsets", g) not in (txn_node, -1)
    )
    producer.begin_transaction()
    producer.produce(topic, value=b"x", partition=0)
    offsets = [TopicPartition(topic, p, 10 + p) for p in range(PARTITIONS)]
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
    got = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    consumer.close()
    assert {(tp.partition, tp.offset) for tp in got} == {(p, 10 + p) for p in range(PARTITIONS)}


def test_leaders_verify_with_the_coordinator_on_another_broker(cluster):
    """KIP-890 at the wire: the leaders of partitions the coordinator does not lead ask it (AddPartitionsToTxn
    v5) before a transaction's first batch, refuse a partition never added and a late retry after the
    commit, and from Produce v12 (transaction version 2) add the partition to the transaction instead."""
    t = f"verify-{uuid.uuid4().hex[:6]}"
    led_by = spread_topic(cluster, t)
    x = f"vtx-{uuid.uuid4().hex[:10]}"
    wait_until(
        lambda: find_coordinator(cluster.brokers[0].bootstrap, x, TRANSACTION).error_code == 0,
        timeout=30,
        message="transaction coordinator",
    )
    coordinator = find_coordinator(cluster.brokers[0].bootstrap, x, TRANSACTION).node_id
    at = {n.node_id: n.bootstrap for n in cluster.brokers}
    p, q = sorted(i for i, leader in led_by.items() if leader != coordinator)
    pid, epoch = init_producer(at[coordinator], x)
    add_partitions(at[coordinator], x, pid, epoch, t, p)  # a transaction open on partition p only
    assert produce(at[led_by[p]], x, t, p, txn_batch(pid, epoch, 0, b"in")).error_code == NONE
    r = produce(at[led_by[q]], x, t, q, txn_batch(pid, epoch, 0))
    assert (r.error_code, r.error_message) == (INVALID_TXN_STATE, "Partition was not added to the transaction")
    assert produce(at[led_by[q]], x, t, q, txn_batch(pid, epoch, 0), version=11).error_code == TRANSACTION_ABORTABLE
    end_txn(at[coordinator], x, pid, epoch, True)
    # the COMMIT marker reaches p's leader (WriteTxnMarkers): the record and its marker, nothing open
    wait_until(lambda: offsets(at[led_by[p]], t, p) == (2, 2), timeout=30, message="the COMMIT marker on p")
    assert offsets(at[led_by[q]], t, q) == (0, 0)
    # a late retry of the committed transaction's batch is refused: no hanging transaction on p
    assert produce(at[led_by[p]], x, t, p, txn_batch(pid, epoch, 0, b"in")).error_code == INVALID_TXN_STATE
    assert offsets(at[led_by[p]], t, p) == (2, 2)
    # transaction version 2: Produce v12 adds q to a new transaction through the remote coordinator
    assert produce(at[led_by[q]], x, t, q, txn_batch(pid, epoch, 0, b"v2"), version=12).error_code == NONE
    r = call(
        at[coordinator],
        END_TXN,
        5,
        {"transactional_id": x, "producer_id": pid, "producer_epoch": epoch, "committed": True},
    )
    assert r.error_code == NONE, r
    wait_until(lambda: offsets(at[led_by[q]], t, q) == (2, 2), timeout=30, message="the COMMIT marker on q")


def test_java_transactional_copy_across_brokers(cluster, tmp_path):
    """Kafka's own TransactionalMessageCopier (the Java client 4.4, transaction version 2: Produce v12
    and TxnOffsetCommit v5 add their partitions through the coordinator, EndTxn v5) copies a partition
    into a topic led by every broker, committing the group's offsets in each transaction."""
    require_kafka()
    source, target = f"copy-in-{uuid.uuid4().hex[:6]}", f"copy-out-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic(source, 1, 1)])[source].result(30)
    spread_topic(cluster, target)
    values = {f"r{i:03d}".encode() for i in range(50)}
    producer = Producer({"bootstrap.servers": cluster.bootstrap})
    for v in sorted(values):
        producer.produce(source, v)
    assert producer.flush(30) == 0
    group = f"copier-{uuid.uuid4().hex[:8]}"
    args = ["--broker-list", cluster.bootstrap, "--input-topic", source, "--input-partition", "0"]
    args += ["--output-topic", target, "--max-messages", "50", "--transaction-size", "10"]
    args += ["--consumer-group", group, "--transactional-id", f"copier-{uuid.uuid4().hex[:8]}"]
    done = ApacheKafka(tmp_path).run_tool(COPIER, [*args, "--use-group-metadata"], timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen = read_all(cluster.bootstrap, target, "read_committed", lambda v: values <= set(v))
    assert sorted(seen) == sorted(values)
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group})
    [offset] = consumer.committed([TopicPartition(source, 0)], timeout=20)
    consumer.close()
    assert offset.offset == 50


DESCRIBE_TRANSACTIONS = 65


def _state(bootstrap: str, txn_id: str) -> str:
    [state] = call(bootstrap, DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn_id]}).transaction_states
    return state.transaction_state


def test_markers_to_a_stalled_leader_are_retried_until_it_answers(cluster):
    """The leader of one partition stops (SIGSTOP) before the commit: the coordinator's WriteTxnMarkers
    to it times out (``request.timeout.ms``) and is sent again until it answers; the transaction stays
    PrepareCommit meanwhile, and completes once the leader is back."""
    topic = f"stall-{uuid.uuid4().hex[:6]}"
    led_by = spread_topic(cluster, topic)
    txn_id = f"tx-{uuid.uuid4()}"
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "transactional.id": txn_id})
    producer.init_transactions(60)
    coordinator = find_coordinator(cluster.brokers[0].bootstrap, txn_id, TRANSACTION).node_id
    at = {n.node_id: n for n in cluster.brokers}
    others = [node for node in led_by.values() if node != coordinator]
    controller = active_controller(cluster)
    stalled = next((n for n in others if n != controller), others[0])
    producer.begin_transaction()
    for p in range(PARTITIONS):
        producer.produce(topic, value=b"v%d" % p, partition=p)
    assert producer.flush(30) == 0
    failed = f"WriteTxnMarkers to broker {stalled} failed"
    before = at[coordinator].log_text().count(failed)
    os.kill(at[stalled].pid, signal.SIGSTOP)
    try:
        producer.commit_transaction(30)  # answered once PrepareCommit is written; the markers follow
        assert _state(at[coordinator].bootstrap, txn_id) == "PrepareCommit"
        # the first WriteTxnMarkers to the stalled broker expires (and is sent again)
        wait_until(
            lambda: at[coordinator].log_text().count(failed) > before,
            timeout=15,
            message="the coordinator's request timing out",
        )
        assert _state(at[coordinator].bootstrap, txn_id) == "PrepareCommit"
    finally:
        os.kill(at[stalled].pid, signal.SIGCONT)
    wait_until(
        lambda: _state(at[coordinator].bootstrap, txn_id) == "CompleteCommit",
        timeout=30,
        message="the transaction completed once the leader answered",
    )
    values = {b"v%d" % p for p in range(PARTITIONS)}
    assert set(read_all(cluster.bootstrap, topic, "read_committed", lambda v: values <= set(v))) == values
