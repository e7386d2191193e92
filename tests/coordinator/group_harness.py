"""A group coordinator with no I/O: a clock the test advances and a log that is a list per partition."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from kavka.coordinator.group import GroupConfig, GroupCoordinator
from kavka.coordinator.group.records import decode_record

PARTITIONS = 3


class FakeClock:
    def __init__(self, now: int = 1_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now


class AppendFailed(Exception):
    def __init__(self, error_code: int):
        super().__init__(error_code)
        self.error_code = error_code


@dataclass
class FakeLog:
    partitions: dict[int, list] = field(default_factory=dict)
    fail_with: int | None = None  # error code of the next append, if it should fail
    appends: int = 0

    def append(self, partition: int, records: list) -> None:
        if self.fail_with is not None:
            code, self.fail_with = self.fail_with, None
            raise AppendFailed(code)
        self.appends += 1
        self.partitions.setdefault(partition, []).extend(records)

    def records(self, partition: int) -> list:
        return list(self.partitions.get(partition, []))

    def decoded(self, partition: int) -> list:
        return [decode_record(k, v) for k, v in self.records(partition)]


class Reply:
    """A respond callback that remembers what it was called with."""

    def __init__(self) -> None:
        self.calls: list = []

    def __call__(self, response) -> None:
        self.calls.append(response)

    @property
    def done(self) -> bool:
        return bool(self.calls)

    @property
    def value(self):
        assert len(self.calls) == 1, f"expected one response, got {self.calls}"
        return self.calls[0]

    @property
    def error(self) -> int:
        return int(self.value["error_code"])


class Harness:
    def __init__(self, **config):
        defaults = dict(offsets_topic_num_partitions=PARTITIONS, initial_rebalance_delay_ms=0)
        defaults.update(config)
        self.config = GroupConfig(**defaults)
        self.clock = FakeClock()
        self.log = FakeLog()
        self._ids = itertools.count(1)
        self.coord = self.new_coordinator()
        for p in range(PARTITIONS):
            self.coord.load(p, [])

    def new_coordinator(self) -> GroupCoordinator:
        return GroupCoordinator(
            self.config, self.log.append, self.clock, new_member_id=lambda prefix: f"{prefix}-{next(self._ids)}"
        )

    def advance(self, ms: int) -> None:
        self.clock.now += ms
        self.coord.tick()

    def group(self, group_id: str):
        return self.coord.shard_of(group_id).groups.get(group_id)

    # --- requests ------------------------------------------------------------------------------

    def join(
        self,
        group_id: str,
        member_id: str = "",
        *,
        protocols=(("range", b"sub"),),
        protocol_type: str = "consumer",
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 30_000,
        instance_id: str | None = None,
        client_id: str = "c",
        api_version: int = 9,
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

    def join_new(self, group_id: str, **kw) -> tuple[str, Reply]:
        """KIP-394: first join gets MEMBER_ID_REQUIRED and an id; join again with it (parked)."""
        first = self.join(group_id, **kw)
        assert first.error == 79, first.value  # MEMBER_ID_REQUIRED
        member_id = first.value["member_id"]
        return member_id, self.join(group_id, member_id, **kw)

    def sync(
        self, group_id: str, member_id: str, generation: int, assignments=(), instance_id: str | None = None
    ) -> Reply:
        reply = Reply()
        self.coord.sync_group(
            group_id=group_id,
            generation_id=generation,
            member_id=member_id,
            assignments=list(assignments),
            respond=reply,
            group_instance_id=instance_id,
            protocol_type=None,
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

    def commit(
        self,
        group_id: str,
        offsets: dict,
        *,
        member_id: str = "",
        generation: int = -1,
        metadata: str | None = "",
        instance_id: str | None = None,
        retention_ms: int = -1,
        api_version: int = 9,
    ) -> Reply:
        reply = Reply()
        topics = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append((partition, offset, -1, metadata))
        self.coord.commit_offsets(
            group_id=group_id,
            generation_id=generation,
            member_id=member_id,
            topics=list(topics.items()),
            respond=reply,
            group_instance_id=instance_id,
            retention_ms=retention_ms,
            api_version=api_version,
        )
        return reply

    def committed(self, group_id: str, topic: str, partition: int) -> int:
        res = self.coord.fetch_offsets(group_id, [(topic, [partition])])
        return res["topics"][0]["partitions"][0]["committed_offset"]

    def form_group(self, group_id: str, n: int, **kw) -> tuple[list[str], int]:
        """n dynamic members joined, synced and Stable; (member ids, generation)."""
        ids, replies = [], []
        for _ in range(n):
            mid, r = self.join_new(group_id, **kw)
            ids.append(mid)
            replies.append(r)
        self.advance(0)  # initial rebalance delay (0 here) fires
        for r in replies:
            assert r.done and r.error == 0, r.calls
        gen = replies[0].value["generation_id"]
        leader = replies[0].value["leader"]
        syncs = [self.sync(group_id, m, gen, [(x, x.encode()) for x in ids] if m == leader else ()) for m in ids]
        for s in syncs:
            assert s.error == 0, s.calls
        return ids, gen
