"""A group coordinator with classic and consumer-protocol clients side by side, no I/O: a clock the test
advances, a list per partition for the log, a topics image the test edits. The clients keep what they
own and their generation or epoch as the real ones do (librdkafka's cooperative and eager classic
consumers, KIP-848 consumers), so a test can run a migration to the end."""

from __future__ import annotations

import itertools
import struct
import uuid

from kavka.coordinator.group import GroupConfig, GroupCoordinator
from kavka.coordinator.group.consumer import TopicInfo, TopicsImage
from kavka.coordinator.group.consumer_protocol import decode_assignment
from tests.coordinator.group_harness import PARTITIONS, FakeClock, FakeLog, Reply

NONE = 0
UNKNOWN_MEMBER_ID = 25
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_ID_NOT_FOUND = 69
GROUP_MAX_SIZE_REACHED = 81
UNSUPPORTED_VERSION = 35


def subscription(
    topics, owned: dict[str, set[int]] | None = None, version: int = 1, generation: int = -1, rack: str | None = None
) -> bytes:
    """A ConsumerProtocolSubscription as a consumer writes it."""

    def s(x: str) -> bytes:
        raw = x.encode()
        return struct.pack(">h", len(raw)) + raw

    out = struct.pack(">hi", version, len(topics)) + b"".join(s(t) for t in topics) + struct.pack(">i", -1)
    if version >= 1:
        owned = owned or {}
        out += struct.pack(">i", len(owned))
        for t in sorted(owned):
            ps = sorted(owned[t])
            out += s(t) + struct.pack(f">i{len(ps)}i", len(ps), *ps)
    if version >= 2:
        out += struct.pack(">i", generation)
    if version >= 3:
        out += struct.pack(">h", -1) if rack is None else s(rack)
    return out


def leader_assignment(members: list[dict], topics: dict[str, int]) -> list[tuple[str, bytes]]:
    """What a classic leader sends in SyncGroup: a round-robin over the members (ConsumerProtocolAssignment v0)."""
    from kavka.coordinator.group.consumer_protocol import encode_assignment

    ids = sorted(m["member_id"] for m in members)
    parts: dict[str, dict[str, list[int]]] = {mid: {} for mid in ids}
    i = 0
    for topic in sorted(topics):
        for p in range(topics[topic]):
            parts[ids[i % len(ids)]].setdefault(topic, []).append(p)
            i += 1
    return [(mid, encode_assignment(parts[mid])) for mid in ids]


