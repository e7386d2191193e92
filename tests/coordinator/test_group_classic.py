"""The classic group protocol as a state machine: a fake clock, a list for a log, no sockets."""

from __future__ import annotations

from kavka.coordinator.group import GroupState
from kavka.coordinator.group.records import GroupMetadataKey
from tests.coordinator.group_harness import Harness, Reply

NONE = 0
MEMBER_ID_REQUIRED = 79
REBALANCE_IN_PROGRESS = 27
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
FENCED_INSTANCE_ID = 82
GROUP_MAX_SIZE_REACHED = 81
INVALID_SESSION_TIMEOUT = 26
INCONSISTENT_GROUP_PROTOCOL = 23
NOT_COORDINATOR = 16
COORDINATOR_LOAD_IN_PROGRESS = 14
INVALID_GROUP_ID = 24


def group_records(h: Harness, group_id: str) -> list:
    p = h.coord.partition_for(group_id)
    return [(k, v) for k, v in h.log.decoded(p) if isinstance(k, GroupMetadataKey) and k.group == group_id]


def test_first_join_v4_requires_a_member_id_and_creates_the_group_in_the_log():
    h = Harness()
    r = h.join("g", client_id="client")
    assert r.error == MEMBER_ID_REQUIRED
    assert r.value["member_id"] == "client-1"
    assert h.group("g").state == GroupState.EMPTY
    [(key, value)] = group_records(h, "g")
    assert value.generation == 0 and value.members == () and value.protocol is None


def test_join_before_v4_gets_an_id_at_once():
    h = Harness()
    r = h.join("g", api_version=3)
    h.advance(0)
    assert r.error == NONE and r.value["member_id"] == "c-1" and r.value["generation_id"] == 1


def test_three_members_one_generation_leader_gets_the_member_list():
    h = Harness(initial_rebalance_delay_ms=3000)
    joins = [h.join_new("g", protocols=(("range", f"m{i}".encode()),)) for i in range(3)]
    assert not any(r.done for _, r in joins)
    h.advance(3000)  # members 2 and 3 joined during the delay: it is extended once
    assert not any(r.done for _, r in joins)
    h.advance(3000)
    values = [r.value for _, r in joins]
    assert {v["generation_id"] for v in values} == {1}
    assert {v["leader"] for v in values} == {joins[0][0]}
    assert [m["metadata"] for m in values[0]["members"]] == [b"m0", b"m1", b"m2"]
    assert values[1]["members"] == [] and values[2]["members"] == []
    assert all(v["protocol_name"] == "range" for v in values)
    assert h.group("g").state == GroupState.COMPLETING_REBALANCE


def test_initial_rebalance_delay_is_extended_by_new_members():
    h = Harness(initial_rebalance_delay_ms=3000)
    _, r1 = h.join_new("g")
    h.advance(2000)
    _, r2 = h.join_new("g")
    h.advance(1000)  # t=3000: a member joined during the delay, so wait another delay
    assert not r1.done
    h.advance(2999)
    assert not r1.done
    h.advance(1)  # t=6000
    assert r1.error == NONE and r2.error == NONE


def test_sync_followers_wait_for_the_leader_and_the_assignment_is_logged_first():
    h = Harness()
    (a, ra), (b, _rb) = h.join_new("g"), h.join_new("g")
    h.advance(0)
    gen = ra.value["generation_id"]
    leader = ra.value["leader"]
    follower = b if leader == a else a
    fs = h.sync("g", follower, gen)
    assert not fs.done
    before = len(group_records(h, "g"))
    seen = []

    def append(partition, records):
        seen.append(fs.done)  # the follower must not have its answer before the record is written
        h.log.partitions.setdefault(partition, []).extend(records)

    h.coord.runtime._append = append
    ls = h.sync("g", leader, gen, [(a, b"A"), (b, b"B")])
    assert seen == [False]
    assert ls.value["assignment"] == (b"A" if leader == a else b"B")
    assert fs.value["assignment"] == (b"A" if follower == a else b"B")
    assert fs.value["protocol_name"] == "range" and fs.value["protocol_type"] == "consumer"
    assert h.group("g").state == GroupState.STABLE
    records = group_records(h, "g")
    assert len(records) == before + 1
    value = records[-1][1]
    assert value.generation == gen and value.leader == leader
    assert {m.member_id: m.assignment for m in value.members} == {a: b"A", b: b"B"}


