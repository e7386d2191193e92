"""The KIP-848 consumer group protocol as a state machine: a fake clock, a list for a log, no sockets."""

from __future__ import annotations

import uuid

import pytest

from kavka.coordinator.group import GroupConfig, GroupCoordinator
from kavka.coordinator.group.consumer import ConsumerGroupState, MemberState, TopicInfo, TopicsImage
from tests.coordinator.group_harness import PARTITIONS, FakeClock, FakeLog, Reply

NONE = 0
UNKNOWN_MEMBER_ID = 25
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_REQUEST = 42
GROUP_ID_NOT_FOUND = 69
GROUP_MAX_SIZE_REACHED = 81
FENCED_INSTANCE_ID = 82
FENCED_MEMBER_EPOCH = 110
UNRELEASED_INSTANCE_ID = 111
UNSUPPORTED_ASSIGNOR = 112
STALE_MEMBER_EPOCH = 113
INVALID_REGULAR_EXPRESSION = 128
NON_EMPTY_GROUP = 68

SESSION = 45_000


class Member:
    """One consumer-protocol client: what it owns and its epoch, as a client would keep them."""

    def __init__(
        self,
        h: ConsumerHarness,
        group: str,
        member_id: str,
        topics=None,
        regex=None,
        *,
        instance_id: str | None = None,
        assignor: str | None = None,
    ):
        self.h, self.group, self.member_id = h, group, member_id
        self.topics, self.regex, self.instance_id, self.assignor = topics, regex, instance_id, assignor
        self.epoch = 0
        self.owned: dict[uuid.UUID, set[int]] = {}

    def send(self, *, epoch: int | None = None, owned=..., full: bool = False, **kw) -> Reply:
        epoch = self.epoch if epoch is None else epoch
        joining = epoch == 0
        if owned is ...:
            owned = [] if joining else [(t, sorted(ps)) for t, ps in self.owned.items()]
        reply = self.h.heartbeat(
            self.group,
            self.member_id,
            epoch,
            instance_id=self.instance_id,
            rebalance_timeout_ms=30_000 if joining or full else -1,
            topics=self.topics if joining or full else None,
            regex=self.regex if joining or full else None,
            assignor=self.assignor if joining else None,
            owned=owned,
            **kw,
        )
        r = reply.value
        if r["error_code"] == NONE and epoch >= 0:
            self.epoch = r["member_epoch"]
            if r["assignment"] is not None:
                self.owned = {tp["topic_id"]: set(tp["partitions"]) for tp in r["assignment"]["topic_partitions"]}
        return reply

    def partitions(self, topic: str) -> set[int]:
        return set(self.owned.get(self.h.topic_id(topic), ()))


class ConsumerHarness:
    def __init__(self, **config):
        defaults = dict(offsets_topic_num_partitions=PARTITIONS, initial_rebalance_delay_ms=0)
        defaults.update(config)
        self.config = GroupConfig(**defaults)
        self.clock = FakeClock()
        self.log = FakeLog()
        self.image = TopicsImage()
        self.coord = self.new_coordinator()
        for p in range(PARTITIONS):
            self.coord.load(p, [])

    def new_coordinator(self) -> GroupCoordinator:
        return GroupCoordinator(self.config, self.log.append, self.clock, topics=lambda: self.image)

    def restart(self) -> None:
        """A new coordinator replaying the log, as after a broker restart."""
        self.coord = self.new_coordinator()
        for p in range(PARTITIONS):
            self.coord.load(p, self.log.records(p))

    def create_topic(self, name: str, partitions: int) -> uuid.UUID:
        topics = dict(self.image.by_name)
        old = topics.get(name)
        topic_id = old.topic_id if old else uuid.uuid4()
        topics[name] = TopicInfo(topic_id, partitions)
        self.image = TopicsImage(topics)
        return topic_id

    def topic_id(self, name: str) -> uuid.UUID:
        return self.image.by_name[name].topic_id

    def advance(self, ms: int) -> None:
        self.clock.now += ms
        self.coord.tick()

    def group(self, group_id: str):
        return self.coord.shard_of(group_id).consumer_groups.get(group_id)

    def heartbeat(
        self,
        group_id: str,
        member_id: str,
        epoch: int,
        *,
        instance_id=None,
        rebalance_timeout_ms=-1,
        topics=None,
        regex=None,
        assignor=None,
        owned=None,
        api_version=1,
    ) -> Reply:
        reply = Reply()
        self.coord.consumer_group_heartbeat(
            group_id=group_id,
            member_id=member_id,
            member_epoch=epoch,
            respond=reply,
            instance_id=instance_id,
            rebalance_timeout_ms=rebalance_timeout_ms,
            subscribed_topic_names=topics,
            subscribed_topic_regex=regex,
            server_assignor=assignor,
            topic_partitions=owned,
            client_id="client",
            client_host="/127.0.0.1",
            api_version=api_version,
        )
        return reply

    def member(self, group: str, member_id: str, topics=None, **kw) -> Member:
        return Member(self, group, member_id, topics, **kw)

    def settle(self, members, rounds: int = 10) -> None:
        """Heartbeat every member until none of them changes any more."""
        for _ in range(rounds):
            before = [(m.epoch, {t: set(p) for t, p in m.owned.items()}) for m in members]
            for m in members:
                assert m.send().error == NONE
            if before == [(m.epoch, m.owned) for m in members]:
                return
        raise AssertionError("the group did not settle")


