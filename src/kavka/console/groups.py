"""Consumer groups for the console, read in process from the broker's group coordinator.

``broker.group_service`` (:class:`kavka.broker.group_service.GroupService`) gives the coordinator's own
view, with no network round trip::

    list_groups() -> [{"group_id", "state", "protocol_type", "protocol"}]
    describe_group(group_id) -> {"group_id", "state", "protocol_type", "protocol",
                                 "members": [{"member_id", "client_id", "client_host",
                                              "assignment": {topic: [partition, ...]}}]}
                                or None when the group does not exist
    committed_offsets(group_id) -> {topic: {partition: offset}}
    reset_offsets(group_id, {(topic, partition): offset}) -> None   (raises RuntimeError on refusal)

Lag is computed here: the partition's high watermark minus the committed offset.

With an authorizer, the console's principal (:class:`kavka.console.access.ConsoleAccess`) sees only the
groups ListGroups would give it, describes a group only with DESCRIBE on it (else
GROUP_AUTHORIZATION_FAILED), sees the offsets of the topics it may DESCRIBE (as OffsetFetch), and
resets offsets only with OffsetCommit's READ on the group and on the topic.
"""

from __future__ import annotations

import logging
import time

from kavka.console.state import ConsoleError

__all__ = ["GroupsView", "INACTIVE_STATES"]

log = logging.getLogger(__name__)

INACTIVE_STATES = {"Empty", "Dead"}
_STATE_NAMES = {
    "STABLE": "Stable",
    "EMPTY": "Empty",
    "DEAD": "Dead",
    "PREPARING_REBALANCE": "PreparingRebalance",
    "COMPLETING_REBALANCE": "CompletingRebalance",
    "ASSIGNING": "Assigning",
    "RECONCILING": "Reconciling",
    "UNKNOWN": "Unknown",
}


def _state_name(state) -> str:
    name = getattr(state, "name", None) or str(state or "Unknown")
    return _STATE_NAMES.get(name.upper(), name)


class GroupsView:
    def __init__(self, server, access):
        self.server = server
        self.access = access
        self._cache: tuple[float, list] | None = None

    @property
    def _service(self):
        return self.server.broker.group_service

    # --- reading ------------------------------------------------------------------------------

    async def list(self) -> list[dict]:
        listed = self._service.list_groups()
        visible = self.access.visible_groups(g["group_id"] for g in listed)
        groups = [dict(g) for g in listed if g["group_id"] in visible]
        for g in groups:
            g["state"] = _state_name(g.get("state"))
            try:
                detail = await self.describe(g["group_id"])
                g.update(
                    members=len(detail["members"]),
                    lag=detail["total_lag"],
                    offsets=detail["offsets"],
                    topics=sorted({o["topic"] for o in detail["offsets"]}),
                )
            except ConsoleError:
                g.update(members=None, lag=None, offsets=[], topics=[])
        groups.sort(key=lambda g: g["group_id"])
        self._cache = (time.monotonic(), groups)
        return groups

    async def describe(self, group_id: str) -> dict:
        service = self._service
        self.access.check_group_visible(group_id)
        desc = service.describe_group(group_id)
        if desc is None:
            raise ConsoleError(404, f"Consumer group {group_id!r} does not exist.")
        offsets_of = service.committed_offsets(group_id) or {}
        assigned = {t for m in desc.get("members") or [] for t in (m.get("assignment") or {})}
        visible = self.access.visible_topics(set(offsets_of) | assigned)
        committed = {
            t: {p: o for p, o in ps.items() if o is not None and o >= 0} for t, ps in offsets_of.items() if t in visible
        }
        desc = dict(desc)
        desc["state"] = _state_name(desc.get("state"))
        offsets, total = self._lag(committed, desc.get("members") or [], visible)
        desc.update(offsets=offsets, total_lag=total)
        return desc

    def _lag(self, committed: dict, members: list, visible: set[str]) -> tuple[list[dict], int]:
        rm = self.server.broker.replica_manager
        owner = {}
        for m in members:
            for t, ps in (m.get("assignment") or {}).items():
                for p in ps:
                    owner[(t, p)] = m.get("client_id") or m.get("member_id")
        rows, total = [], 0
        keys = {(t, int(p)) for t, ps in committed.items() for p in ps} | {k for k in owner if k[0] in visible}
        for t, p in sorted(keys):
            off = committed.get(t, {}).get(p)
            part = rm.get(t, p)
            hw = part.log.high_watermark if part is not None else None
            lag = None
            if hw is not None:
                lag = max(0, hw - (off if off is not None else part.log.log_start_offset))
                total += lag
            rows.append(
                {
                    "topic": t,
                    "partition": p,
                    "committed": off,
                    "high_watermark": hw,
                    "lag": lag,
                    "owner": owner.get((t, p)),
                }
            )
        return rows, total

    async def snapshot(self, max_age_s: float = 2.0) -> list[dict]:
        """Groups with lag, cached for ``max_age_s`` (for /metrics and the live stream)."""
        if self._cache is not None and time.monotonic() - self._cache[0] < max_age_s:
            return self._cache[1]
        try:
            return await self.list()
        except Exception:  # noqa: BLE001 - /metrics and the live stream keep their other figures
            log.exception("reading the consumer groups failed")
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
        self.access.check_reset_offsets(group_id, topic)
        desc = await self.describe(group_id)
        if desc["state"] not in INACTIVE_STATES:
            raise ConsoleError(
                409,
                f"Assignments can only be reset if the group '{group_id}' is inactive, "
                f"but the current state is {desc['state']}.",
            )
        targets = self.target_offsets(topic, partitions, to, value)
        try:
            self._service.reset_offsets(group_id, targets)
        except RuntimeError as e:  # the coordinator refused (e.g. the group became active)
            raise ConsoleError(409, str(e)) from None
        self._cache = None
        return {
            "group_id": group_id,
            "offsets": [{"topic": t, "partition": p, "offset": o} for (t, p), o in sorted(targets.items())],
        }
