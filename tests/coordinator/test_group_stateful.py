"""Random sequences of group operations against the coordinator, checked by invariants and by replay.

Hypothesis drives joins (dynamic and static), syncs, heartbeats, leaves, commits and the clock. After
every step the group's invariants hold, and replaying the log into a fresh coordinator gives back the
durable state: committed offsets, and every group that is Empty or Stable as it is live.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kavka.coordinator.group import GroupState
from tests.coordinator.group_harness import PARTITIONS, Harness, Reply

GROUPS = ["g1", "g2"]
INSTANCES = [None, None, "i-1", "i-2"]


def durable(coord) -> dict:
    out = {}
    for p in range(PARTITIONS):
        shard = coord.runtime.shard(p)
        for gid, g in shard.groups.items():
            if g.state in (GroupState.EMPTY, GroupState.STABLE):
                out[gid] = (
                    g.state,
                    g.generation_id,
                    g.protocol_name,
                    g.leader_id if g.members else None,
                    sorted((m.member_id, m.group_instance_id, m.assignment) for m in g.members.values()),
                )
        for gid, topics in shard.offsets.store.by_group.items():
            for topic, parts in topics.items():
                for index, om in parts.items():
                    out[(gid, topic, index)] = (om.offset, om.metadata)
    return out


class GroupMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.h = Harness(initial_rebalance_delay_ms=500)
        self.known: dict[str, list[tuple[str, str | None]]] = {g: [] for g in GROUPS}
        self.replies: list[Reply] = []

    def _generation(self, group_id: str) -> int:
        g = self.h.group(group_id)
        return -1 if g is None else g.generation_id

    @rule(
        group=st.sampled_from(GROUPS),
        instance=st.sampled_from(INSTANCES),
        proto=st.sampled_from(["range", "roundrobin"]),
    )
    def join_new(self, group, instance, proto):
        r = self.h.join(group, instance_id=instance, protocols=((proto, b"m"), ("range", b"r")))
        self.replies.append(r)
        if r.done and r.value["member_id"]:
            self.known[group].append((r.value["member_id"], instance))

    @rule(group=st.sampled_from(GROUPS), instance=st.sampled_from(INSTANCES))
    def join_fully(self, group, instance):
        """A new member as a client does it: join, and join again with the id it was given."""
        first = self.h.join(group, instance_id=instance)
        self.replies.append(first)
        member = first.value["member_id"] if first.done else ""
        if member and first.value["error_code"] == 79:
            second = self.h.join(group, member, instance_id=instance)
            self.replies.append(second)
        if member:
            self.known[group].append((member, instance))

    @rule(group=st.sampled_from(GROUPS))
    def everybody_syncs(self, group):
        g = self.h.group(group)
        if g is None or g.leader_id is None:
            return
        gen = g.generation_id
        leader = g.leader_id
        for member in list(g.members):
            instance = g.members[member].group_instance_id
            assignments = [(m, m.encode()) for m in g.members] if member == leader else []
            self.replies.append(self.h.sync(group, member, gen, assignments, instance))

    @rule(group=st.sampled_from(GROUPS), data=st.data())
    def rejoin(self, group, data):
        if not self.known[group]:
            return
        member, instance = data.draw(st.sampled_from(self.known[group]))
        self.replies.append(self.h.join(group, member, instance_id=instance))

    @rule(group=st.sampled_from(GROUPS), data=st.data())
    def sync(self, group, data):
        if not self.known[group]:
            return
        member, instance = data.draw(st.sampled_from(self.known[group]))
        g = self.h.group(group)
        assignments = []
        if g is not None and g.leader_id == member:
            assignments = [(m, m.encode()) for m in g.members]
        self.replies.append(self.h.sync(group, member, self._generation(group), assignments, instance))

    @rule(group=st.sampled_from(GROUPS), data=st.data())
    def heartbeat(self, group, data):
        if self.known[group]:
            member, instance = data.draw(st.sampled_from(self.known[group]))
            self.h.heartbeat(group, member, self._generation(group), instance)

    @rule(group=st.sampled_from(GROUPS), data=st.data())
    def leave(self, group, data):
        if self.known[group]:
            member, instance = data.draw(st.sampled_from(self.known[group]))
            self.replies.append(self.h.leave(group, (member, instance)))

    @rule(group=st.sampled_from(GROUPS + ["simple"]), data=st.data(), offset=st.integers(0, 100))
    def commit(self, group, data, offset):
        member, instance, gen = "", None, -1
        if self.known.get(group) and data.draw(st.booleans()):
            member, instance = data.draw(st.sampled_from(self.known[group]))
            gen = self._generation(group)
        self.replies.append(
            self.h.commit(
                group,
                {("t", offset % 3): offset},
                member_id=member,
                generation=gen,
                instance_id=instance,
                metadata=f"m{offset}",
            )
        )

    @rule(group=st.sampled_from(GROUPS + ["simple"]))
    def delete(self, group):
        out = []
        self.h.coord.delete_groups([group], out.append)
        assert len(out) == 1

    @rule(ms=st.sampled_from([0, 100, 500, 3_000, 10_000, 30_000]))
    def advance(self, ms):
        self.h.advance(ms)

    @invariant()
    def every_reply_answered_at_most_once(self):
        for r in self.replies:
            assert len(r.calls) <= 1

    @invariant()
    def group_invariants(self):
        for p in range(PARTITIONS):
            for g in self.h.coord.runtime.shard(p).groups.values():
                if g.members:
                    assert g.leader_id in g.members
                else:
                    assert g.leader_id is None
                assert {iid: mid for mid, m in g.members.items() if (iid := m.group_instance_id)} == g.static_members
                assert not (g.pending_join_members & set(g.members))
                if g.state == GroupState.EMPTY:
                    assert not g.members
                if g.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
                    assert g.members and g.protocol_name is not None

    @invariant()
    def replay_gives_the_same_durable_state(self):
        fresh = self.h.new_coordinator()
        for p in range(PARTITIONS):
            fresh.load(p, self.h.log.records(p))
        live = durable(self.h.coord)
        loaded = durable(fresh)
        # offsets always match; groups that are Empty/Stable live match what the log says
        for key, value in live.items():
            if isinstance(key, tuple):
                assert loaded.get(key) == value, key
            else:
                assert loaded.get(key) == value, (key, value, loaded.get(key))
        assert {k for k in loaded if isinstance(k, tuple)} == {k for k in live if isinstance(k, tuple)}


TestGroupMachine = GroupMachine.TestCase
TestGroupMachine.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