def covered(members, topic: str, partitions: int) -> bool:
    seen = [p for m in members for p in m.partitions(topic)]
    return sorted(seen) == list(range(partitions))


# --- joining and assignment --------------------------------------------------------------------------


def test_first_member_gets_every_partition_at_epoch_1():
    h = ConsumerHarness()
    h.create_topic("t", 6)
    a = h.member("g", "a", ["t"])
    r = a.send().value
    assert r["error_code"] == NONE and r["member_id"] == "a" and r["member_epoch"] == 1
    assert r["heartbeat_interval"] == 5000
    assert a.partitions("t") == set(range(6))
    group = h.group("g")
    assert group.group_epoch == 1 and group.assignment_epoch == 1 and group.state == ConsumerGroupState.STABLE


def test_three_members_get_disjoint_full_coverage_only_after_revocation():
    h = ConsumerHarness()
    h.create_topic("t", 6)
    a = h.member("g", "a", ["t"])
    a.send()
    b = h.member("g", "b", ["t"])
    rb = b.send().value
    # b's target partitions still belong to a: b is at the new epoch with nothing yet
    assert rb["member_epoch"] == 2 and b.partitions("t") == set()
    assert h.group("g").members["b"].state == MemberState.UNRELEASED_PARTITIONS
    # a is asked to give up three partitions; it stays at epoch 1 until it does
    ra = a.send().value
    assert ra["member_epoch"] == 1 and len(a.partitions("t")) == 3
    assert h.group("g").members["a"].state == MemberState.UNREVOKED_PARTITIONS
    assert h.group("g").state == ConsumerGroupState.RECONCILING
    a.send()  # reports the smaller owned set: revocation done, epoch 2
    assert a.epoch == 2
    b.send()
    assert len(b.partitions("t")) == 3 and covered([a, b], "t", 6)
    c = h.member("g", "c", ["t"])
    c.send()
    h.settle([a, b, c])
    assert covered([a, b, c], "t", 6)
    assert [len(m.partitions("t")) for m in (a, b, c)] == [2, 2, 2]
    assert h.group("g").state == ConsumerGroupState.STABLE
    assert {m.epoch for m in (a, b, c)} == {3}


def test_a_partition_never_has_two_owners_during_reconciliation():
    h = ConsumerHarness()
    h.create_topic("t", 6)
    members = [h.member("g", m, ["t"]) for m in "abc"]
    for step in range(12):
        for m in members:
            m.send()
            owners = [p for x in members for p in x.partitions("t")]
            assert len(owners) == len(set(owners)), (step, [x.owned for x in members])
    assert covered(members, "t", 6)


