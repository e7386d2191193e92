"""The consumer group protocol (KIP-848) of one shard: ConsumerGroupHeartbeat, its timers, and replay.

This is the consumer-group half of Kafka's GroupMetadataManager. Every change is a record that is
appended first and applied by :meth:`ConsumerMembership.replay` after (``replay=True``), so a group
after a restart is exactly what the log says. One heartbeat does, in order:

1. **Member.** Epoch 0 joins (a new member, or a member that was fenced rejoining with its id, or a
   static member taking over an instance that left with epoch -2 — else UNRELEASED_INSTANCE_ID); any
   other epoch must be the member's epoch, or its previous epoch with owned partitions that are a
   subset of its assignment (a lost response), else FENCED_MEMBER_EPOCH. Unknown ids are
   UNKNOWN_MEMBER_ID; a static instance id held by another member id is FENCED_INSTANCE_ID. A new
   member beyond ``group.consumer.max.size`` is GROUP_MAX_SIZE_REACHED. Changed member metadata is a
   ConsumerGroupMemberMetadata record.
2. **Group epoch.** A changed subscription, or topics metadata that changed since the group last
   looked (new partitions, a topic created that a regex matches, a topic deleted), recomputes the
   subscribed topics' metadata (a ConsumerGroupPartitionMetadata record when it differs) and bumps
   the group epoch (ConsumerGroupMetadata record).
3. **Target assignment.** When the group epoch is ahead of the assignment epoch, the assignor the
   members prefer (else the first of ``group.consumer.assignors``) computes a new target; members
   whose target changed get a ConsumerGroupTargetAssignmentMember record, then the epoch a
   ConsumerGroupTargetAssignmentMetadata record.
4. **Reconciliation** (:func:`.consumer.reconcile`): a ConsumerGroupCurrentMemberAssignment record
   when the member's epoch, state or partitions moved. A member with partitions to revoke has
   ``rebalance_timeout_ms`` to do so, or is fenced.

A member leaves with epoch -1 (its three member records are tombstoned and the group epoch bumps),
or, if static, pauses with epoch -2 (it keeps its partitions until its instance rejoins or its
session expires). A member that does not heartbeat within ``group.consumer.session.timeout.ms`` is
removed as if it left. When the member removed is the last one using the consumer protocol and
classic members stay, the group may convert back to a classic group instead (:mod:`.migration`).

Members may use the classic protocol (:mod:`.consumer_classic` serves their JoinGroup, SyncGroup,
Heartbeat and LeaveGroup with steps 1-4 above, :meth:`ConsumerMembership.update_member`); their
member metadata record carries their session timeout and protocols, they have their own session
timeout, and join and sync timeouts instead of the rebalance timeout. A static consumer-protocol
member takes over an instance held by a classic member at once (a rolling upgrade).

A group id is either a classic group or a consumer group. A joining heartbeat for an id held by a
classic group with members upgrades that group (:mod:`.migration`; GROUP_ID_NOT_FOUND when it may
not), any other heartbeat for it is GROUP_ID_NOT_FOUND; an empty classic group (e.g. one only
holding offsets) is replaced, its offsets kept.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from kavka.coordinator.group.assignors import ASSIGNORS, MemberSpec
from kavka.coordinator.group.classic import GroupState
from kavka.coordinator.group.consumer import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    ConsumerGroup,
    ConsumerMember,
    MemberState,
    TopicInfo,
    TopicsImage,
    assignment_equal,
    reconcile,
)
from kavka.coordinator.group.consumer_heartbeat import HeartbeatRequest, heartbeat_error, new_member_id
from kavka.coordinator.group.consumer_records import (
    Assignment,
    ConsumerGroupCurrentMemberAssignmentKey,
    ConsumerGroupCurrentMemberAssignmentValue,
    ConsumerGroupMemberMetadataKey,
    ConsumerGroupMemberMetadataValue,
    ConsumerGroupMetadataKey,
    ConsumerGroupMetadataValue,
    ConsumerGroupPartitionMetadataKey,
    ConsumerGroupPartitionMetadataValue,
    ConsumerGroupTargetAssignmentMemberKey,
    ConsumerGroupTargetAssignmentMemberValue,
    ConsumerGroupTargetAssignmentMetadataKey,
    ConsumerGroupTargetAssignmentMetadataValue,
    assignment_partitions,
    current_assignment_record,
    decode_consumer_record,
    group_epoch_record,
    member_metadata_record,
    member_tombstones,
    partition_metadata_record,
    target_assignment_epoch_record,
    target_assignment_record,
    value_as,
)
from kavka.coordinator.group.records import Record, group_metadata_tombstone
from kavka.coordinator.group.responses import consumer_describe_error
from kavka.coordinator.runtime import Batch, CoordinatorError, Respond, ResponseBody
from kavka.protocol.api import ErrorCode

if TYPE_CHECKING:
    from kavka.coordinator.group.shard import GroupShard

__all__ = ["CommitValidator", "ConsumerMembership", "encode_consumer_assignment"]

CommitValidator = Callable[[str, int], None]
"""Checks one partition (topic name, partition) of an offset commit; CoordinatorError refuses it."""

log = logging.getLogger(__name__)


def _topic_partitions(assignment: Assignment) -> list[ResponseBody]:
    return [
        {"topic_id": t, "partitions": sorted(ps)}
        for t, ps in sorted(assignment.items(), key=lambda kv: str(kv[0]))
        if ps
    ]


def encode_consumer_assignment(assignment: dict[str, list[int]]) -> bytes:
    """A ConsumerProtocolAssignment v0 (version INT16, [topic STRING, [partition INT32]], user data
    NULLABLE_BYTES): how DescribeGroups shows a consumer group member's partitions."""
    import struct

    parts = [struct.pack(">hi", 0, len(assignment))]
    for topic in sorted(assignment):
        raw = topic.encode()
        partitions = sorted(assignment[topic])
        parts.append(
            struct.pack(">h", len(raw)) + raw + struct.pack(f">i{len(partitions)}i", len(partitions), *partitions)
        )
    parts.append(struct.pack(">i", -1))
    return b"".join(parts)


