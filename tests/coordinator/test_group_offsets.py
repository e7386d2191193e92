"""Committed offsets, deletion, expiry and replay of the group coordinator, with no I/O."""

from __future__ import annotations

import struct

import pytest

from kavka.coordinator.group import GroupState
from kavka.coordinator.group.records import OffsetCommitKey, OffsetCommitValue
from tests.coordinator.group_harness import PARTITIONS, Harness

NONE = 0
UNKNOWN_MEMBER_ID = 25
ILLEGAL_GENERATION = 22
REBALANCE_IN_PROGRESS = 27
GROUP_ID_NOT_FOUND = 69
NON_EMPTY_GROUP = 68
GROUP_SUBSCRIBED_TO_TOPIC = 86
OFFSET_METADATA_TOO_LARGE = 12
FENCED_INSTANCE_ID = 82
COORDINATOR_NOT_AVAILABLE = 15

MINUTE = 60_000


def subscription(*topics: str) -> bytes:
    """ConsumerProtocolSubscription v0: version, topics, user data (null)."""
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    return out + struct.pack(">i", -1)


def errors(reply) -> list[int]:
    return [p["error_code"] for t in reply.value["topics"] for p in t["partitions"]]


def test_simple_consumer_commit_creates_an_empty_group_and_fetch_returns_metadata():
    h = Harness()
    r = h.commit("simple", {("t", 0): 10, ("t", 1): 20}, metadata="hello")
    assert errors(r) == [NONE, NONE]
    g = h.group("simple")
    assert g.state == GroupState.EMPTY and g.protocol_type is None
    res = h.coord.fetch_offsets("simple", [("t", [0, 1, 2])])
    parts = res["topics"][0]["partitions"]
    assert [(p["committed_offset"], p["metadata"]) for p in parts] == [(10, "hello"), (20, "hello"), (-1, "")]
    everything = h.coord.fetch_offsets("simple", None)
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in everything["topics"]] == [
        ("t", [0, 1])
    ]
    assert h.coord.fetch_offsets("unknown", None)["topics"] == []
    # the records: OffsetCommitKey v1 / OffsetCommitValue v3
    decoded = h.log.decoded(h.coord.partition_for("simple"))
    assert decoded[-1] == (OffsetCommitKey("simple", "t", 1), OffsetCommitValue(20, "hello", h.clock.now, -1, -1))


def test_member_commits_are_checked_against_the_generation():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    assert errors(h.commit("g", {("t", 0): 1}, member_id=a, generation=gen)) == [NONE]
    assert errors(h.commit("g", {("t", 0): 1}, member_id=a, generation=gen + 1)) == [ILLEGAL_GENERATION]
    assert errors(h.commit("g", {("t", 0): 1}, member_id="x", generation=gen)) == [UNKNOWN_MEMBER_ID]
    # a simple commit to an active group is refused
    assert errors(h.commit("g", {("t", 0): 1})) == [UNKNOWN_MEMBER_ID]
    assert errors(h.commit("g", {("t", 0): 1}, member_id=a, generation=gen, instance_id="i")) == [UNKNOWN_MEMBER_ID]


def test_commit_during_completing_rebalance_is_told_to_wait():
    h = Harness()
    (a, ra), (_b, _rb) = h.join_new("g"), h.join_new("g")
    h.advance(0)
    gen = ra.value["generation_id"]
    assert errors(h.commit("g", {("t", 0): 1}, member_id=a, generation=gen)) == [REBALANCE_IN_PROGRESS]


def test_commit_to_a_missing_group_with_a_generation():
    h = Harness()
    assert errors(h.commit("nope", {("t", 0): 1}, member_id="m", generation=3)) == [GROUP_ID_NOT_FOUND]
    assert errors(h.commit("nope", {("t", 0): 1}, member_id="m", generation=3, api_version=8)) == [ILLEGAL_GENERATION]


def test_commit_keeps_the_member_session_alive():
    h = Harness()
    (a,), gen = h.form_group("g", 1, session_timeout_ms=10_000)
    for _ in range(4):
        h.advance(6_000)
        assert errors(h.commit("g", {("t", 0): 1}, member_id=a, generation=gen)) == [NONE]
    assert h.group("g").state == GroupState.STABLE


