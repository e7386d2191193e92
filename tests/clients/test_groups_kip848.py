"""KIP-848 consumer groups with a real client: confluent-kafka (librdkafka) with ``group.protocol=consumer``.

The broker assigns (``uniform`` by default, ``range`` on request) and members reconcile
incrementally. Each test starts a private broker with a short ``group.consumer.heartbeat.interval.ms``
(and ``group.consumer.min.heartbeat.interval.ms`` lowered to allow it, as Kafka requires) so members
notice changes quickly; synchronisation is by conditions with deadlines, never sleeps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from kavka.testing.process import BrokerProcessError
from kavka.testing.process import create_topic as admin_create_topic
from tests.clients.adminwire import call
from tests.clients.clientlib import Out, ck_produce

FAST = {
    "group.consumer.heartbeat.interval.ms": "300",
    "group.consumer.min.heartbeat.interval.ms": "300",
    "num.partitions": "1",
}


def gid() -> str:
    return f"g848-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kip848_broker(broker_factory):
    return broker_factory(overrides=FAST)


def consumer(bootstrap: str, group: str, **conf):
    from confluent_kafka import Consumer

    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
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
        self.consumer.subscribe(
            list(topics), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
        )

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
            f"timed out waiting for {message}: {[sorted(m.assigned) for m in members if not m.closed]}"
        )
        for m in members:
            m.poll()


def exact_cover(members, topic: str, partitions: int) -> bool:
    seen = [p for m in members if not m.closed for p in m.partitions(topic)]
    return sorted(seen) == list(range(partitions))


def produce(bootstrap: str, topic: str, partitions: int, per_partition: int, start: int = 0) -> None:
    ck_produce(
        bootstrap,
        topic,
        [
            Out(key=None, value=f"{p}-{i}".encode(), partition=p)
            for p in range(partitions)
            for i in range(start, start + per_partition)
        ],
    )


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
    group = gid()
    members = [Member(bootstrap, group, [topic]) for _ in range(3)]
    try:
        poll_until(
            members,
            lambda: exact_cover(members, topic, 6) and all(len(m.partitions(topic)) == 2 for m in members),
            message="2 partitions each",
        )
        # produced once the group settled: a record read by a member that then gave its partition away
        # (nothing committed yet) would be read again by the next owner, by design
        produce(bootstrap, topic, 6, 5)
        poll_until(members, lambda: sum(len(m.records) for m in members) == 30, message="all 30 records")
        for m in members:
            m.consumer.commit(asynchronous=False)
        # one member leaves (epoch -1): its partitions move to the two others
        gone = members[0].partitions(topic)
        members[0].close()
        rest = members[1:]
        poll_until(
            rest,
            lambda: exact_cover(rest, topic, 6) and all(len(m.partitions(topic)) == 3 for m in rest),
            message="the leaver's partitions moved",
        )
        assert gone <= rest[0].partitions(topic) | rest[1].partitions(topic)
        # the committed offsets hold: the survivors read nothing again, only what is new
        produce(bootstrap, topic, 6, 2, start=5)
        poll_until(
            rest,
            lambda: (
                sum(len(m.records) for m in rest)
                - sum(1 for m in rest for r in m.records if int(r.value().split(b"-")[1]) < 5)
                == 12
            ),
            message="the 12 new records",
        )
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
        poll_until(
            members,
            lambda: exact_cover(members, topic, 6) and all(len(m.partitions(topic)) == 3 for m in members),
            message="3 partitions each",
        )
        before = [set(m.assigned) for m in first]
        for m in first:
            m.revoked.clear()
        members.append(Member(bootstrap, group, [topic]))
        poll_until(
            members,
            lambda: exact_cover(members, topic, 6) and all(len(m.partitions(topic)) == 2 for m in members),
            message="2 partitions each",
        )
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
        poll_until(
            members,
            lambda: exact_cover(members, topic, 6) and all(len(m.partitions(topic)) == 3 for m in members),
            message="3 partitions each",
        )
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
        poll_until([m], lambda: len([r for r in m.records if r.topic() == later]) == 3, message="orders-us records")
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

    committed = client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=10)[
        group
    ].result()
    assert {tp.partition: tp.offset for tp in committed.topic_partitions if tp.topic == topic} == {
        p: 3 for p in range(4)
    }


# --- session timeout and the limits on it ------------------------------------------------------------

# A KIP-848 member in its own process, so that the test can make it stop heartbeating at once (SIGKILL:
# no leave heartbeat, as a crashed host). It writes what it owns to a file whenever that changes.
_MEMBER_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from confluent_kafka import Consumer

    bootstrap, group, topic, status = sys.argv[1:]
    owned = set()

    def write():
        with open(status + ".tmp", "w") as f:
            json.dump(sorted(owned), f)
        os.replace(status + ".tmp", status)

    def assigned(consumer, partitions):
        owned.update(p.partition for p in partitions)
        write()

    def revoked(consumer, partitions):
        owned.difference_update(p.partition for p in partitions)
        write()

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic], on_assign=assigned, on_revoke=revoked, on_lost=revoked)
    while True:
        c.poll(0.1)
""")


