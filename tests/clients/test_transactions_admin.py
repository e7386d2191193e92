"""The admin side of transactions: DescribeProducers (what ``kafka-transactions.sh describe-producers``
and ``find-hanging`` read) through kafka-python's admin client and at the wire."""

from __future__ import annotations

import pytest
from adminwire import call
from confluent_kafka import Producer
from kafka import TopicPartition as KPTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import UnknownTopicOrPartitionError

DESCRIBE_PRODUCERS = 61
TXN_OVERRIDES = {"transaction.state.log.num.partitions": "1", "offsets.topic.num.partitions": "1",
                 "transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1"}


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
