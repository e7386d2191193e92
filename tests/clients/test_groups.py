"""Consumer groups with real clients: confluent-kafka, kafka-python and aiokafka against Kavka.

Every test uses its own group ids and topics. Timing knobs: a private broker with
``group.initial.rebalance.delay.ms=0`` where a test counts rebalances, and consumers with a short
heartbeat interval so they notice a rebalance quickly. Synchronisation is by conditions with
deadlines, never bare sleeps.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce

FAST = {"heartbeat.interval.ms": 300, "session.timeout.ms": 6000}


def gid() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fast_broker(broker_factory):
    """A private broker whose new groups rebalance at once (no initial delay)."""
    return broker_factory(overrides={"num.partitions": "1", "group.initial.rebalance.delay.ms": "0"})


def produce_per_partition(bootstrap: str, topic: str, partitions: int, per_partition: int = 3) -> None:
    ck_produce(
        bootstrap,
        topic,
        [
            Out(key=None, value=f"{p}-{i}".encode(), partition=p)
            for p in range(partitions)
            for i in range(per_partition)
        ],
    )


def ck_group_consumer(bootstrap: str, group: str, **conf):
    from confluent_kafka import Consumer

    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **FAST,
    }
    config.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(config)


class Tracker:
    """A subscribed confluent-kafka consumer and what its rebalance callbacks reported."""

    def __init__(self, consumer, topic: str, cooperative: bool = False):
        self.consumer = consumer
        self.cooperative = cooperative
        self.assigned: set[int] = set()
        self.revoked: list[set[int]] = []
        self.assign_events = 0
        self.records: list = []
        consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, partitions):
        # the client assigns (incrementally, when cooperative) once the callback returns
        self.assign_events += 1
        if self.cooperative:
            self.assigned |= {p.partition for p in partitions}
        else:
            self.assigned = {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        gone = {p.partition for p in partitions}
        self.revoked.append(gone)
        if self.cooperative:
            self.assigned -= gone
        else:
            self.assigned = set()

    def poll(self, timeout: float = 0.05) -> None:
        m = self.consumer.poll(timeout)
        if m is not None and m.error() is None:
            self.records.append(m)


def poll_until(trackers, condition, timeout: float = 40.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, (
            f"timed out waiting for {message}: assignments {[sorted(t.assigned) for t in trackers]}"
        )
        for t in trackers:
            t.poll(0.02)


def exact_cover(trackers, partitions: int) -> bool:
    seen = [p for t in trackers for p in t.assigned]
    return sorted(seen) == list(range(partitions))


# --- confluent-kafka -------------------------------------------------------------------------------


def test_three_consumers_share_six_partitions_and_a_second_group_reads_everything(fast_broker, create_topic):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=6, bootstrap=bootstrap)
    produce_per_partition(bootstrap, topic, 6)
    group = gid()
    trackers = [Tracker(ck_group_consumer(bootstrap, group), topic) for _ in range(3)]
    try:
        poll_until(
            trackers,
            lambda: exact_cover(trackers, 6) and all(len(t.assigned) == 2 for t in trackers),
            message="2 partitions each",
        )
        other = gid()
        solo = Tracker(ck_group_consumer(bootstrap, other), topic)
        poll_until([solo], lambda: len(solo.records) >= 18, message="the second group reading all 18")
        assert {(m.partition(), m.offset()) for m in solo.records} == {(p, i) for p in range(6) for i in range(3)}
        solo.consumer.close()
    finally:
        for t in trackers:
            t.consumer.close()


def test_consumers_beyond_the_partition_count_sit_idle(fast_broker, create_topic):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=2, bootstrap=bootstrap)
    group = gid()
    trackers = [Tracker(ck_group_consumer(bootstrap, group), topic) for _ in range(3)]
    try:
        poll_until(
            trackers,
            lambda: exact_cover(trackers, 2) and sum(1 for t in trackers if t.assign_events) == 3,
            message="two consumers with one partition, one with none",
        )
        assert sorted(len(t.assigned) for t in trackers) == [0, 1, 1]
    finally:
        for t in trackers:
            t.consumer.close()


def test_a_consumer_leaving_hands_its_partitions_to_the_others(fast_broker, create_topic):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=4, bootstrap=bootstrap)
    group = gid()
    a, b = (Tracker(ck_group_consumer(bootstrap, group), topic) for _ in range(2))
    try:
        poll_until([a, b], lambda: exact_cover([a, b], 4) and a.assigned and b.assigned, message="a split")
        b.consumer.close()  # LeaveGroup
        poll_until([a], lambda: a.assigned == {0, 1, 2, 3}, message="the survivor owning all")
    finally:
        a.consumer.close()


def test_cooperative_sticky_moves_only_what_it_must(fast_broker, create_topic):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=6, bootstrap=bootstrap)
    group = gid()
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    a, b = (Tracker(ck_group_consumer(bootstrap, group, **conf), topic, True) for _ in range(2))
    c = None
    try:
        poll_until([a, b], lambda: exact_cover([a, b], 6) and len(a.assigned) == 3, message="3 + 3")
        before = {"a": set(a.assigned), "b": set(b.assigned)}
        a.revoked.clear()
        b.revoked.clear()
        c = Tracker(ck_group_consumer(bootstrap, group, **conf), topic, True)
        poll_until(
            [a, b, c],
            lambda: exact_cover([a, b, c], 6) and all(len(t.assigned) == 2 for t in (a, b, c)),
            message="2 + 2 + 2",
        )
        # each old member kept two of its three partitions and gave up only the one that moved
        assert a.assigned <= before["a"] and b.assigned <= before["b"]
        for t, name in ((a, "a"), (b, "b")):
            revoked = set().union(*t.revoked) if t.revoked else set()
            assert revoked == before[name] - t.assigned
    finally:
        for t in (a, b, c):
            if t is not None:
                t.consumer.close()


def test_commit_with_metadata_is_fetched_back_and_resumed_from(bootstrap, create_topic):
    from confluent_kafka import TopicPartition

    topic = create_topic(partitions=1)
    produce_per_partition(bootstrap, topic, 1, per_partition=10)
    group = gid()
    c = ck_group_consumer(bootstrap, group)
    try:
        c.assign([TopicPartition(topic, 0, 0)])  # no subscription: a "simple" consumer commit
        c.commit(offsets=[TopicPartition(topic, 0, 7, metadata="checkpoint-7")], asynchronous=False)
        [tp] = c.committed([TopicPartition(topic, 0)], timeout=10)
        assert (tp.offset, tp.metadata) == (7, "checkpoint-7")
    finally:
        c.close()
    resumed = Tracker(ck_group_consumer(bootstrap, group), topic)
    try:
        poll_until([resumed], lambda: len(resumed.records) >= 3, message="records after the commit")
        assert [m.offset() for m in resumed.records[:3]] == [7, 8, 9]
    finally:
        resumed.consumer.close()


@pytest.mark.parametrize("how", ["restart", "kill -9"])
def test_commits_survive_a_broker_restart(broker_factory, create_topic, how):
    from confluent_kafka import TopicPartition

    b = broker_factory(overrides={"group.initial.rebalance.delay.ms": "0"})
    topic = create_topic(partitions=2, bootstrap=b.bootstrap)
    produce_per_partition(b.bootstrap, topic, 2, per_partition=5)
    group = gid()
    t = Tracker(ck_group_consumer(b.bootstrap, group), topic)
    try:
        poll_until([t], lambda: len(t.records) >= 10, message="all 10 records")
        t.consumer.commit(
            offsets=[TopicPartition(topic, 0, 3, metadata="m0"), TopicPartition(topic, 1, 5, metadata="m1")],
            asynchronous=False,
        )
    finally:
        t.consumer.close()
    if how == "restart":
        b.restart()
    else:
        b.restart(clean=False)
    c = ck_group_consumer(b.bootstrap, group)
    try:
        got = wait_until(
            lambda: c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=5),
            30,
            message="committed offsets after the restart",
        )
        assert [(tp.offset, tp.metadata) for tp in got] == [(3, "m0"), (5, "m1")]
    finally:
        c.close()
    again = Tracker(ck_group_consumer(b.bootstrap, group), topic)
    try:
        poll_until([again], lambda: len(again.records) >= 2, message="the records after partition 0's commit")
        assert sorted((m.partition(), m.offset()) for m in again.records) == [(0, 3), (0, 4)]
    finally:
        again.consumer.close()


def test_static_member_restart_does_not_rebalance_the_others(fast_broker, create_topic):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=4, bootstrap=bootstrap)
    group = gid()
    a = Tracker(ck_group_consumer(bootstrap, group, **{"group.instance.id": "static-a"}), topic)
    b = Tracker(ck_group_consumer(bootstrap, group, **{"group.instance.id": "static-b"}), topic)
    try:
        poll_until([a, b], lambda: exact_cover([a, b], 4) and a.assigned and b.assigned, message="a split")
        b_had = set(b.assigned)
        a_events = a.assign_events
        a.revoked.clear()
        b.consumer.close()  # a static member sends no LeaveGroup: its place is kept for the session
        b = Tracker(ck_group_consumer(bootstrap, group, **{"group.instance.id": "static-b"}), topic)
        poll_until([a, b], lambda: b.assigned == b_had, message="b getting its partitions back")
        for _ in range(20):  # a while longer: a must see no rebalance at all
            a.poll(0.05)
        assert a.assign_events == a_events and not a.revoked
    finally:
        a.consumer.close()
        b.consumer.close()


def test_admin_list_describe_and_delete_groups(bootstrap, create_topic):
    from confluent_kafka import ConsumerGroupState, TopicPartition
    from confluent_kafka.admin import AdminClient

    topic = create_topic(partitions=2)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    active, idle = gid(), gid()
    t = Tracker(ck_group_consumer(bootstrap, active, **{"client.id": "describe-me"}), topic)
    c = ck_group_consumer(bootstrap, idle)
    try:
        poll_until([t], lambda: t.assigned == {0, 1}, message="the active group's assignment")
        c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        listed = admin.list_consumer_groups(request_timeout=10).result()
        states = {g.group_id: g.state for g in listed.valid}
        assert states[active] == ConsumerGroupState.STABLE and states[idle] == ConsumerGroupState.EMPTY
        desc = admin.describe_consumer_groups([active], request_timeout=10)[active].result()
        assert desc.state == ConsumerGroupState.STABLE and desc.partition_assignor == "range"
        [member] = desc.members
        assert member.client_id == "describe-me" and member.host.startswith("/127.0.0.1")
        assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1]
        futures = admin.delete_consumer_groups([active, idle], request_timeout=10)
        with pytest.raises(Exception, match="NON_EMPTY_GROUP"):
            futures[active].result()
        futures[idle].result()
        listed = admin.list_consumer_groups(request_timeout=10).result()
        assert idle not in {g.group_id for g in listed.valid}
    finally:
        t.consumer.close()
        c.close()


# --- kafka-python and aiokafka ----------------------------------------------------------------------


def kp_group_consumer(bootstrap: str, topic: str, group: str, **conf):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        heartbeat_interval_ms=300,
        session_timeout_ms=6000,
        **conf,
    )


class KpPoller(threading.Thread):
    """Polls one kafka-python consumer in its own thread until told to stop.

    Each consumer gets its own thread and long polls: kafka-python 3 starts a new JoinGroup when a
    poll times out while its previous join is finishing, and a leader that rejoins starts yet
    another rebalance, so short polls of several consumers from one thread can rebalance forever.
    """

    def __init__(self, consumer):
        super().__init__(daemon=True)
        self.consumer = consumer
        self.records: list = []
        self.assigned: set[int] = set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for msgs in self.consumer.poll(timeout_ms=500).values():
                self.records.extend(msgs)
            self.assigned = {tp.partition for tp in self.consumer.assignment()}


def test_kafka_python_group_and_offset_delete(fast_broker, create_topic):
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.structs import OffsetAndMetadata

    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=2, bootstrap=bootstrap)
    produce_per_partition(bootstrap, topic, 2, per_partition=4)
    group = gid()
    pollers = [KpPoller(kp_group_consumer(bootstrap, topic, group)) for _ in range(2)]
    for p in pollers:
        p.start()
    try:
        wait_until(
            lambda: sum(len(p.records) for p in pollers) >= 8 and all(p.assigned for p in pollers),
            40,
            message="both members reading",
        )
    finally:
        for p in pollers:
            p.stop.set()
        for p in pollers:
            p.join(10)
    try:
        owners = [{m.partition for m in p.records} for p in pollers]
        assert owners[0] and owners[1] and not owners[0] & owners[1]
        for p in pollers:
            p.consumer.commit(
                {TopicPartition(topic, m.partition): OffsetAndMetadata(m.offset + 1, "kp", -1) for m in p.records}
            )
        assert pollers[0].consumer.committed(TopicPartition(topic, 0)) == 4
    finally:
        for p in pollers:
            p.consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_group_offsets(group, [TopicPartition(topic, 0)])
        offsets = admin.list_group_offsets(group)[group]
        assert TopicPartition(topic, 0) not in offsets and offsets[TopicPartition(topic, 1)].offset == 4
    finally:
        admin.close()


def test_mixed_kafka_python_and_confluent_members(fast_broker, create_topic):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=4, bootstrap=bootstrap)
    group = gid()
    kp = KpPoller(kp_group_consumer(bootstrap, topic, group))
    kp.start()
    ck = Tracker(ck_group_consumer(bootstrap, group), topic)
    try:

        def split() -> bool:
            ck.poll(0.05)
            mine = kp.assigned
            return bool(mine and ck.assigned and sorted(mine | ck.assigned) == [0, 1, 2, 3] and not mine & ck.assigned)

        wait_until(split, 40, interval=0, message="kafka-python and confluent-kafka sharing 4 partitions")
    finally:
        kp.stop.set()
        kp.join(10)
        ck.consumer.close()
        kp.consumer.close()


def test_aiokafka_group(fast_broker, create_topic):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=2, bootstrap=bootstrap)
    produce_per_partition(bootstrap, topic, 2, per_partition=3)
    group = gid()

    async def run():
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            heartbeat_interval_ms=300,
            session_timeout_ms=6000,
        )
        await consumer.start()
        try:
            got = []
            deadline = time.monotonic() + 40
            while len(got) < 6:
                assert time.monotonic() < deadline, got
                batches = await consumer.getmany(timeout_ms=200)
                for msgs in batches.values():
                    got.extend(msgs)
            await consumer.commit()
            return await consumer.committed(TopicPartition(topic, 0)), await consumer.committed(
                TopicPartition(topic, 1)
            )
        finally:
            await consumer.stop()

    assert asyncio.run(run()) == (3, 3)