def test_member_leaving_gives_its_partitions_to_the_others():
    h = ConsumerHarness()
    h.create_topic("t", 6)
    a, b, c = (h.member("g", m, ["t"]) for m in "abc")
    for m in (a, b, c):
        m.send()
    h.settle([a, b, c])
    gone = b.partitions("t")
    r = b.send(epoch=-1).value
    assert r["error_code"] == NONE and r["member_epoch"] == -1
    assert "b" not in h.group("g").members
    assert h.group("g").state == ConsumerGroupState.ASSIGNING
    h.settle([a, c])
    assert covered([a, c], "t", 6) and gone <= a.partitions("t") | c.partitions("t")
    assert [len(m.partitions("t")) for m in (a, c)] == [3, 3]


def test_session_timeout_removes_a_silent_member():
    h = ConsumerHarness()
    h.create_topic("t", 4)
    a, b = h.member("g", "a", ["t"]), h.member("g", "b", ["t"])
    a.send(), b.send()
    h.settle([a, b])
    for _ in range(5):
        h.advance(SESSION // 5)
        a.send()
    assert "b" not in h.group("g").members and "a" in h.group("g").members
    h.settle([a])
    assert a.partitions("t") == {0, 1, 2, 3}
    assert b.send().error == UNKNOWN_MEMBER_ID


def test_member_that_does_not_revoke_in_time_is_fenced():
    h = ConsumerHarness()
    h.create_topic("t", 4)
    a = h.member("g", "a", ["t"])
    a.send()
    b = h.member("g", "b", ["t"])
    b.send()
    a.send(owned=[(h.topic_id("t"), [0, 1, 2, 3])])  # told to revoke; keeps saying it owns all
    assert h.group("g").members["a"].state == MemberState.UNREVOKED_PARTITIONS
    h.advance(30_000)  # a's rebalance timeout
    assert "a" not in h.group("g").members
    b.send()
    assert b.partitions("t") == {0, 1, 2, 3}


def test_new_partitions_and_new_topics_rebalance_on_the_next_heartbeat():
    h = ConsumerHarness()
    h.create_topic("t", 2)
    a, b = h.member("g", "a", ["t", "u"]), h.member("g", "b", ["t", "u"])
    a.send(), b.send()
    h.settle([a, b])
    epoch = h.group("g").group_epoch
    h.create_topic("t", 4)  # CreatePartitions
    h.settle([a, b])
    assert covered([a, b], "t", 4) and h.group("g").group_epoch == epoch + 1
    h.create_topic("u", 2)  # a subscribed topic appears
    h.settle([a, b])
    assert covered([a, b], "u", 2) and h.group("g").group_epoch == epoch + 2


def test_regex_subscription_picks_up_a_topic_created_later():
    h = ConsumerHarness()
    h.create_topic("orders-eu", 2)
    h.create_topic("payments", 2)
    a = h.member("g", "a", regex="^orders-.*")
    a.send()
    assert a.partitions("orders-eu") == {0, 1} and a.partitions("payments") == set()
    h.create_topic("orders-us", 3)
    h.create_topic("__orders-internal", 1)
    a.send()
    assert a.partitions("orders-us") == {0, 1, 2}
    assert set(h.group("g").subscription_metadata) == {"orders-eu", "orders-us"}


def test_range_assignor_gives_contiguous_ranges():
    h = ConsumerHarness()
    h.create_topic("t", 5)
    a, b = h.member("g", "a", ["t"], assignor="range"), h.member("g", "b", ["t"], assignor="range")
    a.send(), b.send()
    h.settle([a, b])
    assert a.partitions("t") == {0, 1, 2} and b.partitions("t") == {3, 4}
    assert h.coord.consumer_group_describe(["g"])[0]["assignor_name"] == "range"


def test_lost_response_previous_epoch_is_accepted_with_a_subset():
    h = ConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    a.send()
    b = h.member("g", "b", ["t"])
    b.send()
    a.send()
    a.send()  # revoked: epoch 2
    assert a.epoch == 2
    r = a.send(epoch=1).value  # as if the epoch-2 answer was lost; owns a subset
    assert r["error_code"] == NONE and r["member_epoch"] == 2
    assert a.send(epoch=1, owned=[(h.topic_id("t"), [0, 1])]).error == FENCED_MEMBER_EPOCH
    assert a.send(epoch=7).error == FENCED_MEMBER_EPOCH


def test_fenced_member_rejoins_with_epoch_zero_and_its_id():
    h = ConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    a.send()
    assert a.send(epoch=9).error == FENCED_MEMBER_EPOCH
    r = a.send(epoch=0).value
    assert r["error_code"] == NONE and r["member_epoch"] == 1 and a.partitions("t") == {0, 1}


# --- static members ------------------------------------------------------------------------------------


def test_static_member_pauses_and_its_new_incarnation_takes_over_its_partitions():
    h = ConsumerHarness()
    h.create_topic("t", 4)
    a = h.member("g", "a1", ["t"], instance_id="i-a")
    b = h.member("g", "b", ["t"])
    a.send(), b.send()
    h.settle([a, b])
    kept = a.partitions("t")
    epoch = h.group("g").group_epoch
    r = a.send(epoch=-2).value
    assert r["error_code"] == NONE and r["member_epoch"] == -2
    # while paused, the instance cannot be taken by a member that has not seen it leave
    other = h.member("g", "x", ["t"], instance_id="i-b")
    other.send()
    h.settle([b, other])
    a2 = h.member("g", "a2", ["t"], instance_id="i-a")
    r = a2.send().value
    assert r["error_code"] == NONE and a2.partitions("t") <= kept and a2.partitions("t")
    assert "a1" not in h.group("g").members and h.group("g").static_members["i-a"] == "a2"
    assert a.send(epoch=r["member_epoch"]).error == FENCED_INSTANCE_ID
    assert h.group("g").group_epoch >= epoch


def test_static_instance_held_by_a_live_member_is_unreleased():
    h = ConsumerHarness()
    h.create_topic("t", 2)
    h.member("g", "a1", ["t"], instance_id="i").send()
    assert h.member("g", "a2", ["t"], instance_id="i").send().error == UNRELEASED_INSTANCE_ID


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, code",
    [
        (dict(member_id="", epoch=0, api_version=1), INVALID_REQUEST),
        (dict(epoch=0, rebalance_timeout_ms=-1), INVALID_REQUEST),
        (dict(epoch=0, owned=None), INVALID_REQUEST),
        (dict(epoch=0, owned=[(uuid.uuid4(), [0])]), INVALID_REQUEST),
        (dict(epoch=0, topics=None), INVALID_REQUEST),
        (dict(epoch=-3), INVALID_REQUEST),
        (dict(epoch=-2), INVALID_REQUEST),  # a static leave needs an instance id
        (dict(epoch=0, assignor="sticky"), UNSUPPORTED_ASSIGNOR),
        (dict(epoch=0, topics=None, regex="("), INVALID_REGULAR_EXPRESSION),
        (dict(epoch=3), GROUP_ID_NOT_FOUND),
    ],
)
def test_bad_heartbeats(kw, code):
    h = ConsumerHarness()
    args = dict(member_id="m", epoch=0, rebalance_timeout_ms=30_000, topics=["t"], owned=[])
    args.update(kw)
    member_id, epoch = args.pop("member_id"), args.pop("epoch")
    assert h.heartbeat("g", member_id, epoch, **args).error == code


