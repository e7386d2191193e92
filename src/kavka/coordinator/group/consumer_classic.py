"""Classic-protocol members of a consumer group (KIP-848 online migration), as Kafka 4.0 serves them.

A consumer using JoinGroup/SyncGroup/Heartbeat/LeaveGroup (``group.protocol=classic``, any assignor
of the ``consumer`` protocol type) may be a member of a consumer group: one that is not empty
joins it directly, and the members of a classic group become such members when a consumer-protocol
member upgrades the group (:mod:`.migration`). The server-side assignor assigns to them as to any
member; their requests are translated (Kafka's classicGroup*ToConsumerGroup):

- **JoinGroup** is one heartbeat of the member: its subscription and owned partitions are read from
  its ConsumerProtocolSubscription (the first protocol's metadata), its member metadata record keeps
  its session timeout and protocols, the group epoch, target assignment and reconciliation run as for
  a ConsumerGroupHeartbeat, and the response (after the append) gives the member's epoch as the
  generation, the member's first protocol as the group's, no leader and no member list: every
  classic member is a follower. A new dynamic member of JoinGroup v4+ first gets MEMBER_ID_REQUIRED
  and a member id. A member with protocols that some classic member does not support, or of another
  protocol type, is INCONSISTENT_GROUP_PROTOCOL; a full group GROUP_MAX_SIZE_REACHED.
- **SyncGroup** answers, after an empty append, the member's current assignment in the version of its
  subscription; REBALANCE_IN_PROGRESS if the group epoch moved past the member's epoch (unless it is
  revoking partitions: it must finish that first). The generation must be the member epoch
  (ILLEGAL_GENERATION), and protocol type and name those the JoinGroup gave (INCONSISTENT_GROUP_PROTOCOL).
- **Heartbeat** keeps the session and asks the member to rejoin (REBALANCE_IN_PROGRESS) when the group
  epoch moved past its epoch, when it must revoke partitions, or when partitions it waits for were
  released.
- **LeaveGroup** removes the members named (classic ones only; by member id or instance id) and bumps
  the group epoch once.

Timers: the session (the member's own session timeout) fences the member when no request came; a
member told to rejoin must JoinGroup within its rebalance timeout, and one that joined must SyncGroup
within it, or it is fenced (Kafka's join and sync timeouts). A consumer-protocol member uses none of
these. A member id or instance id that is not a member, or a member that uses the consumer protocol,
is UNKNOWN_MEMBER_ID; an instance id held by another member id is FENCED_INSTANCE_ID.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from kavka.coordinator.group.classic import CONSUMER_PROTOCOL_TYPE, JoinRequest
from kavka.coordinator.group.consumer import ConsumerGroup, ConsumerMember, MemberState
from kavka.coordinator.group.consumer_heartbeat import new_member_id
from kavka.coordinator.group.consumer_protocol import (
    decode_subscription,
    encode_assignment,
    protocol_version,
)
from kavka.coordinator.group.consumer_records import ClassicMemberMetadata
from kavka.coordinator.group.records import Record
from kavka.coordinator.group.responses import join_error
from kavka.coordinator.runtime import Batch, CoordinatorError, Respond
from kavka.protocol.api import ErrorCode
from kavka.protocol.primitives import ProtocolDecodeError

if TYPE_CHECKING:
    from kavka.coordinator.group.consumer_membership import ConsumerMembership
    from kavka.coordinator.group.shard import GroupShard

__all__ = ["ClassicMembersOfConsumerGroups"]

log = logging.getLogger(__name__)


class ClassicMembersOfConsumerGroups:
    def __init__(self, shard: GroupShard):
        self.shard = shard
        self.config = shard.config

    @property
    def consumer(self) -> ConsumerMembership:
        return self.shard.consumer

    # --- JoinGroup ----------------------------------------------------------------------------

    def join(self, batch: Batch, group: ConsumerGroup, *, member_id: str, req: JoinRequest) -> None:
        """Kafka's classicGroupJoinToConsumerGroup. CoordinatorError for a refusal."""
        protocol_type, protocols, respond = req["protocol_type"], req["protocols"], req["respond"]
        group_instance_id, rebalance_timeout_ms = req["group_instance_id"], req["rebalance_timeout_ms"]
        gid = group.group_id
        request_member_id = member_id
        unknown = not member_id
        if unknown:
            member_id = new_member_id()
        if len(group.members) >= self.config.consumer_max_size and member_id not in group.members:
            raise CoordinatorError(
                ErrorCode.group_max_size_reached,
                f"The consumer group has reached its maximum capacity of {self.config.consumer_max_size} members.",
            )
        if not group.supports_classic_protocols(protocol_type, (name for name, _ in protocols)):
            raise CoordinatorError(
                ErrorCode.inconsistent_group_protocol, f"Member {member_id}'s protocols are not supported."
            )
        if unknown and group_instance_id is None and req["api_version"] >= 4:
            # KIP-394: the member joins again with this id
            log.info(
                "consumer group %s: a classic member with no member id joins; it is asked to rejoin as %s",
                gid,
                member_id,
            )
            batch.respond(respond, join_error(ErrorCode.member_id_required, member_id))
            return
        try:
            subscription = decode_subscription(protocols[0][1])
        except ProtocolDecodeError as e:
            raise CoordinatorError(
                ErrorCode.unknown_server_error, f"Malformed embedded consumer protocol in subscription: {e}"
            ) from None

        member, replaced = self._member_of(group, member_id, group_instance_id, unknown)
        updated = replace(
            member,
            instance_id=member.instance_id if group_instance_id is None else group_instance_id,
            rack_id=member.rack_id if subscription.rack_id is None else subscription.rack_id,
            rebalance_timeout_ms=member.rebalance_timeout_ms if rebalance_timeout_ms == -1 else rebalance_timeout_ms,
            subscribed_topic_names=tuple(sorted(set(subscription.topics))),
            client_id=req["client_id"],
            client_host=req["client_host"],
            classic=ClassicMemberMetadata(req["session_timeout_ms"], tuple(protocols)),
        )
        by_name = self.shard.topics().by_name
        owned = tuple(
            (by_name[topic].topic_id, tuple(partitions))
            for topic, partitions in subscription.owned_partitions
            if topic in by_name
        )
        records: list[Record] = []
        reconciled, image = self.consumer.update_member(group, member, updated, replaced, owned, records)

        # the last consumer-protocol static member replaced by this classic one: back to a classic group
        existing = group.static_members.get(group_instance_id) if group_instance_id is not None else None
        downgrade = existing is not None and self.shard.migration.may_downgrade_replacing(group, existing)
        response = {
            "error_code": ErrorCode.none,
            "generation_id": reconciled.member_epoch,
            "protocol_type": CONSUMER_PROTOCOL_TYPE,
            "protocol_name": reconciled.classic_protocol_name(),
            "leader": "",
            "skip_assignment": False,
            "member_id": reconciled.member_id,
            "members": [],
        }
        for record in records:
            batch.append(record)
        if existing is not None and downgrade:
            self.shard.migration.downgrade(batch, group, existing, reconciled)
        log.info("consumer group %s: classic member %s joined at epoch %d", gid, member_id, reconciled.member_epoch)

        def ok(_follow: Batch) -> None:
            self.consumer.cancel_join_timeout(gid, member_id)
            live = self.shard.consumer_groups.get(gid)
            if not downgrade and live is not None:
                live.checked_image = image
                # the member has its session from now, and its rebalance timeout to send SyncGroup
                self.consumer.schedule_session(gid, reconciled)
                self.consumer.schedule_sync_timeout(gid, member_id, rebalance_timeout_ms)
            batch.respond(respond, response)

        batch.on_success(ok)
        batch.on_failure(lambda _f, error: batch.respond(respond, join_error(error, request_member_id)))

    @staticmethod
    def _member_of(
        group: ConsumerGroup, member_id: str, instance_id: str | None, unknown: bool
    ) -> tuple[ConsumerMember, ConsumerMember | None]:
        """(the member joining, the static member it replaces or None): a dynamic member is created when
        its id is new; a static member with no member id takes over its instance at once."""
        if instance_id is None:
            return group.members.get(member_id) or ConsumerMember(member_id), None
        existing = group.static_member(instance_id)
        if unknown:
            if existing is None:
                return group.members.get(member_id) or ConsumerMember(member_id), None
            log.info(
                "consumer group %s: classic static member %s replaces %s (instance %s)",
                group.group_id,
                member_id,
                existing.member_id,
                instance_id,
            )
            return replace(existing, member_id=member_id, member_epoch=0, previous_member_epoch=0), existing
        return _static_member(group, member_id, instance_id, existing), None

    # --- SyncGroup ----------------------------------------------------------------------------

    def sync(
        self,
        batch: Batch,
        group: ConsumerGroup,
        *,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        respond: Respond,
    ) -> None:
        """Kafka's classicGroupSyncToConsumerGroup. CoordinatorError for a refusal."""
        gid = group.group_id
        member = self._validate(group, member_id, group_instance_id)
        self._check_generation(member, generation_id)
        expected = member.classic_protocol_name()
        if protocol_type is not None and protocol_type != CONSUMER_PROTOCOL_TYPE:
            raise CoordinatorError(
                ErrorCode.inconsistent_group_protocol,
                f"The protocol type {protocol_type} from member {member_id} request is not "
                f"equal to the group protocol type {CONSUMER_PROTOCOL_TYPE}.",
            )
        if protocol_name is not None and protocol_name != expected:
            raise CoordinatorError(
                ErrorCode.inconsistent_group_protocol,
                f"The protocol name {protocol_name} from member {member_id} request is not "
                f"equal to the protocol name {expected} returned in the join response.",
            )
        self._raise_if_rebalancing(group, member)
        assignment = self.serialized_assignment(group, member)

        def ok(_follow: Batch) -> None:
            self.consumer.cancel_sync_timeout(gid, member.member_id)
            self.consumer.schedule_session(gid, member)
            batch.respond(
                respond,
                {
                    "error_code": ErrorCode.none,
                    "protocol_type": protocol_type,
                    "protocol_name": protocol_name,
                    "assignment": assignment,
                },
            )

        batch.on_success(ok)

    def serialized_assignment(self, group: ConsumerGroup, member: ConsumerMember) -> bytes:
        """The member's assigned partitions as a ConsumerProtocolAssignment in the version of its first
        protocol's subscription (Kafka's prepareAssignment); topics the cluster no longer has are left out."""
        names = {info.topic_id: name for name, info in group.subscription_metadata.items()}
        names.update(self.shard.topics().by_id)
        partitions = {names[t]: sorted(ps) for t, ps in member.assigned.items() if t in names and ps}
        protocols = member.classic.supported_protocols if member.classic is not None else ()
        try:
            version = protocol_version(protocols[0][1])
        except (ProtocolDecodeError, IndexError):
            version = 0
        return encode_assignment(partitions, version)

    def _raise_if_rebalancing(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        # a member behind the group epoch must rejoin, unless it still revokes partitions: it rejoins
        # once that is done anyway
        if group.group_epoch > member.member_epoch and member.state != MemberState.UNREVOKED_PARTITIONS:
            self.consumer.schedule_join_timeout_if_absent(group.group_id, member)
            raise CoordinatorError(
                ErrorCode.rebalance_in_progress,
                f"A new rebalance is triggered in group {group.group_id} and member "
                f"{member.member_id} should rejoin to catch up.",
            )

    # --- Heartbeat ----------------------------------------------------------------------------

    def heartbeat(self, group: ConsumerGroup, generation_id: int, member_id: str, instance_id: str | None) -> int:
        """Kafka's classicGroupHeartbeatToConsumerGroup: NONE or REBALANCE_IN_PROGRESS; CoordinatorError
        for a member that is not (or no longer) one."""
        member = self._validate(group, member_id, instance_id)
        self._check_generation(member, generation_id)
        gid = group.group_id
        self.consumer.schedule_session(gid, member)
        if (
            member.member_epoch < group.group_epoch
            or member.state == MemberState.UNREVOKED_PARTITIONS
            or (member.state == MemberState.UNRELEASED_PARTITIONS and not group.waiting_on_unreleased_partition(member))
        ):
            self.consumer.schedule_join_timeout_if_absent(gid, member)
            return ErrorCode.rebalance_in_progress
        return ErrorCode.none

    # --- LeaveGroup ---------------------------------------------------------------------------

    def leave(
        self, batch: Batch, group: ConsumerGroup, members: Iterable[tuple[str, str | None]], respond: Respond
    ) -> None:
        """Kafka's classicGroupLeaveToConsumerGroup: an error per member, one group epoch bump. Any
        member may be named, whichever protocol it uses (as in Kafka 4.4)."""
        gid = group.group_id
        results, leaving = [], []
        for mid, iid in members:
            code = ErrorCode.none
            try:
                if iid is None:
                    member = group.members.get(mid)
                    if member is None:
                        raise CoordinatorError(ErrorCode.unknown_member_id)
                else:
                    member = group.static_member(iid)
                    if member is None:
                        raise CoordinatorError(ErrorCode.unknown_member_id)
                    # an empty member id names the instance alone (an administrator removing it)
                    if mid and member.member_id != mid:
                        raise CoordinatorError(ErrorCode.fenced_instance_id)
                # Kafka 4.4 removes a consumer-protocol member this way too (an admin's
                # removeMembersFromConsumerGroup); 4.0 answered UNKNOWN_MEMBER_ID for it
                if member not in leaving:
                    leaving.append(member)
                mid = member.member_id
            except CoordinatorError as e:
                code = e.error_code
            results.append({"member_id": mid, "group_instance_id": iid, "error_code": code})
        if leaving:
            log.info("consumer group %s: classic members left: %s", gid, [m.member_id for m in leaving])
            for record in self.consumer.removal_records(group, leaving):
                batch.append(record)
        response = {"error_code": ErrorCode.none, "members": results}
        batch.on_success(lambda _f: batch.respond(respond, response))
        batch.on_failure(lambda _f, error: batch.respond(respond, {"error_code": error, "members": []}))

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _validate(group: ConsumerGroup, member_id: str, instance_id: str | None) -> ConsumerMember:
        """Kafka's validateConsumerGroupMember + throwIfMemberDoesNotUseClassicProtocol."""
        if instance_id is None:
            member = group.members.get(member_id)
            if member is None:
                raise CoordinatorError(
                    ErrorCode.unknown_member_id, f"Member {member_id} is not a member of group {group.group_id}."
                )
        else:
            member = _static_member(group, member_id, instance_id, group.static_member(instance_id))
        if not member.uses_classic_protocol:
            raise CoordinatorError(
                ErrorCode.unknown_member_id, f"Member {member.member_id} does not use the classic protocol."
            )
        return member

    @staticmethod
    def _check_generation(member: ConsumerMember, generation_id: int) -> None:
        if generation_id != member.member_epoch:
            raise CoordinatorError(
                ErrorCode.illegal_generation,
                f"The request generation id {generation_id} is not equal to the member epoch "
                f"{member.member_epoch} of member {member.member_id}.",
            )


def _static_member(
    group: ConsumerGroup, member_id: str, instance_id: str, existing: ConsumerMember | None
) -> ConsumerMember:
    """``existing``, the group's member with ``instance_id``, if it is ``member_id``; else Kafka's
    UNKNOWN_MEMBER_ID (no such instance) or FENCED_INSTANCE_ID (another member has it now)."""
    if existing is None:
        raise CoordinatorError(
            ErrorCode.unknown_member_id,
            f"Member with instance id {instance_id} is not a member of group {group.group_id}.",
        )
    if existing.member_id != member_id:
        raise CoordinatorError(
            ErrorCode.fenced_instance_id,
            f"Static member {member_id} with instance id {instance_id} was fenced by member {existing.member_id}.",
        )
    return existing
