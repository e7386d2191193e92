"""Consumer groups for the console: a small adapter over whatever the broker can tell.

Three sources, tried in this order:

1. **In process**: ``broker.group_service`` when it offers the methods below (the group coordinator's
   own view; no network round trip). The contract the console reads::

       list_groups() -> [{"group_id", "state", "protocol_type", "protocol"}]
       describe_group(group_id) -> {"group_id", "state", "protocol_type", "protocol",
                                    "members": [{"member_id", "client_id", "client_host",
                                                 "assignment": {topic: [partition, ...]}}]}
                                   or None when the group does not exist
       committed_offsets(group_id) -> {topic: {partition: offset}}
       reset_offsets(group_id, {(topic, partition): offset}) -> None   (optional; raises on refusal)

2. **Over the protocol**: when the broker serves ListGroups, DescribeGroups and OffsetFetch, a
   confluent-kafka AdminClient asks this very broker (in a worker thread, with timeouts), exactly as
   ``kafka-consumer-groups`` would. Resetting uses OffsetCommit through ``alter_consumer_group_offsets``.

3. **Unavailable**: an empty list and a note saying why.

Lag is always computed here: the partition's high watermark (in process) minus the committed offset.
"""

from __future__ import annotations

import asyncio
import logging
import time

from kavka.broker.registry import REGISTRY
from kavka.console.state import ConsoleError
from kavka.protocol.api import ApiKey

__all__ = ["GroupsView", "group_protocol_available", "INACTIVE_STATES"]

log = logging.getLogger(__name__)

INACTIVE_STATES = {"Empty", "Dead"}
_STATE_NAMES = {
    "STABLE": "Stable", "EMPTY": "Empty", "DEAD": "Dead", "PREPARING_REBALANCE": "PreparingRebalance",
    "COMPLETING_REBALANCE": "CompletingRebalance", "ASSIGNING": "Assigning", "RECONCILING": "Reconciling",
    "UNKNOWN": "Unknown",
}
_IN_PROCESS = ("list_groups", "describe_group", "committed_offsets")


def _served(*keys: ApiKey) -> bool:
    return all(int(k) in REGISTRY for k in keys)


def group_protocol_available() -> bool:
    """Whether the broker serves what a subscribing consumer needs (classic group protocol)."""
    return _served(ApiKey.FIND_COORDINATOR, ApiKey.JOIN_GROUP, ApiKey.SYNC_GROUP, ApiKey.HEARTBEAT,
                   ApiKey.OFFSET_COMMIT, ApiKey.OFFSET_FETCH)


def _state_name(state) -> str:
    name = getattr(state, "name", None) or str(state or "Unknown")
    return _STATE_NAMES.get(name.upper(), name)