def test_v0_coordinator_makes_the_member_id():
    h = ConsumerHarness()
    r = h.heartbeat("g", "", 0, rebalance_timeout_ms=1000, topics=["t"], owned=[], api_version=0).value
    assert r["error_code"] == NONE and len(r["member_id"]) == 22


def test_unknown_member_and_group_max_size():
    h = ConsumerHarness(consumer_max_size=1)
    h.create_topic("t", 1)
    h.member("g", "a", ["t"]).send()
    assert h.member("g", "b", ["t"]).send().error == GROUP_MAX_SIZE_REACHED
    assert h.member("g", "a", ["t"]).send(epoch=1).error == NONE  # members are not turned away
    h = ConsumerHarness()
    h.member("g", "a", ["t"]).send()
    assert h.heartbeat("g", "nobody", 3, owned=[]).error == UNKNOWN_MEMBER_ID
    assert h.heartbeat("g", "nobody", -1).error == UNKNOWN_MEMBER_ID


def test_classic_and_consumer_groups_do_not_share_an_id():
    h = ConsumerHarness()
    h.create_topic("t", 1)
    reply = Reply()
    h.coord.join_group(
        group_id="classic",
        member_id="",
        protocol_type="consumer",
        protocols=[("range", b"")],
        session_timeout_ms=10_000,
        rebalance_timeout_ms=10_000,
        respond=reply,
        api_version=3,
    )
    h.advance(0)
    assert reply.error == NONE
    assert h.member("classic", "m", ["t"]).send().error == GROUP_ID_NOT_FOUND
    h.member("cg", "m", ["t"]).send()
    join = Reply()
    # a classic consumer may join a consumer group (KIP-848 migration, test_group_migration.py); a
    # member of another protocol type may not
    h.coord.join_group(
        group_id="cg",
        member_id="",
        protocol_type="connect",
        protocols=[("range", b"")],
        session_timeout_ms=10_000,
        rebalance_timeout_ms=10_000,
        respond=join,
    )
    assert join.error == INCONSISTENT_GROUP_PROTOCOL
    assert h.coord.consumer_group_describe(["classic"])[0]["error_code"] == GROUP_ID_NOT_FOUND