def _owned_by_child(status) -> set[int]:
    try:
        with open(status) as f:
            return set(json.load(f))
    except (OSError, ValueError):
        return set()


SESSION_MS = 6000


def test_a_member_that_stops_heartbeating_is_fenced_after_the_session_timeout(broker_factory, tmp_path):
    broker = broker_factory(
        overrides={
            **FAST,
            "group.consumer.session.timeout.ms": str(SESSION_MS),
            "group.consumer.min.session.timeout.ms": str(SESSION_MS),
        }
    )
    bootstrap = broker.bootstrap
    topic = admin_create_topic(bootstrap, f"st848-{uuid.uuid4().hex[:8]}", 4, None, 1)
    group = gid()
    status = tmp_path / "child-owns.json"
    stayer = Member(bootstrap, group, [topic])
    child = subprocess.Popen(
        [sys.executable, "-c", _MEMBER_SCRIPT, bootstrap, group, topic, str(status)], stdin=subprocess.DEVNULL
    )
    try:
        poll_until(
            [stayer],
            lambda: (
                len(_owned_by_child(status)) == 2
                and len(stayer.partitions(topic)) == 2
                and not (_owned_by_child(status) & stayer.partitions(topic))
            ),
            timeout=60,
            message="two partitions each",
        )
        client = admin(bootstrap)
        assert len(client.describe_consumer_groups([group], request_timeout=10)[group].result().members) == 2
        child.kill()  # no leave: the member just goes silent
        child.wait(timeout=30)
        silent_since = time.monotonic()
        poll_until(
            [stayer],
            lambda: stayer.partitions(topic) == {0, 1, 2, 3},
            timeout=60,
            message="the silent member's partitions moved",
        )
        waited = time.monotonic() - silent_since
        # fenced by its session expiring (its last heartbeat was at most one interval before the kill),
        # not by anything sooner
        assert waited >= SESSION_MS / 1000 - 1.0, waited
        described = client.describe_consumer_groups([group], request_timeout=10)[group].result()
        assert len(described.members) == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        stayer.close()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"group.consumer.heartbeat.interval.ms": "300"},
            "group.consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms",
        ),
        (
            {"group.consumer.session.timeout.ms": "90000"},
            "group.consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms",
        ),
    ],
)
def test_the_broker_refuses_to_start_with_timings_out_of_their_bounds(broker_factory, overrides, message):
    with pytest.raises(BrokerProcessError) as e:
        broker_factory(overrides=overrides)
    assert message in str(e.value)


# --- OffsetFetch v9 and OffsetCommit v9 at the wire ------------------------------------------------------

OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, CONSUMER_GROUP_HEARTBEAT = 8, 9, 10, 68
UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH = 25, 113