def test_heartbeat_errors():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    assert h.heartbeat("g", a, gen) == NONE
    assert h.heartbeat("g", a, gen + 1) == ILLEGAL_GENERATION
    assert h.heartbeat("g", "nobody", gen) == UNKNOWN_MEMBER_ID
    assert h.heartbeat("other", a, gen) == UNKNOWN_MEMBER_ID
    c, rc = h.join_new("g")  # a new member starts a rebalance
    assert h.group("g").state == GroupState.PREPARING_REBALANCE
    assert h.heartbeat("g", a, gen) == REBALANCE_IN_PROGRESS


def test_rebalance_completes_when_every_member_rejoined():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    c, rc = h.join_new("g")
    ra, rb = h.join("g", a), h.join("g", b)
    # not an initial rebalance: no delay, completes on the last rejoin
    for r in (ra, rb, rc):
        assert r.value["generation_id"] == gen + 1
    assert len(ra.value["members"] or rb.value["members"]) == 3


def test_members_that_do_not_rejoin_within_the_rebalance_timeout_are_removed():
    h = Harness()
    (a, b), gen = h.form_group("g", 2, rebalance_timeout_ms=20_000)
    ra = h.join("g", a, rebalance_timeout_ms=20_000)  # a asks for a rebalance; b stays silent
    h.advance(5_000)
    h.heartbeat("g", b, gen)  # still alive, but not rejoining
    assert not ra.done
    h.advance(15_000)
    assert ra.value["generation_id"] == gen + 1
    assert [m["member_id"] for m in ra.value["members"]] == [a]
    assert set(h.group("g").members) == {a}


def test_session_expiry_removes_a_member_and_the_others_rebalance():
    h = Harness()
    (a, b), gen = h.form_group("g", 2, session_timeout_ms=10_000)
    for _ in range(2):
        h.advance(4_000)
        assert h.heartbeat("g", a, gen) == NONE  # b has stopped heartbeating
    assert b in h.group("g").members
    h.advance(2_000)  # b's session (10 s) is over
    assert b not in h.group("g").members
    assert h.heartbeat("g", a, gen) == REBALANCE_IN_PROGRESS
    ra = h.join("g", a)
    assert ra.value["generation_id"] == gen + 1 and ra.value["leader"] == a


def test_leader_that_leaves_is_replaced_by_a_rejoined_member():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    leader = h.group("g").leader_id
    other = b if leader == a else a
    h.leave("g", leader)
    assert h.group("g").leader_id == other
    r = h.join("g", other)
    assert r.value["leader"] == other and r.value["generation_id"] == gen + 1


def test_batched_leave_and_last_member_leaving_makes_the_group_empty():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    r = h.leave("g", a, b, "ghost")
    assert r.value["error_code"] == NONE
    assert [m["error_code"] for m in r.value["members"]] == [NONE, NONE, UNKNOWN_MEMBER_ID]
    g = h.group("g")
    assert g.state == GroupState.EMPTY and g.generation_id == gen + 1
    last = group_records(h, "g")[-1][1]
    assert last.members == () and last.generation == gen + 1


def test_leave_of_an_unknown_group():
    h = Harness()
    r = h.leave("nope", "m")
    assert r.value["members"][0]["error_code"] == UNKNOWN_MEMBER_ID


