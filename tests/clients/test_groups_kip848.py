"""KIP-848 consumer groups with a real client: confluent-kafka (librdkafka) with ``group.protocol=consumer``.

The broker assigns (``uniform`` by default, ``range`` on request) and members reconcile
incrementally. Each test starts a private broker with a short ``group.consumer.heartbeat.interval.ms``
so members notice changes quickly; synchronisation is by conditions with deadlines, never sleeps.
"""

from __future__ import annotations

import time
import uuid

import pytest
from clientlib import Out, ck_produce

from kavka.testing.process import create_topic as admin_create_topic

FAST = {"group.consumer.heartbeat.interval.ms": "300", "num.partitions": "1"}


def gid() -> str:
    return f"g848-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kip848_broker(broker_factory):
    return broker_factory(overrides=FAST)


def consumer(bootstrap: str, group: str, **conf):
    from confluent_kafka import Consumer

    config = {
        "bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    }
    config.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(config)


class Member:
    """A subscribed consumer, what its rebalance callbacks said it owns, and what it read."""

    def __init__(self, bootstrap: str, group: str, topics, **conf):
        self.consumer = consumer(bootstrap, group, **conf)
        self.assigned: set[tuple[str, int]] = set()
        self.records: list = []
        self.revoked: list[set[tuple[str, int]]] = []
        self.closed = False
        self.consumer.subscribe(list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)

    def _on_assign(self, consumer, partitions):
        # KIP-848 rebalances are incremental: the callbacks carry only what changed
        self.assigned |= {(p.topic, p.partition) for p in partitions}

    def _on_revoke(self, consumer, partitions):
        gone = {(p.topic, p.partition) for p in partitions}
        if gone:
            self.revoked.append(gone)
        self.assigned -= gone

    def poll(self, timeout: float = 0.02) -> None:
        if self.closed:
            return
        m = self.consumer.poll(timeout)
        if m is not None and m.error() is None:
            self.records.append(m)

    def partitions(self, topic: str) -> set[int]:
        return {p for t, p in self.assigned if t == topic}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.consumer.close()


def poll_until(members, condition, timeout: float = 40.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, (
            f"timed out waiting for {message}: {[sorted(m.assigned) for m in members if not m.closed]}")
        for m in members:
            m.poll()


def exact_cover(members, topic: str, partitions: int) -> bool:
    seen = [p for m in members if not m.closed for p in m.partitions(topic)]
    return sorted(seen) == list(range(partitions))


def produce(bootstrap: str, topic: str, partitions: int, per_partition: int, start: int = 0) -> None:
    ck_produce(bootstrap, topic, [
        Out(key=None, value=f"{p}-{i}".encode(), partition=p)
        for p in range(partitions) for i in range(start, start + per_partition)])


def admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def close_all(members) -> None:
    for m in members:
        m.close()


# --- tests -----------------------------------------------------------------------------------------


def test_three_members_share_six_partitions_one_leaves_commit_and_resume(kip848_broker):
    bootstrap = kip848_broker.bootstrap
    topic = admin_create_topic(bootstrap, f"t848-{uuid.uuid4().hex[:8]}", 6, None, 1)
    produce(bootstrap, topic, 6, 5)
    group = gid()
    members = [Member(bootstrap, group, [topic]) for _ in range(3)]
    try:
        poll_until(members, lambda: exact_cover(members, topic, 6)
                   and all(len(m.partitions(topic)) == 2 for m in members), message="2 partitions each")
        poll_until(members, lambda: sum(len(m.records) for m in members) == 30, message="all 30 records")
        for m in members:
            m.consumer.commit(asynchronous=False)
        # one member leaves (epoch -1): its partitions move to the two others
        gone = members[0].partitions(topic)
        members[0].close()
        rest = members[1:]
        poll_until(rest, lambda: exact_cover(rest, topic, 6) and all(len(m.partitions(topic)) == 3 for m in rest),
                   message="the leaver's partitions moved")
        assert gone <= rest[0].partitions(topic) | rest[1].partitions(topic)
        # the committed offsets hold: the survivors read nothing again, only what is new
        produce(bootstrap, topic, 6, 2, start=5)
        poll_until(rest, lambda: sum(len(m.records) for m in rest) - sum(
            1 for m in rest for r in m.records if int(r.value().split(b"-")[1]) < 5) == 12,
            message="the 12 new records")
        seen = [(r.partition(), r.offset()) for m in members for r in m.records]
        assert len(seen) == len(set(seen)) == 42  # nothing read twice
        for m in rest:
            m.consumer.commit(asynchronous=False)
    finally:
        close_all(members)
    # a new member of the same group resumes at the committed offsets: nothing left to read
    produce(bootstrap, topic, 6, 1, start=7)
    late = Member(bootstrap, group, [topic])
    try:
        poll_until([late], lambda: len(late.records) == 6, message="the 6 records after the commit")
        assert {int(r.value().split(b"-")[1]) for r in late.records} == {7}
    finally:
        late.close()
    client = admin(bootstrap)  # kept referenced until the result is in
    listed = client.list_consumer_groups(request_timeout=10).result()
    [entry] = [g for g in listed.valid if g.group_id == group]
    assert str(entry.type).endswith("CONSUMER")


def test_a_joining_member_takes_partitions_only_from_the_others_surplus(kip848_broker):
    bootstrap = kip848_broker.bootstrap
    topic = admin_create_topic(bootstrap, f"j848-{uuid.uuid4().hex[:8]}", 6, None, 1)
    group = gid()
    first = [Member(bootstrap, group, [topic]) for _ in range(2)]
    members = list(first)
    try:
        poll_until(members, lambda: exact_cover(members, topic, 6)
                   and all(len(m.partitions(topic)) == 3 for m in members), message="3 partitions each")
        before = [set(m.assigned) for m in first]
        for m in first:
            m.revoked.clear()
        members.append(Member(bootstrap, group, [topic]))
        poll_until(members, lambda: exact_cover(members, topic, 6)
                   and all(len(m.partitions(topic)) == 2 for m in members), message="2 partitions each")
        for m, had in zip(first, before):
            # incremental: each keeps two of its three partitions and gives up exactly one
            assert m.assigned < had and sum(len(r) for r in m.revoked) == 1
    finally:
        close_all(members)


def test_range_assignor(kip848_broker):
    bootstrap = kip848_broker.bootstrap
    topic = admin_create_topic(bootstrap, f"r848-{uuid.uuid4().hex[:8]}", 6, None, 1)
    group = gid()
    members = [Member(bootstrap, group, [topic], **{"group.remote.assignor": "range"}) for _ in range(2)]
    try:
        poll_until(members, lambda: exact_cover(members, topic, 6)
                   and all(len(m.partitions(topic)) == 3 for m in members), message="3 partitions each")
        assert sorted(tuple(sorted(m.partitions(topic))) for m in members) == [(0, 1, 2), (3, 4, 5)]
        client = admin(bootstrap)
        described = client.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert str(described.type).endswith("CONSUMER") and described.partition_assignor == "range"
        assert len(described.members) == 2
        assert sorted(len(m.assignment.topic_partitions) for m in described.members) == [3, 3]
    finally:
        close_all(members)


def test_regex_subscription_picks_up_a_topic_created_later(kip848_broker):
    bootstrap = kip848_broker.bootstrap
    first = admin_create_topic(bootstrap, "orders-eu", 2, None, 1)
    admin_create_topic(bootstrap, "payments", 1, None, 1)
    group = gid()
    m = Member(bootstrap, group, ["^orders-.*"])
    try:
        poll_until([m], lambda: m.partitions(first) == {0, 1}, message="orders-eu assigned")
        assert m.partitions("payments") == set()
        later = admin_create_topic(bootstrap, "orders-us", 3, None, 1)
        produce(bootstrap, later, 3, 1)
        poll_until([m], lambda: m.partitions(later) == {0, 1, 2}, message="orders-us assigned")
        poll_until([m], lambda: len([r for r in m.records if r.topic() == later]) == 3,
                   message="orders-us records")
    finally:
        m.close()


def test_broker_restart_keeps_the_group_and_its_offsets(kip848_broker):
    bootstrap = kip848_broker.bootstrap
    topic = admin_create_topic(bootstrap, f"s848-{uuid.uuid4().hex[:8]}", 4, None, 1)
    produce(bootstrap, topic, 4, 3)
    group = gid()
    m = Member(bootstrap, group, [topic])
    try:
        poll_until([m], lambda: len(m.records) == 12, message="12 records")
        m.consumer.commit(asynchronous=False)
        client = admin(bootstrap)
        before = client.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert len(before.members) == 1
        kip848_broker.restart()
        # the member is still in the group after the restart (its session was replayed) and goes on
        after = client.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert [x.member_id for x in after.members] == [x.member_id for x in before.members]
        produce(bootstrap, topic, 4, 1, start=3)
        poll_until([m], lambda: len(m.records) == 16, timeout=60, message="records after the restart")
        assert len({(r.partition(), r.offset()) for r in m.records}) == 16
    finally:
        m.close()
    from confluent_kafka import ConsumerGroupTopicPartitions

    committed = client.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group)], request_timeout=10)[group].result()
    assert {tp.partition: tp.offset for tp in committed.topic_partitions if tp.topic == topic} == {
        p: 3 for p in range(4)}
