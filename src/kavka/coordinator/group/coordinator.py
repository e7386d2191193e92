"""The group coordinator: routes each group to its ``__consumer_offsets`` shard and shapes the answers.

A group lives on partition ``abs(hashCode(group_id)) % offsets.topic.num.partitions`` (Java's
String.hashCode and Kafka's Utils.abs, where Integer.MIN_VALUE maps to 0). Operations on a partition
this coordinator does not own are answered NOT_COORDINATOR; on one that is still loading,
COORDINATOR_LOAD_IN_PROGRESS (except Heartbeat, which Kafka answers NONE while loading, so members
do not rejoin for nothing).

Writes (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, TxnOffsetCommit, OffsetDelete,
DeleteGroups) take a ``respond`` callback that is called exactly once with the response dict (kio
field names), after the records the operation produced are in the log; JoinGroup and SyncGroup may
call it much later (from :meth:`tick` or another member's request). Reads (OffsetFetch,
DescribeGroups, ListGroups) return their result.

TxnOffsetCommit is a transactional write of the runtime
(:meth:`~kavka.coordinator.runtime.CoordinatorRuntime.write_transactional`): its OffsetCommit records
go into the group's partition as one transactional batch of the producer, and the answer waits for
that append, as for any write. The offsets stay pending until the transaction's marker is in the log
(:meth:`complete_transaction`, or :meth:`replay_end_transaction` at load), then count on commit and
are dropped on abort.

Request-level checks that come before any shard, as in Kafka's GroupCoordinatorService: an empty
group id is INVALID_GROUP_ID; a JoinGroup session timeout outside
``group.min/max.session.timeout.ms`` is INVALID_SESSION_TIMEOUT; a malformed ConsumerGroupHeartbeat
is INVALID_REQUEST (or UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION).

Consumer groups (KIP-848) need the cluster's topics: ``topics()`` returns a
:class:`~kavka.coordinator.group.consumer.TopicsImage`, a new object whenever the metadata changed.
A JoinGroup for an empty consumer group replaces it with a classic group (Kafka does the same); one
for a consumer group with members makes a classic member of it, and that member's SyncGroup,
Heartbeat and LeaveGroup go to the consumer group too (:mod:`.consumer_classic`). A
ConsumerGroupHeartbeat joining a classic group with members converts it
(``group.consumer.migration.policy``, :mod:`.migration`).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterable

from kavka.coordinator.group.classic import JoinRequest
from kavka.coordinator.group.config import GroupConfig
from kavka.coordinator.group.consumer import TopicsImage
from kavka.coordinator.group.consumer_heartbeat import HeartbeatRequest, heartbeat_error, validate_heartbeat
from kavka.coordinator.group.consumer_records import group_tombstones
from kavka.coordinator.group.offsets import CommitPartition, commit_response
from kavka.coordinator.group.responses import consumer_describe_error, describe_error, join_error, sync_error
from kavka.coordinator.group.shard import GroupShard
from kavka.coordinator.runtime import (
    Batch,
    CoordinatorError,
    CoordinatorRuntime,
    Record,
    Respond,
    ResponseBody,
    ShardedCoordinator,
    partition_for,
)
from kavka.protocol.api import ErrorCode

__all__ = ["GroupCoordinator", "partition_for"]

log = logging.getLogger(__name__)


def _commit_refused(topics: Iterable[tuple[str, Iterable[CommitPartition]]], code: int) -> ResponseBody:
    """An OffsetCommit / TxnOffsetCommit refused as a whole: ``code`` on every partition."""
    return commit_response([(name, [(p[0], ErrorCode.none) for p in parts]) for name, parts in topics], code)


class GroupCoordinator(ShardedCoordinator[GroupShard]):
    """All group coordinator shards of one broker.

    ``append(partition, records)`` writes records to ``__consumer_offsets-<partition>`` or raises;
    ``append_transactional(partition, producer_id, producer_epoch, records)`` does the same in a
    transactional batch of that producer (TxnOffsetCommit; both go to the runtime, which calls them).
    ``time_ms()`` is the clock.
    ``new_member_id(prefix)`` may be given to make member ids predictable in tests.
    """

    def __init__(
        self,
        config: GroupConfig,
        append: Callable[[int, list[Record]], None],
        time_ms: Callable[[], int],
        new_member_id: Callable[[str], str] | None = None,
        topics: Callable[[], TopicsImage] | None = None,
        append_transactional: Callable[[int, int, int, list[Record]], None] | None = None,
    ):
        self.config = config

        def new_shard(p: int) -> GroupShard:
            return GroupShard(p, config, time_ms, new_member_id, topics)

        self.runtime = CoordinatorRuntime(new_shard, append, time_ms, append_transactional)

    # --- ownership ----------------------------------------------------------------------------

    def num_partitions(self) -> int:
        return self.config.offsets_topic_num_partitions

    def load(self, partition: int, records: Iterable[Record]) -> None:
        """Rebuild ``partition``'s groups and offsets from its records (oldest first) and own it."""
        self.runtime.load(partition, records)

    def begin_load(self, partition: int) -> None:
        self.runtime.begin_load(partition)

    def replay_end_transaction(self, partition: int, producer_id: int, commit: bool) -> None:
        """Apply a COMMIT/ABORT marker of a loading partition's log."""
        self.runtime.replay_end_transaction(partition, producer_id, commit)

    # --- classic membership -------------------------------------------------------------------

    def join_group(
        self,
        *,
        group_id: str,
        member_id: str,
        protocol_type: str,
        protocols: Iterable[tuple[str, bytes]],
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        respond: Respond,
        group_instance_id: str | None = None,
        client_id: str = "",
        client_host: str = "",
        api_version: int = 9,
        reason: str | None = None,
    ) -> None:
        """JoinGroup. ``rebalance_timeout_ms`` -1 (v0) means the session timeout."""
        if not group_id:
            respond(join_error(ErrorCode.invalid_group_id, member_id))
            return
        if not self.config.min_session_timeout_ms <= session_timeout_ms <= self.config.max_session_timeout_ms:
            respond(join_error(ErrorCode.invalid_session_timeout, member_id))
            return
        if rebalance_timeout_ms is None or rebalance_timeout_ms < 0:
            rebalance_timeout_ms = session_timeout_ms
        protocols = tuple((name, bytes(meta)) for name, meta in protocols)
        if reason:
            log.debug("group %s: join of %r, reason: %s", group_id, member_id, reason)

        req = JoinRequest(
            group_instance_id=group_instance_id,
            protocol_type=protocol_type,
            protocols=protocols,
            session_timeout_ms=session_timeout_ms,
            rebalance_timeout_ms=rebalance_timeout_ms,
            client_id=client_id,
            client_host=client_host,
            api_version=api_version,
            respond=respond,
        )

        def op(shard: GroupShard, batch: Batch) -> None:
            cgroup = shard.consumer_groups.get(group_id)
            if cgroup is not None:
                if not cgroup.is_empty():
                    shard.consumer_classic.join(batch, cgroup, member_id=member_id, req=req)
                    return
                # an empty consumer group gives way to the classic group (its offsets stay)
                for record in group_tombstones(group_id, cgroup.members):
                    batch.append(record, replay=False)
                del shard.consumer_groups[group_id]
                cgroup.deleted = True
            shard.membership.join(batch, group_id=group_id, member_id=member_id, req=req)

        self._write(group_id, op, respond, lambda code: join_error(code, member_id))

    def sync_group(
        self,
        *,
        group_id: str,
        generation_id: int,
        member_id: str,
        assignments: Iterable[tuple[str, bytes]],
        respond: Respond,
        group_instance_id: str | None = None,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
    ) -> None:
        if not group_id:
            respond(sync_error(ErrorCode.invalid_group_id))
            return
        assignments = list(assignments)

        def op(shard: GroupShard, batch: Batch) -> None:
            cgroup = shard.consumer_groups.get(group_id)
            if cgroup is None:
                shard.membership.sync(
                    batch,
                    group_id=group_id,
                    generation_id=generation_id,
                    member_id=member_id,
                    group_instance_id=group_instance_id,
                    protocol_type=protocol_type,
                    protocol_name=protocol_name,
                    assignments=assignments,
                    respond=respond,
                )
            elif cgroup.is_empty():
                batch.respond(respond, sync_error(ErrorCode.unknown_member_id))
            else:
                shard.consumer_classic.sync(
                    batch,
                    cgroup,
                    generation_id=generation_id,
                    member_id=member_id,
                    group_instance_id=group_instance_id,
                    protocol_type=protocol_type,
                    protocol_name=protocol_name,
                    respond=respond,
                )

        self._write(group_id, op, respond, sync_error)

    def heartbeat(
        self,
        *,
        group_id: str,
        generation_id: int,
        member_id: str,
        respond: Respond,
        group_instance_id: str | None = None,
    ) -> None:
        if not group_id:
            respond({"error_code": ErrorCode.invalid_group_id})
            return

        def op(shard: GroupShard, batch: Batch) -> None:
            cgroup = shard.consumer_groups.get(group_id)
            if cgroup is None:
                code = shard.membership.heartbeat(group_id, generation_id, member_id, group_instance_id)
            else:
                code = shard.consumer_classic.heartbeat(cgroup, generation_id, member_id, group_instance_id)
            batch.respond(respond, {"error_code": code})

        def on_error(code: int) -> ResponseBody:
            # Kafka answers a heartbeat to a loading coordinator with NONE: the member stays put
            return {"error_code": ErrorCode.none if code == ErrorCode.coordinator_load_in_progress else code}

        self._write(group_id, op, respond, on_error)

    def leave_group(self, *, group_id: str, members: Iterable[tuple[str, str | None]], respond: Respond) -> None:
        """LeaveGroup of (member id, group instance id) pairs; response ``{error_code, members}``."""
        members = list(members)
        if not group_id:
            respond({"error_code": ErrorCode.invalid_group_id, "members": []})
            return

        def op(shard: GroupShard, batch: Batch) -> None:
            cgroup = shard.consumer_groups.get(group_id)
            if cgroup is None:
                shard.membership.leave(batch, group_id, members, respond)
            else:
                shard.consumer_classic.leave(batch, cgroup, members, respond)

        self._write(group_id, op, respond, lambda code: {"error_code": code, "members": []})

    # --- consumer groups (KIP-848) ---------------------------------------------------------------

    def consumer_group_heartbeat(
        self,
        *,
        group_id: str,
        member_id: str,
        member_epoch: int,
        respond: Respond,
        instance_id: str | None = None,
        rack_id: str | None = None,
        rebalance_timeout_ms: int = -1,
        subscribed_topic_names: Iterable[str] | None = None,
        subscribed_topic_regex: str | None = None,
        server_assignor: str | None = None,
        topic_partitions: Iterable[tuple[uuid.UUID, Iterable[int]]] | None = None,
        client_id: str = "",
        client_host: str = "",
        api_version: int = 1,
    ) -> None:
        """ConsumerGroupHeartbeat; ``respond`` gets ``{error_code, error_message, member_id,
        member_epoch, heartbeat_interval, assignment}`` (kio's field names; interval in ms)."""
        req = HeartbeatRequest(
            group_id=group_id,
            member_id=member_id or "",
            member_epoch=member_epoch,
            instance_id=instance_id,
            rack_id=rack_id,
            rebalance_timeout_ms=rebalance_timeout_ms,
            subscribed_topic_names=None if subscribed_topic_names is None else tuple(subscribed_topic_names),
            subscribed_topic_regex=subscribed_topic_regex,
            server_assignor=server_assignor,
            owned=None if topic_partitions is None else tuple((t, tuple(ps)) for t, ps in topic_partitions),
            client_id=client_id,
            client_host=client_host,
            api_version=api_version,
        )
        refused = validate_heartbeat(req, self.config.consumer_assignors)
        if refused is not None:
            respond(heartbeat_error(*refused))
            return
        try:
            self.runtime.write(
                self.partition_for(group_id), lambda shard, batch: shard.consumer.heartbeat(batch, req, respond)
            )
        except CoordinatorError as e:
            message = str(e) if str(e) != e.error_code.name else None
            respond(heartbeat_error(e.error_code, message))

    def consumer_group_describe(self, group_ids: Iterable[str]) -> list[ResponseBody]:
        """ConsumerGroupDescribe group entries (GROUP_ID_NOT_FOUND for ids that are not consumer groups,
        INVALID_GROUP_ID with no message for "", as Kafka 4.4 answers)."""
        out = []
        for group_id in group_ids:
            if not group_id:
                out.append(consumer_describe_error(group_id, ErrorCode.invalid_group_id))
                continue
            try:
                out.append(self.runtime.read(self.partition_for(group_id), lambda s: s.consumer.describe(group_id)))  # noqa: B023 - read() runs it now
            except CoordinatorError as e:
                out.append(consumer_describe_error(group_id, e.error_code))
        return out

    # --- offsets ------------------------------------------------------------------------------

    def commit_offsets(
        self,
        *,
        group_id: str,
        generation_id: int,
        member_id: str,
        topics: Iterable[tuple[str, Iterable[CommitPartition]]],
        respond: Respond,
        group_instance_id: str | None = None,
        retention_ms: int = -1,
        api_version: int = 9,
    ) -> None:
        """OffsetCommit; ``topics`` is [(topic, [(partition, offset, leader_epoch, metadata)])].

        The response is ``{"topics": [{name, partitions: [{partition_index, error_code}]}]}``; a
        request-level refusal puts its error on every partition.
        """
        topics = [(name, list(parts)) for name, parts in topics]
        on_error = functools.partial(_commit_refused, topics)

        if group_id is None:
            respond(on_error(ErrorCode.invalid_group_id))
            return
        self._write(
            group_id,
            lambda shard, batch: shard.offsets.commit(
                batch, group_id, member_id, group_instance_id, generation_id, topics, retention_ms, api_version, respond
            ),
            respond,
            on_error,
        )

    def fetch_offsets(
        self,
        group_id: str,
        topics: Iterable[tuple[str, Iterable[int]]] | None,
        require_stable: bool = False,
        member_id: str | None = None,
        member_epoch: int = -1,
    ) -> ResponseBody:
        """OffsetFetch of one group: ``{group_id, error_code, topics}``; ``topics`` None = all.
        ``require_stable``: UNSTABLE_OFFSET_COMMIT for partitions with transactional offsets pending.
        ``member_id``/``member_epoch`` (v9; None and -1 when not given) must name a current member of a
        consumer group, else the group's error is UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH."""
        if group_id is None:
            return {"group_id": group_id, "error_code": ErrorCode.invalid_group_id, "topics": []}
        topics = None if topics is None else [(name, list(parts)) for name, parts in topics]
        try:
            return self.runtime.read(
                self.partition_for(group_id),
                lambda s: s.offsets.fetch(group_id, topics, require_stable, member_id, member_epoch),
            )
        except CoordinatorError as e:
            return {"group_id": group_id, "error_code": e.error_code, "topics": []}

    def commit_transactional_offsets(
        self,
        *,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        generation_id: int,
        member_id: str,
        topics: Iterable[tuple[str, Iterable[CommitPartition]]],
        respond: Respond,
        group_instance_id: str | None = None,
        api_version: int = 5,
    ) -> None:
        """TxnOffsetCommit: a transactional write of the runtime (Kafka's scheduleTransactionalWriteOperation).

        The offsets go to the group's partition in a transactional batch of the producer, the answer
        follows the append, and they stay pending until its transaction's marker
        (:meth:`complete_transaction`). An append the log refuses (a fenced producer epoch among
        others) puts its error on every partition. The response is
        ``{"topics": [{name, partitions: [{partition_index, error_code}]}]}``.
        """
        topics = [(name, list(parts)) for name, parts in topics]
        on_error = functools.partial(_commit_refused, topics)

        if not group_id:
            respond(on_error(ErrorCode.invalid_group_id))
            return
        try:
            self.runtime.write_transactional(
                self.partition_for(group_id),
                producer_id,
                producer_epoch,
                lambda shard, batch: shard.offsets.transactional_commit(
                    batch, group_id, member_id, group_instance_id, generation_id, topics, respond, api_version
                ),
            )
        except CoordinatorError as e:
            respond(on_error(e.error_code))

    def complete_transaction(self, partition: int, producer_id: int, commit: bool) -> None:
        """The COMMIT/ABORT marker of ``producer_id`` is now in ``partition``'s log: apply it. A
        partition not active here will read the marker from the log when it loads."""
        self.runtime.complete_transaction(partition, producer_id, commit)

    def delete_offsets(self, *, group_id: str, topics: Iterable[tuple[str, Iterable[int]]], respond: Respond) -> None:
        """OffsetDelete: ``{error_code, topics: [{name, partitions: [{partition_index, error_code}]}]}``."""
        topics = [(name, list(parts)) for name, parts in topics]
        if not group_id:
            respond({"error_code": ErrorCode.invalid_group_id, "topics": []})
            return
        self._write(
            group_id,
            lambda shard, batch: shard.offsets.delete(batch, group_id, topics, respond),
            respond,
            lambda code: {"error_code": code, "topics": []},
        )

    # --- groups -------------------------------------------------------------------------------

    def describe_groups(self, group_ids: Iterable[str], api_version: int = 5) -> list[ResponseBody]:
        """DescribeGroups entries, as answered at ``api_version`` (GROUP_ID_NOT_FOUND from v6)."""
        out = []
        for group_id in group_ids:
            try:
                out.append(
                    self.runtime.read(self.partition_for(group_id), lambda s: s.describe(group_id, api_version))  # noqa: B023 - read() runs it now
                )
            except CoordinatorError as e:
                out.append(describe_error(group_id, e.error_code))
        return out

    def list_groups(self, states: Iterable[str] = (), types: Iterable[str] = ()) -> ResponseBody:
        """ListGroups over every partition this coordinator owns: ``{error_code, groups}``."""
        states, types = list(states), list(types)
        groups: list[ResponseBody] = []
        error = ErrorCode.none
        for partition in self.runtime.owned_partitions():
            code = self.runtime.partition_error(partition)
            if code:
                error = code
                continue
            groups += self.runtime.read(partition, lambda s: s.list(states, types))
        return {"error_code": error, "groups": groups}

    def delete_groups(self, group_ids: Iterable[str], respond: Callable[[list[ResponseBody]], None]) -> None:
        """DeleteGroups; ``respond`` gets ``[{group_id, error_code}]`` once every shard answered."""
        group_ids = list(group_ids)
        by_partition: dict[int, list[str]] = {}
        results: dict[str, ResponseBody] = {}
        for gid in group_ids:
            # "" too: Kafka 4.4 answers GROUP_ID_NOT_FOUND for it, as for any group it does not have
            by_partition.setdefault(self.partition_for(gid), []).append(gid)
        pending = [len(by_partition)]

        def finish() -> None:
            respond(
                [results.get(gid, {"group_id": gid, "error_code": ErrorCode.unknown_server_error}) for gid in group_ids]
            )

        def collect(entries: list[ResponseBody]) -> None:
            for entry in entries:
                results[entry["group_id"]] = entry
            pending[0] -= 1
            if pending[0] == 0:
                finish()

        if not by_partition:
            finish()
            return

        def delete(gids: list[str]) -> Callable[[GroupShard, Batch], None]:
            return lambda shard, batch: shard.delete_groups(batch, gids, collect)

        for partition, gids in by_partition.items():
            try:
                self.runtime.write(partition, delete(gids))
            except CoordinatorError as e:
                collect([{"group_id": gid, "error_code": e.error_code} for gid in gids])
