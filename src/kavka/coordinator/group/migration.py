"""Online migration between a classic group and a consumer group (KIP-848), as Kafka 4.0 does it.

``group.consumer.migration.policy`` (bidirectional by default; upgrade, downgrade, disabled) says which
conversions are allowed. The members never notice a conversion beyond an ordinary rebalance.

**Upgrade** (Kafka's convertToConsumerGroup and ConsumerGroup.fromClassicGroup). A consumer-protocol
member joining (ConsumerGroupHeartbeat, epoch 0) a non-empty classic group converts it, if the policy
allows upgrades, the group uses the ``consumer`` protocol type, it is no bigger than
``group.consumer.max.size``, and every member's subscription can be read from its JoinGroup
metadata; otherwise the heartbeat gets GROUP_ID_NOT_FOUND. The consumer group gets the classic
generation as its group epoch and assignment epoch, and each classic member becomes a classic member
of it: Stable at that epoch, owning (and targeted with) what its last SyncGroup gave it. The records
are a GroupMetadata tombstone, then the new group's records (member metadata, group epoch, target
assignments, target epoch, current assignments); the joining member's heartbeat follows in the same
append, and everything is applied by replaying it. JoinGroup/SyncGroup requests parked in the classic
group are answered REBALANCE_IN_PROGRESS, and the classic members' sessions continue in the
consumer group (each with its own session timeout).

**Downgrade** (Kafka's convertToClassicGroup and ClassicGroup.fromConsumerGroup). When the last
member using the consumer protocol leaves or is fenced, and at least one classic member stays, the
group converts back if the policy allows downgrades and the classic members fit in
``group.max.size``: a Stable classic group at the group epoch, protocol type ``consumer``, the
protocol most members prefer, each member keeping its target assignment (serialized in the version
of its subscription), then a rebalance so the classic members take over the assignment. The same
happens, without a rebalance, when a classic static member replaces the last consumer-protocol
member (the newcomer takes the leaver's target). The records are the consumer group's tombstones
(replayed: the consumer group goes away by replay) and one GroupMetadata record; the classic group,
like every classic group, is installed in memory once the records are in the log.

A group id names one group at any time, and a conversion never touches the group's offsets.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from kavka.coordinator.group.classic import CONSUMER_PROTOCOL_TYPE, ClassicGroup, ClassicMember, GroupState
from kavka.coordinator.group.consumer import ConsumerGroup, ConsumerMember, MemberState
from kavka.coordinator.group.consumer_protocol import (
    decode_assignment,
    decode_subscription,
    encode_assignment,
    protocol_version,
)
from kavka.coordinator.group.consumer_records import (
    Assignment,
    ClassicMemberMetadata,
    assignment_partitions,
    current_assignment_record,
    group_epoch_record,
    group_tombstones,
    member_metadata_record,
    target_assignment_epoch_record,
    target_assignment_record,
)
from kavka.coordinator.group.records import Record, group_metadata_record, group_metadata_tombstone
from kavka.coordinator.group.responses import join_error, sync_error
from kavka.coordinator.runtime import Batch, CoordinatorError
from kavka.protocol.api import ErrorCode
from kavka.protocol.primitives import ProtocolDecodeError

if TYPE_CHECKING:
    from kavka.coordinator.group.shard import GroupShard

__all__ = ["Migration"]

log = logging.getLogger(__name__)


class Migration:
    def __init__(self, shard: GroupShard):
        self.shard = shard
        self.config = shard.config

    # --- classic -> consumer ----------------------------------------------------------------------

    def upgrade(self, classic: ClassicGroup) -> tuple[ConsumerGroup, list[Record], Callable[[Batch], None]]:
        """Convert ``classic`` (Kafka's validateOnlineUpgrade + convertToConsumerGroup): the consumer
        group to compute the joining heartbeat with (not registered: replaying the records makes it),
        the records that make it, and what to do once they are in the log. CoordinatorError
        GROUP_ID_NOT_FOUND when the group may not be upgraded; nothing is changed then."""
        gid = classic.group_id
        if not self.config.upgrade_enabled:
            log.info(
                "cannot upgrade classic group %s: group.consumer.migration.policy is %s",
                gid,
                self.config.consumer_migration_policy,
            )
            raise CoordinatorError(ErrorCode.group_id_not_found, f"Group {gid} is not a consumer group.")
        if not classic.uses_consumer_protocol():
            log.info("cannot upgrade classic group %s: its protocol type is %r", gid, classic.protocol_type)
            raise CoordinatorError(ErrorCode.group_id_not_found, f"Group {gid} is not a consumer group.")
        if len(classic.members) > self.config.consumer_max_size:
            log.info("cannot upgrade classic group %s: it is bigger than group.consumer.max.size", gid)
            raise CoordinatorError(ErrorCode.group_id_not_found, f"Group {gid} is not a consumer group.")
        try:
            group = self._consumer_group_of(classic)
        except ProtocolDecodeError as e:
            log.warning("cannot upgrade classic group %s: malformed consumer protocol metadata: %s", gid, e)
            raise CoordinatorError(
                ErrorCode.group_id_not_found,
                f"Cannot upgrade the classic group {gid} to consumer group because the embedded consumer "
                "protocol is malformed.",
            ) from None
        records = [group_metadata_tombstone(gid), *self._creation_records(group)]
        log.info(
            "classic group %s (generation %d, %d members) is upgraded to a consumer group",
            gid,
            classic.generation_id,
            len(classic.members),
        )

        def converted(follow: Batch) -> None:
            # parked JoinGroup/SyncGroup requests of the classic group: rejoin, into the consumer group
            for m in classic.members.values():
                join_cb, sync_cb, m.join_cb, m.sync_cb = m.join_cb, m.sync_cb, None, None
                if join_cb is not None:
                    follow.respond(join_cb, join_error(ErrorCode.rebalance_in_progress, m.member_id))
                if sync_cb is not None:
                    follow.respond(sync_cb, sync_error(ErrorCode.rebalance_in_progress))
            live = self.shard.consumer_groups.get(gid)
            if live is not None:
                for member in live.members.values():
                    if member.uses_classic_protocol:
                        self.shard.consumer.schedule_session(gid, member)

        return group, records, converted

    def _consumer_group_of(self, classic: ClassicGroup) -> ConsumerGroup:
        """Kafka's ConsumerGroup.fromClassicGroup; ProtocolDecodeError for unreadable metadata."""
        by_name = self.shard.topics().by_name
        generation = classic.generation_id
        group = ConsumerGroup(classic.group_id, group_epoch=generation, assignment_epoch=generation)
        for m in classic.members.values():
            # before its first generation a group has no protocol yet: every protocol of a consumer
            # carries the same subscription
            metadata = m.metadata(classic.protocol_name) if classic.protocol_name else m.protocols[0][1]
            subscription = decode_subscription(metadata)
            assigned: dict[uuid.UUID, set[int]] = {}
            for topic, partitions in decode_assignment(m.assignment).items():
                info = by_name.get(topic)
                if info is not None and partitions:
                    assigned.setdefault(info.topic_id, set()).update(partitions)
            assignment: Assignment = {t: frozenset(ps) for t, ps in assigned.items()}
            group.members[m.member_id] = ConsumerMember(
                m.member_id,
                instance_id=m.group_instance_id,
                rack_id=subscription.rack_id,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topic_names=tuple(sorted(set(subscription.topics))),
                rebalance_timeout_ms=m.rebalance_timeout_ms,
                member_epoch=generation,
                previous_member_epoch=generation,
                state=MemberState.STABLE,
                assigned=assignment,
                classic=ClassicMemberMetadata(m.session_timeout_ms, tuple(m.protocols)),
                # the classic assignment was made in this generation
                assignment_epochs=dict.fromkeys(assignment_partitions(assignment), generation),
            )
            group.target_assignment[m.member_id] = dict(assignment)
            if m.group_instance_id is not None:
                group.static_members[m.group_instance_id] = m.member_id
        return group

    @staticmethod
    def _creation_records(group: ConsumerGroup) -> list[Record]:
        """Kafka's createConsumerGroupRecords, in its order."""
        gid = group.group_id
        records = [member_metadata_record(gid, m) for m in group.members.values()]
        records.append(group_epoch_record(gid, group.group_epoch))
        records += [target_assignment_record(gid, mid, group.target_assignment.get(mid, {})) for mid in group.members]
        records.append(target_assignment_epoch_record(gid, group.group_epoch))
        records += [current_assignment_record(gid, m) for m in group.members.values()]
        return records

    # --- consumer -> classic ----------------------------------------------------------------------

    @staticmethod
    def _share_a_protocol(members: Iterable[ConsumerMember]) -> bool:
        names: set[str] | None = None
        for m in members:
            # a member using the consumer protocol has no classic protocols to share
            mine = {name for name, _ in m.classic.supported_protocols} if m.classic is not None else set()
            names = mine if names is None else names & mine
        return bool(names)

    def may_downgrade_without(self, group: ConsumerGroup, leaving_id: str) -> bool:
        """Kafka's validateOnlineDowngradeWithFencedMember: ``leaving_id`` is the last member using the
        consumer protocol, classic members stay, the policy allows it and they fit in group.max.size."""
        if not group.all_members_use_classic_except(leaving_id) or len(group.members) <= 1:
            return False
        if not self._share_a_protocol(m for mid, m in group.members.items() if mid != leaving_id):
            return False  # cannot happen: a classic member joins only with a protocol the others have
        return self._downgrade_allowed(group, len(group.members) - 1)

    def may_downgrade_replacing(self, group: ConsumerGroup, replaced_id: str) -> bool:
        """Kafka's validateOnlineDowngradeWithReplacedMemberId: a classic static member takes the place
        of ``replaced_id``, the last member using the consumer protocol."""
        if not group.all_members_use_classic_except(replaced_id):
            return False
        return self._downgrade_allowed(group, len(group.members))

    def _downgrade_allowed(self, group: ConsumerGroup, members_after: int) -> bool:
        """The policy allows a downgrade and the ``members_after`` it leaves fit in group.max.size
        (each refusal logged, as Kafka does)."""
        if not self.config.downgrade_enabled:
            log.info(
                "cannot downgrade consumer group %s: group.consumer.migration.policy is %s",
                group.group_id,
                self.config.consumer_migration_policy,
            )
            return False
        if members_after > self.config.max_size:
            log.info("cannot downgrade consumer group %s: it is bigger than group.max.size", group.group_id)
            return False
        return True

    def downgrade(
        self, batch: Batch, group: ConsumerGroup, leaving_id: str, joining: ConsumerMember | None = None
    ) -> None:
        """Convert ``group`` to a classic group without ``leaving_id`` (and with ``joining`` in its
        place, a classic static member replacing it). Fills ``batch``: the consumer group's tombstones
        (replayed), the classic group's GroupMetadata record (not replayed: the classic group is
        installed on success, then rebalances unless a member replaced the leaver)."""
        gid = group.group_id
        ids = [joining.member_id if joining is not None and mid == leaving_id else mid for mid in group.members]
        classic = self._classic_group_of(group, leaving_id, joining)
        assignments = {m.member_id: m.assignment for m in classic.members.values()}
        for record in group_tombstones(gid, ids):
            batch.append(record)
        batch.append(
            group_metadata_record(gid, classic.metadata_value(assignments, self.shard.time_ms())), replay=False
        )
        old_members = list(group.members)
        log.info(
            "consumer group %s (epoch %d) is downgraded to a classic group of %d members",
            gid,
            group.group_epoch,
            len(classic.members),
        )

        def install(follow: Batch) -> None:
            consumer = self.shard.consumer
            for mid in {*old_members, *ids}:
                consumer.cancel_timers(gid, mid)
            # the tombstones were replayed: the consumer group is gone
            self.shard.consumer_groups.pop(gid, None)
            self.shard.groups[gid] = classic
            membership = self.shard.membership
            for m in classic.members.values():
                membership.reschedule_heartbeat(classic, m)
            if joining is None:
                membership.prepare_rebalance(follow, classic)

        batch.on_success(install)

    def _classic_group_of(self, group: ConsumerGroup, leaving_id: str, joining: ConsumerMember | None) -> ClassicGroup:
        """Kafka's ClassicGroup.fromConsumerGroup."""
        now = self.shard.time_ms()
        classic = ClassicGroup(
            group.group_id,
            state=GroupState.STABLE,
            state_timestamp=now,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            generation_id=group.group_epoch,
        )
        sources = [m for mid, m in group.members.items() if mid != leaving_id]
        if joining is not None:
            sources.append(joining)
        for m in sources:
            assert m.classic is not None
            classic.add(
                ClassicMember(
                    member_id=m.member_id,
                    group_instance_id=m.instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    rebalance_timeout_ms=m.rebalance_timeout_ms,
                    session_timeout_ms=m.classic.session_timeout_ms,
                    protocol_type=CONSUMER_PROTOCOL_TYPE,
                    protocols=tuple(m.classic.supported_protocols),
                )
            )
        classic.protocol_name = classic.select_protocol()
        classic.subscribed_topics = classic.compute_subscribed_topics()
        names = self._topic_names(group)
        for cm in classic.members.values():
            # a member replacing the leaver takes its target assignment
            source = leaving_id if joining is not None and cm.member_id == joining.member_id else cm.member_id
            target = group.target_assignment.get(source, {})
            partitions = {names[t]: sorted(ps) for t, ps in target.items() if t in names and ps}
            try:
                version = protocol_version(cm.metadata(classic.protocol_name))
            except ProtocolDecodeError:
                version = 0
            cm.assignment = encode_assignment(partitions, version)
        return classic

    def _topic_names(self, group: ConsumerGroup) -> dict[uuid.UUID, str]:
        names = {info.topic_id: name for name, info in group.subscription_metadata.items()}
        names.update(self.shard.topics().by_id)
        return names