class ConsumerMembership:
    def __init__(self, shard: GroupShard):
        self.shard = shard
        self.timer = shard.timer
        self.config = shard.config

    @property
    def groups(self) -> dict[str, ConsumerGroup]:
        return self.shard.consumer_groups

    def _topics(self) -> TopicsImage:
        return self.shard.topics()

    @staticmethod
    def _session_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("cg-session", group_id, member_id)

    @staticmethod
    def _rebalance_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("cg-rebalance", group_id, member_id)

    @staticmethod
    def _join_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("cg-join", group_id, member_id)

    @staticmethod
    def _sync_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("cg-sync", group_id, member_id)

    # --- replay ---------------------------------------------------------------------------------

    def _get_or_create(self, group_id: str) -> ConsumerGroup:
        group = self.groups.get(group_id)
        if group is None:
            # a group id names one group: an empty classic group it replaces is gone (its offsets stay)
            self.shard.groups.pop(group_id, None)
            group = ConsumerGroup(group_id)
            self.groups[group_id] = group
        return group

    def replay(self, key: bytes, value: bytes | None) -> None:
        k, v = decode_consumer_record(key, value)
        if k is None:
            return
        gid = k.group
        if isinstance(k, ConsumerGroupMetadataKey):
            if v is None:
                group = self.groups.pop(gid, None)
                if group is not None:
                    group.deleted = True
                    for mid in group.members:
                        self.cancel_timers(gid, mid)
            else:
                self._get_or_create(gid).group_epoch = value_as(v, ConsumerGroupMetadataValue).epoch
            return
        if v is None:
            group = self.groups.get(gid)
            if group is None:
                return
        else:
            group = self._get_or_create(gid)
        if isinstance(k, ConsumerGroupPartitionMetadataKey):
            group.subscription_metadata = (
                {}
                if v is None
                else {
                    t.topic_name: TopicInfo(t.topic_id, t.num_partitions)
                    for t in value_as(v, ConsumerGroupPartitionMetadataValue).topics
                }
            )
            group.checked_image = None
        elif isinstance(k, ConsumerGroupTargetAssignmentMetadataKey):
            if v is not None:
                group.assignment_epoch = value_as(v, ConsumerGroupTargetAssignmentMetadataValue).assignment_epoch
        elif isinstance(k, ConsumerGroupTargetAssignmentMemberKey):
            if v is None:
                group.target_assignment.pop(k.member_id, None)
            else:
                group.target_assignment[k.member_id] = dict(
                    value_as(v, ConsumerGroupTargetAssignmentMemberValue).partitions
                )
        elif isinstance(k, ConsumerGroupMemberMetadataKey):
            if v is None:
                old = group.members.pop(k.member_id, None)
                if (
                    old is not None
                    and old.instance_id is not None
                    and group.static_members.get(old.instance_id) == k.member_id
                ):
                    del group.static_members[old.instance_id]
            else:
                meta = value_as(v, ConsumerGroupMemberMetadataValue)
                old = group.members.get(k.member_id) or ConsumerMember(k.member_id)
                group.members[k.member_id] = replace(
                    old,
                    instance_id=meta.instance_id,
                    rack_id=meta.rack_id,
                    client_id=meta.client_id,
                    client_host=meta.client_host,
                    subscribed_topic_names=tuple(meta.subscribed_topic_names),
                    subscribed_topic_regex=meta.subscribed_topic_regex,
                    rebalance_timeout_ms=meta.rebalance_timeout_ms,
                    server_assignor=meta.server_assignor,
                    classic=meta.classic_member_metadata,
                )
                if meta.instance_id is not None:
                    group.static_members[meta.instance_id] = k.member_id
        elif isinstance(k, ConsumerGroupCurrentMemberAssignmentKey):
            old = group.members.get(k.member_id)
            if v is None:
                if old is not None:
                    group.members[k.member_id] = replace(
                        old,
                        member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                        previous_member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                        assigned={},
                        pending_revocation={},
                        assignment_epochs={},
                    )
            else:
                current = value_as(v, ConsumerGroupCurrentMemberAssignmentValue)
                try:
                    state = MemberState(current.state)
                except ValueError:
                    state = MemberState.UNKNOWN
                # a record without assignment epochs (older Kafka) gives every partition the member epoch
                default = max(current.member_epoch, 0)
                held = assignment_partitions(current.assigned) + assignment_partitions(current.pending_revocation)
                group.members[k.member_id] = replace(
                    old or ConsumerMember(k.member_id),
                    member_epoch=current.member_epoch,
                    previous_member_epoch=current.previous_member_epoch,
                    state=state,
                    assigned=dict(current.assigned),
                    pending_revocation=dict(current.pending_revocation),
                    assignment_epochs={tp: current.epochs.get(tp, default) for tp in held},
                )

    def on_loaded(self) -> None:
        """Every loaded member must heartbeat within its session timeout; consumer-protocol members
        revoking have their rebalance timeout again."""
        for group in self.groups.values():
            for m in group.members.values():
                self.schedule_session(group.group_id, m)
                if m.state == MemberState.UNREVOKED_PARTITIONS and not m.uses_classic_protocol:
                    self._schedule_rebalance(group.group_id, m)

    # --- timers ---------------------------------------------------------------------------------

    def schedule_session(self, group_id: str, member: ConsumerMember) -> None:
        """The member's session: ``group.consumer.session.timeout.ms``, or the session timeout a classic
        member gave in its JoinGroup."""
        mid = member.member_id
        timeout = (
            member.classic.session_timeout_ms if member.classic is not None else self.config.consumer_session_timeout_ms
        )
        self.timer.schedule(
            self._session_key(group_id, mid),
            timeout,
            lambda b: self._fence_due(b, group_id, mid, None, "its session expired"),
        )

    def _schedule_rebalance(self, group_id: str, m: ConsumerMember) -> None:
        epoch, mid = m.member_epoch, m.member_id
        timeout = m.rebalance_timeout_ms if m.rebalance_timeout_ms > 0 else self.config.consumer_session_timeout_ms
        self.timer.schedule(
            self._rebalance_key(group_id, mid),
            timeout,
            lambda b: self._fence_due(
                b, group_id, mid, epoch, f"it did not revoke its partitions of epoch {epoch} in time"
            ),
        )

    def schedule_join_timeout_if_absent(self, group_id: str, member: ConsumerMember) -> None:
        """A classic member told to rejoin must do so within its rebalance timeout, or it is fenced."""
        key, mid = self._join_key(group_id, member.member_id), member.member_id
        if not self.timer.is_scheduled(key):
            self.timer.schedule(
                key,
                max(member.rebalance_timeout_ms, 0),
                lambda b: self._fence_due(
                    b, group_id, mid, None, "the classic member failed to join within the rebalance timeout"
                ),
            )

    def schedule_sync_timeout(self, group_id: str, member_id: str, timeout_ms: int) -> None:
        """A classic member that joined must send SyncGroup within its rebalance timeout, or it is fenced."""
        self.timer.schedule(
            self._sync_key(group_id, member_id),
            max(timeout_ms, 0),
            lambda b: self._fence_due(b, group_id, member_id, None, "the member failed to sync within timeout"),
        )

    def cancel_join_timeout(self, group_id: str, member_id: str) -> None:
        self.timer.cancel(self._join_key(group_id, member_id))

    def cancel_sync_timeout(self, group_id: str, member_id: str) -> None:
        self.timer.cancel(self._sync_key(group_id, member_id))

    def cancel_timers(self, group_id: str, member_id: str) -> None:
        for key in (self._session_key, self._rebalance_key, self._join_key, self._sync_key):
            self.timer.cancel(key(group_id, member_id))

    def _fence_due(self, batch: Batch, group_id: str, member_id: str, epoch: int | None, reason: str) -> None:
        group = self.groups.get(group_id)
        if group is None:
            return
        member = group.members.get(member_id)
        if member is None or (epoch is not None and member.member_epoch != epoch):
            return
        log.info("consumer group %s: member %s fenced because %s", group_id, member_id, reason)
        self.fence(batch, group, member)

    def fence(self, batch: Batch, group: ConsumerGroup, member: ConsumerMember) -> None:
        """Remove ``member`` (Kafka's consumerGroupFenceMember): its records are tombstoned and the group
        epoch bumps; or, when it was the last member using the consumer protocol, the group converts
        back to a classic group (:meth:`.migration.Migration.downgrade`)."""
        migration = self.shard.migration
        if migration.may_downgrade_without(group, member.member_id):
            migration.downgrade(batch, group, member.member_id)
            return
        for record in self.removal_records(group, [member]):
            batch.append(record)

    def removal_records(self, group: ConsumerGroup, members: list[ConsumerMember]) -> list[Record]:
        """Tombstones of ``members`` (their timers cancelled), the subscription metadata without them
        when it changes, and a group epoch bump; when no member is left, the target assignment's epoch
        catches up with it (an empty group's epochs are equal, as in Kafka 4.4: KAFKA-20442)."""
        gid = group.group_id
        records: list[Record] = []
        for m in members:
            records += member_tombstones(gid, m.member_id)
            self.cancel_timers(gid, m.member_id)
        image = self._topics()
        metadata = self._subscription_metadata(group, image, {m.member_id: None for m in members})
        if metadata != group.subscription_metadata:
            records.append(partition_metadata_record(gid, metadata))
        records.append(group_epoch_record(gid, group.group_epoch + 1))
        if set(group.members) <= {m.member_id for m in members}:
            records.append(target_assignment_epoch_record(gid, group.group_epoch + 1))
        return records

    @staticmethod
    def _subscription_metadata(
        group: ConsumerGroup, image: TopicsImage, replacing: Mapping[str, ConsumerMember | None]
    ) -> dict[str, TopicInfo]:
        names = group.subscribed_topic_names(image.by_name, replacing)
        return {n: image.by_name[n] for n in sorted(names) if n in image.by_name}

    # --- ConsumerGroupHeartbeat -------------------------------------------------------------------

    def heartbeat(self, batch: Batch, req: HeartbeatRequest, respond: Respond) -> None:
        """Validate, write the records, answer once they are in the log. CoordinatorError for a refusal."""
        if req.member_epoch in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
            self._leave(batch, req, respond)
            return
        gid = req.group_id
        joining = req.member_epoch == 0
        records: list[Record] = []
        converted: Callable[[Batch], None] | None = None
        group = self.groups.get(gid)
        if group is None:
            classic = self.shard.groups.get(gid)
            in_use = classic is not None and (
                classic.members or classic.pending_join_members or classic.state != GroupState.EMPTY
            )
            if in_use and not joining:
                raise CoordinatorError(ErrorCode.group_id_not_found, f"Group {gid} is not a consumer group.")
            if not joining:
                raise CoordinatorError(ErrorCode.group_id_not_found, f"Consumer group {gid} not found.")
            if classic is not None and in_use:
                # a consumer-protocol member joins a classic group: online upgrade (or GROUP_ID_NOT_FOUND)
                group, upgrade_records, converted = self.shard.migration.upgrade(classic)
                records += upgrade_records
            else:
                if classic is not None:
                    records.append(group_metadata_tombstone(gid))
                group = ConsumerGroup(gid)
        if len(group.members) >= self.config.consumer_max_size and req.member_id not in group.members:
            raise CoordinatorError(
                ErrorCode.group_max_size_reached,
                f"The consumer group has reached its maximum capacity of {self.config.consumer_max_size} members.",
            )
        member_id = req.member_id or new_member_id()
        member, replaced = self._member_of(group, member_id, req)

        names = (
            member.subscribed_topic_names
            if req.subscribed_topic_names is None
            else tuple(sorted(set(req.subscribed_topic_names)))
        )
        regex = (
            member.subscribed_topic_regex
            if req.subscribed_topic_regex is None
            else (req.subscribed_topic_regex or None)
        )
        updated = replace(
            member,
            instance_id=member.instance_id if req.instance_id is None else req.instance_id,
            rack_id=member.rack_id if req.rack_id is None else req.rack_id,
            rebalance_timeout_ms=member.rebalance_timeout_ms
            if req.rebalance_timeout_ms == -1
            else req.rebalance_timeout_ms,
            server_assignor=member.server_assignor if req.server_assignor is None else req.server_assignor,
            subscribed_topic_names=names,
            subscribed_topic_regex=regex,
            client_id=req.client_id,
            client_host=req.client_host,
            classic=None,
        )
        reconciled, image = self.update_member(group, member, updated, replaced, req.owned, records)
        self.schedule_session(gid, reconciled)
        if member.uses_classic_protocol:  # a classic member switched protocols under its member id
            self.cancel_join_timeout(gid, member_id)
            self.cancel_sync_timeout(gid, member_id)

        full = joining or (
            req.rebalance_timeout_ms != -1
            and req.owned is not None
            and (req.subscribed_topic_names is not None or req.subscribed_topic_regex is not None)
        )
        response = {
            "error_code": ErrorCode.none,
            "error_message": None,
            "member_id": reconciled.member_id,
            "member_epoch": reconciled.member_epoch,
            "heartbeat_interval": self.config.consumer_heartbeat_interval_ms,
            "assignment": (
                {"topic_partitions": _topic_partitions(reconciled.assigned)}
                if full or not assignment_equal(member.assigned, reconciled.assigned)
                else None
            ),
        }
        for record in records:
            batch.append(record)
        if converted is not None:
            batch.on_success(converted)

        def ok(_follow: Batch) -> None:
            live = self.groups.get(gid)
            if live is not None:
                live.checked_image = image
            batch.respond(respond, response)

        batch.on_success(ok)
        batch.on_failure(lambda _f, error: batch.respond(respond, heartbeat_error(error)))

    def update_member(
        self,
        group: ConsumerGroup,
        member: ConsumerMember,
        updated: ConsumerMember,
        replaced: ConsumerMember | None,
        owned: Iterable[tuple[uuid.UUID, Iterable[int]]] | None,
        records: list[Record],
    ) -> tuple[ConsumerMember, TopicsImage]:
        """Steps 1-4 of the module docstring for ``member`` becoming ``updated`` (a static member taking
        over ``replaced``'s place, if given), with ``owned`` the (topic id, partitions) the member says
        it owns (None: not said). Appends the records to ``records``; returns (the reconciled member,
        the topics image it was computed against). Used by ConsumerGroupHeartbeat and by the JoinGroup
        of a classic member (:mod:`.consumer_classic`)."""
        gid, member_id = group.group_id, updated.member_id
        replacing: dict[str, ConsumerMember | None] = {member_id: updated}
        old_targets = dict(group.target_assignment)
        if replaced is not None:
            replacing[replaced.member_id] = None
            old_targets[member_id] = old_targets.pop(replaced.member_id, {})
            # Kafka's replaceMember: the new id takes the old one's records
            records += member_tombstones(gid, replaced.member_id)
            records += [
                member_metadata_record(gid, member),
                target_assignment_record(gid, member_id, old_targets[member_id]),
                current_assignment_record(gid, member),
            ]
        bump = False
        if updated != member:
            records.append(member_metadata_record(gid, updated))
            bump = (
                updated.subscribed_topic_names != member.subscribed_topic_names
                or updated.subscribed_topic_regex != member.subscribed_topic_regex
            )

        # 2. the group epoch
        group_epoch = group.group_epoch
        metadata = group.subscription_metadata
        image = self._topics()
        if bump or group.checked_image is not image:
            metadata = self._subscription_metadata(group, image, replacing)
            if metadata != group.subscription_metadata:
                records.append(partition_metadata_record(gid, metadata))
                bump = True
            if bump:
                group_epoch += 1
                records.append(group_epoch_record(gid, group_epoch))
                log.info("consumer group %s: group epoch %d", gid, group_epoch)

        # 3. the target assignment
        if group_epoch > group.assignment_epoch:
            members = {mid: m for mid, m in {**group.members, **replacing}.items() if m is not None}
            assignor = group.preferred_assignor(self.config.consumer_assignors[0], replacing)
            topics = {info.topic_id: info.num_partitions for info in metadata.values()}
            specs = {
                mid: MemberSpec(
                    frozenset(metadata[n].topic_id for n in m.subscribed_topics(metadata) if n in metadata),
                    old_targets.get(mid, {}),
                )
                for mid, m in members.items()
            }
            targets = ASSIGNORS[assignor](specs, topics)
            for mid in sorted(targets):
                if mid not in old_targets or not assignment_equal(targets[mid], old_targets[mid]):
                    records.append(target_assignment_record(gid, mid, targets[mid]))
            records.append(target_assignment_epoch_record(gid, group_epoch))
            log.info("consumer group %s: target assignment of epoch %d computed by %s", gid, group_epoch, assignor)
            target_epoch, target = group_epoch, targets.get(member_id, {})
        else:
            target_epoch, target = group.assignment_epoch, old_targets.get(member_id, {})

        # 4. reconciliation
        reconciled = updated
        if not updated.is_reconciled_to(target_epoch):
            owners = group.partition_owners()
            if replaced is not None:
                # the replacing member holds the old one's partitions itself
                for t, ps in replaced.assigned.items():
                    for p in ps:
                        owners.pop((t, p), None)
            reconciled = reconcile(updated, target_epoch, target, lambda t, p: owners.get((t, p)), owned)
            if reconciled != updated:
                records.append(current_assignment_record(gid, reconciled))
                # classic members have join and sync timers instead of a rebalance timeout
                if not reconciled.uses_classic_protocol:
                    if reconciled.state == MemberState.UNREVOKED_PARTITIONS:
                        self._schedule_rebalance(gid, reconciled)
                    else:
                        self.timer.cancel(self._rebalance_key(gid, member_id))
        return reconciled, image

    def _member_of(
        self, group: ConsumerGroup, member_id: str, req: HeartbeatRequest
    ) -> tuple[ConsumerMember, ConsumerMember | None]:
        """(the member the request speaks for, the static member it replaces or None)."""
        joining = req.member_epoch == 0
        if req.instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                if not joining:
                    raise CoordinatorError(
                        ErrorCode.unknown_member_id, f"Member {member_id} is not a member of group {group.group_id}."
                    )
                return ConsumerMember(member_id), None
            self._check_epoch(member, req)
            return member, None
        existing = group.static_member(req.instance_id)
        if joining:
            if existing is None or existing.member_id == member_id:
                return group.members.get(member_id) or ConsumerMember(member_id), None
            # an instance still held by a consumer-protocol member must have left first (epoch -2); one
            # held by a classic member is taken over at once (a rolling upgrade of static members)
            if existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH and not existing.uses_classic_protocol:
                raise CoordinatorError(
                    ErrorCode.unreleased_instance_id,
                    f"Static member {member_id} with instance id {req.instance_id} cannot join the group "
                    f"because the instance id is owned by {existing.member_id} member.",
                )
            log.info(
                "consumer group %s: static member %s replaces %s (instance %s)",
                group.group_id,
                member_id,
                existing.member_id,
                req.instance_id,
            )
            return replace(existing, member_id=member_id, member_epoch=0, previous_member_epoch=0), existing
        if existing is None:
            raise CoordinatorError(ErrorCode.unknown_member_id, f"Instance id {req.instance_id} is unknown.")
        if existing.member_id != member_id:
            raise CoordinatorError(
                ErrorCode.fenced_instance_id,
                f"Static member {member_id} with instance id {req.instance_id} was fenced by "
                f"member {existing.member_id}.",
            )
        self._check_epoch(existing, req)
        return existing, None

    @staticmethod
    def _check_epoch(member: ConsumerMember, req: HeartbeatRequest) -> None:
        epoch = req.member_epoch
        if epoch == 0:
            return  # a fenced member rejoins with its id (KIP-848; KAFKA-19233)
        if epoch > member.member_epoch:
            raise CoordinatorError(
                ErrorCode.fenced_member_epoch,
                f"The consumer group member has a greater member epoch ({epoch}) than the one "
                f"known by the group coordinator ({member.member_epoch}). The member must abandon all its "
                "partitions and rejoin.",
            )
        if epoch < member.member_epoch:
            # the response that bumped the epoch may have been lost: the previous epoch is accepted
            # while the member owns nothing it should not
            subset = req.owned is not None and all(p in member.assigned.get(t, ()) for t, ps in req.owned for p in ps)
            if epoch != member.previous_member_epoch or not subset:
                raise CoordinatorError(
                    ErrorCode.fenced_member_epoch,
                    f"The consumer group member has a smaller member epoch ({epoch}) than the "
                    f"one known by the group coordinator ({member.member_epoch}). The member must abandon all "
                    "its partitions and rejoin.",
                )

    def _leave(self, batch: Batch, req: HeartbeatRequest, respond: Respond) -> None:
        gid = req.group_id
        group = self.groups.get(gid)
        if group is None:  # Kafka's leave path says "Group", its heartbeat path "Consumer group"
            raise CoordinatorError(ErrorCode.group_id_not_found, f"Group {gid} not found.")
        if req.instance_id is None:
            member = group.members.get(req.member_id)
            if member is None:
                raise CoordinatorError(
                    ErrorCode.unknown_member_id, f"Member {req.member_id} is not a member of group {gid}."
                )
        else:
            member = group.static_member(req.instance_id)
            if member is None:
                raise CoordinatorError(ErrorCode.unknown_member_id, f"Instance id {req.instance_id} is unknown.")
            if member.member_id != req.member_id:
                raise CoordinatorError(
                    ErrorCode.fenced_instance_id,
                    f"Static member {req.member_id} with instance id {req.instance_id} was "
                    f"fenced by member {member.member_id}.",
                )
        response = {
            "error_code": ErrorCode.none,
            "error_message": None,
            "member_id": member.member_id,
            "member_epoch": req.member_epoch,
            "heartbeat_interval": 0,
            "assignment": None,
        }
        if req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
            # the instance pauses: it keeps its partitions until it rejoins or its session expires
            log.info(
                "consumer group %s: static member %s (instance %s) left temporarily",
                gid,
                member.member_id,
                req.instance_id,
            )
            batch.append(
                current_assignment_record(
                    gid,
                    replace(
                        member,
                        member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH,
                        pending_revocation={},
                        # whoever takes the instance over may commit for these with any epoch
                        assignment_epochs=dict.fromkeys(assignment_partitions(member.assigned), 0),
                    ),
                )
            )
            self.timer.cancel(self._rebalance_key(gid, member.member_id))
        else:
            log.info("consumer group %s: member %s left", gid, member.member_id)
            self.fence(batch, group, member)
        batch.on_success(lambda _f: batch.respond(respond, response))
        batch.on_failure(lambda _f, error: batch.respond(respond, heartbeat_error(error)))

    # --- offsets ----------------------------------------------------------------------------------

    def validate_commit(
        self, group: ConsumerGroup, member_id: str, member_epoch: int, api_version: int
    ) -> CommitValidator | None:
        """Kafka's ConsumerGroup.validateOffsetCommit (Kafka 4.4, KIP-1251): epoch -1 (admin, ``assign()``
        users) only while the group is empty; consumer-protocol members must use OffsetCommit v9+.
        The member's current epoch commits anything (None: nothing more to check); a newer one is
        refused; an older one is checked per partition by the validator returned: the partition must
        be one the member holds, assigned at that epoch or before. Refusals are STALE_MEMBER_EPOCH,
        ILLEGAL_GENERATION for a classic member (whose generation is its member epoch)."""
        if member_epoch < 0 and group.is_empty():
            return None
        member = group.members.get(member_id)
        if member is None:
            raise CoordinatorError(ErrorCode.unknown_member_id)
        if api_version < 9 and not member.uses_classic_protocol:
            raise CoordinatorError(ErrorCode.unsupported_version)
        stale = ErrorCode.illegal_generation if member.uses_classic_protocol else ErrorCode.stale_member_epoch
        if member_epoch == member.member_epoch:
            return None
        if member_epoch > member.member_epoch:
            raise CoordinatorError(
                stale, f"Received member epoch {member_epoch} is newer than current member epoch {member.member_epoch}."
            )
        topics = self.shard.topics()

        def validate(topic: str, partition: int) -> None:
            info = topics.by_name.get(topic)
            assigned_at = None if info is None else member.assignment_epoch(info.topic_id, partition)
            if assigned_at is None:
                raise CoordinatorError(
                    stale, f"Partition {topic}-{partition} is not assigned or pending revocation for member."
                )
            if member_epoch < assigned_at:
                raise CoordinatorError(
                    stale,
                    f"Received member epoch {member_epoch} is older than assignment epoch {assigned_at} "
                    f"for partition {topic}-{partition}.",
                )

        return validate

    # --- views ------------------------------------------------------------------------------------

    @staticmethod
    def _named(
        group: ConsumerGroup, assignment: Assignment, image: TopicsImage
    ) -> list[tuple[uuid.UUID, str, list[int]]]:
        by_id = {info.topic_id: name for name, info in group.subscription_metadata.items()}
        out = []
        for topic_id, partitions in sorted(assignment.items(), key=lambda kv: str(kv[0])):
            name = image.name_of(topic_id) or by_id.get(topic_id)
            if name is not None and partitions:
                out.append((topic_id, name, sorted(partitions)))
        return out

    def describe(self, group_id: str) -> ResponseBody:
        """A ConsumerGroupDescribe group entry; GROUP_ID_NOT_FOUND unless it is a consumer group."""
        group = self.groups.get(group_id)
        if group is None:
            message = (
                f"Group {group_id} is not a consumer group."
                if group_id in self.shard.groups
                else f"Group {group_id} not found."
            )
            return consumer_describe_error(group_id, ErrorCode.group_id_not_found, message)
        image = self._topics()

        def assignment(a: Assignment) -> ResponseBody:
            return {
                "topic_partitions": [
                    {"topic_id": t, "topic_name": n, "partitions": ps} for t, n, ps in self._named(group, a, image)
                ]
            }

        return {
            "error_code": ErrorCode.none,
            "error_message": None,
            "group_id": group_id,
            "group_state": group.state.value,
            "group_epoch": group.group_epoch,
            "assignment_epoch": group.assignment_epoch,
            "assignor_name": group.preferred_assignor(self.config.consumer_assignors[0]),
            "members": [
                {
                    "member_id": m.member_id,
                    "instance_id": m.instance_id,
                    "rack_id": m.rack_id,
                    "member_epoch": m.member_epoch,
                    "client_id": m.client_id,
                    "client_host": m.client_host,
                    "subscribed_topic_names": list(m.subscribed_topic_names),
                    "subscribed_topic_regex": m.subscribed_topic_regex or "",  # Kafka sends "" for none
                    "assignment": assignment(m.assigned),
                    "target_assignment": assignment(group.target_assignment.get(m.member_id, {})),
                    # v1 (KIP-1099): 0 for a member still on the classic protocol, 1 for a consumer member
                    "member_type": 0 if m.uses_classic_protocol else 1,
                }
                for m in group.members.values()
            ],
            "authorized_operations": -2147483648,
        }
