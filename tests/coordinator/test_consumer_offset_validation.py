"""Member checks of OffsetFetch v9 and OffsetCommit v9 against KIP-848 consumer groups (Kafka's
ConsumerGroup.validateOffsetFetch / validateOffsetCommit), and of TxnOffsetCommit, as a state machine."""

from __future__ import annotations

import pytest

from kavka.coordinator.group import GroupCoordinator
from kavka.coordinator.group.consumer_records import (
    ConsumerGroupCurrentMemberAssignmentKey,
    ConsumerGroupCurrentMemberAssignmentValue,
    encode_consumer_record,
)
from tests.coordinator.group_harness import Harness, Reply
from tests.coordinator.test_consumer_protocol import ConsumerHarness

NONE = 0
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
UNSUPPORTED_VERSION = 35
GROUP_ID_NOT_FOUND = 69
STALE_MEMBER_EPOCH = 113


def fetch(h, group: str, member_id: str | None = None, member_epoch: int = -1, topics=(("t", [0]),)) -> dict:
    return h.coord.fetch_offsets(group, None if topics is None else list(topics), False, member_id, member_epoch)


def commit(h, group: str, member_id: str, epoch: int, offset: int, api_version: int = 9) -> int:
    reply = Reply()
    h.coord.commit_offsets(
        group_id=group,
        generation_id=epoch,
        member_id=member_id,
        topics=[("t", [(0, offset, -1, "")])],
        respond=reply,
        api_version=api_version,
    )
    return reply.value["topics"][0]["partitions"][0]["error_code"]


def txn_commit(h, group: str, member_id: str, generation: int, instance_id: str | None = None) -> int:
    reply = Reply()
    h.coord.commit_transactional_offsets(
        group_id=group,
        producer_id=9000,
        producer_epoch=0,
        generation_id=generation,
        member_id=member_id,
        group_instance_id=instance_id,
        topics=[("t", [(0, 1, -1, "")])],
        respond=reply,
    )
    return reply.value["topics"][0]["partitions"][0]["error_code"]


class TxnConsumerHarness(ConsumerHarness):
    """ConsumerHarness whose log also takes transactional batches."""

    def new_coordinator(self) -> GroupCoordinator:
        return GroupCoordinator(
            self.config,
            self.log.append,
            self.clock,
            topics=lambda: self.image,
            append_transactional=lambda p, pid, epoch, records: self.log.append(p, records),
        )


@pytest.fixture
def group():
    """A consumer group "g" with member "a" at its current epoch, offset 5 committed for t-0."""
    h = TxnConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    assert a.send().error == NONE
    assert commit(h, "g", "a", a.epoch, 5) == NONE
    return h, a


def test_offset_fetch_from_the_member_at_its_epoch_is_served(group):
    h, a = group
    res = fetch(h, "g", "a", a.epoch)
    assert res["error_code"] == NONE and res["topics"][0]["partitions"][0]["committed_offset"] == 5
    assert fetch(h, "g", "a", a.epoch, topics=None)["topics"][0]["partitions"][0]["committed_offset"] == 5


def test_offset_fetch_without_member_information_is_always_served(group):
    h, a = group
    assert fetch(h, "g")["error_code"] == NONE  # admins, classic consumers, OffsetFetch < v9


@pytest.mark.parametrize(
    "member_id, epoch, code",
    [
        ("a", "stale", STALE_MEMBER_EPOCH),  # an epoch the member had before
        ("a", "ahead", STALE_MEMBER_EPOCH),  # an epoch it never had
        ("a", -1, STALE_MEMBER_EPOCH),  # a member id with no epoch
        ("x", "current", UNKNOWN_MEMBER_ID),  # not a member
        ("", -1, UNKNOWN_MEMBER_ID),  # an empty id is not a null id
        (None, "current", UNKNOWN_MEMBER_ID),  # an epoch with no member id
    ],
)
def test_offset_fetch_with_bad_member_information_fails_the_group(group, member_id, epoch, code):
    h, a = group
    epoch = {"stale": a.epoch - 1, "ahead": a.epoch + 1, "current": a.epoch}.get(epoch, epoch)
    res = fetch(h, "g", member_id, epoch)
    assert (res["error_code"], res["topics"], res["group_id"]) == (code, [], "g")


def test_a_member_that_left_cannot_fetch_and_classic_or_unknown_groups_check_nothing(group):
    h, a = group
    epoch = a.epoch
    assert a.send(epoch=-1).error == NONE
    assert fetch(h, "g", "a", epoch)["error_code"] == UNKNOWN_MEMBER_ID
    # a group that does not exist: -1 offsets, whatever the member fields say (Kafka's failAllPartitions)
    res = fetch(h, "nope", "x", 3)
    assert res["error_code"] == NONE and res["topics"][0]["partitions"][0]["committed_offset"] == -1
    classic = Harness()
    (m, _), gen = classic.form_group("c", 2)
    assert commit(classic, "c", m, gen, 8) == NONE
    assert fetch(classic, "c", "someone-else", gen + 5)["topics"][0]["partitions"][0]["committed_offset"] == 8


