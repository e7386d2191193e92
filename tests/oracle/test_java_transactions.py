"""A Java 4.x transactional producer against Apache Kafka and Kavka (``any_broker``): Kafka's own
``TransactionalMessageCopier`` (kafka-tools, the consume-transform-produce loop of Kafka's system tests:
``initTransactions``, ``send``, ``sendOffsetsToTransaction`` with the consumer's group metadata,
``commitTransaction``) copies a partition into another topic in transactions of 10 records.

Both brokers finalize ``transaction.version`` 2, so the Java client speaks KIP-890 part 2: no
AddPartitionsToTxn or AddOffsetsToTxn (Produce v12 and TxnOffsetCommit v5 add their partitions), and
EndTxn v5 bumps the producer epoch at every transaction, which the output partition's producer state
shows (DescribeProducers). The copy must hold every record once, in order, for ``read_committed``
readers, with the group's offsets committed by the transactions.
"""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from kavka.testing.process import create_topic
from tests.clients.adminwire import call
from tests.clients.txnlib import read_to_end

COPIER = "org.apache.kafka.tools.TransactionalMessageCopier"
DESCRIBE_PRODUCERS = 61
RECORDS, PER_TXN = 50, 10


def _producer_epochs(bootstrap: str, topic: str) -> list[int]:
    r = call(bootstrap, DESCRIBE_PRODUCERS, 0, {"topics": [{"name": topic, "partition_indexes": [0]}]})
    [partition] = r.topics[0].partitions
    assert partition.error_code == 0, partition
    return [int(p.producer_epoch) for p in partition.active_producers]


def test_java_transactional_copy(any_broker, apache_kafka, new_topic_name):
    bs = any_broker.bootstrap
    source, target = new_topic_name("in"), new_topic_name("out")
    create_topic(bs, source)
    create_topic(bs, target)
    values = [f"r{i:03d}".encode() for i in range(RECORDS)]
    p = Producer({"bootstrap.servers": bs})
    for v in values:
        p.produce(source, v)
    assert p.flush(30) == 0
    group = f"copier-{uuid.uuid4().hex[:8]}"

    done = apache_kafka.run_tool(
        COPIER,
        [
            "--broker-list",
            bs,
            "--input-topic",
            source,
            "--input-partition",
            "0",
            "--output-topic",
            target,
            "--max-messages",
            str(RECORDS),
            "--transaction-size",
            str(PER_TXN),
            "--consumer-group",
            group,
            "--transactional-id",
            f"copier-{uuid.uuid4().hex[:8]}",
            "--use-group-metadata",
        ],
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '"remaining":0' in done.stdout.replace(" ", ""), done.stdout[-2000:]

    committed = read_to_end(bs, target, "read_committed")[0]
    assert [v for _k, v in committed] == values
    c = Consumer({"bootstrap.servers": bs, "group.id": group})
    try:
        [offset] = c.committed([TopicPartition(source, 0)], timeout=20)
    finally:
        c.close()
    assert offset.offset == RECORDS
    # transaction version 2: every EndTxn bumped the epoch (5 transactions; version 1 would stay at 0)
    assert _producer_epochs(bs, target) == [RECORDS // PER_TXN]