def test_an_offsets_only_group_becomes_a_consumer_group_and_keeps_its_offsets():
    h = ConsumerHarness()
    h.create_topic("t", 1)
    reply = Reply()
    h.coord.commit_offsets(
        group_id="g", generation_id=-1, member_id="", topics=[("t", [(0, 42, -1, "m")])], respond=reply
    )
    a = h.member("g", "a", ["t"])
    assert a.send().error == NONE
    assert h.coord.fetch_offsets("g", [("t", [0])])["topics"][0]["partitions"][0]["committed_offset"] == 42
    h.restart()
    assert h.coord.fetch_offsets("g", [("t", [0])])["topics"][0]["partitions"][0]["committed_offset"] == 42
    assert "g" not in h.coord.shard_of("g").groups and h.group("g") is not None


# --- offsets ------------------------------------------------------------------------------------------


def commit(h, group, member_id, epoch, offset, api_version=9) -> int:
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


def test_offset_commits_use_the_member_epoch():
    h = ConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    a.send()
    assert commit(h, "g", "a", a.epoch, 5) == NONE
    assert commit(h, "g", "a", a.epoch + 1, 6) == STALE_MEMBER_EPOCH
    assert commit(h, "g", "x", a.epoch, 6) == UNKNOWN_MEMBER_ID
    assert commit(h, "g", "", -1, 6) == UNKNOWN_MEMBER_ID  # the group has members
    assert commit(h, "g", "a", a.epoch, 6, api_version=8) != NONE
    a.send(epoch=-1)
    assert commit(h, "g", "", -1, 7) == NONE  # empty now: an admin may reset
    assert h.coord.fetch_offsets("g", None)["topics"][0]["partitions"][0]["committed_offset"] == 7


def test_delete_groups_and_offset_expiry_of_consumer_groups():
    h = ConsumerHarness(offsets_retention_ms=1000, offsets_retention_check_interval_ms=500)
    h.create_topic("t", 1)
    a = h.member("g", "a", ["t"])
    a.send()
    commit(h, "g", "a", a.epoch, 1)
    deleted = Reply()
    h.coord.delete_groups(["g"], deleted)
    assert deleted.value[0]["error_code"] == NON_EMPTY_GROUP
    h.advance(2000)  # subscribed: kept
    assert h.coord.fetch_offsets("g", None)["topics"]
    a.send(epoch=-1)
    h.advance(1000)
    assert h.coord.fetch_offsets("g", None)["topics"] == [] and h.group("g") is None


# --- lists, descriptions, restart ------------------------------------------------------------------------


