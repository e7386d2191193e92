"""The guide's Java examples (interop/java/guide, kafka-clients 4.4.0) against Kavka and Apache Kafka.

Each program runs in its own JVM against a real broker (``any_broker``: Kafka and the session's Kavka) and
exits by itself; what it did is checked on the broker side with confluent-kafka: the partitions records
landed in, the offsets a group committed, the type of group a consumer joined, what read_committed readers
see. The AdminClient tour prints broker-independent lines, compared between Kafka and Kavka.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence

import pytest

from kavka.testing.process import create_topic, wait_until
from tests.clients.clientlib import Out, Rec, ck_produce, ck_read_all, group_id
from tests.conftest import Target
from tests.java.guidejava import Guide, ran

TIMEOUT = 60.0


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
    admin = _admin(bootstrap)  # held until the future resolves: librdkafka drops a collected client's calls
    result = admin.list_consumer_group_offsets([request])[group].result(timeout=TIMEOUT)
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def _high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id()})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        c.close()


def _active_producers(bootstrap: str, topic: str, partitions: int) -> dict[int, list]:
    """DescribeProducers (kafka-python's admin; confluent-kafka has no such call), per partition."""
    from kafka import KafkaAdminClient
    from kafka import TopicPartition as KPTopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        tps = [KPTopicPartition(topic, p) for p in range(partitions)]
        described = admin.describe_producers(tps)
        return {tp.partition: list(described[tp].active_producers) for tp in tps}
    finally:
        admin.close()


def _read_to_end(bootstrap: str, topic: str, partitions: int, isolation: str) -> list[Rec]:
    """Every record a consumer with ``isolation.level=isolation`` gets, up to the end of each partition
    (librdkafka's partition EOF: the high watermark, or the last stable offset for read_committed)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    from tests.clients.clientlib import ck_rec

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id(),
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
        }
    )
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        out: list[Rec] = []
        at_end: set[int] = set()

        def drained() -> bool:
            for m in c.consume(num_messages=500, timeout=0.2):
                err = m.error()
                if err is not None and err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(m.partition())
                elif err is not None:
                    raise AssertionError(f"consumer error: {err}")
                else:
                    out.append(ck_rec(m))
            return len(at_end) == partitions

        wait_until(drained, TIMEOUT, interval=0, message=f"{isolation} read of {topic} to its end")
        return out
    finally:
        c.close()


# -- AdminClient.createTopics -----------------------------------------------------------------------


def test_create_topics_makes_three_partitions(guide: Guide, any_broker: Target) -> None:
    topic = _name("orders")
    done = guide.run("CreateTopic", any_broker.bootstrap, topic)
    assert done.returncode == 0, ran(done)
    assert done.stdout.splitlines() == [f"created {topic} partitions=3"], ran(done)
    admin = _admin(any_broker.bootstrap)
    md = admin.list_topics(topic=topic, timeout=10).topics[topic]
    assert md.error is None
    assert sorted(md.partitions) == [0, 1, 2]
    assert all(p.leader >= 0 and len(p.replicas) == 1 for p in md.partitions.values())

    # The guide's own replication factor of 2 on a one-node cluster: Kafka's error, word for word.
    done = guide.run("CreateTopic", any_broker.bootstrap, _name("orders-rf2"), "2")
    assert done.returncode == 1, ran(done)
    assert done.stdout.splitlines() == [
        "failed: org.apache.kafka.common.errors.InvalidReplicationFactorException: Unable to replicate the "
        "partition 2 time(s): The target replication factor of 2 cannot be reached because only 1 broker(s) "
        "are registered or some brokers have all their log directories cordoned."
    ], ran(done)


# -- OrderProducer and OrderConsumer ----------------------------------------------------------------

# Where the Java client's default partitioner (murmur2 of the key, modulo 3) puts order-0 .. order-9.
_ORDER_PARTITION = {0: 1, 1: 1, 2: 0, 3: 0, 4: 2, 5: 2, 6: 0, 7: 1, 8: 2, 9: 1}
_CONSUMED = re.compile(r"P:(\d+) Offset:(\d+) Key:(\S+) Value:(.*)")


def test_order_producer_then_order_consumer(guide: Guide, any_broker: Target) -> None:
    bootstrap, topic = any_broker.bootstrap, _name("orders")
    create_topic(bootstrap, topic, 3)

    done = guide.run("OrderProducer", bootstrap, topic)
    assert done.returncode == 0, ran(done)
    records = ck_read_all(bootstrap, topic, 3)
    stored = {(r.key or b"").decode(): (r.partition, (r.value or b"").decode()) for r in records}
    assert stored == {f"order-{i}": (_ORDER_PARTITION[i], '{"id":%d}' % i) for i in range(10)}
    assert all(not r.headers for r in records)
    # enable.idempotence: the broker knows one producer id, epoch 0, its sequences up to each partition's count.
    counts = {p: sum(1 for r in records if r.partition == p) for p in range(3)}
    producers = _active_producers(bootstrap, topic, 3)
    assert {p: [(a.producer_epoch, a.last_sequence) for a in producers[p]] for p in range(3)} == {
        p: [(0, counts[p] - 1)] for p in range(3)
    }
    assert len({a.producer_id for p in range(3) for a in producers[p]}) == 1

    done = guide.run("OrderConsumer", bootstrap, topic, "10")  # group order-service-group, as in the guide
    assert done.returncode == 0, ran(done)
    lines = done.stdout.splitlines()
    printed = {(int(m[1]), int(m[2]), m[3], m[4]) for m in map(_CONSUMED.fullmatch, lines) if m}
    assert printed == {(r.partition, r.offset, (r.key or b"").decode(), (r.value or b"").decode()) for r in records}
    assert re.fullmatch(r"group=order-service-group member=consumer-order-service-group-\S+ generation=\d+", lines[-1])

    # commitSync after processing: the group's offsets are the ends of the partitions.
    assert _committed(bootstrap, "order-service-group", topic, 3) == _high_watermarks(bootstrap, topic, 3)


# -- JsonSerializer, RegionPartitioner, async callback, blocking send --------------------------------

_SENT = re.compile(
    r"\[kafka-producer-network-thread \| producer-\d+\] INFO OrderEvents - Sent to partition=(\d+) offset=(\d+)"
)


def test_region_partitioner_json_serializer_and_callbacks(guide: Guide, any_broker: Target) -> None:
    bootstrap, topic = any_broker.bootstrap, _name("orders")
    create_topic(bootstrap, topic, 3)

    done = guide.run("OrderEvents", bootstrap, topic)
    assert done.returncode == 0, ran(done)
    records = ck_read_all(bootstrap, topic, 3)
    orders = {(r.partition, r.offset): json.loads(r.value or b"") for r in records}
    by_partition = {p: sorted(o["id"] for (q, _), o in orders.items() if q == p) for p in range(3)}
    # US -> 0, EU -> 1, anything else -> 2, read back from each partition.
    assert by_partition == {0: ["o-0", "o-3", "o-6"], 1: ["o-1", "o-4", "o-7", "o-sync"], 2: ["o-2", "o-5", "o-8"]}
    assert all(r.key == json.loads(r.value or b"")["region"].encode() for r in records)
    assert orders[next(k for k, o in orders.items() if o["id"] == "o-0")] == {
        "id": "o-0",
        "region": "US",
        "amount": 100,
    }

    # One callback line per async send, naming the partition and offset the broker stored it at.
    sent = [(int(p), int(o)) for p, o in _SENT.findall(done.stderr)]
    async_positions = {k for k, o in orders.items() if o["id"] != "o-sync"}
    assert sorted(sent) == sorted(async_positions), ran(done)
    # .get() returned the blocking send's position.
    sync_position = next(k for k, o in orders.items() if o["id"] == "o-sync")
    assert done.stdout.splitlines() == ["Blocking send: partition=%d offset=%d" % sync_position], ran(done)


# -- group.protocol=consumer (KIP-848) and classic ----------------------------------------------------


@pytest.mark.parametrize("protocol", ["consumer", "classic"])
def test_order_consumer_group_protocols(guide: Guide, any_broker: Target, protocol: str) -> None:
    from confluent_kafka import ConsumerGroupState, ConsumerGroupType

    bootstrap, topic, group = any_broker.bootstrap, _name("orders"), _name(f"orders-{protocol}")
    create_topic(bootstrap, topic, 3)
    ck_produce(bootstrap, topic, [Out(f"k{i}".encode(), f"v{i}".encode(), partition=i % 3) for i in range(6)])

    proc = guide.start("OrderConsumer", bootstrap, topic, "6", group, protocol, "hold")
    try:
        assert proc.stdout is not None and proc.stdin is not None
        lines = []
        for line in proc.stdout:  # the program prints "holding" once it has consumed and committed all 6
            lines.append(line.rstrip("\n"))
            if lines[-1] == "holding":
                break
        assert lines[-1:] == ["holding"], f"{lines}\n{proc.stderr.read() if proc.stderr else ''}"
        member = re.fullmatch(r"group=\S+ member=(\S+) generation=(\d+)", lines[-2])
        assert member is not None and int(member[2]) >= 1, lines

        # The live group, seen from the broker: its type, its one member and that member's partitions.
        admin = _admin(bootstrap)
        seen = []

        def stable() -> bool:
            # A KIP-848 member acknowledges its partitions in a heartbeat after it starts consuming them.
            seen[:] = [admin.describe_consumer_groups([group])[group].result(timeout=TIMEOUT)]
            return seen[0].state == ConsumerGroupState.STABLE

        wait_until(stable, TIMEOUT, message=f"group {group} stable")
        description = seen[0]
        want_type = ConsumerGroupType.CONSUMER if protocol == "consumer" else ConsumerGroupType.CLASSIC
        assert description.type == want_type
        assert description.state == ConsumerGroupState.STABLE
        assert [m.member_id for m in description.members] == [member[1]]
        assigned = description.members[0].assignment.topic_partitions
        assert sorted((tp.topic, tp.partition) for tp in assigned) == [(topic, 0), (topic, 1), (topic, 2)]
        listed = {g.group_id: g for g in admin.list_consumer_groups().result(timeout=TIMEOUT).valid}
        assert listed[group].type == want_type
        if protocol == "classic":
            assert member[1].startswith(f"consumer-{group}-")

        proc.stdin.close()
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _committed(bootstrap, group, topic, 3) == {0: 2, 1: 2, 2: 2}


# -- transactions: consume-transform-produce with sendOffsetsToTransaction ----------------------------


def _values(records: Sequence[Rec]) -> list[str]:
    return sorted((r.value or b"").decode() for r in records)


def test_transactional_consume_transform_produce(guide: Guide, any_broker: Target) -> None:
    from confluent_kafka import Producer

    bootstrap = any_broker.bootstrap
    source, sink, group = _name("payments-in"), _name("payments-out"), _name("payments")
    create_topic(bootstrap, source, 3)
    create_topic(bootstrap, sink, 3)

    # Input: 30 committed records, and 5 in an aborted transaction that a read_committed consumer skips.
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": _name("feeder")})
    producer.init_transactions(TIMEOUT)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(source, key=f"k{i}", value=f"junk-{i}", partition=i % 3)
    producer.abort_transaction(TIMEOUT)
    producer.begin_transaction()
    for i in range(30):
        producer.produce(source, key=f"k{i}", value=f"pay-{i}", partition=i % 3)
    producer.commit_transaction(TIMEOUT)
    del producer  # librdkafka's client closes when collected; it has no more to do

    done = guide.run(
        "TransactionalProcessor", bootstrap, source, sink, group, "30", _name("payment-service"), "abort-first"
    )
    assert done.returncode == 0, ran(done)
    aborted = [int(n) for n in re.findall(r"INFO TransactionalProcessor - aborted (\d+)", done.stderr)]
    committed = [int(n) for n in re.findall(r"INFO TransactionalProcessor - committed (\d+)", done.stderr)]
    assert len(aborted) == 1 and aborted[0] > 0 and sum(committed) == 30, ran(done)

    # Downstream read_committed: every input exactly once, nothing from the aborted transactions.
    want = sorted(f"PAY-{i}" for i in range(30))
    assert _values(_read_to_end(bootstrap, sink, 3, "read_committed")) == want
    # The aborted output is in the log all the same: read_uncommitted sees it (so the check above can fail).
    uncommitted = _values(_read_to_end(bootstrap, sink, 3, "read_uncommitted"))
    assert len(uncommitted) == 30 + aborted[0] and set(uncommitted) == set(want)

    # The offsets went in with the transactions: one past each partition's last committed input.
    last = {}
    for r in _read_to_end(bootstrap, source, 3, "read_committed"):
        last[r.partition] = max(last.get(r.partition, -1), r.offset)
    assert _committed(bootstrap, group, source, 3) == {p: o + 1 for p, o in last.items()}


# -- the AdminClient's describe/list/alter calls, Kafka and Kavka side by side -------------------------

# Lines AdminTour prints differently on the two brokers: (only Kafka's, only Kavka's). Each is a known
# difference explained in docs/compatibility.md; a new one fails, and so does a fixed one until removed.
ADMIN_TOUR_KNOWN: tuple[list[str], list[str]] = (
    # ELR's cluster-level min.insync.replicas (Kafka 4.4 formats clusters with ELR on; Kavka has no ELR).
    ["describeConfigs TOPIC min.insync.replicas=1 source=DYNAMIC_DEFAULT_BROKER_CONFIG readOnly=false sensitive=false"],
    ["describeConfigs TOPIC min.insync.replicas=1 source=DEFAULT_CONFIG readOnly=false sensitive=false"],
)


def line_differences(kafka: Sequence[str], kavka: Sequence[str]) -> tuple[list[str], list[str]]:
    """(lines only Kafka printed, lines only Kavka printed), each in its own order, duplicates counted."""
    only_kafka, only_kavka = list(kafka), list(kavka)
    for line in kafka:
        if line in only_kavka:
            only_kavka.remove(line)
            only_kafka.remove(line)
    return only_kafka, only_kavka


def test_line_differences_sees_a_changed_a_missing_and_a_repeated_line() -> None:
    assert line_differences(["a", "b", "b"], ["a", "c", "b"]) == (["b"], ["c"])
    assert line_differences(["x"], ["x"]) == ([], [])


def _admin_tour(guide: Guide, bootstrap: str, topic: str, group: str, scratch: str) -> list[str]:
    """Set the scene (3 partitions of 10 records, a group with offsets 3/4/3, a scratch topic), run
    AdminTour, check its effects from Python and return what it printed."""
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
    from confluent_kafka.admin import ConfigResource

    create_topic(bootstrap, topic, 3)
    create_topic(bootstrap, scratch, 1)
    ck_produce(bootstrap, topic, [Out(None, f"r{i}".encode(), partition=i % 3) for i in range(30)])
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})

    def committed() -> bool:
        # A fresh cluster creates __consumer_offsets on first use: NOT_COORDINATOR until it is loaded.
        try:
            committer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in {0: 3, 1: 4, 2: 3}.items()], asynchronous=False
            )
        except KafkaException as exc:
            if exc.args[0].code() not in (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS):
                raise
            return False
        return True

    try:
        wait_until(committed, TIMEOUT, message=f"offsets committed for {group}")
    finally:
        committer.close()

    done = guide.run("AdminTour", bootstrap, topic, group, scratch)
    assert done.returncode == 0, ran(done)

    admin = _admin(bootstrap)
    md = admin.list_topics(timeout=10)
    assert len(md.topics[topic].partitions) == 4 and scratch not in md.topics
    resource = ConfigResource("topic", topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=TIMEOUT)
    assert configs["retention.ms"].value == "3600000"
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(3)])
    offsets = admin.list_consumer_group_offsets([request])[group].result(timeout=TIMEOUT).topic_partitions
    assert {tp.partition: tp.offset for tp in offsets} == {0: 1, 1: 4, 2: 3}
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id()})
    try:
        assert reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (3, 10)
    finally:
        reader.close()
    return done.stdout.splitlines()


def test_admin_client_calls_print_the_same_on_kafka_and_kavka(guide: Guide, broker, apache_kafka) -> None:
    # The same names on both clusters, so error messages naming the topic compare equal.
    topic, group, scratch = _name("orders"), _name("order-service-group"), _name("scratch")
    kafka = _admin_tour(guide, apache_kafka.bootstrap, topic, group, scratch)
    kavka = _admin_tour(guide, broker.bootstrap, topic, group, scratch)
    assert "deleteRecords: 0 low watermark=3" in kavka
    # Offsets committed with no member make a simple (protocol-less) classic group, on both brokers.
    assert f"listGroups(forConsumerGroups): {group} state=Empty type=Classic protocol=" in kavka
    assert f"listConsumerGroups: {group} state=Empty type=Classic simple=true" in kavka
    assert "describeTopics: internal=false partitions=4 topicId=true" in kavka
    assert line_differences(kafka, kavka) == ADMIN_TOUR_KNOWN, "\n".join(kavka)