def _fetch_v9(bootstrap: str, group: str, topic: str, member_id, member_epoch: int):
    r = call(
        bootstrap,
        OFFSET_FETCH,
        9,
        {
            "require_stable": False,
            "groups": [
                {
                    "group_id": group,
                    "member_id": member_id,
                    "member_epoch": member_epoch,
                    "topics": [{"name": topic, "partition_indexes": [0]}],
                }
            ],
        },
    )
    [g] = r.groups
    return int(g.error_code), [int(p.committed_offset) for t in g.topics for p in t.partitions]


def _commit_v9(bootstrap: str, group: str, topic: str, member_id: str, epoch: int, offset: int) -> int:
    r = call(
        bootstrap,
        OFFSET_COMMIT,
        9,
        {
            "group_id": group,
            "generation_id_or_member_epoch": epoch,
            "member_id": member_id,
            "group_instance_id": None,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": offset,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "",
                        }
                    ],
                }
            ],
        },
    )
    return int(r.topics[0].partitions[0].error_code)


def test_offset_fetch_v9_and_offset_commit_v9_check_the_member_and_its_epoch(kip848_broker):
    """librdkafka's consumer sends OffsetFetch v9 without member fields, so the member checks are driven
    here at the wire: a member joins with ConsumerGroupHeartbeat v1, commits and fetches with its epoch."""
    bootstrap = kip848_broker.bootstrap
    topic = admin_create_topic(bootstrap, f"of848-{uuid.uuid4().hex[:8]}", 1, None, 1)
    group, member_id = gid(), uuid.uuid4().hex
    deadline = time.monotonic() + 30
    while True:  # FindCoordinator makes __consumer_offsets, as a client's first look for its coordinator does
        [found] = call(bootstrap, FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": [group]}).coordinators
        if found.error_code == 0:
            break
        assert time.monotonic() < deadline, found
    joined = call(
        bootstrap,
        CONSUMER_GROUP_HEARTBEAT,
        1,
        {
            "group_id": group,
            "member_id": member_id,
            "member_epoch": 0,
            "instance_id": None,
            "rack_id": None,
            "rebalance_timeout": 30_000,
            "subscribed_topic_names": [topic],
            "subscribed_topic_regex": None,
            "server_assignor": None,
            "topic_partitions": [],
        },
    )
    assert joined.error_code == 0, joined
    epoch = int(joined.member_epoch)
    assert epoch > 0
    assert _commit_v9(bootstrap, group, topic, member_id, epoch, 42) == 0
    assert _commit_v9(bootstrap, group, topic, member_id, epoch + 1, 43) == STALE_MEMBER_EPOCH
    assert _commit_v9(bootstrap, group, topic, "stranger", epoch, 43) == UNKNOWN_MEMBER_ID
    assert _fetch_v9(bootstrap, group, topic, member_id, epoch) == (0, [42])
    assert _fetch_v9(bootstrap, group, topic, None, -1) == (0, [42])  # an admin's fetch: not checked
    assert _fetch_v9(bootstrap, group, topic, member_id, epoch - 1) == (STALE_MEMBER_EPOCH, [])
    assert _fetch_v9(bootstrap, group, topic, "stranger", epoch) == (UNKNOWN_MEMBER_ID, [])
    # the member leaves: its id is unknown from now on
    left = call(
        bootstrap,
        CONSUMER_GROUP_HEARTBEAT,
        1,
        {
            "group_id": group,
            "member_id": member_id,
            "member_epoch": -1,
            "instance_id": None,
            "rack_id": None,
            "rebalance_timeout": -1,
            "subscribed_topic_names": None,
            "subscribed_topic_regex": None,
            "server_assignor": None,
            "topic_partitions": None,
        },
    )
    assert left.error_code == 0
    assert _fetch_v9(bootstrap, group, topic, member_id, epoch) == (UNKNOWN_MEMBER_ID, [])
    # a KIP-848 consumer of the same group still resumes from the committed offset
    produce(bootstrap, topic, 1, 45)
    m = Member(bootstrap, group, [topic])
    try:
        poll_until([m], lambda: len(m.records) == 3, message="the records after the committed offset")
        assert [r.offset() for r in m.records] == [42, 43, 44]
    finally:
        m.close()
