"""KIP-1251 at the wire, on Apache Kafka 4.4 and on Kavka: a consumer-group member may commit offsets
with an epoch older than its current one, for a partition it still holds that was assigned to it at
that epoch or before.

A client learns its new epoch from a heartbeat answer, and keeps committing with the old one until
then; before KIP-1251 (in Kafka 4.4) the coordinator refused those commits (STALE_MEMBER_EPOCH), so a consumer that
commits after processing lost the commit in every rebalance. The members here are driven with raw
ConsumerGroupHeartbeat requests so that each epoch is known: A takes both partitions of a topic at
epoch e1; B joins (group epoch e2); A gives one partition up and reaches e2 keeping the other, which
it got at e1.
"""

from __future__ import annotations

import time
import uuid

from kavka.testing.process import create_topic as create_topic_on
from tests.clients.adminwire import call

OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, CONSUMER_GROUP_HEARTBEAT = 8, 9, 10, 68
NONE, STALE_MEMBER_EPOCH = 0, 113
COORDINATOR_NOT_READY = {14, 15, 16}  # COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR


class Member:
    """A consumer-protocol member driven by hand: its epoch and the partitions it was last given."""

    def __init__(self, bootstrap: str, group: str, topic: str):
        self.bootstrap, self.group, self.topic = bootstrap, group, topic
        self.member_id = uuid.uuid4().hex
        self.epoch = 0
        self.topic_id = None
        self.assigned: set[int] = set()

    def heartbeat(self, owned: set[int] | None = None) -> None:
        """One heartbeat reporting ``owned`` (what it was given, by default) as what it holds."""
        owned = self.assigned if owned is None else owned
        r = call(
            self.bootstrap,
            CONSUMER_GROUP_HEARTBEAT,
            1,
            {
                "group_id": self.group,
                "member_id": self.member_id,
                "member_epoch": self.epoch,
                "instance_id": None,
                "rack_id": None,
                "rebalance_timeout": 30_000,
                "subscribed_topic_names": [self.topic],
                "subscribed_topic_regex": None,
                "server_assignor": "uniform",
                "topic_partitions": (
                    []
                    if self.topic_id is None or not owned
                    else [{"topic_id": self.topic_id, "partitions": sorted(owned)}]
                ),
            },
        )
        if r.error_code in COORDINATOR_NOT_READY and self.epoch == 0:
            return  # Kafka loads __consumer_offsets a moment after creating it: the caller tries again
        assert r.error_code == NONE, r
        self.epoch = int(r.member_epoch)
        if r.assignment is not None:  # None: unchanged since the last answer
            self.assigned = {int(p) for t in r.assignment.topic_partitions for p in t.partitions}
            for t in r.assignment.topic_partitions:
                self.topic_id = t.topic_id

    def heartbeat_until(self, done, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.heartbeat()
            if done():
                return
            assert time.monotonic() < deadline, f"{what}: epoch {self.epoch}, assigned {self.assigned}"

    def commit(self, partition: int, epoch: int, offset: int) -> int:
        r = call(
            self.bootstrap,
            OFFSET_COMMIT,
            9,
            {
                "group_id": self.group,
                "generation_id_or_member_epoch": epoch,
                "member_id": self.member_id,
                "group_instance_id": None,
                "topics": [
                    {
                        "name": self.topic,
                        "partitions": [
                            {
                                "partition_index": partition,
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

    def fetch_error(self, epoch: int) -> int:
        r = call(
            self.bootstrap,
            OFFSET_FETCH,
            9,
            {
                "require_stable": False,
                "groups": [
                    {
                        "group_id": self.group,
                        "member_id": self.member_id,
                        "member_epoch": epoch,
                        "topics": [{"name": self.topic, "partition_indexes": [0, 1]}],
                    }
                ],
            },
        )
        return int(r.groups[0].error_code)


def new_group(bootstrap: str, prefix: str, partitions: int) -> tuple[str, str]:
    """(topic, group): a new topic, and a new group whose coordinator is ready."""
    topic, group = f"{prefix}-{uuid.uuid4().hex[:8]}", f"{prefix}-{uuid.uuid4().hex[:8]}"
    create_topic_on(bootstrap, topic, partitions)
    find_coordinator(bootstrap, group)
    return topic, group


def find_coordinator(bootstrap: str, group: str) -> None:
    """FindCoordinator until it names one: it creates __consumer_offsets, as a client's first look does."""
    deadline = time.monotonic() + 30
    while True:
        [found] = call(bootstrap, FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": [group]}).coordinators
        if found.error_code == NONE:
            return
        assert time.monotonic() < deadline, found


def test_a_member_commits_with_an_older_epoch_for_a_partition_it_kept(any_broker):
    bootstrap = any_broker.bootstrap
    topic, group = new_group(bootstrap, "kip1251", 2)
    a = Member(bootstrap, group, topic)
    a.heartbeat_until(lambda: a.assigned == {0, 1}, "A takes both partitions")
    e1 = a.epoch
    assert a.commit(0, e1, 10) == NONE

    b = Member(bootstrap, group, topic)
    # B joins: once the group's next target assignment is computed (Kafka 4.4 computes at most one per
    # group.consumer.assignment.interval.ms), B is at the new epoch, waiting for a partition A must release
    b.heartbeat_until(lambda: b.epoch > e1, "B reaches the group's new epoch")
    e2 = b.epoch
    a.heartbeat(owned={0, 1})  # A is told which partition it keeps (its epoch stays e1 while it revokes)
    assert len(a.assigned) == 1 and a.epoch == e1, (a.assigned, a.epoch)
    [kept] = a.assigned
    [given_up] = {0, 1} - a.assigned
    a.heartbeat_until(lambda: a.epoch == e2, "A reaches the group epoch once it revoked")
    b.heartbeat_until(lambda: b.assigned == {given_up}, "B takes the released partition")
    assert b.epoch == e2

    # A commits as a client does that has not yet read its new epoch
    assert a.commit(kept, e1, 11) == NONE
    # ... but not for the partition it gave up, nor with an epoch it never had
    assert a.commit(given_up, e1, 11) == STALE_MEMBER_EPOCH
    assert a.commit(kept, e2 + 1, 12) == STALE_MEMBER_EPOCH
    assert a.commit(kept, e2, 12) == NONE
    # B got its partition at e2: an epoch before that is not B's for it
    assert b.commit(given_up, e2 - 1, 20) == STALE_MEMBER_EPOCH
    assert b.commit(given_up, e2, 20) == NONE
    # OffsetFetch still wants the current epoch (KIP-1251 changed commits only)
    assert a.fetch_error(e1) == STALE_MEMBER_EPOCH
    assert a.fetch_error(e2) == NONE


def test_a_member_told_to_revoke_again_keeps_its_epoch(any_broker):
    """KAFKA-19974 (Kafka 4.2+), at the wire: A finishes revoking while the group has moved on and must
    revoke once more; it stays at its epoch until it has, then goes straight to the group's."""
    bootstrap = any_broker.bootstrap
    topic, group = new_group(bootstrap, "kafka19974", 6)
    a = Member(bootstrap, group, topic)
    a.heartbeat_until(lambda: a.assigned == set(range(6)), "A takes every partition")
    e1 = a.epoch
    b = Member(bootstrap, group, topic)
    b.heartbeat_until(lambda: b.epoch > e1, "B reaches the group's new epoch")
    a.heartbeat(owned=set(range(6)))
    assert len(a.assigned) == 3 and a.epoch == e1, (a.assigned, a.epoch)
    c = Member(bootstrap, group, topic)
    c.heartbeat_until(lambda: c.epoch > b.epoch, "C reaches the group's newest epoch")
    e3 = c.epoch
    a.heartbeat()  # A has revoked the three; now it must give up one more
    assert len(a.assigned) == 2 and a.epoch == e1, (a.assigned, a.epoch)
    a.heartbeat()
    assert len(a.assigned) == 2 and a.epoch == e3, (a.assigned, a.epoch)