def test_list_and_describe_show_consumer_groups():
    h = ConsumerHarness()
    h.create_topic("t", 2)
    a = h.member("g", "a", ["t"])
    a.send()
    groups = h.coord.list_groups()["groups"]
    assert {"group_id": "g", "protocol_type": "consumer", "group_state": "Stable", "group_type": "consumer"} in groups
    assert h.coord.list_groups(types=["classic"])["groups"] == []
    assert [g["group_id"] for g in h.coord.list_groups(types=["Consumer"], states=["stable"])["groups"]] == ["g"]
    [d] = h.coord.describe_groups(["g"])  # DescribeGroups is for classic groups only, as in Kafka
    assert d["group_state"] == "Dead" and d["members"] == []
    [c] = h.coord.consumer_group_describe(["g"])
    assert c["error_code"] == NONE and c["group_epoch"] == 1 and c["assignment_epoch"] == 1
    [m] = c["members"]
    assert m["member_epoch"] == 1 and m["subscribed_topic_names"] == ["t"]
    assert m["assignment"]["topic_partitions"] == [
        {"topic_id": h.topic_id("t"), "topic_name": "t", "partitions": [0, 1]}
    ]
    assert h.coord.consumer_group_describe(["nope"])[0]["error_code"] == GROUP_ID_NOT_FOUND


def test_restart_replays_the_group_and_members_keep_their_epochs():
    h = ConsumerHarness()
    h.create_topic("t", 4)
    a, b = h.member("g", "a", ["t"]), h.member("g", "b", ["t"], instance_id="i")
    a.send(), b.send()
    h.settle([a, b])
    before = h.group("g")
    snapshot = (
        before.group_epoch,
        before.assignment_epoch,
        dict(before.members),
        dict(before.target_assignment),
        dict(before.subscription_metadata),
        dict(before.static_members),
    )
    h.restart()
    after = h.group("g")
    assert (
        after.group_epoch,
        after.assignment_epoch,
        after.members,
        after.target_assignment,
        after.subscription_metadata,
        after.static_members,
    ) == snapshot
    r = a.send().value
    assert r["error_code"] == NONE and r["member_epoch"] == a.epoch
    h.advance(SESSION)  # nobody heartbeats after the restart: both expire
    assert h.group("g").members == {}


def test_the_last_member_leaving_brings_the_assignment_epoch_up_to_the_group_epoch():
    """KAFKA-20442 (Kafka 4.4): an empty group's group and assignment epochs are equal, also when the
    last member left; with another member left, the assignment waits for the next heartbeat."""
    h = ConsumerHarness()
    h.create_topic("t", 2)
    a, b = h.member("g", "a", ["t"]), h.member("g", "b", ["t"])
    a.send(), b.send()
    b.send(epoch=-1)
    [c] = h.coord.consumer_group_describe(["g"])
    assert (c["group_epoch"], c["assignment_epoch"]) == (3, 2)
    a.send(epoch=-1)
    [c] = h.coord.consumer_group_describe(["g"])
    assert (c["group_state"], c["group_epoch"], c["assignment_epoch"]) == ("Empty", 4, 4)


def test_a_member_told_to_revoke_again_keeps_its_epoch():
    """KAFKA-19974 (Kafka 4.2+): leaving UNREVOKED_PARTITIONS for UNREVOKED_PARTITIONS does not bump the
    member epoch, so no partition is held by two members at one epoch."""
    h = ConsumerHarness()
    h.create_topic("t", 6)
    a = h.member("g", "a", ["t"])
    a.send()
    h.member("g", "b", ["t"]).send()
    a.send()
    assert a.epoch == 1 and len(a.partitions("t")) == 3
    h.member("g", "c", ["t"]).send()  # the target moves on before a has revoked
    a.send()  # a reports the three it kept: it must now give up one more
    assert h.group("g").members["a"].state == MemberState.UNREVOKED_PARTITIONS
    assert a.epoch == 1 and len(a.partitions("t")) == 2
    a.send()
    assert a.epoch == 3 and h.group("g").members["a"].state == MemberState.STABLE


def test_a_partition_a_member_was_revoking_comes_back_to_it_at_once():
    """KAFKA-19449 (Kafka 4.2+): a partition pending revocation by the member itself is not unreleased."""
    h = ConsumerHarness()
    h.create_topic("t", 6)
    a = h.member("g", "a", ["t"])
    a.send()
    b = h.member("g", "b", ["t"])
    b.send()
    a.send()
    assert len(a.partitions("t")) == 3
    assert b.send(epoch=-1).error == NONE  # b leaves before a has revoked: a's target is all six again
    a.send()
    assert a.partitions("t") == set(range(6)) and a.epoch == 3
    assert h.group("g").members["a"].state == MemberState.STABLE
