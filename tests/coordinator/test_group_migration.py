"""KIP-848 online migration as a state machine (Kafka 4.0's GroupMetadataManager): classic members in a
consumer group, the upgrade of a classic group when a consumer-protocol member joins, the downgrade
when the last one leaves, ``group.consumer.migration.policy``, and what a restart replays."""

from __future__ import annotations

import pytest

from kavka.coordinator.group.classic import GroupState
from kavka.coordinator.group.consumer import MemberState
from kavka.coordinator.group.consumer_protocol import decode_assignment
from kavka.coordinator.group.consumer_records import (
    ClassicMemberMetadata,
    ConsumerGroupMemberMetadataKey,
    ConsumerGroupMetadataKey,
    decode_consumer_record,
)
from kavka.coordinator.group.records import GroupMetadataKey, decode_key, decode_record
from tests.coordinator.migration_harness import (
    FENCED_INSTANCE_ID,
    GROUP_ID_NOT_FOUND,
    GROUP_MAX_SIZE_REACHED,
    ILLEGAL_GENERATION,
    INCONSISTENT_GROUP_PROTOCOL,
    MEMBER_ID_REQUIRED,
    NONE,
    REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
    MigrationHarness,
    shares,
    subscription,
)


def kinds(records) -> list[str]:
    """A readable list of what the records are: ``GroupMetadata``, ``-GroupMetadata`` for a tombstone,
    ``ConsumerGroupMetadata`` and so on; offsets are left out."""
    out = []
    for key, value in records:
        k = decode_key(key)
        if isinstance(k, int):
            ck, _ = decode_consumer_record(key, value)
            name = type(ck).__name__.removesuffix("Key")
        elif isinstance(k, GroupMetadataKey):
            name = "GroupMetadata"
        else:
            continue
        out.append(("-" if value is None else "") + name)
    return out


def stable_classic_group(h: MigrationHarness, group: str, topic: str, n: int, **kw):
    """n classic clients of ``group``, Stable, sharing ``topic`` (the leader assigns round robin)."""
    clients = [h.classic(group, [topic], **kw) for _ in range(n)]
    replies = [c.join() for c in clients]
    h.advance(0)  # the initial rebalance delay (0 here) fires
    for c, r in zip(clients, replies):
        c.resume(r)
    assert h.classic_group(group).state == GroupState.STABLE
    return clients


# --- a classic member joins a consumer group ---------------------------------------------------------


def test_a_classic_member_joins_a_consumer_group_and_shares_its_partitions():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"])
    assert a.send().error == NONE and a.partitions("t") == {0, 1, 2, 3}
    b = h.classic("g", ["t"])
    first = h.join("g", "", b.protocols())
    assert first.error == MEMBER_ID_REQUIRED and first.value["member_id"]  # KIP-394, as for a classic group
    b.member_id = first.value["member_id"]
    r = b.join()
    v = r.value
    group = h.consumer_group("g")
    member = group.members[b.member_id]
    # every classic member is a follower: no leader, no member list; the generation is its member epoch
    assert v["error_code"] == NONE and v["leader"] == "" and v["members"] == [] and not v["skip_assignment"]
    assert v["protocol_type"] == "consumer" and v["protocol_name"] == "cooperative-sticky"
    assert v["generation_id"] == member.member_epoch == group.group_epoch == 2
    assert member.classic == ClassicMemberMetadata(10_000, tuple(b.protocols()))
    # its partitions are still a's: it gets them once a gave them up
    assert b.sync().error == NONE and b.owned == {}
    assert member.state == MemberState.UNRELEASED_PARTITIONS
    assert b.heartbeat() == NONE  # waiting on a's partitions
    a.step()  # a is told to revoke two partitions
    assert b.heartbeat() == NONE
    a.step()  # and says it did
    assert b.heartbeat() == REBALANCE_IN_PROGRESS  # they are free: rejoin to collect them
    h.settle([a, b])
    assert shares([a, b], "t", 4) and len(b.partitions("t")) == 2
    assert h.consumer_group("g").state.value == "Stable"