def test_metadata_too_large_is_refused_per_partition():
    h = Harness(offset_metadata_max_bytes=5)
    r = Harness.commit(h, "g", {("t", 0): 1}, metadata="123456")
    assert errors(r) == [OFFSET_METADATA_TOO_LARGE]
    assert h.committed("g", "t", 0) == -1


def test_failed_commit_write_applies_nothing():
    h = Harness()
    h.log.fail_with = 6  # NOT_LEADER_OR_FOLLOWER -> NOT_COORDINATOR
    r = h.commit("g", {("t", 0): 5, ("u", 1): 6})
    assert errors(r) == [16, 16]
    assert h.committed("g", "t", 0) == -1


def test_offsets_of_an_empty_group_expire_after_retention():
    h = Harness(offsets_retention_ms=10 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    (a,), gen = h.form_group("g", 1)
    h.commit("g", {("t", 0): 5}, member_id=a, generation=gen)
    h.advance(20 * MINUTE // 2)  # heartbeats aside, the member's session expires; group goes Empty
    assert h.group("g").state == GroupState.EMPTY
    assert h.committed("g", "t", 0) == 5
    h.advance(10 * MINUTE)
    assert h.committed("g", "t", 0) == -1
    assert h.coord.describe_groups(["g"])[0]["group_state"] == "Dead"
    p = h.coord.partition_for("g")
    tail = h.log.decoded(p)[-2:]
    assert [v for _, v in tail] == [None, None]  # offset tombstone, then group tombstone


def test_simple_group_offsets_expire_from_their_commit_time():
    h = Harness(offsets_retention_ms=10 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    h.commit("s", {("t", 0): 1})
    h.advance(5 * MINUTE)
    h.commit("s", {("t", 1): 2})
    h.advance(6 * MINUTE)
    assert h.committed("s", "t", 0) == -1 and h.committed("s", "t", 1) == 2
    h.advance(5 * MINUTE)
    assert h.committed("s", "t", 1) == -1


def test_commit_with_its_own_retention_expires_then():
    h = Harness(offsets_retention_ms=100 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    h.commit("s", {("t", 0): 1}, retention_ms=3 * MINUTE)
    p = h.coord.partition_for("s")
    assert h.log.records(p)[-1][1][:2] == b"\x00\x01"  # OffsetCommitValue v1 carries the expiry
    h.advance(3 * MINUTE)
    assert h.committed("s", "t", 0) == -1


def test_stable_consumer_group_keeps_offsets_of_subscribed_topics():
    h = Harness(offsets_retention_ms=10 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    proto = (("range", subscription("orders")),)
    (a,), gen = h.form_group("g", 1, protocols=proto, session_timeout_ms=60_000)
    h.commit("g", {("orders", 0): 5, ("old", 0): 7}, member_id=a, generation=gen)
    for _ in range(24):
        h.advance(MINUTE // 2)
        h.heartbeat("g", a, gen)
    assert h.committed("g", "orders", 0) == 5
    assert h.committed("g", "old", 0) == -1


def test_offset_delete():
    h = Harness()
    proto = (("range", subscription("orders")),)
    (a,), gen = h.form_group("g", 1, protocols=proto)
    h.commit("g", {("orders", 0): 5, ("old", 0): 7}, member_id=a, generation=gen)
    r = []
    h.coord.delete_offsets(group_id="g", topics=[("orders", [0]), ("old", [0, 1])], respond=r.append)
    [res] = r
    assert res["error_code"] == NONE
    assert [(t["name"], [p["error_code"] for p in t["partitions"]]) for t in res["topics"]] == [
        ("orders", [GROUP_SUBSCRIBED_TO_TOPIC]),
        ("old", [NONE, NONE]),
    ]
    assert h.committed("g", "orders", 0) == 5 and h.committed("g", "old", 0) == -1
    r.clear()
    h.coord.delete_offsets(group_id="missing", topics=[("t", [0])], respond=r.append)
    assert r[0]["error_code"] == GROUP_ID_NOT_FOUND


def test_offset_delete_of_a_non_consumer_group_with_members():
    h = Harness()
    (a,), gen = h.form_group("g", 1, protocol_type="connect")
    r = []
    h.coord.delete_offsets(group_id="g", topics=[("t", [0])], respond=r.append)
    assert r[0]["error_code"] == NON_EMPTY_GROUP


def test_delete_groups():
    h = Harness()
    h.form_group("active", 1)
    h.commit("idle", {("t", 0): 3})
    out = []
    h.coord.delete_groups(["active", "idle", "missing"], out.append)
    [results] = out
    assert [(r["group_id"], r["error_code"]) for r in results] == [
        ("active", NON_EMPTY_GROUP),
        ("idle", NONE),
        ("missing", GROUP_ID_NOT_FOUND),
    ]
    assert h.committed("idle", "t", 0) == -1
    assert h.coord.describe_groups(["idle"])[0]["group_state"] == "Dead"
    assert "idle" not in [g["group_id"] for g in h.coord.list_groups()["groups"]]


def snapshot(coord) -> dict:
    """What a coordinator durably knows: groups (as stored) and offsets."""
    out = {}
    for p in range(PARTITIONS):
        shard = coord.runtime.shard(p)
        for gid, g in shard.groups.items():
            out[("group", gid)] = (
                g.state if g.state in (GroupState.EMPTY, GroupState.STABLE) else "rebalancing",
                g.generation_id,
                g.protocol_type,
                g.protocol_name,
                g.leader_id,
                sorted(
                    (
                        m.member_id,
                        m.group_instance_id,
                        m.assignment,
                        m.session_timeout_ms,
                        m.rebalance_timeout_ms,
                        m.client_id,
                    )
                    for m in g.members.values()
                ),
            )
        for gid, topics in shard.offsets.store.by_group.items():
            for topic, parts in topics.items():
                for index, om in parts.items():
                    out[("offset", gid, topic, index)] = om
    return out


def test_replay_rebuilds_the_same_state():
    h = Harness(offsets_retention_ms=10 * MINUTE, offsets_retention_check_interval_ms=MINUTE)
    (a, b), gen = h.form_group("stable", 2, protocols=(("range", subscription("t")),))
    h.commit("stable", {("t", 0): 100, ("t", 1): 200}, member_id=a, generation=gen, metadata="m")
    h.commit("stable", {("t", 0): 150}, member_id=b, generation=gen)
    h.commit("simple", {("x", 0): 1})
    h.commit("doomed", {("x", 0): 1})
    out = []
    h.coord.delete_groups(["doomed"], out.append)
    ra = h.join("static", instance_id="i-1")
    h.advance(0)
    sid = ra.value["member_id"]
    h.sync("static", sid, ra.value["generation_id"], [(sid, b"own")], instance_id="i-1")
    h.join("static", instance_id="i-1")  # a restart: new member id, written to the log
    (c,), g2 = h.form_group("gone", 1)
    h.leave("gone", c)  # Empty, generation bumped
    before = snapshot(h.coord)
    fresh = h.new_coordinator()
    for p in range(PARTITIONS):
        fresh.load(p, h.log.records(p))
    assert snapshot(fresh) == before
    assert fresh.fetch_offsets("stable", [("t", [0, 1])])["topics"][0]["partitions"][0]["metadata"] == ""
    assert "doomed" not in snapshot(fresh).get(("group", "doomed"), ())


def test_loaded_members_must_heartbeat_within_their_session():
    h = Harness()
    (a, b), gen = h.form_group("g", 2, session_timeout_ms=10_000)
    fresh = h.new_coordinator()
    for p in range(PARTITIONS):
        fresh.load(p, h.log.records(p))
    h.coord = fresh
    assert h.group("g").state == GroupState.STABLE
    h.advance(6_000)
    assert h.heartbeat("g", a, gen) == NONE
    h.advance(6_000)  # b was silent since the load: its session is over
    assert b not in h.group("g").members
    assert h.heartbeat("g", a, gen) == 27


@pytest.mark.parametrize("bad", [b"", b"\x00", b"\x00\x00\x00\x05"])
def test_subscription_parsing_of_garbage_does_not_fail(bad):
    from kavka.coordinator.group.classic import subscribed_topics_of

    assert subscribed_topics_of(bad) is None
    assert subscribed_topics_of(subscription("a", "b")) == {"a", "b"}
