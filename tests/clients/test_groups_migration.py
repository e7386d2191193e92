"""Rolling migrations of a consumer group between the classic and KIP-848 protocols, with real clients.

Kafka 4.0 lets the two protocols share a group (``group.consumer.migration.policy``, bidirectional by
default): a consumer-protocol member joining a classic group converts it into a consumer group, the
remaining classic members are served inside it, and when the last consumer-protocol member leaves the
group goes back to being a classic group. Operators use that to switch ``group.protocol`` one
instance at a time. These tests do exactly that while records keep arriving: each member is a
separate process running a confluent-kafka consumer that commits synchronously after processing each
record (and reports each record it processed, on stdout, before committing it), and at the end every
record must have been processed exactly once and the committed offsets must be the log end.

Each test has a private broker with ``group.initial.rebalance.delay.ms=0`` and a short
``group.consumer.heartbeat.interval.ms``; synchronisation is by conditions with deadlines.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter

import pytest

from kavka.testing.process import create_topic as admin_create_topic
from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce

FAST = {
    "group.consumer.heartbeat.interval.ms": "500",
    "group.consumer.min.heartbeat.interval.ms": "500",
    "group.initial.rebalance.delay.ms": "0",
    "num.partitions": "1",
}
PARTITIONS = 6

MEMBER = r"""
import json, signal, sys, time
from confluent_kafka import Consumer, KafkaException, TopicPartition

conf, topic, work_s = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3])
running = True

def stop(*_):
    global running
    running = False

signal.signal(signal.SIGTERM, stop)

def say(*event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()

uncommitted = {}  # partition -> next offset, when the commit after processing failed

def on_revoke(consumer, partitions):
    mine = [TopicPartition(topic, p.partition, uncommitted.pop(p.partition))
            for p in partitions if p.partition in uncommitted]
    if mine:
        try:
            consumer.commit(offsets=mine, asynchronous=False)
            say("committed-on-revoke", [p.partition for p in mine])
        except KafkaException as e:
            say("commit-failed-on-revoke", [p.partition for p in mine], str(e))
    say("revoked", sorted(p.partition for p in partitions))

consumer = Consumer(conf)
consumer.subscribe([topic], on_assign=lambda c, ps: say("assigned", sorted(p.partition for p in ps)),
                   on_revoke=on_revoke, on_lost=lambda c, ps: say("lost", sorted(p.partition for p in ps)))
say("started")
while running:
    m = consumer.poll(0.1)
    if m is None or m.error() is not None:
        continue
    time.sleep(work_s)                                  # the "processing"
    say("processed", m.partition(), m.offset())
    try:
        consumer.commit(message=m, asynchronous=False)  # commit after processing
        uncommitted.pop(m.partition(), None)
    except KafkaException as e:
        uncommitted[m.partition()] = m.offset() + 1
        say("commit-failed", m.partition(), m.offset(), str(e))
consumer.close()
say("closed")
"""


class Member:
    """One consumer process (``protocol`` classic or consumer) and what it reported so far."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        name: str,
        protocol: str,
        assignor: str = "cooperative-sticky",
        work_s: float = 0.002,
    ):
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "group.protocol": protocol,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            # the group's side of librdkafka's log, kept in a file: it is shown when a member fails
            "debug": "cgrp",
        }
        if protocol == "classic":
            conf.update(
                {"partition.assignment.strategy": assignor, "session.timeout.ms": 10_000, "heartbeat.interval.ms": 300}
            )
        self.name, self.protocol = name, protocol
        self.assigned: set[int] = set()
        self.processed: list[tuple[int, int]] = []
        self.events: list[list] = []
        self.stderr = tempfile.TemporaryFile("w+")  # a file, not a pipe: librdkafka's log never blocks it
        self.proc = subprocess.Popen(
            [sys.executable, "-c", MEMBER, json.dumps(conf), topic, str(work_s)],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            event = json.loads(line)
            self.events.append(event)
            kind = event[0]
            # the callbacks carry what changed (cooperative and KIP-848), or everything (eager)
            if kind == "assigned":
                self.assigned |= set(event[1])
            elif kind in ("revoked", "lost"):
                self.assigned -= set(event[1])
            elif kind == "processed":
                self.processed.append((event[1], event[2]))

    def failures(self) -> list[list]:
        return [e for e in self.events if e[0] in ("commit-failed", "commit-failed-on-revoke", "lost")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)

    def log_tail(self, chars: int = 6000) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-chars:]

    def __repr__(self) -> str:
        return f"{self.name}/{self.protocol}(assigned={sorted(self.assigned)}, processed={len(self.processed)})"


