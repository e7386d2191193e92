"""A consumer *process* dies (SIGKILL, so no LeaveGroup): the group coordinator notices when its
session expires and hands its partitions to the survivors, and a group that commits after
processing loses nothing across the kill.

Each member is a separate Python process running a confluent-kafka consumer (`MEMBER` below) that
reports on stdout, one JSON line per event: ``["assigned", [partitions]]``, ``["revoked", [...]]``,
``["processed", partition, offset]`` (written and flushed *before* that record's offset is
committed, so what the parent reads is at least what the group committed). The parent only waits
for those events, with deadlines.

The group uses ``session.timeout.ms=6000`` (the broker's default ``group.min.session.timeout.ms``)
and a private broker with ``group.initial.rebalance.delay.ms=0``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce

SESSION_TIMEOUT_MS = 6000

MEMBER = r"""
import json, signal, sys, time
from confluent_kafka import Consumer

conf, topic, work_s = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3])
running = True

def stop(*_):
    global running
    running = False

signal.signal(signal.SIGTERM, stop)

def say(*event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()

consumer = Consumer(conf)
consumer.subscribe([topic],
                   on_assign=lambda c, ps: say("assigned", sorted(p.partition for p in ps)),
                   on_revoke=lambda c, ps: say("revoked", sorted(p.partition for p in ps)))
say("started")
while running:
    m = consumer.poll(0.1)
    if m is None or m.error() is not None:
        continue
    time.sleep(work_s)                                  # the "processing"
    say("processed", m.partition(), m.offset())
    try:
        consumer.commit(message=m, asynchronous=False)  # commit after processing
    except Exception as e:                              # e.g. a rebalance began: the record may come again
        say("commit-failed", m.partition(), m.offset(), str(e))
consumer.close()
say("closed")
"""


class Member:
    """One consumer process and what it reported so far."""

    def __init__(self, bootstrap: str, group: str, topic: str, name: str, work_s: float = 0.0):
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": 300,
        }
        self.name = name
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
            if kind == "assigned":
                self.assigned = set(event[1])
            elif kind == "revoked":
                self.assigned = set()
            elif kind == "processed":
                self.processed.append((event[1], event[2]))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)

    def __repr__(self) -> str:
        return f"{self.name}(assigned={sorted(self.assigned)}, processed={len(self.processed)})"


@pytest.fixture
def members():
    started: list[Member] = []
    yield started
    for m in started:
        m.stop()
    for m in started:
        if m.proc.returncode not in (0, -signal.SIGKILL):
            m.stderr.seek(0)
            print(f"{m.name} exited {m.proc.returncode}: {m.stderr.read()[-2000:]}")
        m.stderr.close()


@pytest.fixture
def fast_broker(broker_factory):
    return broker_factory(overrides={"num.partitions": "1", "group.initial.rebalance.delay.ms": "0"})


def gid() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


def cover(ms: list[Member], partitions: int) -> bool:
    """Every partition owned by exactly one of ``ms``, and each of them owning at least one."""
    owned = [p for m in ms for p in m.assigned]
    return sorted(owned) == list(range(partitions)) and all(m.assigned for m in ms)


def test_a_killed_consumer_process_loses_its_partitions_within_the_session_timeout(fast_broker, create_topic, members):
    bootstrap = fast_broker.bootstrap
    topic = create_topic(partitions=6, bootstrap=bootstrap)
    group = gid()
    members += [Member(bootstrap, group, topic, f"member-{i}") for i in range(3)]
    wait_until(lambda: cover(members, 6), 40, message=lambda: f"3 members sharing 6 partitions: {members}")
    victim, survivors = members[0], members[1:]
    victim_had = set(victim.assigned)
    assert len(victim_had) == 2

    victim.kill()  # no LeaveGroup: only the session timeout tells the coordinator
    killed_at = time.monotonic()
    wait_until(
        lambda: cover(survivors, 6),
        SESSION_TIMEOUT_MS / 1000 + 10,
        message=lambda: f"the survivors taking over {sorted(victim_had)}: {survivors}",
    )
    took = time.monotonic() - killed_at
    # the session timeout, then one rebalance of the survivors (they heartbeat every 300 ms)
    assert took < SESSION_TIMEOUT_MS / 1000 + 4, f"took {took:.1f}s"
    assert sorted(len(m.assigned) for m in survivors) == [3, 3]


def test_commit_after_processing_loses_nothing_when_a_member_is_killed(fast_broker, create_topic, members):
    from confluent_kafka import Consumer, TopicPartition

    bootstrap = fast_broker.bootstrap
    partitions, per_partition = 4, 60
    topic = create_topic(partitions=partitions, bootstrap=bootstrap)
    group = gid()
    half = per_partition // 2
    ck_produce(
        bootstrap, topic, [Out(None, f"{p}-{i}".encode(), partition=p) for p in range(partitions) for i in range(half)]
    )
    # ~10 ms of "processing" per record: the kill lands with records of every partition still unread
    members += [Member(bootstrap, group, topic, f"member-{i}", work_s=0.01) for i in range(2)]
    victim, survivor = members
    wait_until(
        lambda: len(victim.processed) >= 10 and cover(members, partitions),
        40,
        message=lambda: f"the victim processing records: {members}",
    )
    victim.kill()
    victim_had = {p for p, _ in victim.processed}
    last_by_victim = {p: max(o for q, o in victim.processed if q == p) for p in victim_had}
    # more records arrive while the victim is dead
    ck_produce(
        bootstrap,
        topic,
        [Out(None, f"{p}-{i}".encode(), partition=p) for p in range(partitions) for i in range(half, per_partition)],
    )
    everything = {(p, o) for p in range(partitions) for o in range(per_partition)}
    wait_until(
        lambda: everything <= set(victim.processed) | set(survivor.processed),
        SESSION_TIMEOUT_MS / 1000 + 30,
        message=lambda: (
            f"every record processed; missing "
            f"{sorted(everything - set(victim.processed) - set(survivor.processed))[:10]}"
        ),
    )
    assert survivor.assigned == set(range(partitions))
    # the survivor resumed each of the victim's partitions no later than right after the last record
    # the victim processed (earlier when the victim died between processing and committing)
    for p in victim_had:
        first = min(o for q, o in survivor.processed if q == p)
        assert first <= last_by_victim[p] + 1, (p, first, last_by_victim[p])

    survivor.stop()
    check = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = check.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        assert [tp.offset for tp in committed] == [per_partition] * partitions
    finally:
        check.close()