def test_the_member_metadata_record_keeps_the_classic_metadata():
    h = MigrationHarness()
    h.create_topic("t", 2)
    h.consumer("g", "a", ["t"]).send()
    b = h.classic("g", ["t"], protocols=("range", "roundrobin"), cooperative=False, session_timeout_ms=12_000)
    b.join()
    records = [decode_consumer_record(k, v) for k, v in h.records("g") if isinstance(decode_key(k), int)]
    values = [v for k, v in records if isinstance(k, ConsumerGroupMemberMetadataKey) and k.member_id == b.member_id]
    assert values[-1].classic_member_metadata == ClassicMemberMetadata(12_000, tuple(b.protocols()))
    assert values[-1].subscribed_topic_names == ("t",)
    assert b.join().value["protocol_name"] == "range"  # the member's first protocol


def test_an_eager_classic_member_gives_up_everything_before_rejoining():
    h = MigrationHarness()
    h.create_topic("t", 6)
    a = h.consumer("g", "a", ["t"])
    a.send()
    b = h.classic("g", ["t"], protocols=("range",), cooperative=False)
    c = h.classic("g", ["t"], protocols=("range",), cooperative=False)
    b.join(), b.sync(), c.join(), c.sync()
    h.settle([a, b, c])
    assert shares([a, b, c], "t", 6)
    assert [len(x.partitions("t")) for x in (a, b, c)] == [2, 2, 2]


def test_classic_protocols_must_be_shared_by_the_classic_members():
    h = MigrationHarness()
    h.create_topic("t", 2)
    h.consumer("g", "a", ["t"]).send()
    b = h.classic("g", ["t"], protocols=("range", "roundrobin"))
    b.join()
    # the consumer-protocol member does not count; the classic ones must share a protocol
    assert h.join("g", "x", [("roundrobin", subscription(["t"]))]).error == NONE
    assert h.join("g", "y", [("sticky", subscription(["t"]))]).error == INCONSISTENT_GROUP_PROTOCOL
    assert (
        h.join("g", "z", [("range", subscription(["t"]))], protocol_type="connect").error == INCONSISTENT_GROUP_PROTOCOL
    )


def test_classic_requests_are_checked_against_the_member():
    h = MigrationHarness(consumer_max_size=3)
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"])
    a.send()
    b = h.classic("g", ["t"], instance_id="i-b")
    b.join()
    assert b.member_id and b.generation >= 1
    assert h.sync("g", b.member_id, b.generation + 1).error == ILLEGAL_GENERATION
    assert h.heartbeat("g", b.member_id, b.generation - 1) == ILLEGAL_GENERATION
    assert h.heartbeat("g", "nobody", b.generation) == UNKNOWN_MEMBER_ID
    assert h.heartbeat("g", "a", a.epoch) == UNKNOWN_MEMBER_ID  # a uses the consumer protocol
    assert h.heartbeat("g", "other", b.generation, instance_id="i-b") == FENCED_INSTANCE_ID
    assert (
        h.sync("g", b.member_id, b.generation, protocol_type="consumer", protocol_name="range").error
        == INCONSISTENT_GROUP_PROTOCOL
    )
    assert h.sync("g", b.member_id, b.generation, protocol_type="connect").error == INCONSISTENT_GROUP_PROTOCOL
    assert h.leave("g", ("nobody", None)).value["members"][0]["error_code"] == UNKNOWN_MEMBER_ID
    h.classic("g", ["t"]).join()
    assert h.join("g", "", h.classic("g", ["t"]).protocols(), api_version=3).error == GROUP_MAX_SIZE_REACHED
    # Kafka 4.4 lets a classic LeaveGroup remove a consumer-protocol member (an admin removing it)
    assert h.leave("g", ("a", None)).value["members"][0]["error_code"] == NONE
    assert h.leave("g", ("a", None)).value["members"][0]["error_code"] == UNKNOWN_MEMBER_ID


def test_a_new_group_epoch_sends_classic_members_back_to_join():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"])
    a.send()
    b = h.classic("g", ["t"])
    b.join(), b.sync()
    h.settle([a, b])
    c = h.consumer("g", "c", ["t"])
    c.send()  # a third member: a new group epoch
    assert b.heartbeat() == REBALANCE_IN_PROGRESS
    assert b.sync().error == REBALANCE_IN_PROGRESS
    h.settle([a, b, c])
    assert shares([a, b, c], "t", 4)