class Feed:
    """A producer thread writing records round robin over the partitions until stopped."""

    def __init__(self, bootstrap: str, topic: str):
        from confluent_kafka import Producer

        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        self.topic = topic
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.producer.produce(self.topic, value=f"r{self.sent}".encode(), partition=self.sent % PARTITIONS)
            self.sent += 1
            self.producer.poll(0)
            self._stop.wait(0.004)

    def stop(self) -> dict[int, int]:
        """Stop, flush, and return the end offset of every partition."""
        self._stop.set()
        self._thread.join(10)
        assert self.producer.flush(30) == 0
        return {p: len(range(p, self.sent, PARTITIONS)) for p in range(PARTITIONS)}


@pytest.fixture
def members():
    started: list[Member] = []
    yield started
    for m in started:
        m.stop()
    for m in started:
        if m.proc.returncode not in (0, None):
            print(f"{m.name} exited {m.proc.returncode}: {m.log_tail()}")
        m.stderr.close()


def gid() -> str:
    return f"gm-{uuid.uuid4().hex[:10]}"


def cover(ms: list[Member]) -> bool:
    """Every partition owned by exactly one of ``ms``, and each of them owning at least one."""
    owned = [p for m in ms for p in m.assigned]
    return sorted(owned) == list(range(PARTITIONS)) and all(m.assigned for m in ms)


def described(bootstrap: str, group: str):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group], request_timeout=10)[group].result()


def group_type(bootstrap: str, group: str) -> str:
    """``classic`` or ``consumer``, as ListGroups types it."""
    from confluent_kafka import ConsumerGroupType
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for kind in (ConsumerGroupType.CLASSIC, ConsumerGroupType.CONSUMER):
        if group in {g.group_id for g in admin.list_consumer_groups(types={kind}).result().valid}:
            return kind.name.lower()
    return "none"


def settled(bootstrap: str, group: str, current: list[Member]) -> bool:
    """The members share every partition and the group is Stable: every member caught up with the last
    rebalance, as an operator waits for before restarting the next instance."""
    from confluent_kafka import ConsumerGroupState

    return cover(current) and described(bootstrap, group).state == ConsumerGroupState.STABLE


def rolling_restart(
    bootstrap: str,
    group: str,
    topic: str,
    members: list[Member],
    current: list[Member],
    to_protocol: str,
    assignor: str,
    types_seen: list,
) -> None:
    """Replace each member of ``current`` in turn by one with ``to_protocol``, waiting each time until the
    group settled again; record the group's type after each step."""
    for i in range(len(current)):
        old = current[i]
        old.stop()
        assert old.proc.returncode == 0 and ["closed"] in old.events, f"{old} {old.events[-5:]}\n{old.log_tail()}"
        new = Member(bootstrap, group, topic, f"{to_protocol}-{i}", to_protocol, assignor)
        members.append(new)
        current[i] = new
        wait_until(
            lambda: settled(bootstrap, group, current),
            60,
            message=lambda: f"{current} sharing {PARTITIONS} partitions in a Stable group",
        )
        types_seen.append(group_type(bootstrap, group))


def check_exactly_once(bootstrap: str, group: str, topic: str, members: list[Member], ends: dict[int, int]) -> None:
    from confluent_kafka import TopicPartition

    everything = {(p, o) for p, end in ends.items() for o in range(end)}

    def processed() -> Counter:
        return Counter(x for m in members for x in m.processed)

    wait_until(
        lambda: everything <= set(processed()),
        60,
        message=lambda: f"every record processed; missing {sorted(everything - set(processed()))[:10]}",
    )
    twice = {x: n for x, n in processed().items() if n > 1}
    assert not twice, f"processed more than once: {sorted(twice)[:20]}; {[(m, m.failures()) for m in members]}"
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    committed: dict[int, int] = {}

    def caught_up() -> bool:
        nonlocal committed
        res = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(PARTITIONS)])]
        )
        committed = {tp.partition: tp.offset for tp in res[group].result().topic_partitions}
        return committed == ends

    wait_until(
        caught_up, 30, message=lambda: f"committed {committed} == ends {ends}; {[(m, m.failures()) for m in members]}"
    )