class MigrationHarness:
    def __init__(self, **config):
        defaults = dict(offsets_topic_num_partitions=PARTITIONS, initial_rebalance_delay_ms=0)
        defaults.update(config)
        self.config = GroupConfig(**defaults)
        self.clock = FakeClock()
        self.log = FakeLog()
        self.image = TopicsImage()
        self._ids = itertools.count(1)
        self.coord = self.new_coordinator()
        for p in range(PARTITIONS):
            self.coord.load(p, [])

    def new_coordinator(self) -> GroupCoordinator:
        return GroupCoordinator(
            self.config,
            self.log.append,
            self.clock,
            topics=lambda: self.image,
            new_member_id=lambda prefix: f"{prefix}-{next(self._ids)}",
        )

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

    def shard(self, group_id: str):
        return self.coord.shard_of(group_id)

    def classic_group(self, group_id: str):
        return self.shard(group_id).groups.get(group_id)

    def consumer_group(self, group_id: str):
        return self.shard(group_id).consumer_groups.get(group_id)

    def records(self, group_id: str) -> list:
        return self.log.records(self.coord.partition_for(group_id))

    # --- raw requests --------------------------------------------------------------------------

    def join(
        self,
        group_id: str,
        member_id: str,
        protocols,
        *,
        protocol_type: str = "consumer",
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 30_000,
        instance_id: str | None = None,
        api_version: int = 9,
        client_id: str = "c",
    ) -> Reply:
        reply = Reply()
        self.coord.join_group(
            group_id=group_id,
            member_id=member_id,
            protocol_type=protocol_type,
            protocols=protocols,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            respond=reply,
            group_instance_id=instance_id,
            client_id=client_id,
            client_host="/127.0.0.1",
            api_version=api_version,
        )
        return reply

    def sync(
        self,
        group_id: str,
        member_id: str,
        generation: int,
        assignments=(),
        *,
        instance_id: str | None = None,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
    ) -> Reply:
        reply = Reply()
        self.coord.sync_group(
            group_id=group_id,
            generation_id=generation,
            member_id=member_id,
            assignments=list(assignments),
            respond=reply,
            group_instance_id=instance_id,
            protocol_type=protocol_type,
            protocol_name=protocol_name,
        )
        return reply

    def heartbeat(self, group_id: str, member_id: str, generation: int, instance_id: str | None = None) -> int:
        reply = Reply()
        self.coord.heartbeat(
            group_id=group_id,
            generation_id=generation,
            member_id=member_id,
            respond=reply,
            group_instance_id=instance_id,
        )
        return reply.error

    def leave(self, group_id: str, *members) -> Reply:
        reply = Reply()
        self.coord.leave_group(
            group_id=group_id, members=[m if isinstance(m, tuple) else (m, None) for m in members], respond=reply
        )
        return reply

    def commit(self, group_id: str, member_id: str, generation: int, offsets: dict, api_version: int = 7) -> Reply:
        reply = Reply()
        topics: dict = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append((partition, offset, -1, ""))
        self.coord.commit_offsets(
            group_id=group_id,
            generation_id=generation,
            member_id=member_id,
            topics=list(topics.items()),
            respond=reply,
            api_version=api_version,
        )
        return reply

    def consumer_heartbeat(
        self,
        group_id: str,
        member_id: str,
        epoch: int,
        *,
        instance_id=None,
        rebalance_timeout_ms=-1,
        topics=None,
        owned=None,
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
            topic_partitions=owned,
            client_id="client",
            client_host="/127.0.0.1",
            api_version=1,
        )
        return reply

    # --- clients -------------------------------------------------------------------------------

    def classic(self, group_id: str, topics, **kw) -> ClassicClient:
        return ClassicClient(self, group_id, list(topics), **kw)

    def consumer(self, group_id: str, member_id: str, topics, **kw) -> ConsumerClient:
        return ConsumerClient(self, group_id, member_id, list(topics), **kw)

    def settle(self, clients, rounds: int = 12) -> None:
        """Run every client's protocol until nothing changes any more."""
        for _ in range(rounds):
            before = [c.state() for c in clients]
            for c in clients:
                c.step()
            if before == [c.state() for c in clients]:
                return
        raise AssertionError(f"the clients did not settle: {[c.state() for c in clients]}")


