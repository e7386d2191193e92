"""Consumer features explored with the real clients, beyond the other consumer tests.

confluent-kafka (offsets_for_times, watermarks, store_offsets, incremental assign, headers and
tombstones), aiokafka (seek_to_*, offsets_for_times, pause/resume with getmany(max_records), commit
metadata, rebalance listeners), kafka-python (committed with metadata), ListOffsets semantics
(non-monotonic timestamps, deleted records, read_committed), OffsetFetch require_stable, and mixing
the classic and KIP-848 protocols in one group as Kafka 4.0 allows. ``xfail(strict=True)`` marks a
difference from Kafka (the reason says what Kafka does).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kavka.testing.process import wait_until
from tests.clients.adminwire import call

OFFSET_FETCH, CONSUMER_GROUP_HEARTBEAT = 9, 68
UNSTABLE_OFFSET_COMMIT = 88


def gid() -> str:
    return f"gc-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def ck_producer(bootstrap: str, **conf):
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, **conf})


def produce_timed(
    bootstrap: str, topic: str, timestamps: list[int], partition: int = 0, one_batch: bool = False
) -> None:
    p = ck_producer(bootstrap, **({"linger.ms": 200} if one_batch else {}))
    for i, ts in enumerate(timestamps):
        p.produce(topic, value=f"v{i}".encode(), partition=partition, timestamp=ts)
        if not one_batch:
            assert p.flush(10) == 0
    assert p.flush(10) == 0


def poll_n(consumer, n: int, timeout: float = 15.0) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is not None and not m.error():
            out.append(m)
    return out


def offsets_for(ck_admin, topic: str, spec, isolation=None, partition: int = 0):
    from confluent_kafka import TopicPartition

    kw = {"isolation_level": isolation} if isolation is not None else {}
    tp = TopicPartition(topic, partition)
    return ck_admin.list_offsets({tp: spec}, **kw)[tp].result()


# -- confluent-kafka Consumer --------------------------------------------------------------------------


def test_confluent_headers_tombstones_and_empty_values_round_trip(bootstrap, create_topic):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    topic = create_topic()
    p = ck_producer(bootstrap)
    headers = [("h", b"x"), ("h", b"y"), ("n", None), ("e", b"")]
    p.produce(topic, key=b"k", value=b"v", headers=headers)
    p.produce(topic, key=b"tomb", value=None)
    p.produce(topic, key=b"", value=b"")
    p.produce(topic, key=None, value=b"no-key")
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": gid(), "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = poll_n(c, 4)
        assert [(m.key(), m.value()) for m in got] == [(b"k", b"v"), (b"tomb", None), (b"", b""), (None, b"no-key")]
        assert got[0].headers() == headers
        assert got[1].headers() is None
    finally:
        c.close()


def test_confluent_watermarks_offsets_for_times_and_position(bootstrap, create_topic):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    topic = create_topic(partitions=2)
    base = int(time.time() * 1000) - 600_000
    produce_timed(bootstrap, topic, [base + i * 1000 for i in range(10)])
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": gid(), "enable.auto.commit": False})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, 10)
        assert c.get_watermark_offsets(TopicPartition(topic, 1), timeout=10) == (0, 0)
        found = c.offsets_for_times([TopicPartition(topic, 0, base + 2500), TopicPartition(topic, 1, base)], timeout=10)
        assert [(tp.partition, tp.offset) for tp in found] == [(0, 3), (1, -1)]
        beyond = c.offsets_for_times([TopicPartition(topic, 0, base + 10**7)], timeout=10)
        assert beyond[0].offset == -1
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        assert len(poll_n(c, 10)) == 10
        assert c.position([TopicPartition(topic, 0)])[0].offset == 10
        c.seek(TopicPartition(topic, 0, 4))
        [m] = poll_n(c, 1)
        assert m.offset() == 4
    finally:
        c.close()


def test_confluent_store_offsets_commits_only_what_was_stored(bootstrap, create_topic):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    topic = create_topic(partitions=2)
    produce_timed(bootstrap, topic, [int(time.time() * 1000)] * 6)
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": gid(),
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got = poll_n(c, 6)
        c.store_offsets(message=got[2])
        [committed] = c.commit(asynchronous=False)
        assert (committed.partition, committed.offset) == (0, 3)
        both = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
        assert [(tp.partition, tp.offset) for tp in both] == [(0, 3), (1, -1001)]
    finally:
        c.close()


def test_confluent_incremental_assign_unassign_pause_resume(bootstrap, create_topic):
    from confluent_kafka import Consumer, TopicPartition

    topic = create_topic(partitions=2)
    p = ck_producer(bootstrap)
    for part in (0, 1):
        p.produce(topic, value=f"p{part}".encode(), partition=part)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": gid(), "enable.auto.commit": False})
    try:
        c.incremental_assign([TopicPartition(topic, 0, 0)])
        c.incremental_assign([TopicPartition(topic, 1, 0)])
        assert sorted(tp.partition for tp in c.assignment()) == [0, 1]
        c.pause([TopicPartition(topic, 1)])
        first = poll_n(c, 1)
        assert [m.partition() for m in first] == [0]
        assert poll_n(c, 1, timeout=1.5) == []  # partition 1 is paused
        c.resume([TopicPartition(topic, 1)])
        assert [m.partition() for m in poll_n(c, 1)] == [1]
        c.incremental_unassign([TopicPartition(topic, 0)])
        assert [tp.partition for tp in c.assignment()] == [1]
    finally:
        c.close()


# -- aiokafka --------------------------------------------------------------------------------------------


def test_aiokafka_seek_offsets_for_times_pause_and_commit_metadata(bootstrap, create_topic):
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    topic = create_topic(partitions=2)
    base = int(time.time() * 1000) - 600_000
    p = ck_producer(bootstrap)
    for i in range(20):
        p.produce(topic, value=f"v{i}".encode(), partition=i % 2, timestamp=base + i * 1000)
    assert p.flush(10) == 0
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)

    async def main():
        c = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=gid(), enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await c.start()
        try:
            assert await c.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
            assert await c.end_offsets([tp0, tp1]) == {tp0: 10, tp1: 10}
            found = await c.offsets_for_times({tp0: base + 4500, tp1: base + 10**9})
            assert (found[tp0].offset, found[tp0].timestamp, found[tp1]) == (3, base + 6000, None)
            c.assign([tp0, tp1])
            await c.seek_to_end(tp0)
            assert await c.position(tp0) == 10
            await c.seek_to_beginning(tp0)
            assert await c.position(tp0) == 0
            c.pause(tp1)
            batch = await c.getmany(timeout_ms=5000, max_records=3)
            assert {tp: [m.offset for m in ms] for tp, ms in batch.items()} == {tp0: [0, 1, 2]}
            c.resume(tp1)
            seen = set()
            deadline = time.monotonic() + 10
            while len(seen) < 17 and time.monotonic() < deadline:
                for tp, ms in (await c.getmany(timeout_ms=500)).items():
                    seen.update((tp.partition, m.offset) for m in ms)
            assert seen == {(0, o) for o in range(3, 10)} | {(1, o) for o in range(10)}
            await c.commit({tp0: OffsetAndMetadata(7, "my-meta")})
            assert await c.committed(tp0) == 7
        finally:
            await c.stop()

    asyncio.run(main())


def test_aiokafka_rebalance_listener_sees_the_assignment(bootstrap, create_topic):
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

    topic = create_topic(partitions=2)
    p = ck_producer(bootstrap)
    for i in range(6):
        p.produce(topic, value=b"x", partition=i % 2)
    assert p.flush(10) == 0

    class Listener(ConsumerRebalanceListener):
        def __init__(self):
            self.assigned: list[set] = []

        async def on_partitions_revoked(self, revoked):
            pass

        async def on_partitions_assigned(self, assigned):
            self.assigned.append(set(assigned))

    async def main():
        listener = Listener()
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=gid(), auto_offset_reset="earliest")
        await c.start()
        try:
            c.subscribe([topic], listener=listener)
            n = 0
            deadline = time.monotonic() + 20
            while n < 6 and time.monotonic() < deadline:
                n += sum(len(v) for v in (await c.getmany(timeout_ms=500)).values())
            assert n == 6
            assert listener.assigned[-1] == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
            await c.commit()
            assert await c.committed(TopicPartition(topic, 1)) == 3
        finally:
            await c.stop()

    asyncio.run(main())


def test_kafka_python_committed_with_metadata(bootstrap, create_topic):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    topic = create_topic()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=gid(), enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.commit({tp: OffsetAndMetadata(0, "meta-kp", -1)})
        assert c.committed(tp, metadata=True)[:2] == (0, "meta-kp")
    finally:
        c.close()


# -- ListOffsets semantics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("one_batch", [True, False], ids=["one-batch", "batch-per-record"])
def test_offsets_for_times_with_non_monotonic_timestamps(ck_admin, bootstrap, create_topic, one_batch):
    """Kafka answers the first offset whose record timestamp is >= the target, scanning batches whose
    max timestamp reaches it; out-of-order timestamps make that the first such record in log order."""
    from confluent_kafka.admin import OffsetSpec

    topic = create_topic()
    base = int(time.time() * 1000) - 10**6
    produce_timed(
        bootstrap, topic, [base + t for t in (5000, 1000, 9000, 3000, 7000, 2000, 9000, 8000)], one_batch=one_batch
    )
    got = [
        (q, offsets_for(ck_admin, topic, OffsetSpec.for_timestamp(base + q)).offset)
        for q in (0, 1500, 5000, 6000, 9000, 9001)
    ]
    assert got == [(0, 0), (1500, 0), (5000, 0), (6000, 2), (9000, 2), (9001, -1)]
    mx = offsets_for(ck_admin, topic, OffsetSpec.max_timestamp())
    assert (mx.offset, mx.timestamp) == (2, base + 9000)


def test_offsets_for_times_never_answers_below_the_log_start(ck_admin, bootstrap, create_topic):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    topic = create_topic()
    base = int(time.time() * 1000) - 10**6
    produce_timed(bootstrap, topic, [base + i * 1000 for i in range(10)])
    ck_admin.delete_records([TopicPartition(topic, 0, 5)])[TopicPartition(topic, 0, 5)].result()
    got = [offsets_for(ck_admin, topic, OffsetSpec.for_timestamp(base + q)).offset for q in (0, 2000, 6000)]
    assert got == [5, 5, 6]
    assert offsets_for(ck_admin, topic, OffsetSpec.earliest()).offset == 5


@pytest.fixture
def open_transaction(bootstrap, create_topic):
    """A topic with 3 committed records (timestamps base+0..2 s) and an open transaction holding 3 more
    (base+3..5 s): (topic, base)."""
    topic = create_topic()
    base = int(time.time() * 1000) - 100_000
    produce_timed(bootstrap, topic, [base + i * 1000 for i in range(3)])
    tx = ck_producer(bootstrap, **{"transactional.id": f"tx-open-{uuid.uuid4().hex[:8]}"})
    tx.init_transactions(15)
    tx.begin_transaction()
    for i in range(3, 6):
        tx.produce(topic, value=f"t{i}".encode(), timestamp=base + i * 1000)
    assert tx.flush(10) == 0
    yield topic, base
    tx.abort_transaction(10)


def test_list_offsets_latest_read_committed_is_the_last_stable_offset(ck_admin, open_transaction):
    from confluent_kafka import IsolationLevel
    from confluent_kafka.admin import OffsetSpec

    topic, base = open_transaction
    assert offsets_for(ck_admin, topic, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED).offset == 6
    assert offsets_for(ck_admin, topic, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED).offset == 3
    assert (
        offsets_for(ck_admin, topic, OffsetSpec.for_timestamp(base + 4000), IsolationLevel.READ_UNCOMMITTED).offset == 4
    )


def test_list_offsets_by_timestamp_read_committed_hides_the_open_transaction(ck_admin, open_transaction):
    from confluent_kafka import IsolationLevel
    from confluent_kafka.admin import OffsetSpec

    topic, base = open_transaction
    assert (
        offsets_for(ck_admin, topic, OffsetSpec.for_timestamp(base + 1000), IsolationLevel.READ_COMMITTED).offset == 1
    )
    assert (
        offsets_for(ck_admin, topic, OffsetSpec.for_timestamp(base + 4000), IsolationLevel.READ_COMMITTED).offset == -1
    )


def test_list_offsets_max_timestamp_read_committed_hides_the_open_transaction(ck_admin, open_transaction):
    from confluent_kafka import IsolationLevel
    from confluent_kafka.admin import OffsetSpec

    topic, _ = open_transaction
    assert offsets_for(ck_admin, topic, OffsetSpec.max_timestamp(), IsolationLevel.READ_COMMITTED).offset == -1


def test_confluent_offsets_for_times_read_committed_consumer(bootstrap, open_transaction):
    from confluent_kafka import Consumer, TopicPartition

    topic, base = open_transaction
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": gid(), "isolation.level": "read_committed"})
    try:
        [found] = c.offsets_for_times([TopicPartition(topic, 0, base + 4000)], timeout=10)
        assert found.offset == -1
    finally:
        c.close()


# -- OffsetFetch require_stable ------------------------------------------------------------------------------


def test_offset_fetch_require_stable_reports_pending_transactional_offsets(bootstrap, create_topic):
    from confluent_kafka import Consumer, TopicPartition

    topic = create_topic()
    group = gid()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    tx = ck_producer(bootstrap, **{"transactional.id": f"tx-us-{uuid.uuid4().hex[:8]}"})
    tx.init_transactions(15)
    tx.begin_transaction()
    tx.produce(topic, b"x")
    assert tx.flush(10) == 0
    tx.send_offsets_to_transaction([TopicPartition(topic, 0, 1)], c.consumer_group_metadata(), 10)

    def fetch(stable: bool):
        r = call(
            bootstrap,
            OFFSET_FETCH,
            7,
            {"group_id": group, "require_stable": stable, "topics": [{"name": topic, "partition_indexes": [0]}]},
        )
        [p] = r.topics[0].partitions
        return int(p.error_code), p.committed_offset

    try:
        assert fetch(True) == (UNSTABLE_OFFSET_COMMIT, -1)
        assert fetch(False) == (0, -1)
        tx.commit_transaction(10)
        assert fetch(True) == (0, 1)
    finally:
        c.close()


# -- KIP-848 at the wire and mixed with the classic protocol ---------------------------------------------------


def _group_coordinator(bootstrap: str) -> str:
    """A new group id whose coordinator is ready (FindCoordinator creates ``__consumer_offsets``)."""
    group = gid()
    wait_until(
        lambda: call(bootstrap, 10, 3, {"key": group, "key_type": 0}).error_code == 0, 30, message="group coordinator"
    )
    return group


def test_consumer_group_heartbeat_v0_joins(bootstrap, create_topic):
    topic = create_topic(partitions=2)
    r = call(
        bootstrap,
        CONSUMER_GROUP_HEARTBEAT,
        0,
        {
            "group_id": _group_coordinator(bootstrap),
            "member_id": str(uuid.uuid4()),
            "member_epoch": 0,
            "instance_id": None,
            "rack_id": None,
            "rebalance_timeout": 30000,
            "subscribed_topic_names": [topic],
            "server_assignor": None,
            "topic_partitions": [],
        },
    )
    assert int(r.error_code) == 0 and r.member_epoch >= 1


def test_consumer_group_heartbeat_v1_joins(bootstrap, create_topic):
    topic = create_topic(partitions=2)
    r = call(
        bootstrap,
        CONSUMER_GROUP_HEARTBEAT,
        1,
        {
            "group_id": _group_coordinator(bootstrap),
            "member_id": str(uuid.uuid4()),
            "member_epoch": 0,
            "instance_id": None,
            "rack_id": None,
            "rebalance_timeout": 30000,
            "subscribed_topic_names": [topic],
            "subscribed_topic_regex": None,
            "server_assignor": None,
            "topic_partitions": [],
        },
    )
    assert int(r.error_code) == 0 and r.member_epoch >= 1


class Member:
    def __init__(self, bootstrap: str, group: str, topic: str, protocol: str):
        from confluent_kafka import Consumer

        self.errors: list[str] = []
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": protocol,
            "enable.auto.commit": False,
            "error_cb": lambda e: self.errors.append(str(e)),
        }
        if protocol == "classic":
            conf["partition.assignment.strategy"] = "cooperative-sticky"
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic])

    def poll(self) -> None:
        m = self.consumer.poll(0.1)
        if m is not None and m.error():
            self.errors.append(str(m.error()))

    def owned(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}


def share_or_fail(members: list[Member], partitions: int, timeout: float = 25.0) -> None:
    """Poll until the members own disjoint non-empty sets covering every partition; stop at the first error."""

    def done():
        for m in members:
            m.poll()
        if any(m.errors for m in members):
            return "error"
        owned = [m.owned() for m in members]
        return all(owned) and sum(len(o) for o in owned) == partitions and set().union(*owned) == set(range(partitions))

    result = wait_until(done, timeout, interval=0, message="the members to share the partitions")
    assert result is True, [m.errors for m in members]


def test_empty_groups_switch_protocol(bootstrap, create_topic):
    """An empty classic group (offsets only) takes a consumer-protocol member, and the empty consumer group
    it leaves behind takes a classic member, as in Kafka 4.0."""
    topic = create_topic(partitions=2)
    group = gid()
    from confluent_kafka import Consumer, TopicPartition

    simple = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    simple.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
    simple.close()
    for protocol in ("consumer", "classic"):
        m = Member(bootstrap, group, topic, protocol)
        try:
            share_or_fail([m], 2)
        finally:
            m.consumer.close()


def test_classic_member_joins_a_consumer_protocol_group(bootstrap, create_topic):
    topic = create_topic(partitions=4)
    group = gid()
    first = Member(bootstrap, group, topic, "consumer")
    second = None
    try:
        share_or_fail([first], 4)
        second = Member(bootstrap, group, topic, "classic")
        share_or_fail([first, second], 4)
    finally:
        for m in (second, first):
            if m is not None:
                m.consumer.close()


def test_consumer_protocol_member_joins_a_classic_group(bootstrap, create_topic):
    topic = create_topic(partitions=4)
    group = gid()
    first = Member(bootstrap, group, topic, "classic")
    second = None
    try:
        share_or_fail([first], 4)
        second = Member(bootstrap, group, topic, "consumer")
        share_or_fail([first, second], 4)
    finally:
        for m in (second, first):
            if m is not None:
                m.consumer.close()