def test_offset_commit_follows_validate_offset_commit(group):
    h, a = group
    assert commit(h, "g", "a", a.epoch + 1, 6) == STALE_MEMBER_EPOCH
    assert commit(h, "g", "a", a.epoch - 1, 6) == STALE_MEMBER_EPOCH
    assert commit(h, "g", "x", a.epoch, 6) == UNKNOWN_MEMBER_ID
    # the member is looked up before the version is checked
    assert commit(h, "g", "x", a.epoch, 6, api_version=8) == UNKNOWN_MEMBER_ID
    assert commit(h, "g", "a", a.epoch, 6, api_version=8) == UNSUPPORTED_VERSION
    assert commit(h, "g", "", -1, 6) == UNKNOWN_MEMBER_ID  # epoch -1 only while the group is empty
    assert commit(h, "nope", "x", 3, 6) == GROUP_ID_NOT_FOUND
    assert commit(h, "nope", "x", 3, 6, api_version=8) == ILLEGAL_GENERATION
    assert fetch(h, "g")["topics"][0]["partitions"][0]["committed_offset"] == 5


def test_txn_offset_commit_member_checks(group):
    h, a = group
    assert txn_commit(h, "g", "a", a.epoch) == NONE
    assert txn_commit(h, "g", "a", a.epoch + 1) == ILLEGAL_GENERATION  # a stale epoch reads so here
    assert txn_commit(h, "g", "x", a.epoch) == UNKNOWN_MEMBER_ID
    assert txn_commit(h, "g", "", -1) == NONE  # no member information (KAFKA-18060)
    assert txn_commit(h, "nope", "x", 3) == ILLEGAL_GENERATION  # TxnOffsetCommit has no GROUP_ID_NOT_FOUND


# --- KIP-1251: commits with an older epoch --------------------------------------------------------------


def commit_to(h, member, epoch: int, partition: int) -> int:
    reply = Reply()
    h.coord.commit_offsets(
        group_id="g",
        generation_id=epoch,
        member_id=member.member_id,
        topics=[("t", [(partition, 7, -1, "")])],
        respond=reply,
        api_version=9,
    )
    return reply.value["topics"][0]["partitions"][0]["error_code"]


def test_an_older_epoch_commits_for_partitions_held_since_then_also_after_a_restart():
    h = TxnConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    a.send()
    assert a.epoch == 1 and a.partitions("t") == {0, 1}
    b = h.member("g", "b", ["t"])
    b.send()
    a.send()  # told to give one partition up; still at epoch 1
    [kept] = a.partitions("t")
    [moved] = {0, 1} - {kept}
    a.send()
    b.send()
    assert a.epoch == b.epoch == 2 and b.partitions("t") == {moved}
    t = h.topic_id("t")
    assert dict(h.group("g").members["a"].assignment_epochs) == {(t, kept): 1}
    assert dict(h.group("g").members["b"].assignment_epochs) == {(t, moved): 2}
    for _ in range(2):  # and again from the log, as after a broker restart
        assert commit_to(h, a, 1, kept) == NONE
        assert commit_to(h, a, 1, moved) == STALE_MEMBER_EPOCH  # not a's any more
        assert commit_to(h, a, 3, kept) == STALE_MEMBER_EPOCH  # newer than a's epoch
        assert commit_to(h, b, 1, moved) == STALE_MEMBER_EPOCH  # b got it at epoch 2
        assert commit_to(h, b, 2, moved) == NONE
        # TxnOffsetCommit checks the same way; before v6 a stale epoch reads as ILLEGAL_GENERATION
        assert txn_commit(h, "g", "a", 1) == (NONE if kept == 0 else ILLEGAL_GENERATION)
        h.restart()


def test_a_static_member_that_leaves_for_a_while_keeps_its_partitions_at_epoch_0():
    h = TxnConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"], instance_id="i")
    a.send()
    assert a.send(epoch=-2).error == NONE
    member = h.group("g").members["a"]
    assert dict(member.assignment_epochs) == {(h.topic_id("t"), 0): 0, (h.topic_id("t"), 1): 0}
    h.restart()
    assert dict(h.group("g").members["a"].assignment_epochs) == {(h.topic_id("t"), 0): 0, (h.topic_id("t"), 1): 0}


def test_a_current_assignment_record_without_epochs_reads_as_held_since_the_member_epoch():
    """A record written by a Kafka without KIP-1251 (no tag 0): each partition is taken as assigned at the
    member epoch of the record, as Kafka 4.4 reads one."""
    h = TxnConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    a.send()
    t = h.topic_id("t")
    [partition] = {p for p, records in h.log.partitions.items() if records}
    old_format = ConsumerGroupCurrentMemberAssignmentValue(3, 2, 0, {t: frozenset({0, 1})}, {})
    h.log.partitions[partition].append(
        encode_consumer_record(ConsumerGroupCurrentMemberAssignmentKey("g", "a"), old_format)
    )
    h.restart()
    assert dict(h.group("g").members["a"].assignment_epochs) == {(t, 0): 3, (t, 1): 3}
