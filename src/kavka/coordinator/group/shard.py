"""One group coordinator shard: the groups and offsets of one ``__consumer_offsets`` partition.

The shard's durable state is exactly what replaying its partition gives (:meth:`GroupShard.replay`):

- an OffsetCommit record sets the offset of (group, topic, partition); a tombstone removes it; an
  offset of a group with no GroupMetadata record makes an Empty group without a protocol type;
- a GroupMetadata record (re)creates the group as it was written: Empty when it has no members,
  else Stable with the written generation, protocol, leader, members and assignments; a tombstone
  removes the group;
- an OffsetCommit record of a transactional batch is pending for its producer until that producer's
  COMMIT marker applies it or its ABORT marker drops it (:meth:`replay_end_transaction`).

- consumer group records (KIP-848, key versions 3-8) build the shard's consumer groups
  (:meth:`.consumer_membership.ConsumerMembership.replay`), members using the classic protocol
  included. A group id names either a classic group (``groups``) or a consumer group
  (``consumer_groups``), never both: the conversions between them (:mod:`.migration`) write the
  new group's records after the old group's tombstones, and a GroupMetadata record replayed while a
  consumer group of that id exists replaces it.

On top of that the shard keeps soft state: parked JoinGroup/SyncGroup requests and timers. After a
load, every loaded member must heartbeat within its session timeout, and the retention check runs
every ``offsets.retention.check.interval.ms``.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable, Iterable

from kavka.coordinator.group.classic import ClassicGroup, ClassicMember, GroupState, describe_member
from kavka.coordinator.group.config import GroupConfig
from kavka.coordinator.group.consumer import EMPTY_TOPICS, ConsumerGroup, TopicsImage
from kavka.coordinator.group.consumer_classic import ClassicMembersOfConsumerGroups
from kavka.coordinator.group.consumer_membership import ConsumerMembership
from kavka.coordinator.group.consumer_records import CONSUMER_KEY_VERSIONS, group_tombstones
from kavka.coordinator.group.membership import ClassicMembership
from kavka.coordinator.group.migration import Migration
from kavka.coordinator.group.offsets import OffsetManager
from kavka.coordinator.group.records import (
    GroupMetadataValue,
    OffsetCommitKey,
    decode_group_metadata_value,
    decode_key,
    decode_offset_commit_value,
    group_metadata_tombstone,
)
from kavka.coordinator.group.responses import join_error, sync_error
from kavka.coordinator.runtime import Batch, ResponseBody, Timer
from kavka.protocol.api import ErrorCode
from kavka.protocol.batch import NO_PRODUCER_ID

__all__ = ["GroupShard"]

log = logging.getLogger(__name__)

_CLEANUP_KEY = ("cleanup",)


class GroupShard:
    def __init__(
        self,
        partition: int,
        config: GroupConfig,
        time_ms: Callable[[], int],
        new_member_id: Callable[[str], str] | None = None,
        topics: Callable[[], TopicsImage] | None = None,
    ):
        self.partition = partition
        self.config = config
        self.time_ms = time_ms
        self.topics = topics or (lambda: EMPTY_TOPICS)
        self.timer = Timer(time_ms)
        self.groups: dict[str, ClassicGroup] = {}
        self.consumer_groups: dict[str, ConsumerGroup] = {}
        self._new_member_id = new_member_id or (lambda prefix: f"{prefix}-{uuid.uuid4()}")
        self.membership = ClassicMembership(self)
        self.consumer = ConsumerMembership(self)
        self.consumer_classic = ClassicMembersOfConsumerGroups(self)
        self.migration = Migration(self)
        self.offsets = OffsetManager(self)

    def new_member_id(self, prefix: str) -> str:
        """Kafka's member id: the client id (or group instance id), a dash, a random UUID."""
        return self._new_member_id(prefix)

    def get_or_create_group(self, group_id: str) -> ClassicGroup:
        group = self.groups.get(group_id)
        if group is None:
            group = ClassicGroup(group_id, state_timestamp=self.time_ms())
            self.groups[group_id] = group
        return group

    # --- replay -------------------------------------------------------------------------------

    def replay(self, key: bytes, value: bytes | None, producer_id: int = NO_PRODUCER_ID) -> None:
        """Apply one record; ``producer_id`` is the producer of a transactional batch (offsets of a
        transaction stay pending until :meth:`replay_end_transaction`)."""
        k = decode_key(key)
        if isinstance(k, int):  # the key version of a record type the consumer groups own, or none
            if k in CONSUMER_KEY_VERSIONS:
                self.consumer.replay(key, value)
        elif isinstance(k, OffsetCommitKey):
            v = None if value is None else decode_offset_commit_value(value)
            self.offsets.replay(k.group, k.topic, k.partition, v, producer_id)
        elif value is None:
            self._remove_group(k.group)
        else:
            self._load_group(k.group, decode_group_metadata_value(value))

    def replay_end_transaction(self, producer_id: int, commit: bool) -> None:
        """A COMMIT or ABORT marker of ``producer_id`` in this partition."""
        self.offsets.replay_end_transaction(producer_id, commit)

    def _remove_group(self, group_id: str) -> None:
        group = self.groups.pop(group_id, None)
        if group is not None:
            group.state = GroupState.DEAD
            for m in list(group.members.values()):
                self.timer.cancel(("heartbeat", group_id, m.member_id))
            self.timer.cancel(("join", group_id))
            self.timer.cancel(("sync", group_id))

    def _load_group(self, group_id: str, v: GroupMetadataValue) -> None:
        state_ts = None if v.current_state_timestamp == -1 else v.current_state_timestamp
        group = ClassicGroup(
            group_id,
            state=GroupState.STABLE if v.members else GroupState.EMPTY,
            state_timestamp=state_ts,
            protocol_type=v.protocol_type or None,
            protocol_name=v.protocol,
            generation_id=v.generation,
        )
        for m in v.members:
            group.add(
                ClassicMember(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    # records older than v1 carry no rebalance timeout: the session timeout stood for both
                    rebalance_timeout_ms=m.session_timeout if m.rebalance_timeout == -1 else m.rebalance_timeout,
                    session_timeout_ms=m.session_timeout,
                    protocol_type=v.protocol_type,
                    protocols=((v.protocol or "", m.subscription),),
                    assignment=m.assignment,
                )
            )
        if v.leader in group.members:
            group.leader_id = v.leader
        group.subscribed_topics = group.compute_subscribed_topics()
        old = self.groups.get(group_id)
        if old is not None and old is not group:
            self._remove_group(group_id)
        cgroup = self.consumer_groups.pop(group_id, None)
        if cgroup is not None:  # a group id names one group: the classic group replaces it
            cgroup.deleted = True
            for mid in cgroup.members:
                self.consumer.cancel_timers(group_id, mid)
        self.groups[group_id] = group

    def on_loaded(self, batch: Batch) -> None:
        """Loaded members must heartbeat within their session timeout (the clients do not know the
        coordinator moved); a group over ``group.max.size`` rebalances."""
        for group in list(self.groups.values()):
            for m in group.members.values():
                self.membership.reschedule_heartbeat(group, m)
            self.membership.rebalance_if_oversized(batch, group)
        self.consumer.on_loaded()
        self._schedule_cleanup()
        log.info(
            "group coordinator partition %d loaded: %d classic groups, %d consumer groups",
            self.partition,
            len(self.groups),
            len(self.consumer_groups),
        )

    def on_unloaded(self) -> None:
        """Parked JoinGroup/SyncGroup requests are answered NOT_COORDINATOR: the clients look for
        the new coordinator."""
        for group in self.groups.values():
            for m in group.members.values():
                join_cb, sync_cb, m.join_cb, m.sync_cb = m.join_cb, m.sync_cb, None, None
                if join_cb is not None:
                    join_cb(join_error(ErrorCode.not_coordinator, m.member_id))
                if sync_cb is not None:
                    sync_cb(sync_error(ErrorCode.not_coordinator))
            group.state = GroupState.DEAD
        self.groups.clear()
        for cgroup in self.consumer_groups.values():
            cgroup.deleted = True
        self.consumer_groups.clear()

    # --- expiry -------------------------------------------------------------------------------

    def _schedule_cleanup(self) -> None:
        self.timer.schedule(_CLEANUP_KEY, self.config.offsets_retention_check_interval_ms, self.cleanup)

    def cleanup(self, batch: Batch) -> None:
        """Tombstones for expired offsets, and for Empty groups left with no offsets at all."""
        now = self.time_ms()
        for group_id, group in list(self.groups.items()):
            all_expired = self.offsets.expire(batch, group, now)
            if all_expired and group.state == GroupState.EMPTY and not group.pending_join_members:
                batch.append(group_metadata_tombstone(group_id))
        for cgroup in list(self.consumer_groups.values()):
            if self.offsets.expire_consumer(batch, cgroup, now) and cgroup.is_empty():
                for record in group_tombstones(cgroup.group_id, cgroup.members):
                    batch.append(record)
        self._schedule_cleanup()

    # --- groups -------------------------------------------------------------------------------

    def describe(self, group_id: str, api_version: int = 5) -> ResponseBody:
        """A DescribeGroups entry. Only classic groups are described: a KIP-848 consumer group reads as
        Dead, as from Kafka's coordinator (ConsumerGroupDescribe describes those). From v6 (KIP-1043)
        such a group, or none, is GROUP_ID_NOT_FOUND with Kafka's message, still in state Dead."""
        group = self.groups.get(group_id)
        if group is None or group.state == GroupState.DEAD:
            code, message = ErrorCode.none, None
            if api_version >= 6:
                code = ErrorCode.group_id_not_found
                message = (
                    f"Group {group_id} is not a classic group."
                    if group_id in self.consumer_groups
                    else f"Group {group_id} not found."
                )
            return {
                "error_code": code,
                "error_message": message,
                "group_id": group_id,
                "group_state": GroupState.DEAD.value,
                "protocol_type": "",
                "protocol_data": "",
                "members": [],
                "authorized_operations": -2147483648,
            }
        stable = group.state == GroupState.STABLE
        return {
            "error_code": ErrorCode.none,
            "group_id": group_id,
            "group_state": group.state.value,
            "protocol_type": group.protocol_type or "",
            # the protocol is only settled (and member metadata only meaningful) in Stable
            "protocol_data": (group.protocol_name or "") if stable else "",
            "members": [describe_member(m, group.protocol_name if stable else None) for m in group.members.values()],
            "authorized_operations": -2147483648,
        }

    def list(self, states: Iterable[str] = (), types: Iterable[str] = ()) -> list[ResponseBody]:
        """ListGroups entries; filters are case-insensitive and empty means all. Groups are of type
        "classic" or "consumer" (KIP-848; protocol type "consumer")."""
        states_wanted = {s.strip().lower() for s in states}
        types_wanted = {t.strip().lower() for t in types}
        out: list[ResponseBody] = []
        if not types_wanted or "classic" in types_wanted:
            out += [
                {
                    "group_id": g.group_id,
                    "protocol_type": g.protocol_type or "",
                    "group_state": g.state.value,
                    "group_type": "classic",
                }
                for g in self.groups.values()
                if not states_wanted or g.state.value.lower() in states_wanted
            ]
        if not types_wanted or "consumer" in types_wanted:
            out += [
                {
                    "group_id": g.group_id,
                    "protocol_type": "consumer",
                    "group_state": g.state.value,
                    "group_type": "consumer",
                }
                for g in self.consumer_groups.values()
                if not states_wanted or g.state.value.lower() in states_wanted
            ]
        return out

    # (``list`` below is the method above: the builtin is spelled ``builtins.list``)
    def delete_groups(
        self, batch: Batch, group_ids: builtins.list[str], respond: Callable[[builtins.list[ResponseBody]], None]
    ) -> None:
        """Delete Empty groups with all their offsets; NON_EMPTY_GROUP / GROUP_ID_NOT_FOUND otherwise."""
        results: builtins.list[tuple[str, ErrorCode]] = []
        for group_id in group_ids:
            cgroup = self.consumer_groups.get(group_id)
            if cgroup is not None:
                if not cgroup.is_empty():
                    code = ErrorCode.non_empty_group
                else:
                    code = ErrorCode.none
                    self.offsets.delete_all(batch, group_id)
                    for record in group_tombstones(group_id, cgroup.members):
                        batch.append(record)
                results.append((group_id, code))
                continue
            group = self.groups.get(group_id)
            if group is None or group.state == GroupState.DEAD:
                code = ErrorCode.group_id_not_found
            elif group.state != GroupState.EMPTY:
                code = ErrorCode.non_empty_group
            else:
                code = ErrorCode.none
                self.offsets.delete_all(batch, group_id)
                batch.append(group_metadata_tombstone(group_id))
            results.append((group_id, code))

        def answer(error: int) -> builtins.list[ResponseBody]:
            return [{"group_id": gid, "error_code": code or error} for gid, code in results]

        batch.on_success(lambda _f: batch.respond(respond, answer(ErrorCode.none)))
        batch.on_failure(lambda _f, error: batch.respond(respond, answer(error)))