class GroupsView:
    def __init__(self, server, *, timeout_s: float = 5.0):
        self.server = server
        self.timeout_s = timeout_s
        self._admin = None
        self._cache: tuple[float, list] | None = None

    # --- which source -------------------------------------------------------------------------

    def _service(self):
        service = getattr(self.server.broker, "group_service", None)
        if service is not None and all(callable(getattr(service, m, None)) for m in _IN_PROCESS):
            return service
        return None

    def source(self) -> str:
        if self._service() is not None:
            return "in-process"
        if _served(ApiKey.LIST_GROUPS, ApiKey.DESCRIBE_GROUPS, ApiKey.OFFSET_FETCH):
            return "protocol"
        return "unavailable"

    def note(self) -> str | None:
        if self.source() == "unavailable":
            return ("This broker has no group coordinator yet (ListGroups, DescribeGroups and OffsetFetch "
                    "are not served), so there are no consumer groups to show.")
        return None

    def _admin_client(self):
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            self._admin = AdminClient({"bootstrap.servers": self.server.bootstrap,
                                       "client.id": "kavka-console"})
        return self._admin

    async def _in_thread(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(None, fn, *args), self.timeout_s * 2)

    # --- reading ------------------------------------------------------------------------------

    async def list(self) -> list[dict]:
        src = self.source()
        if src == "in-process":
            groups = [dict(g) for g in self._service().list_groups()]
        elif src == "protocol":
            groups = await self._in_thread(self._list_protocol)
        else:
            return []
        for g in groups:
            g["state"] = _state_name(g.get("state"))
            try:
                detail = await self.describe(g["group_id"])
                g.update(members=len(detail["members"]), lag=detail["total_lag"], offsets=detail["offsets"],
                         topics=sorted({o["topic"] for o in detail["offsets"]}))
            except ConsoleError:
                g.update(members=None, lag=None, offsets=[], topics=[])
        groups.sort(key=lambda g: g["group_id"])
        self._cache = (time.monotonic(), groups)
        return groups

    def _list_protocol(self) -> list[dict]:
        res = self._admin_client().list_consumer_groups(request_timeout=self.timeout_s).result(self.timeout_s)
        return [{"group_id": g.group_id, "state": g.state, "protocol_type": "consumer",
                 "protocol": None, "simple": g.is_simple_consumer_group} for g in res.valid]

    async def describe(self, group_id: str) -> dict:
        src = self.source()
        if src == "in-process":
            service = self._service()
            desc = service.describe_group(group_id)
            if desc is None:
                raise ConsoleError(404, f"Consumer group {group_id!r} does not exist.")
            committed = {t: {p: o for p, o in ps.items() if o is not None and o >= 0}
                         for t, ps in (service.committed_offsets(group_id) or {}).items()}
            desc = dict(desc)
        elif src == "protocol":
            desc, committed = await self._in_thread(self._describe_protocol, group_id)
        else:
            raise ConsoleError(404, self.note())
        desc["state"] = _state_name(desc.get("state"))
        offsets, total = self._lag(committed, desc.get("members") or [])
        desc.update(offsets=offsets, total_lag=total, source=src)
        return desc

    def _describe_protocol(self, group_id: str):
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException

        admin = self._admin_client()
        try:
            d = admin.describe_consumer_groups([group_id], request_timeout=self.timeout_s)[group_id].result(
                self.timeout_s)
            o = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)],
                                                  request_timeout=self.timeout_s)[group_id].result(self.timeout_s)
        except KafkaException as e:
            raise ConsoleError(502, f"Asking the broker about group {group_id!r} failed: {e.args[0].str()}") from None
        members = []
        for m in d.members:
            assignment: dict[str, list[int]] = {}
            for tp in (m.assignment.topic_partitions if m.assignment else []):
                assignment.setdefault(tp.topic, []).append(tp.partition)
            members.append({"member_id": m.member_id, "client_id": m.client_id, "client_host": m.host,
                            "instance_id": m.group_instance_id,
                            "assignment": {t: sorted(ps) for t, ps in assignment.items()}})
        committed: dict[str, dict[int, int]] = {}
        for tp in o.topic_partitions or []:
            if tp.offset >= 0:
                committed.setdefault(tp.topic, {})[tp.partition] = tp.offset
        desc = {"group_id": group_id, "state": d.state, "protocol_type": "consumer",
                "protocol": d.partition_assignor, "members": members}
        return desc, committed

    def _lag(self, committed: dict, members: list) -> tuple[list[dict], int]:
        rm = self.server.broker.replica_manager
        owner = {}
        for m in members:
            for t, ps in (m.get("assignment") or {}).items():
                for p in ps:
                    owner[(t, p)] = m.get("client_id") or m.get("member_id")
        rows, total = [], 0
        keys = {(t, int(p)) for t, ps in committed.items() for p in ps} | set(owner)
        for t, p in sorted(keys):
            off = committed.get(t, {}).get(p)
            part = rm.get(t, p)
            hw = part.log.high_watermark if part is not None else None
            lag = None
            if hw is not None:
                lag = max(0, hw - (off if off is not None else part.log.log_start_offset))
                total += lag
            rows.append({"topic": t, "partition": p, "committed": off, "high_watermark": hw, "lag": lag,
                         "owner": owner.get((t, p))})
        return rows, total

    async def snapshot(self, max_age_s: float = 2.0) -> list[dict]:
        """Groups with lag, cached for ``max_age_s`` (for /metrics and the live stream)."""
        if self._cache is not None and time.monotonic() - self._cache[0] < max_age_s:
            return self._cache[1]
        try:
            return await self.list()
        except (ConsoleError, asyncio.TimeoutError, Exception) as e:  # noqa: BLE001 - metrics keep working
            log.debug("group snapshot failed: %s", e)
            return []

    # --- resetting ----------------------------------------------------------------------------

    def target_offsets(self, topic: str, partitions: list[int] | None, to: str, value) -> dict[tuple[str, int], int]:
        broker = self.server.broker
        t = broker.image.topics_by_name.get(topic)
        if t is None:
            raise ConsoleError(404, f"Topic {topic!r} does not exist.")
        wanted = sorted(t.partitions) if not partitions else [int(p) for p in partitions]
        out = {}
        for p in wanted:
            part = broker.replica_manager.get(topic, p)
            if part is None:
                raise ConsoleError(404, f"Partition {topic}-{p} does not exist.")
            plog = part.log
            if to == "earliest":
                off = plog.log_start_offset
            elif to == "latest":
                off = plog.high_watermark
            elif to == "offset":
                off = max(plog.log_start_offset, min(int(value), plog.high_watermark))
            elif to == "timestamp":
                found = plog.offset_for_timestamp(int(value), max_offset=plog.high_watermark)
                off = found[0] if found else plog.high_watermark
            else:
                raise ConsoleError(400, f"Unknown reset target {to!r}: earliest, latest, offset or timestamp.")
            out[(topic, p)] = off
        return out

    async def reset(self, group_id: str, topic: str, partitions: list[int] | None, to: str, value=None) -> dict:
        src = self.source()
        if src == "unavailable":
            raise ConsoleError(409, self.note())
        desc = await self.describe(group_id)
        if desc["state"] not in INACTIVE_STATES:
            raise ConsoleError(409, f"Assignments can only be reset if the group '{group_id}' is inactive, "
                                    f"but the current state is {desc['state']}.")
        targets = self.target_offsets(topic, partitions, to, value)
        if src == "in-process":
            fn = getattr(self._service(), "reset_offsets", None)
            if not callable(fn):
                raise ConsoleError(501, "The group coordinator does not support resetting offsets yet.")
            try:
                fn(group_id, targets)
            except RuntimeError as e:  # the coordinator refused (e.g. the group became active)
                raise ConsoleError(409, str(e)) from None
        else:
            await self._in_thread(self._reset_protocol, group_id, targets)
        self._cache = None
        return {"group_id": group_id, "offsets": [{"topic": t, "partition": p, "offset": o}
                                                   for (t, p), o in sorted(targets.items())]}

    def _reset_protocol(self, group_id: str, targets: dict) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition

        tps = [TopicPartition(t, p, o) for (t, p), o in sorted(targets.items())]
        try:
            res = self._admin_client().alter_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group_id, tps)], request_timeout=self.timeout_s)
            res[group_id].result(self.timeout_s)
        except KafkaException as e:
            raise ConsoleError(409, f"Reset refused: {e.args[0].str()}") from None