def test_classic_members_are_fenced_by_their_own_timers():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"])
    a.send()
    # the session timeout is the member's own
    b = h.classic("g", ["t"], session_timeout_ms=8_000)
    b.join(), b.sync()
    h.advance(7_000)
    assert b.heartbeat() in (NONE, REBALANCE_IN_PROGRESS)
    h.advance(7_000)
    assert b.member_id in h.consumer_group("g").members
    a.send()
    h.advance(1_100)
    assert b.member_id not in h.consumer_group("g").members
    # a member that joined must sync within its rebalance timeout
    c = h.classic("g", ["t"], rebalance_timeout_ms=5_000)
    c.join()
    h.advance(5_000)
    assert c.member_id not in h.consumer_group("g").members
    # a member told to rejoin must do so within its rebalance timeout
    d = h.classic("g", ["t"], rebalance_timeout_ms=5_000)
    d.join(), d.sync()
    a.send()
    h.consumer("g", "e", ["t"]).send()
    assert d.heartbeat() == REBALANCE_IN_PROGRESS
    h.advance(4_000)
    assert d.heartbeat() == REBALANCE_IN_PROGRESS
    h.advance(1_000)
    assert d.member_id not in h.consumer_group("g").members


def test_a_classic_member_leaves_and_the_group_epoch_moves_on():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"])
    a.send()
    b = h.classic("g", ["t"])
    b.join(), b.sync()
    h.settle([a, b])
    epoch = h.consumer_group("g").group_epoch
    r = b.leave().value
    assert r["error_code"] == NONE and r["members"] == [
        {"member_id": b.member_id, "group_instance_id": None, "error_code": NONE}
    ]
    assert b.member_id not in h.consumer_group("g").members
    assert h.consumer_group("g").group_epoch == epoch + 1
    h.settle([a])
    assert a.partitions("t") == {0, 1, 2, 3}


def test_classic_members_commit_with_their_generation():
    h = MigrationHarness()
    h.create_topic("t", 2)
    a = h.consumer("g", "a", ["t"])
    a.send()
    b = h.classic("g", ["t"])
    b.join(), b.sync()
    ok = b.commit({("t", 0): 5}, api_version=7)  # any OffsetCommit version for a classic member
    assert ok.value["topics"][0]["partitions"][0]["error_code"] == NONE
    stale = h.commit("g", b.member_id, b.generation + 1, {("t", 0): 6})
    assert stale.value["topics"][0]["partitions"][0]["error_code"] == ILLEGAL_GENERATION
    assert h.coord.fetch_offsets("g", [("t", [0])])["topics"][0]["partitions"][0]["committed_offset"] == 5
    fetched = h.coord.fetch_offsets("g", [("t", [0])], member_id=b.member_id, member_epoch=b.generation + 1)
    assert fetched["error_code"] == ILLEGAL_GENERATION


# --- upgrade: a consumer-protocol member joins a classic group ---------------------------------------


def test_a_consumer_protocol_member_upgrades_a_classic_group():
    h = MigrationHarness()
    h.create_topic("t", 4)
    b, c = stable_classic_group(h, "g", "t", 2)
    generation = h.classic_group("g").generation_id
    assert shares([b, c], "t", 4)
    before = len(h.records("g"))
    a = h.consumer("g", "a", ["t"])
    assert a.send().error == NONE
    assert h.classic_group("g") is None
    group = h.consumer_group("g")
    # the classic tombstone, the new group's records as Kafka writes them, then the heartbeat's
    assert kinds(h.records("g")[before:])[:9] == [
        "-GroupMetadata",
        "ConsumerGroupMemberMetadata",
        "ConsumerGroupMemberMetadata",
        "ConsumerGroupMetadata",
        "ConsumerGroupTargetAssignmentMember",
        "ConsumerGroupTargetAssignmentMember",
        "ConsumerGroupTargetAssignmentMetadata",
        "ConsumerGroupCurrentMemberAssignment",
        "ConsumerGroupCurrentMemberAssignment",
    ]
    for x in (b, c):
        m = group.members[x.member_id]
        assert m.uses_classic_protocol and m.member_epoch == generation
        assert {p for ps in m.assigned.values() for p in ps} == x.partitions("t")
    assert group.group_epoch == generation + 1
    # the classic members carry on with their generation and are told to rejoin
    assert b.heartbeat() == REBALANCE_IN_PROGRESS
    h.settle([a, b, c])
    assert shares([a, b, c], "t", 4)
    assert h.consumer_group("g").state.value == "Stable"