def test_static_member_restart_keeps_its_assignment_without_a_rebalance():
    h = Harness()
    ra = h.join("g", instance_id="i-a")  # static members get an id at once, no MEMBER_ID_REQUIRED
    rb = h.join("g", instance_id="i-b")
    h.advance(0)
    a, b = ra.value["member_id"], rb.value["member_id"]
    assert a.startswith("i-a-")
    gen = ra.value["generation_id"]
    h.sync("g", b, gen, instance_id="i-b")
    h.sync("g", a, gen, [(a, b"PA"), (b, b"PB")], instance_id="i-a")
    assert h.group("g").state == GroupState.STABLE
    records_before = len(group_records(h, "g"))
    # b restarts: it joins with its instance id and no member id
    rb2 = h.join("g", instance_id="i-b")
    b2 = rb2.value["member_id"]
    assert rb2.error == NONE and b2 != b and rb2.value["generation_id"] == gen
    g = h.group("g")
    assert g.state == GroupState.STABLE and g.generation_id == gen
    assert h.heartbeat("g", a, gen, "i-a") == NONE  # the other member is undisturbed
    assert h.heartbeat("g", b, gen, "i-b") == FENCED_INSTANCE_ID
    assert h.sync("g", b2, gen, instance_id="i-b").value["assignment"] == b"PB"
    # the new member id is in the log
    last = group_records(h, "g")[-1][1]
    assert len(group_records(h, "g")) == records_before + 1
    assert {m.group_instance_id: m.member_id for m in last.members} == {"i-a": a, "i-b": b2}


def test_static_leader_restart_on_v9_is_told_to_skip_assignment():
    h = Harness()
    ra = h.join("g", instance_id="i-a")
    h.advance(0)
    a, gen = ra.value["member_id"], ra.value["generation_id"]
    h.sync("g", a, gen, [(a, b"X")], instance_id="i-a")
    r = h.join("g", instance_id="i-a")
    assert r.value["leader"] == r.value["member_id"] and r.value["skip_assignment"] is True
    assert [m["member_id"] for m in r.value["members"]] == [r.value["member_id"]]


def test_static_member_is_kept_through_a_rebalance_it_misses():
    h = Harness()
    ra = h.join("g", instance_id="i-a")
    rb = h.join("g", instance_id="i-b")
    h.advance(0)
    a, b = ra.value["member_id"], rb.value["member_id"]
    gen = ra.value["generation_id"]
    h.sync("g", b, gen, instance_id="i-b")
    h.sync("g", a, gen, [(a, b"1"), (b, b"2")], instance_id="i-a")
    r = h.join("g", a, instance_id="i-a")  # the leader rejoins, b does not (but stays alive)
    for _ in range(6):
        h.advance(5_000)
        assert h.heartbeat("g", b, gen, "i-b") in (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION)
    assert r.value["generation_id"] == gen + 1
    assert {m["member_id"] for m in r.value["members"]} == {a, b}


def test_group_max_size():
    h = Harness(max_size=2)
    h.form_group("g", 2)
    r = h.join("g", api_version=3)
    assert r.error == GROUP_MAX_SIZE_REACHED


def test_request_checks_before_the_group():
    h = Harness()
    assert h.join("g", session_timeout_ms=10).error == INVALID_SESSION_TIMEOUT
    assert h.join("g", session_timeout_ms=3_600_000).error == INVALID_SESSION_TIMEOUT
    assert h.join("").error == INVALID_GROUP_ID


def test_inconsistent_group_protocol():
    h = Harness()
    h.form_group("g", 1)
    assert h.join("g", protocols=(("roundrobin", b""),)).error == INCONSISTENT_GROUP_PROTOCOL
    assert h.join("g", protocol_type="connect").error == INCONSISTENT_GROUP_PROTOCOL
    assert h.join("new", protocols=()).error == INCONSISTENT_GROUP_PROTOCOL