class ClassicClient:
    """A classic consumer (JoinGroup/SyncGroup/Heartbeat): cooperative keeps its partitions across a
    rebalance and lists them in its subscription; eager gives everything up before it rejoins."""

    def __init__(
        self,
        h: MigrationHarness,
        group: str,
        topics: list[str],
        *,
        protocols=("cooperative-sticky",),
        cooperative: bool = True,
        instance_id: str | None = None,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 30_000,
        version: int = 1,
    ):
        self.h, self.group, self.topics = h, group, topics
        self.protocol_names, self.cooperative, self.instance_id = list(protocols), cooperative, instance_id
        self.session_timeout_ms, self.rebalance_timeout_ms, self.version = (
            session_timeout_ms,
            rebalance_timeout_ms,
            version,
        )
        self.member_id = ""
        self.generation = -1
        self.protocol: str | None = None
        self.owned: dict[str, set[int]] = {}
        self.leader = False
        self.members: list[dict] = []
        self.parked: Reply | None = None
        self.parked_sync: Reply | None = None

    def protocols(self):
        owned = self.owned if self.cooperative else {}
        return [(name, subscription(self.topics, owned, self.version, self.generation)) for name in self.protocol_names]

    def join(self) -> Reply:
        """JoinGroup (with the KIP-394 round trip for a new member); the reply may still be parked."""
        if not self.cooperative:
            self.owned = {}
        kw = dict(
            session_timeout_ms=self.session_timeout_ms,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            instance_id=self.instance_id,
        )
        r = self.h.join(self.group, self.member_id, self.protocols(), **kw)
        if r.done and r.error == MEMBER_ID_REQUIRED:
            self.member_id = r.value["member_id"]
            r = self.h.join(self.group, self.member_id, self.protocols(), **kw)
        self._joined(r)
        return r

    def _joined(self, r: Reply) -> None:
        if r.done and r.error == NONE:
            v = r.value
            self.member_id, self.generation, self.protocol = v["member_id"], v["generation_id"], v["protocol_name"]
            self.leader, self.members = v["leader"] == self.member_id, v["members"]

    def sync(self) -> Reply:
        assignments = ()
        if self.leader:
            counts = {t: self.h.image.by_name[t].num_partitions for t in self.topics if t in self.h.image.by_name}
            assignments = leader_assignment(self.members, counts)
        r = self.h.sync(
            self.group,
            self.member_id,
            self.generation,
            assignments,
            instance_id=self.instance_id,
            protocol_type="consumer",
            protocol_name=self.protocol,
        )
        if not r.done:
            self.parked_sync = r  # a follower waits for the leader's assignment
        self._synced(r)
        return r

    def _synced(self, r: Reply) -> None:
        if r.done and r.error == NONE:
            self.owned = {t: set(ps) for t, ps in decode_assignment(r.value["assignment"]).items()}

    def heartbeat(self) -> int:
        return self.h.heartbeat(self.group, self.member_id, self.generation, self.instance_id)

    def leave(self) -> Reply:
        return self.h.leave(self.group, (self.member_id, self.instance_id))

    def commit(self, offsets: dict, api_version: int = 7) -> Reply:
        return self.h.commit(self.group, self.member_id, self.generation, offsets, api_version)

    def step(self) -> None:
        if self.parked_sync is not None:
            if not self.parked_sync.done:
                return
            reply, self.parked_sync = self.parked_sync, None
            self._synced(reply)
            return
        if self.parked is not None:
            if not self.parked.done:
                return  # still waiting in a classic rebalance
            reply, self.parked = self.parked, None
            self.resume(reply)
            return
        code = self.heartbeat()
        if code == NONE:
            return
        if code in (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION):
            self.owned = {}
            if code == UNKNOWN_MEMBER_ID:
                self.member_id = ""
        assert code in (REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION), code
        r = self.join()
        if not r.done:
            self.parked = r  # in a classic rebalance: the others must rejoin first
            return
        if r.error == NONE:
            self.sync()

    def resume(self, reply: Reply) -> None:
        """A parked JoinGroup was answered: take it, then sync."""
        self._joined(reply)
        if reply.error == NONE:
            self.sync()

    def state(self):
        return (
            self.member_id,
            self.generation,
            {t: set(p) for t, p in self.owned.items()},
            self.parked is not None and self.parked.done,
            self.parked_sync is not None and self.parked_sync.done,
        )

    def partitions(self, topic: str) -> set[int]:
        return set(self.owned.get(topic, ()))


class ConsumerClient:
    """A consumer-protocol (KIP-848) consumer: heartbeats with its epoch and what it owns."""

    def __init__(
        self, h: MigrationHarness, group: str, member_id: str, topics: list[str], instance_id: str | None = None
    ):
        self.h, self.group, self.member_id, self.topics, self.instance_id = h, group, member_id, topics, instance_id
        self.epoch = 0
        self.owned: dict[uuid.UUID, set[int]] = {}

    def send(self, epoch: int | None = None) -> Reply:
        epoch = self.epoch if epoch is None else epoch
        joining = epoch == 0
        owned = [] if joining else [(t, sorted(ps)) for t, ps in self.owned.items()]
        r = self.h.consumer_heartbeat(
            self.group,
            self.member_id,
            epoch,
            instance_id=self.instance_id,
            rebalance_timeout_ms=30_000 if joining else -1,
            topics=self.topics if joining else None,
            owned=owned,
        )
        v = r.value
        if v["error_code"] == NONE and epoch >= 0:
            self.epoch = v["member_epoch"]
            if v["assignment"] is not None:
                self.owned = {tp["topic_id"]: set(tp["partitions"]) for tp in v["assignment"]["topic_partitions"]}
        return r

    def leave(self) -> Reply:
        return self.send(-1)

    def step(self) -> None:
        assert self.send().error == NONE

    def state(self):
        return (self.epoch, {t: set(p) for t, p in self.owned.items()})

    def partitions(self, topic: str) -> set[int]:
        return set(self.owned.get(self.h.topic_id(topic), ()))


def shares(clients, topic: str, partitions: int) -> bool:
    owned = [c.partitions(topic) for c in clients]
    return all(owned) and sum(len(o) for o in owned) == partitions and set().union(*owned) == set(range(partitions))