def test_an_upgrade_answers_parked_classic_requests_with_rebalance_in_progress():
    h = MigrationHarness()
    h.create_topic("t", 2)
    b, c = stable_classic_group(h, "g", "t", 2)
    parked = h.join("g", b.member_id, [("cooperative-sticky", subscription(["t"], b.owned))])
    assert not parked.done  # b asked for a rebalance: its JoinGroup waits for c
    a = h.consumer("g", "a", ["t"])
    assert a.send().error == NONE
    assert parked.error == REBALANCE_IN_PROGRESS  # b rejoins, into the consumer group
    h.settle([a, b, c])
    # 2 partitions, 3 members: one gets nothing
    assert sorted(len(x.partitions("t")) for x in (a, b, c)) == [0, 1, 1]
    assert set().union(*(x.partitions("t") for x in (a, b, c))) == {0, 1}


@pytest.mark.parametrize("policy", ["disabled", "downgrade"])
def test_the_policy_can_forbid_the_upgrade(policy):
    h = MigrationHarness(consumer_migration_policy=policy)
    h.create_topic("t", 2)
    stable_classic_group(h, "g", "t", 1)
    r = h.consumer("g", "a", ["t"]).send()
    assert r.error == GROUP_ID_NOT_FOUND
    assert h.classic_group("g").state == GroupState.STABLE and h.consumer_group("g") is None


def test_only_consumer_groups_that_fit_are_upgraded():
    h = MigrationHarness(consumer_max_size=1)
    h.create_topic("t", 2)
    stable_classic_group(h, "g", "t", 2)
    assert h.consumer("g", "a", ["t"]).send().error == GROUP_ID_NOT_FOUND
    h = MigrationHarness()
    h.create_topic("t", 2)
    r = h.join("c", "", [("x", b"opaque")], protocol_type="connect", api_version=3)
    h.advance(0)
    assert r.error == NONE
    assert h.consumer("c", "a", ["t"]).send().error == GROUP_ID_NOT_FOUND
    # a malformed subscription cannot be upgraded either
    r = h.join("m", "", [("range", b"\x00")], api_version=3)
    h.advance(0)
    assert r.error == NONE
    assert h.consumer("m", "a", ["t"]).send().error == GROUP_ID_NOT_FOUND


# --- downgrade: the last consumer-protocol member leaves ---------------------------------------------


def mixed_group(h: MigrationHarness, topic: str = "t", partitions: int = 4, **kw):
    a = h.consumer("g", "a", [topic])
    a.send()
    b, c = h.classic("g", [topic], **kw), h.classic("g", [topic], **kw)
    for x in (b, c):
        x.join(), x.sync()
    h.settle([a, b, c])
    assert shares([a, b, c], topic, partitions) or partitions < 3
    return a, b, c


def test_the_last_consumer_protocol_member_leaving_downgrades_the_group():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a, b, c = mixed_group(h)
    epoch = h.consumer_group("g").group_epoch
    before = len(h.records("g"))
    assert a.leave().error == NONE
    assert h.consumer_group("g") is None
    group = h.classic_group("g")
    assert group.state == GroupState.PREPARING_REBALANCE and group.generation_id == epoch
    assert group.protocol_type == "consumer" and group.protocol_name == "cooperative-sticky"
    assert set(group.members) == {b.member_id, c.member_id}
    # the consumer group's tombstones, in Kafka's order, then the classic group's record
    assert kinds(h.records("g")[before:]) == ["-ConsumerGroupCurrentMemberAssignment"] * 3 + [
        "-ConsumerGroupTargetAssignmentMember"
    ] * 3 + ["-ConsumerGroupTargetAssignmentMetadata"] + ["-ConsumerGroupMemberMetadata"] * 3 + [
        "-ConsumerGroupPartitionMetadata",
        "-ConsumerGroupMetadata",
        "GroupMetadata",
    ]
    _, value = decode_record(*h.records("g")[-1])
    assert value.generation == epoch and value.protocol == "cooperative-sticky"
    assert {m.member_id: sorted(decode_assignment(m.assignment).get("t", ())) for m in value.members} == {
        b.member_id: sorted(b.partitions("t")),
        c.member_id: sorted(c.partitions("t")),
    }
    # the classic members rebalance as a classic group
    h.settle([b, c])
    assert shares([b, c], "t", 4)
    assert h.classic_group("g").state == GroupState.STABLE
    assert h.classic_group("g").generation_id == epoch + 1


