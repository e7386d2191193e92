"""The classic group protocol of one shard: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and their timers.

This is Kafka's classic-group half of GroupMetadataManager, operation by operation. The rules:

- **Join.** A new dynamic member joining with v4+ gets a member id and MEMBER_ID_REQUIRED, and is
  *pending* until it joins again with that id (KIP-394). A member (new or known) joining starts a
  rebalance if the group can rebalance (Empty, Stable, CompletingRebalance); otherwise it may be the
  last one the group waited for, and the join phase completes.
- **Completing the join phase** removes dynamic members that did not rejoin, keeps the leader if it
  rejoined (else the first rejoined member leads), bumps the generation, picks the protocol every
  member supports that most prefer, and answers every parked JoinGroup (the leader gets the member
  list). A group left without members becomes Empty and that is written to the log.
- **Initial rebalance.** A rebalance that starts from Empty waits ``group.initial.rebalance.delay.ms``
  and again each time a member joins meanwhile, up to the rebalance timeout, so a group starting all
  at once gets one generation instead of one per member.
- **Sync.** Followers' SyncGroups are parked; the leader's carries the assignment, which is written
  to the log (GroupMetadata record); once written, every parked SyncGroup is answered and the group is
  Stable. Members that have not sent SyncGroup within the rebalance timeout are removed.
- **Liveness.** Heartbeats (and offset commits) push a member's session deadline. A member whose
  session expires is removed unless it is parked in a JoinGroup/SyncGroup (then the rebalance
  timeout governs); a parked JoinGroup of a new member is dropped after
  ``new_member_join_timeout_ms``.
- **Static members** (KIP-345). A known ``group.instance.id`` joining with an unknown member id
  takes over the old member's place: the old id is fenced (FENCED_INSTANCE_ID) and, if the group is
  Stable and the selected protocol does not change, there is no rebalance: the new id is written to
  the log and the member keeps its assignment. Static members are not removed for missing a
  rebalance; only session expiry or LeaveGroup removes them.

Callbacks (``respond``) receive a response dict with kio's field names; every response goes through
the :class:`Batch`, so it is delivered after the batch's records are in the log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kavka.coordinator.group.classic import ClassicGroup, ClassicMember, GroupState, JoinRequest
from kavka.coordinator.group.records import GroupMetadataValue, group_metadata_record
from kavka.coordinator.group.responses import join_error, join_ok, sync_error
from kavka.coordinator.runtime import Batch, CoordinatorError, Respond, ResponseBody
from kavka.protocol.api import ErrorCode

if TYPE_CHECKING:
    from kavka.coordinator.group.shard import GroupShard

__all__ = ["ClassicMembership"]

log = logging.getLogger(__name__)


EMPTY, PREPARING, COMPLETING, STABLE, DEAD = (
    GroupState.EMPTY,
    GroupState.PREPARING_REBALANCE,
    GroupState.COMPLETING_REBALANCE,
    GroupState.STABLE,
    GroupState.DEAD,
)


class ClassicMembership:
    def __init__(self, shard: GroupShard):
        self.shard = shard
        self.timer = shard.timer
        self.config = shard.config

    # --- helpers ------------------------------------------------------------------------------

    def _now(self) -> int:
        return self.shard.time_ms()

    @staticmethod
    def _hb_key(group_id: str, member_id: str) -> tuple[str, str, str]:
        return ("heartbeat", group_id, member_id)

    @staticmethod
    def _join_key(group_id: str) -> tuple[str, str]:
        return ("join", group_id)

    @staticmethod
    def _sync_key(group_id: str) -> tuple[str, str]:
        return ("sync", group_id)

    def _live(self, group_id: str) -> ClassicGroup | None:
        return self.shard.groups.get(group_id)

    def _store_group(self, batch: Batch, group: ClassicGroup, assignment: dict[str, bytes]) -> None:
        # the live group is the truth while this shard runs; the record is for the next load
        value = group.metadata_value(assignment, self._now())
        batch.append(group_metadata_record(group.group_id, value), replay=False)

    def validate_member(self, group: ClassicGroup, member_id: str, instance_id: str | None) -> ClassicMember:
        """The member, or CoordinatorError UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID."""
        if instance_id is not None:
            existing = group.static_member_id(instance_id)
            if existing is None:
                raise CoordinatorError(ErrorCode.unknown_member_id)
            if existing != member_id:
                raise CoordinatorError(ErrorCode.fenced_instance_id)
        member = group.members.get(member_id)
        if member is None:
            raise CoordinatorError(ErrorCode.unknown_member_id)
        return member

    def reschedule_heartbeat(self, group: ClassicGroup, member: ClassicMember, timeout_ms: int | None = None) -> None:
        gid, mid = group.group_id, member.member_id
        self.timer.schedule(
            self._hb_key(gid, mid),
            member.session_timeout_ms if timeout_ms is None else timeout_ms,
            lambda batch: self._expire_heartbeat(batch, gid, mid),
        )

    @staticmethod
    def _complete_join(batch: Batch, member: ClassicMember, response: ResponseBody) -> None:
        if member.join_cb is not None:
            batch.respond(member.join_cb, response)
            member.join_cb = None

    @staticmethod
    def _complete_sync(batch: Batch, member: ClassicMember, response: ResponseBody) -> None:
        if member.sync_cb is not None:
            batch.respond(member.sync_cb, response)
            member.sync_cb = None

    def _drop_member(self, batch: Batch, group: ClassicGroup, member: ClassicMember) -> None:
        """Remove ``member``, answering its parked requests UNKNOWN_MEMBER_ID so it rejoins if alive."""
        self.timer.cancel(self._hb_key(group.group_id, member.member_id))
        self._complete_join(batch, member, join_error(ErrorCode.unknown_member_id))
        self._complete_sync(batch, member, sync_error(ErrorCode.unknown_member_id))
        group.remove(member.member_id)

    # --- JoinGroup ----------------------------------------------------------------------------

    def join(self, batch: Batch, *, group_id: str, member_id: str, req: JoinRequest) -> None:
        respond = req["respond"]
        group = self._live(group_id)
        is_new_group = group is None
        if group is None:
            if member_id:
                batch.respond(respond, join_error(ErrorCode.unknown_member_id, member_id))
                return
            group = self.shard.get_or_create_group(group_id)
        if not self._accept_joining(group, member_id):
            existing = group.members.get(member_id)
            if existing is not None:
                self._drop_member(batch, group, existing)
                self._maybe_complete_join_phase(batch, group)
            group.pending_join_members.discard(member_id)
            batch.respond(respond, join_error(ErrorCode.group_max_size_reached))
        elif not member_id:
            self._join_new_member(batch, group, req)
        else:
            self._join_existing_member(batch, group, member_id, req)
        if is_new_group and not batch.records:
            # a new group exists once the log says so (Kafka writes an empty GroupMetadata record)
            batch.append(
                group_metadata_record(
                    group_id, GroupMetadataValue("", 0, None, None, group.state_timestamp or self._now(), ())
                ),
                replay=False,
            )

            def undo(_follow: Batch, _error: int) -> None:
                if self._live(group_id) is group and not group.members:
                    del self.shard.groups[group_id]

            batch.on_failure(undo)

    def _accept_joining(self, group: ClassicGroup, member_id: str) -> bool:
        limit = self.config.max_size
        if group.is_in(EMPTY, DEAD):
            return True
        if group.state == PREPARING:
            # parked members count, not members: the group may exceed a lowered limit, and the
            # last members to rejoin are the ones turned away
            m = group.members.get(member_id)
            return (m is not None and m.awaiting_join) or group.num_awaiting_join() < limit
        return member_id in group.members or len(group.members) < limit

    def _join_new_member(self, batch: Batch, group: ClassicGroup, req: JoinRequest) -> None:
        if group.state == DEAD:
            batch.respond(req["respond"], join_error(ErrorCode.coordinator_not_available))
            return
        if not group.supports_protocols(req["protocol_type"], req["protocols"]):
            batch.respond(req["respond"], join_error(ErrorCode.inconsistent_group_protocol))
            return
        instance_id = req["group_instance_id"]
        new_id = self.shard.new_member_id(instance_id if instance_id is not None else req["client_id"])
        if instance_id is not None:
            old_id = group.static_member_id(instance_id)
            if old_id is not None:
                self._replace_static_member(batch, group, instance_id, old_id, new_id, req)
            else:
                self._add_member_and_rebalance(batch, group, new_id, req)
        elif req["api_version"] >= 4:
            group.pending_join_members.add(new_id)
            gid = group.group_id
            self.timer.schedule(
                self._hb_key(gid, new_id), req["session_timeout_ms"], lambda b: self._expire_heartbeat(b, gid, new_id)
            )
            batch.respond(req["respond"], join_error(ErrorCode.member_id_required, new_id))
        else:
            self._add_member_and_rebalance(batch, group, new_id, req)

    def _join_existing_member(self, batch: Batch, group: ClassicGroup, member_id: str, req: JoinRequest) -> None:
        respond = req["respond"]
        if group.state == DEAD:
            batch.respond(respond, join_error(ErrorCode.coordinator_not_available, member_id))
            return
        if not group.supports_protocols(req["protocol_type"], req["protocols"]):
            batch.respond(respond, join_error(ErrorCode.inconsistent_group_protocol, member_id))
            return
        if group.is_pending_member(member_id):
            if req["group_instance_id"] is not None:
                # pending ids are only handed to dynamic members
                batch.respond(respond, join_error(ErrorCode.unknown_member_id, member_id))
                return
            self._add_member_and_rebalance(batch, group, member_id, req)
            return
        try:
            member = self.validate_member(group, member_id, req["group_instance_id"])
        except CoordinatorError as e:
            batch.respond(respond, join_error(e.error_code, member_id))
            return
        state = group.state
        if state == PREPARING:
            self._update_member_and_rebalance(batch, group, member, req)
        elif state == COMPLETING:
            if member.matches(req["protocols"]):
                # a retry of a JoinGroup whose answer was lost: the same answer again
                batch.respond(respond, join_ok(group, member_id, group.is_leader(member_id)))
            else:
                self._update_member_and_rebalance(batch, group, member, req)
        elif state == STABLE:
            if group.is_leader(member_id) or not member.matches(req["protocols"]):
                # the leader rejoining asks for a new assignment (e.g. topic metadata changed)
                self._update_member_and_rebalance(batch, group, member, req)
            else:
                batch.respond(respond, join_ok(group, member_id, False))
        else:
            batch.respond(respond, join_error(ErrorCode.unknown_member_id, member_id))

    def _update_member_and_rebalance(
        self, batch: Batch, group: ClassicGroup, member: ClassicMember, req: JoinRequest
    ) -> None:
        if member.join_cb is not None:
            # a newer JoinGroup of the same member replaces the parked one, which must not hang
            self._complete_join(batch, member, join_error(ErrorCode.rebalance_in_progress, member.member_id))
        group.update_member(
            member, req["protocols"], req["rebalance_timeout_ms"], req["session_timeout_ms"], req["respond"]
        )
        self._maybe_prepare_rebalance_or_complete_join(batch, group)

    def _add_member_and_rebalance(self, batch: Batch, group: ClassicGroup, member_id: str, req: JoinRequest) -> None:
        member = ClassicMember(
            member_id=member_id,
            group_instance_id=req["group_instance_id"],
            client_id=req["client_id"],
            client_host=req["client_host"],
            rebalance_timeout_ms=req["rebalance_timeout_ms"],
            session_timeout_ms=req["session_timeout_ms"],
            protocol_type=req["protocol_type"],
            protocols=req["protocols"],
            is_new=True,
        )
        if group.state == PREPARING and group.previous_state == EMPTY:
            group.new_member_added = True
        group.add(member, req["respond"])
        # a new member cannot heartbeat while its JoinGroup is parked; bound how long it may stay
        self.reschedule_heartbeat(group, member, self.config.new_member_join_timeout_ms)
        self._maybe_prepare_rebalance_or_complete_join(batch, group)

    def _replace_static_member(
        self, batch: Batch, group: ClassicGroup, instance_id: str, old_id: str, new_id: str, req: JoinRequest
    ) -> None:
        current_leader = group.leader_id
        old, new = group.replace_static_member(instance_id, old_id, new_id)
        fenced_join = join_error(ErrorCode.fenced_instance_id, old_id)
        self._complete_join(batch, old, fenced_join)
        self._complete_sync(batch, old, sync_error(ErrorCode.fenced_instance_id))
        self.timer.cancel(self._hb_key(group.group_id, old_id))
        self.reschedule_heartbeat(group, new)
        previous = (new.protocols, new.rebalance_timeout_ms, new.session_timeout_ms)
        group.update_member(
            new, req["protocols"], req["rebalance_timeout_ms"], req["session_timeout_ms"], req["respond"]
        )
        if group.state == STABLE:
            if group.protocol_name == group.select_protocol():
                # Same protocol: no rebalance. The new member id is written to the log; the member
                # gets the current generation and, with SyncGroup, its old assignment.
                self._store_group(batch, group, group.assignments())
                respond = req["respond"]

                def ok(follow: Batch) -> None:
                    if req["api_version"] >= 9:
                        leading = group.is_leader(new_id)
                        resp = join_ok(group, new_id, leading, skip_assignment=leading)
                    else:
                        resp = join_ok(group, new_id, False, leader=current_leader)
                    self._complete_join(follow, new, resp)

                def failed(follow: Batch, error: int) -> None:
                    group.update_member(new, *previous, None)
                    if group.static_member_id(instance_id) == new_id:
                        _, restored = group.replace_static_member(instance_id, new_id, old_id)
                        self.timer.cancel(self._hb_key(group.group_id, new_id))
                        self.reschedule_heartbeat(group, restored)
                    resp = join_error(error)
                    resp.update(
                        generation_id=group.generation_id,
                        protocol_type=group.protocol_type,
                        protocol_name=group.protocol_name,
                        leader=current_leader or "",
                    )
                    follow.respond(respond, resp)

                batch.on_success(ok)
                batch.on_failure(failed)
            else:
                self._maybe_prepare_rebalance_or_complete_join(batch, group)
        elif group.state == COMPLETING:
            # the leader may already be assigning to the old id: assign again
            self._prepare_rebalance(batch, group)
        else:
            self._maybe_complete_join_phase(batch, group)

    # --- rebalance ----------------------------------------------------------------------------

    def prepare_rebalance(self, batch: Batch, group: ClassicGroup) -> None:
        """Start a rebalance of ``group`` (a consumer group just converted to it, for one)."""
        if group.can_rebalance():
            self._prepare_rebalance(batch, group)

    def rebalance_if_oversized(self, batch: Batch, group: ClassicGroup) -> None:
        """A loaded group above ``group.max.size`` rebalances, so the surplus is turned away."""
        if len(group.members) > self.config.max_size and group.can_rebalance():
            self._prepare_rebalance(batch, group)

    def _maybe_prepare_rebalance_or_complete_join(self, batch: Batch, group: ClassicGroup) -> None:
        if group.can_rebalance():
            self._prepare_rebalance(batch, group)
        else:
            self._maybe_complete_join_phase(batch, group)

    def _maybe_complete_join_phase(self, batch: Batch, group: ClassicGroup) -> None:
        if group.state != PREPARING:
            return
        if group.previous_state == EMPTY:
            return  # the initial rebalance completes on its delay timer
        if group.has_all_members_joined():
            self._complete_join_phase(batch, group)

    def _prepare_rebalance(self, batch: Batch, group: ClassicGroup) -> None:
        if group.state == COMPLETING:
            # members parked in SyncGroup must rejoin: their assignment is void
            self._reset_and_propagate(batch, group, ErrorCode.rebalance_in_progress)
        self._remove_sync_expiration(group)
        initial = group.state == EMPTY
        gid = group.group_id
        if initial:
            delay = self.config.initial_rebalance_delay_ms
            remaining = max(group.rebalance_timeout_ms() - delay, 0)
            self.timer.schedule(
                self._join_key(gid), delay, lambda b: self._initial_rebalance_due(b, gid, delay, remaining)
            )
        group.transition_to(PREPARING, self._now())
        log.info("group %s preparing to rebalance (generation %d)", gid, group.generation_id)
        if not initial:
            if group.has_all_members_joined():
                self._complete_join_phase(batch, group)
            else:
                self.timer.schedule(
                    self._join_key(gid), group.rebalance_timeout_ms(), lambda b: self._join_phase_due(b, gid)
                )

    def _initial_rebalance_due(self, batch: Batch, group_id: str, delay: int, remaining: int) -> None:
        group = self._live(group_id)
        if group is None or group.state != PREPARING:
            return
        if group.new_member_added and remaining != 0:
            group.new_member_added = False
            new_delay = min(self.config.initial_rebalance_delay_ms, remaining)
            new_remaining = max(remaining - delay, 0)
            self.timer.schedule(
                self._join_key(group_id),
                new_delay,
                lambda b: self._initial_rebalance_due(b, group_id, new_delay, new_remaining),
            )
        else:
            self._complete_join_phase(batch, group)

    def _join_phase_due(self, batch: Batch, group_id: str) -> None:
        group = self._live(group_id)
        if group is not None and group.state == PREPARING:
            self._complete_join_phase(batch, group)

    def _complete_join_phase(self, batch: Batch, group: ClassicGroup) -> None:
        gid = group.group_id
        self.timer.cancel(self._join_key(gid))
        for m in group.not_yet_rejoined():
            if not m.is_static:
                self._drop_member(batch, group, m)
        if group.state == DEAD:
            return
        if not group.maybe_elect_new_joined_leader() and group.members:
            # nobody rejoined: wait another rebalance timeout; session expiry removes the silent
            self.timer.schedule(
                self._join_key(gid), group.rebalance_timeout_ms(), lambda b: self._join_phase_due(b, gid)
            )
            return
        now = self._now()
        group.init_next_generation(now)
        if group.state == EMPTY:
            log.info("group %s is now empty (generation %d)", gid, group.generation_id)
            self._store_group(batch, group, {})
            return
        log.info(
            "group %s: generation %d with %d members, protocol %s",
            gid,
            group.generation_id,
            len(group.members),
            group.protocol_name,
        )
        for m in group.members.values():
            self._complete_join(batch, m, join_ok(group, m.member_id, group.is_leader(m.member_id)))
            self.reschedule_heartbeat(group, m)
            m.is_new = False
            group.pending_sync_members.add(m.member_id)
        generation = group.generation_id
        self.timer.schedule(
            self._sync_key(gid), group.rebalance_timeout_ms(), lambda b: self._sync_due(b, gid, generation)
        )

    def _reset_and_propagate(self, batch: Batch, group: ClassicGroup, error: int) -> None:
        for m in group.members.values():
            m.assignment = b""
        self._propagate_assignment(batch, group, error)

    def _propagate_assignment(self, batch: Batch, group: ClassicGroup, error: int) -> None:
        for m in group.members.values():
            if m.sync_cb is None:
                continue
            self._complete_sync(
                batch,
                m,
                {
                    "error_code": error,
                    "protocol_type": None if error else group.protocol_type,
                    "protocol_name": None if error else group.protocol_name,
                    "assignment": m.assignment,
                },
            )
            # a member that waited on the leader or the log gets a fresh session from now
            self.reschedule_heartbeat(group, m)

    def _remove_sync_expiration(self, group: ClassicGroup) -> None:
        group.pending_sync_members.clear()
        self.timer.cancel(self._sync_key(group.group_id))

    def _sync_due(self, batch: Batch, group_id: str, generation: int) -> None:
        group = self._live(group_id)
        if group is None or group.generation_id != generation or not group.is_in(COMPLETING, STABLE):
            return
        if not group.pending_sync_members:
            return
        for mid in list(group.pending_sync_members):
            member = group.members.get(mid)
            if member is not None:
                self._drop_member(batch, group, member)
            group.pending_sync_members.discard(mid)
        log.info("group %s: members that never sent SyncGroup were removed", group_id)
        self._prepare_rebalance(batch, group)

    def _expire_heartbeat(self, batch: Batch, group_id: str, member_id: str) -> None:
        group = self._live(group_id)
        if group is None or group.state == DEAD:
            return
        if group.is_pending_member(member_id):
            group.remove(member_id)
            if group.state == PREPARING and group.has_all_members_joined():
                self._complete_join_phase(batch, group)
            return
        member = group.members.get(member_id)
        if member is None or member.has_satisfied_heartbeat():
            return
        log.info("group %s: member %s session expired", group_id, member_id)
        self._drop_member(batch, group, member)
        if group.is_in(STABLE, COMPLETING):
            self._maybe_prepare_rebalance_or_complete_join(batch, group)
        elif group.state == PREPARING and group.has_all_members_joined():
            self._complete_join_phase(batch, group)

    # --- SyncGroup ----------------------------------------------------------------------------

    def sync(
        self,
        batch: Batch,
        *,
        group_id: str,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: list[tuple[str, bytes]],
        respond: Respond,
    ) -> None:
        group = self._live(group_id)
        if group is None or group.state == EMPTY:
            batch.respond(respond, sync_error(ErrorCode.unknown_member_id))
            return
        error = self._validate_sync(group, generation_id, member_id, group_instance_id, protocol_type, protocol_name)
        if error:
            batch.respond(respond, sync_error(error))
        elif group.state == PREPARING:
            batch.respond(respond, sync_error(ErrorCode.rebalance_in_progress))
        elif group.state == COMPLETING:
            member = group.members[member_id]
            if member.sync_cb is not None:
                self._complete_sync(batch, member, sync_error(ErrorCode.rebalance_in_progress))
            member.sync_cb = respond
            self._remove_pending_sync(group, member_id)
            if group.is_leader(member_id):
                self._store_assignment(batch, group, generation_id, assignments)
        elif group.state == STABLE:
            self._remove_pending_sync(group, member_id)
            member = group.members[member_id]
            batch.respond(
                respond,
                {
                    "error_code": ErrorCode.none,
                    "protocol_type": group.protocol_type,
                    "protocol_name": group.protocol_name,
                    "assignment": member.assignment,
                },
            )

    def _store_assignment(
        self, batch: Batch, group: ClassicGroup, generation: int, assignments: list[tuple[str, bytes]]
    ) -> None:
        given = {mid: bytes(data) for mid, data in assignments}
        assignment = {mid: given.get(mid, b"") for mid in group.members}
        self._store_group(batch, group, assignment)

        def still_current() -> bool:
            # a join, leave or expiry may have moved the group on while the record was written
            return (
                self._live(group.group_id) is group and group.state == COMPLETING and group.generation_id == generation
            )

        def ok(follow: Batch) -> None:
            if still_current():
                for m in group.members.values():
                    m.assignment = assignment.get(m.member_id, b"")
                self._propagate_assignment(follow, group, ErrorCode.none)
                group.transition_to(STABLE, self._now())
                log.info("group %s: generation %d is stable", group.group_id, generation)

        def failed(follow: Batch, error: int) -> None:
            if still_current():
                self._reset_and_propagate(follow, group, error)
                self._maybe_prepare_rebalance_or_complete_join(follow, group)

        batch.on_success(ok)
        batch.on_failure(failed)

    def _validate_sync(
        self,
        group: ClassicGroup,
        generation_id: int,
        member_id: str,
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
    ) -> int:
        if group.state == DEAD:
            return ErrorCode.coordinator_not_available
        try:
            self.validate_member(group, member_id, instance_id)
        except CoordinatorError as e:
            return e.error_code
        if generation_id != group.generation_id:
            return ErrorCode.illegal_generation
        if (protocol_type is not None and group.protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and group.protocol_name is not None and protocol_name != group.protocol_name
        ):
            return ErrorCode.inconsistent_group_protocol
        return ErrorCode.none

    def _remove_pending_sync(self, group: ClassicGroup, member_id: str) -> None:
        group.pending_sync_members.discard(member_id)
        if not group.is_in(COMPLETING, STABLE) or not group.pending_sync_members:
            self.timer.cancel(self._sync_key(group.group_id))

    # --- Heartbeat ----------------------------------------------------------------------------

    def heartbeat(self, group_id: str, generation_id: int, member_id: str, instance_id: str | None) -> int:
        """The Heartbeat error code; a heartbeat of a live member pushes its session deadline."""
        group = self._live(group_id)
        if group is None:
            return ErrorCode.unknown_member_id
        if group.state == DEAD:
            return ErrorCode.coordinator_not_available
        try:
            member = self.validate_member(group, member_id, instance_id)
        except CoordinatorError as e:
            return e.error_code
        if generation_id != group.generation_id:
            return ErrorCode.illegal_generation
        if group.state == EMPTY:
            return ErrorCode.unknown_member_id
        self.reschedule_heartbeat(group, member)
        if group.state == PREPARING:
            return ErrorCode.rebalance_in_progress
        return ErrorCode.none

    # --- LeaveGroup ---------------------------------------------------------------------------

    def leave(self, batch: Batch, group_id: str, members: list[tuple[str, str | None]], respond: Respond) -> None:
        """Remove each (member id, instance id); an empty member id names a static member by its
        instance id alone (administrative removal). Per-member errors; the group rebalances once."""
        group = self._live(group_id)
        if group is None:
            batch.respond(
                respond,
                {
                    "error_code": ErrorCode.none,
                    "members": [
                        {"member_id": mid, "group_instance_id": iid, "error_code": ErrorCode.unknown_member_id}
                        for mid, iid in members
                    ],
                },
            )
            return
        if group.state == DEAD:
            batch.respond(respond, {"error_code": ErrorCode.coordinator_not_available, "members": []})
            return
        results = []
        left = False
        for mid, iid in members:
            code = ErrorCode.none
            if not mid:
                static_id = group.static_member_id(iid)
                if static_id is not None:
                    self._drop_member(batch, group, group.members[static_id])
                else:
                    code = ErrorCode.unknown_member_id
            elif group.is_pending_member(mid):
                group.remove(mid)
                self.timer.cancel(self._hb_key(group_id, mid))
            else:
                try:
                    member = self.validate_member(group, mid, iid)
                    self._drop_member(batch, group, member)
                except CoordinatorError as e:
                    code = e.error_code
            left = left or code == ErrorCode.none
            results.append({"member_id": mid, "group_instance_id": iid, "error_code": code})
        if left:
            log.info(
                "group %s: members left: %s",
                group_id,
                [r["member_id"] or r["group_instance_id"] for r in results if not r["error_code"]],
            )
            if group.is_in(STABLE, COMPLETING):
                self._maybe_prepare_rebalance_or_complete_join(batch, group)
            elif group.state == PREPARING:
                self._maybe_complete_join_phase(batch, group)
        batch.respond(respond, {"error_code": ErrorCode.none, "members": results})