@pytest.mark.parametrize("assignor", ["cooperative-sticky", "range"])
def test_a_rolling_upgrade_from_classic_to_consumer_protocol_loses_and_repeats_nothing(
    broker_factory, members, assignor
):
    broker = broker_factory(overrides=FAST)
    bootstrap = broker.bootstrap
    topic = admin_create_topic(bootstrap, f"upgrade-{uuid.uuid4().hex[:8]}", PARTITIONS)
    group = gid()
    current = [Member(bootstrap, group, topic, f"classic-{i}", "classic", assignor) for i in range(3)]
    members += current
    feed = Feed(bootstrap, topic)
    try:
        wait_until(
            lambda: settled(bootstrap, group, current), 60, message=lambda: f"{current} sharing {PARTITIONS} partitions"
        )
        assert group_type(bootstrap, group) == "classic"
        types: list = []
        rolling_restart(bootstrap, group, topic, members, current, "consumer", "cooperative-sticky", types)
    finally:
        ends = feed.stop()
    # the first consumer-protocol member upgraded the group; the classic members (eager or cooperative)
    # were served inside it
    assert types == ["consumer", "consumer", "consumer"]
    check_exactly_once(bootstrap, group, topic, members, ends)


@pytest.mark.parametrize("assignor", ["range", "cooperative-sticky"])
def test_a_rolling_downgrade_from_consumer_to_classic_protocol_loses_and_repeats_nothing(
    broker_factory, members, assignor
):
    broker = broker_factory(overrides=FAST)
    bootstrap = broker.bootstrap
    topic = admin_create_topic(bootstrap, f"downgrade-{uuid.uuid4().hex[:8]}", PARTITIONS)
    group = gid()
    current = [Member(bootstrap, group, topic, f"consumer-{i}", "consumer") for i in range(3)]
    members += current
    feed = Feed(bootstrap, topic)
    try:
        wait_until(
            lambda: settled(bootstrap, group, current), 60, message=lambda: f"{current} sharing {PARTITIONS} partitions"
        )
        assert group_type(bootstrap, group) == "consumer"
        types: list = []
        rolling_restart(bootstrap, group, topic, members, current, "classic", assignor, types)
    finally:
        ends = feed.stop()
    # classic members (eager or cooperative) joined the consumer group; when the last consumer-protocol
    # member left, the group went back to being a classic group
    assert types == ["consumer", "consumer", "classic"]
    check_exactly_once(bootstrap, group, topic, members, ends)


def test_a_mixed_group_survives_a_broker_restart(broker_factory, members):
    broker = broker_factory(overrides=FAST)
    bootstrap = broker.bootstrap
    topic = admin_create_topic(bootstrap, f"restart-{uuid.uuid4().hex[:8]}", PARTITIONS)
    group = gid()
    current = [
        Member(bootstrap, group, topic, "classic-0", "classic"),
        Member(bootstrap, group, topic, "classic-1", "classic"),
    ]
    members += current
    wait_until(lambda: cover(current), 60, message=lambda: f"{current} sharing {PARTITIONS} partitions")
    current.append(Member(bootstrap, group, topic, "consumer-0", "consumer"))
    members.append(current[-1])
    wait_until(
        lambda: settled(bootstrap, group, current), 60, message=lambda: f"{current} sharing {PARTITIONS} partitions"
    )
    assert group_type(bootstrap, group) == "consumer"
    ck_produce(bootstrap, topic, [Out(None, f"a{p}".encode(), partition=p) for p in range(PARTITIONS)])
    wait_until(
        lambda: len({x for m in members for x in m.processed}) == PARTITIONS,
        30,
        message=lambda: f"the first records processed: {members}",
    )

    changes = [sum(e[0] in ("assigned", "revoked", "lost") for e in m.events) for m in current]
    broker.restart(clean=False)  # kill -9: the group is replayed from __consumer_offsets
    assert group_type(bootstrap, group) == "consumer"
    ck_produce(bootstrap, topic, [Out(None, f"b{p}".encode(), partition=p) for p in range(PARTITIONS)])
    wait_until(
        lambda: len({x for m in members for x in m.processed}) == 2 * PARTITIONS,
        60,
        message=lambda: f"the records after the restart processed: {members}",
    )
    twice = {x: n for x, n in Counter(x for m in members for x in m.processed).items() if n > 1}
    assert not twice
    assert all(m.proc.poll() is None for m in members)
    # the members carried on in the replayed group: none of them lost, gave up or gained a partition
    assert [sum(e[0] in ("assigned", "revoked", "lost") for e in m.events) for m in current] == changes, [
        m.events for m in current
    ]
    assert cover(current)