def test_protocol_selection_by_vote_among_common_protocols():
    h = Harness()
    _, r1 = h.join_new("g", protocols=(("cooperative-sticky", b"1"), ("range", b"r1")))
    _, r2 = h.join_new("g", protocols=(("range", b"r2"), ("cooperative-sticky", b"2")))
    _, r3 = h.join_new("g", protocols=(("roundrobin", b"x"), ("range", b"r3"), ("cooperative-sticky", b"3")))
    h.advance(0)
    # common: range and cooperative-sticky; votes: cooperative-sticky 1, range 2
    assert r1.value["protocol_name"] == "range"
    assert [m["metadata"] for m in r1.value["members"]] == [b"r1", b"r2", b"r3"]


def test_follower_rejoin_with_same_metadata_in_stable_group_returns_current_generation():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    leader = h.group("g").leader_id
    follower = b if leader == a else a
    r = h.join("g", follower)
    assert r.value["generation_id"] == gen and r.value["members"] == []
    assert h.group("g").state == GroupState.STABLE
    # changed metadata (e.g. cooperative-sticky's owned partitions) starts a rebalance
    r2 = h.join("g", follower, protocols=(("range", b"changed"),))
    assert not r2.done and h.group("g").state == GroupState.PREPARING_REBALANCE


def test_cooperative_two_phase_rebalance():
    """The broker's part of cooperative-sticky: two back-to-back generations, members keep syncing."""
    h = Harness()
    proto = (("cooperative-sticky", b"v"),)
    (a, b), gen = h.form_group("g", 2, protocols=proto)
    c, rc = h.join_new("g", protocols=proto)
    ra, _rb = h.join("g", a, protocols=proto), h.join("g", b, protocols=proto)
    gen2 = rc.value["generation_id"]
    leader = ra.value["leader"]
    ids = [a, b, c]
    syncs = [h.sync("g", m, gen2, [(x, b"first") for x in ids] if m == leader else ()) for m in ids]
    assert all(s.error == NONE for s in syncs)
    # phase two: the members that revoked rejoin at once (the client does this), new generation
    joins = [h.join("g", m, protocols=proto) for m in ids]
    assert all(j.value["generation_id"] == gen2 + 1 for j in joins)


def test_members_that_never_sync_are_removed_after_the_rebalance_timeout():
    h = Harness()
    (a, ra), (b, _rb) = h.join_new("g"), h.join_new("g")
    h.advance(0)
    gen = ra.value["generation_id"]
    leader = ra.value["leader"]
    h.sync("g", leader, gen, [(a, b"A"), (b, b"B")])
    follower = b if leader == a else a
    for _ in range(6):  # the follower heartbeats but never syncs
        h.advance(5_000)
        h.heartbeat("g", leader, gen)
        h.heartbeat("g", follower, gen)
    g = h.group("g")
    assert set(g.members) == {leader}
    assert g.state == GroupState.PREPARING_REBALANCE


def test_failed_assignment_write_answers_everyone_and_rebalances():
    h = Harness()
    (a, ra), (b, _rb) = h.join_new("g"), h.join_new("g")
    h.advance(0)
    gen, leader = ra.value["generation_id"], ra.value["leader"]
    follower = b if leader == a else a
    fs = h.sync("g", follower, gen)
    h.log.fail_with = 6  # NOT_LEADER_OR_FOLLOWER
    ls = h.sync("g", leader, gen, [(a, b"A"), (b, b"B")])
    assert ls.error == NOT_COORDINATOR and fs.error == NOT_COORDINATOR
    assert h.group("g").state == GroupState.PREPARING_REBALANCE