def test_a_consumer_protocol_member_fenced_by_its_session_downgrades_the_group():
    h = MigrationHarness(consumer_session_timeout_ms=45_000)
    h.create_topic("t", 4)
    a, b, c = mixed_group(h)
    for _ in range(5):
        h.advance(9_000)
        b.step(), c.step()
    assert h.classic_group("g") is not None and h.consumer_group("g") is None
    h.settle([b, c])
    assert shares([b, c], "t", 4)


def test_the_policy_can_forbid_the_downgrade():
    h = MigrationHarness(consumer_migration_policy="upgrade")
    h.create_topic("t", 4)
    a, b, c = mixed_group(h)
    a.leave()
    group = h.consumer_group("g")
    assert group is not None and set(group.members) == {b.member_id, c.member_id}
    h.settle([b, c])
    assert shares([b, c], "t", 4)


def test_no_downgrade_while_another_consumer_protocol_member_stays():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a, b, c = mixed_group(h)
    d = h.consumer("g", "d", ["t"])
    d.send()
    a.leave()
    assert h.consumer_group("g") is not None
    d.leave()
    assert h.classic_group("g") is not None


def test_a_classic_static_member_replacing_the_last_consumer_member_downgrades_without_a_rebalance():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"], instance_id="i-a")
    a.send()
    b = h.classic("g", ["t"])
    b.join(), b.sync()
    h.settle([a, b])
    a_had = a.partitions("t")
    # the instance restarts as a classic consumer: it takes a's place, and the group becomes classic
    a2 = h.classic("g", ["t"], instance_id="i-a")
    r = a2.join()
    assert r.error == NONE
    group = h.classic_group("g")
    assert group is not None and group.state == GroupState.STABLE
    assert set(group.members) == {a2.member_id, b.member_id}
    assert a2.sync().error == NONE and a2.partitions("t") == a_had
    assert b.heartbeat() == NONE


# --- restarts ------------------------------------------------------------------------------------------


def test_a_mixed_group_comes_back_from_the_log():
    h = MigrationHarness()
    h.create_topic("t", 4)
    b, c = stable_classic_group(h, "g", "t", 2)
    a = h.consumer("g", "a", ["t"])
    a.send()
    h.settle([a, b, c])
    before = h.consumer_group("g")
    h.restart()
    after = h.consumer_group("g")
    assert h.classic_group("g") is None
    assert after.group_epoch == before.group_epoch and after.members == before.members
    assert after.target_assignment == before.target_assignment
    # the members carry on: classic ones with their generation, the other with its epoch
    for x in (a, b, c):
        x.step()
    assert b.heartbeat() == NONE and c.heartbeat() == NONE
    assert shares([a, b, c], "t", 4)
    # and their sessions were restarted: b stops, is fenced after its own session timeout
    h.advance(9_000)
    a.step(), c.step()
    h.advance(2_000)
    assert b.member_id not in h.consumer_group("g").members


def test_a_downgraded_group_comes_back_from_the_log_as_a_classic_group():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a, b, c = mixed_group(h)
    a.leave()
    h.settle([b, c])
    generation = h.classic_group("g").generation_id
    h.restart()
    group = h.classic_group("g")
    assert h.consumer_group("g") is None
    assert group.state == GroupState.STABLE and group.generation_id == generation
    assert set(group.members) == {b.member_id, c.member_id}
    assert b.heartbeat() == NONE and c.heartbeat() == NONE
    # and upgrading it again works from there
    a = h.consumer("g", "a2", ["t"])
    assert a.send().error == NONE
    h.settle([a, b, c])
    assert shares([a, b, c], "t", 4)
    h.restart()
    assert set(h.consumer_group("g").members) == {"a2", b.member_id, c.member_id}


def test_replaying_a_classic_group_record_replaces_a_consumer_group_of_that_id():
    h = MigrationHarness()
    h.create_topic("t", 4)
    mixed_group(h)
    records = h.records("g")
    last_metadata = [
        i
        for i, (k, _) in enumerate(records)
        if isinstance(decode_key(k), int) and isinstance(decode_consumer_record(k, None)[0], ConsumerGroupMetadataKey)
    ]
    assert last_metadata
    from kavka.coordinator.group.records import GroupMetadataValue, group_metadata_record

    h.log.partitions[h.coord.partition_for("g")].append(
        group_metadata_record("g", GroupMetadataValue("consumer", 9, "range", None, 0, ()))
    )
    h.restart()
    assert h.consumer_group("g") is None and h.classic_group("g").generation_id == 9


