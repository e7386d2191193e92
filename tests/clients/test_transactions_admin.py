"""The admin side of transactions: DescribeProducers (what ``kafka-transactions.sh describe-producers``
and ``find-hanging`` read) and WriteTxnMarkers (``kafka-transactions.sh abort``), through kafka-python's
admin client and at the wire.

A hanging transaction is made the way old clients made them: with verification (KIP-890) turned off, a
transactional batch goes to a partition its transaction never added, so no coordinator will ever write
its marker and the partition's last stable offset stays behind until an admin aborts it.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import TopicPartition as KPTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.admin._transactions import AbortTransactionSpec
from kafka.errors import UnknownTopicOrPartitionError

from kavka.protocol.records import Record, build_batch
from kavka.testing.process import wait_until
from tests.clients.adminwire import call

DESCRIBE_PRODUCERS, WRITE_TXN_MARKERS, FIND_COORDINATOR, INIT_PRODUCER_ID, PRODUCE, LIST_OFFSETS = 61, 27, 10, 22, 0, 2
INVALID_PRODUCER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION = 47, 3
TXN_OVERRIDES = {
    "transaction.state.log.num.partitions": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
}


@pytest.fixture
def txb(broker_factory):
    return broker_factory(overrides=TXN_OVERRIDES)


def _describe(bootstrap: str, topic: str, partition: int = 0):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return admin.describe_producers([KPTopicPartition(topic, partition)])[KPTopicPartition(topic, partition)]
    finally:
        admin.close()


def test_describe_producers_shows_idempotent_and_transactional_producers(txb, create_topic):
    bs = txb.bootstrap
    topic = create_topic(bootstrap=bs)
    idem = Producer({"bootstrap.servers": bs, "enable.idempotence": True, "linger.ms": 0})
    for i in range(3):
        idem.produce(topic, f"i{i}".encode(), partition=0)
        assert idem.flush(15) == 0  # three batches: sequences 0, 1, 2
    [only] = _describe(bs, topic).active_producers
    assert only.producer_epoch == 0 and only.last_sequence == 2
    assert only.current_transaction_start_offset == -1 and only.last_timestamp > 0

    txn = Producer({"bootstrap.servers": bs, "transactional.id": f"{topic}-tx", "linger.ms": 0})
    txn.init_transactions(30)
    txn.begin_transaction()
    txn.produce(topic, b"t0", partition=0)
    assert txn.flush(15) == 0
    producers = {p.producer_id: p for p in _describe(bs, topic).active_producers}
    assert only.producer_id in producers and len(producers) == 2
    [open_txn] = [p for pid, p in producers.items() if pid != only.producer_id]
    assert open_txn.current_transaction_start_offset == 3 and open_txn.last_sequence == 0

    txn.commit_transaction(30)
    after = {p.producer_id: p for p in _describe(bs, topic).active_producers}[open_txn.producer_id]
    assert after.current_transaction_start_offset == -1 and after.coordinator_epoch >= 0


def test_describe_producers_of_missing_partitions(bootstrap, create_topic):
    topic = create_topic(partitions=1)
    with pytest.raises(UnknownTopicOrPartitionError):
        _describe(bootstrap, "no-such-topic-for-describe-producers")
    answer = call(bootstrap, DESCRIBE_PRODUCERS, 0, {"topics": [{"name": topic, "partition_indexes": [0, 7]}]})
    [t] = answer.topics
    assert [(p.partition_index, p.error_code) for p in t.partitions] == [(0, 0), (7, 3)]
    assert t.partitions[0].active_producers == ()


# -- hanging transactions and the admin abort -------------------------------------------------------


def _open_hanging_transaction(bs: str, topic: str) -> tuple[int, int]:
    """A transactional batch in ``topic``-0 that its coordinator knows nothing of: (producer id, epoch)."""
    tid = f"{topic}-hanging"
    wait_until(
        lambda: call(bs, FIND_COORDINATOR, 3, {"key": tid, "key_type": 1}).error_code == 0,
        30,
        message="transaction coordinator",
    )
    init = wait_until(
        lambda: (lambda r: r if r.error_code == 0 else None)(
            call(bs, INIT_PRODUCER_ID, 1, {"transactional_id": tid, "transaction_timeout": 60_000})
        ),
        30,
        message="InitProducerId",
    )
    pid, epoch = int(init.producer_id), int(init.producer_epoch)
    batch = build_batch(
        [Record(0, 0, None, b"stuck")], producer_id=pid, producer_epoch=epoch, base_sequence=0, transactional=True
    )
    r = call(
        bs,
        PRODUCE,
        9,
        {
            "transactional_id": tid,
            "acks": -1,
            "timeout": 30_000,
            "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": batch}]}],
        },
    )
    assert r.responses[0].partition_responses[0].error_code == 0
    return pid, epoch


def _stable_and_end(bs: str, topic: str) -> tuple[int, int]:
    def latest(isolation: int) -> int:
        r = call(
            bs,
            LIST_OFFSETS,
            5,
            {
                "replica_id": -1,
                "isolation_level": isolation,
                "topics": [
                    {"name": topic, "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]}
                ],
            },
        )
        return int(r.topics[0].partitions[0].offset)

    return latest(1), latest(0)


def test_admin_abort_closes_a_hanging_transaction(broker_factory, create_topic):
    b = broker_factory(overrides={**TXN_OVERRIDES, "transaction.partition.verification.enable": "false"})
    bs = b.bootstrap
    topic = create_topic(bootstrap=bs)
    before = Producer({"bootstrap.servers": bs})
    before.produce(topic, b"before", partition=0)
    assert before.flush(15) == 0
    pid, epoch = _open_hanging_transaction(bs, topic)
    assert _stable_and_end(bs, topic) == (1, 2)  # read_committed is held at the hanging transaction

    [hanging] = [p for p in _describe(bs, topic).active_producers if p.producer_id == pid]
    assert hanging.current_transaction_start_offset == 1

    # a marker for an older epoch is refused and changes nothing
    stale = call(
        bs,
        WRITE_TXN_MARKERS,
        1,
        {
            "markers": [
                {
                    "producer_id": pid,
                    "producer_epoch": epoch - 1 if epoch else -1,
                    "transaction_result": False,
                    "coordinator_epoch": 0,
                    "topics": [
                        {"name": topic, "partition_indexes": [0]},
                        {"name": "no-such-topic", "partition_indexes": [0]},
                    ],
                }
            ]
        },
    )
    codes = {(t.name, p.partition_index): p.error_code for t in stale.markers[0].topics for p in t.partitions}
    assert codes == {(topic, 0): INVALID_PRODUCER_EPOCH, ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION}
    assert _stable_and_end(bs, topic) == (1, 2)

    admin = KafkaAdminClient(bootstrap_servers=bs)
    try:
        admin.abort_transaction(
            AbortTransactionSpec(KPTopicPartition(topic, 0), pid, epoch, max(hanging.coordinator_epoch, 0))
        )
    finally:
        admin.close()
    assert _stable_and_end(bs, topic) == (3, 3)  # the ABORT marker at offset 2; nothing held back
    [after] = [p for p in _describe(bs, topic).active_producers if p.producer_id == pid]
    assert after.current_transaction_start_offset == -1

    consumer = Consumer(
        {
            "bootstrap.servers": bs,
            "group.id": f"{topic}-g",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        seen = []
        wait_until(
            lambda: (
                seen.extend(m.value() for m in consumer.consume(10, 0.5) if not m.error())
                or consumer.position([TopicPartition(topic, 0)])[0].offset >= 3
            ),
            30,
            message="read to the end",
        )
        assert seen == [b"before"]  # the aborted record is never delivered
    finally:
        consumer.close()