def test_parked_join_of_a_new_member_times_out():
    h = Harness(new_member_join_timeout_ms=5_000)
    (a,), gen = h.form_group("g", 1, rebalance_timeout_ms=30_000)
    b, rb = h.join_new("g", rebalance_timeout_ms=30_000)  # parked: a has not rejoined yet
    h.advance(4_000)
    h.heartbeat("g", a, gen)
    assert not rb.done
    h.advance(1_000)
    assert rb.error == UNKNOWN_MEMBER_ID and b not in h.group("g").members
    h.heartbeat("g", a, gen)
    h.advance(25_000)  # the rebalance timeout: a never rejoined and is removed too
    g = h.group("g")
    assert g.state == GroupState.EMPTY and g.generation_id == gen + 1


def test_not_coordinator_and_load_in_progress():
    h = Harness()
    p = h.coord.partition_for("g")
    h.coord.unload(p)
    assert h.join("g").error == NOT_COORDINATOR
    h.coord.begin_load(p)
    assert h.join("g").error == COORDINATOR_LOAD_IN_PROGRESS
    assert h.heartbeat("g", "m", 1) == NONE  # Kafka answers heartbeats blindly while loading
    assert h.coord.fetch_offsets("g", None)["error_code"] == COORDINATOR_LOAD_IN_PROGRESS
    assert h.coord.list_groups()["error_code"] == COORDINATOR_LOAD_IN_PROGRESS
    h.coord.complete_load(p)
    assert h.join("g").error == MEMBER_ID_REQUIRED


def test_unload_answers_parked_requests_not_coordinator():
    h = Harness(initial_rebalance_delay_ms=3000)
    _, r = h.join_new("g")
    h.coord.unload(h.coord.partition_for("g"))
    assert r.error == NOT_COORDINATOR


def test_replaced_join_request_is_answered():
    h = Harness(initial_rebalance_delay_ms=3000)
    m, r1 = h.join_new("g")
    # the same member joins again while parked (e.g. a retry after a timeout); the first must not hang
    r2 = h.join("g", m)
    assert r1.error == REBALANCE_IN_PROGRESS
    h.advance(3000)
    assert r2.error == NONE


def test_pending_member_that_never_rejoins_expires():
    h = Harness(initial_rebalance_delay_ms=3000)
    first = h.join("g", session_timeout_ms=10_000)
    assert first.error == MEMBER_ID_REQUIRED
    assert h.group("g").pending_join_members == {first.value["member_id"]}
    h.advance(10_000)
    assert h.group("g").pending_join_members == set()


def test_describe_and_list_groups():
    h = Harness()
    (a, b), gen = h.form_group("g", 2)
    h.commit("simple", {("t", 0): 5})
    [d] = h.coord.describe_groups(["g"])
    assert d["group_state"] == "Stable" and d["protocol_type"] == "consumer" and d["protocol_data"] == "range"
    assert {m["member_id"]: m["member_assignment"] for m in d["members"]} == {a: a.encode(), b: b.encode()}
    assert all(m["member_metadata"] == b"sub" and m["client_host"] == "/127.0.0.1" for m in d["members"])
    [dead] = h.coord.describe_groups(["missing"])
    assert dead["group_state"] == "Dead" and dead["error_code"] == NONE
    listed = h.coord.list_groups()
    assert {(x["group_id"], x["group_state"], x["protocol_type"]) for x in listed["groups"]} == {
        ("g", "Stable", "consumer"),
        ("simple", "Empty", ""),
    }
    assert [x["group_id"] for x in h.coord.list_groups(states=["empty"])["groups"]] == ["simple"]
    assert h.coord.list_groups(types=["consumer"])["groups"] == []


def test_join_response_only_after_the_new_group_record_is_written():
    h = Harness()
    r = Reply()
    calls = []

    def append(partition, records):
        calls.append(r.done)
        h.log.partitions.setdefault(partition, []).extend(records)

    h.coord.runtime._append = append
    h.coord.join_group(
        group_id="g2",
        member_id="",
        protocol_type="consumer",
        protocols=[("range", b"")],
        session_timeout_ms=10_000,
        rebalance_timeout_ms=10_000,
        respond=r,
    )
    assert calls == [False] and r.error == MEMBER_ID_REQUIRED