# --- static members --------------------------------------------------------------------------------


def test_a_static_consumer_member_takes_over_its_instance_from_a_classic_member_at_once():
    # static classic members restart with the consumer protocol: they never sent LeaveGroup
    h2 = MigrationHarness()
    h2.create_topic("t", 4)
    s1 = h2.classic("g", ["t"], instance_id="i-1")
    s2 = h2.classic("g", ["t"], instance_id="i-2")
    replies = [s1.join(), s2.join()]
    h2.advance(0)
    for x, r in zip((s1, s2), replies):
        x.resume(r)
    had = s1.partitions("t")
    a = h2.consumer("g", "new-1", ["t"], instance_id="i-1")
    assert a.send().error == NONE  # upgrade, and the instance changes hands in the same heartbeat
    group = h2.consumer_group("g")
    assert set(group.members) == {"new-1", s2.member_id}
    assert group.static_members == {"i-1": "new-1", "i-2": s2.member_id}
    h2.settle([a, s2])
    assert shares([a, s2], "t", 4)
    assert a.partitions("t") == had  # the instance kept its partitions
    assert s1.heartbeat() == FENCED_INSTANCE_ID  # the old process, if it were still around


def test_a_classic_static_member_rejoining_with_a_new_member_id_replaces_its_old_self():
    h = MigrationHarness()
    h.create_topic("t", 4)
    a = h.consumer("g", "a", ["t"])
    a.send()
    b = h.classic("g", ["t"], instance_id="i-b")
    b.join(), b.sync()
    h.settle([a, b])
    had, old_id = b.partitions("t"), b.member_id
    b2 = h.classic("g", ["t"], instance_id="i-b")
    assert b2.join().error == NONE and b2.member_id != old_id
    assert b2.sync().error == NONE and b2.partitions("t") == had
    assert old_id not in h.consumer_group("g").members
    assert h.heartbeat("g", old_id, b.generation, "i-b") == FENCED_INSTANCE_ID
    h.settle([a, b2])
    assert shares([a, b2], "t", 4)


def test_a_lone_static_consumer_member_replaced_by_a_classic_one_leaves_a_classic_group():
    h = MigrationHarness()
    h.create_topic("t", 2)
    a = h.consumer("g", "a", ["t"], instance_id="i")
    a.send()
    b = h.classic("g", ["t"], instance_id="i")
    assert b.join().error == NONE
    group = h.classic_group("g")
    assert h.consumer_group("g") is None and list(group.members) == [b.member_id]
    assert group.leader_id == b.member_id and group.state == GroupState.STABLE
    assert b.sync().error == NONE and b.partitions("t") == {0, 1}
    h.restart()
    assert list(h.classic_group("g").members) == [b.member_id] and b.heartbeat() == NONE


def test_classic_members_commit_with_an_older_generation_for_partitions_they_kept():
    """KIP-1251 for a classic member of a consumer group: a cooperative consumer keeps committing with its
    generation while its JoinGroup for the next one is out."""
    h = MigrationHarness()
    h.create_topic("t", 4)
    b, c = stable_classic_group(h, "g", "t", 2)
    generation = h.classic_group("g").generation_id
    a = h.consumer("g", "a", ["t"])
    a.send()
    t = h.topic_id("t")
    for x in (b, c):  # the upgrade keeps each classic assignment, made in the classic generation
        held = h.consumer_group("g").members[x.member_id].assignment_epochs
        assert dict(held) == {(t, p): generation for p in x.partitions("t")}
    before = b.partitions("t")
    h.settle([a, b, c])
    assert b.generation > generation
    kept, lost = b.partitions("t") & before, before - b.partitions("t")
    assert kept and lost, (before, b.partitions("t"))

    def code(partition: int, gen: int) -> int:
        reply = h.commit("g", b.member_id, gen, {("t", partition): 9})
        return reply.value["topics"][0]["partitions"][0]["error_code"]

    assert all(code(p, generation) == NONE for p in kept)
    assert all(code(p, generation) == ILLEGAL_GENERATION for p in lost)
    assert code(min(kept), b.generation + 1) == ILLEGAL_GENERATION
