"""A classic consumer group (JoinGroup/SyncGroup protocol): its members and its state, as Kafka keeps them.

States and the moves between them (Kafka's ClassicGroupState)::

    Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
      ▲                 ▲      │ (no members left)                         │ leader's SyncGroup
      │                 │      ▼                                           ▼ stored in the log
      └─────────────────┼── Empty                    Stable ◀──────────────┘
                        └──── join / leave / expiry ───┘  (also from CompletingRebalance)
    any state ──▶ Dead (group deleted or unloaded)

- *Empty*: no members. Offsets may be committed by anyone with generation -1.
- *PreparingRebalance*: JoinGroup responses are parked until every known member has rejoined or the
  rebalance timeout (the largest of the members' ``rebalance_timeout_ms``) expires; then members
  that did not rejoin are removed (static ones are kept) and the generation is bumped.
- *CompletingRebalance*: every member has its JoinGroup response; the leader computes the
  assignment and sends it with SyncGroup; followers' SyncGroups are parked until it arrives.
- *Stable*: every member has its assignment; heartbeats keep the members alive.

Invariants this class keeps (the operations in :mod:`.membership` rely on them):

- ``static_members`` maps every ``group_instance_id`` of a member to that member's id;
- the leader, when set, is a member; it is the first member added, and when it leaves, the next
  oldest member takes over;
- ``pending_join_members`` are ids handed out with MEMBER_ID_REQUIRED that have not joined yet
  (KIP-394); they count as "not yet joined" for completing a rebalance;
- a member's ``join_cb`` / ``sync_cb`` is the callback of its parked JoinGroup / SyncGroup.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Any, TypedDict

from kavka.coordinator.group.records import GroupMetadataValue, MemberMetadata
from kavka.coordinator.runtime import Respond, ResponseBody

__all__ = [
    "GroupState",
    "ClassicMember",
    "ClassicGroup",
    "CONSUMER_PROTOCOL_TYPE",
    "subscribed_topics_of",
]

CONSUMER_PROTOCOL_TYPE = "consumer"


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


# target state -> the states it may be entered from
_VALID_PREVIOUS: dict[GroupState, frozenset[GroupState]] = {
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.PREPARING_REBALANCE: frozenset({GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY}),
    GroupState.COMPLETING_REBALANCE: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.STABLE: frozenset({GroupState.COMPLETING_REBALANCE}),
    GroupState.DEAD: frozenset(GroupState),
}

Protocols = tuple[tuple[str, bytes], ...]
"""A member's supported protocols, in its order of preference: (name, metadata bytes)."""


class JoinRequest(TypedDict):
    """One JoinGroup as the coordinator hands it to a classic or a consumer group (besides the group
    and member ids): the request's fields, and ``respond``, how the member is answered."""

    group_instance_id: str | None
    protocol_type: str
    protocols: Protocols
    session_timeout_ms: int
    rebalance_timeout_ms: int
    client_id: str
    client_host: str
    api_version: int
    respond: Respond


@dataclass(eq=False, slots=True)
class ClassicMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: Protocols
    assignment: bytes = b""
    join_cb: Respond | None = None
    sync_cb: Respond | None = None
    # Set until the member's first JoinGroup completes: such a member is expired on its join
    # timeout even while its JoinGroup is parked.
    is_new: bool = False

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    @property
    def awaiting_join(self) -> bool:
        return self.join_cb is not None

    @property
    def awaiting_sync(self) -> bool:
        return self.sync_cb is not None

    def has_satisfied_heartbeat(self) -> bool:
        """A parked member counts as alive, unless it is new (Kafka's hasSatisfiedHeartbeat)."""
        if self.is_new:
            return False
        return self.awaiting_join or self.awaiting_sync

    def protocol_names(self) -> set[str]:
        return {name for name, _ in self.protocols}

    def metadata(self, protocol: str | None) -> bytes:
        for name, meta in self.protocols:
            if name == protocol:
                return meta
        return b""

    def matches(self, protocols: Protocols) -> bool:
        return tuple(protocols) == tuple(self.protocols)

    def vote(self, candidates: set[str]) -> str:
        for name, _ in self.protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")


@dataclass(eq=False)
class ClassicGroup:
    group_id: str
    state: GroupState = GroupState.EMPTY
    previous_state: GroupState | None = None
    # when the group last changed state (ms); offsets of an Empty group expire from here
    state_timestamp: int | None = None
    protocol_type: str | None = None
    protocol_name: str | None = None
    generation_id: int = 0
    leader_id: str | None = None
    members: dict[str, ClassicMember] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)
    pending_join_members: set[str] = field(default_factory=set)
    pending_sync_members: set[str] = field(default_factory=set)
    # a member joined during the initial rebalance delay, so the delay may be extended
    new_member_added: bool = False
    subscribed_topics: frozenset[str] | None = None

    # --- queries ------------------------------------------------------------------------------

    def is_in(self, *states: GroupState) -> bool:
        return self.state in states

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self.pending_join_members

    def static_member_id(self, instance_id: str | None) -> str | None:
        return None if instance_id is None else self.static_members.get(instance_id)

    def num_awaiting_join(self) -> int:
        return sum(1 for m in self.members.values() if m.awaiting_join)

    def has_all_members_joined(self) -> bool:
        return self.num_awaiting_join() == len(self.members) and not self.pending_join_members

    def not_yet_rejoined(self) -> list[ClassicMember]:
        return [m for m in self.members.values() if not m.awaiting_join]

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def can_rebalance(self) -> bool:
        return self.state in _VALID_PREVIOUS[GroupState.PREPARING_REBALANCE]

    def uses_consumer_protocol(self) -> bool:
        return self.protocol_type == CONSUMER_PROTOCOL_TYPE

    def is_subscribed_to(self, topic: str) -> bool:
        """Whether the group consumes ``topic``; when the subscriptions cannot be read, a consumer
        group is assumed to consume everything (Kafka's isSubscribedToTopic)."""
        if self.subscribed_topics is not None:
            return topic in self.subscribed_topics
        return self.uses_consumer_protocol()

    def _candidate_protocols(self) -> set[str]:
        sets = [m.protocol_names() for m in self.members.values()]
        return set.intersection(*sets) if sets else set()

    def supports_protocols(self, protocol_type: str, protocols: Protocols) -> bool:
        """Whether a member with these protocols may join (INCONSISTENT_GROUP_PROTOCOL if not)."""
        names = {name for name, _ in protocols}
        if self.state == GroupState.EMPTY:
            return bool(protocol_type) and bool(names)
        return self.protocol_type == protocol_type and bool(names & self._candidate_protocols())

    def select_protocol(self) -> str:
        """The protocol every member supports that most members prefer.

        Each member votes for the first protocol in its own preference order that all members
        support. Ties go to the protocol the leader (else the oldest member) prefers, so the choice
        is deterministic.
        """
        if not self.members:
            raise ValueError(f"cannot select a protocol for empty group {self.group_id}")
        candidates = self._candidate_protocols()
        votes: dict[str, int] = {}
        for m in self.members.values():
            choice = m.vote(candidates)
            votes[choice] = votes.get(choice, 0) + 1
        best = max(votes.values())
        first = self.members.get(self.leader_id or "") or next(iter(self.members.values()))
        for name, _ in first.protocols:
            if votes.get(name) == best:
                return name
        return next(name for name, n in votes.items() if n == best)

    def current_member_list(self) -> list[ResponseBody]:
        """JoinGroup response members (what the leader assigns from)."""
        return [
            {
                "member_id": m.member_id,
                "group_instance_id": m.group_instance_id,
                "metadata": m.metadata(self.protocol_name),
            }
            for m in self.members.values()
        ]

    def assignments(self) -> dict[str, bytes]:
        return {m.member_id: m.assignment for m in self.members.values()}

    def metadata_value(self, assignment: dict[str, bytes], now_ms: int) -> GroupMetadataValue:
        """The GroupMetadata record value of this group with ``assignment`` (what Kafka writes when
        the leader's assignment arrives, a static member is replaced, or the group turns Empty)."""
        return GroupMetadataValue(
            protocol_type=self.protocol_type or "",
            generation=self.generation_id,
            protocol=self.protocol_name,
            leader=self.leader_id,
            current_state_timestamp=self.state_timestamp if self.state_timestamp is not None else now_ms,
            members=tuple(
                MemberMetadata(
                    member_id=m.member_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    session_timeout=m.session_timeout_ms,
                    subscription=m.metadata(self.protocol_name),
                    assignment=assignment.get(m.member_id, b""),
                    rebalance_timeout=m.rebalance_timeout_ms,
                    group_instance_id=m.group_instance_id,
                )
                for m in self.members.values()
            ),
        )

    # --- changes ------------------------------------------------------------------------------

    def transition_to(self, target: GroupState, now_ms: int) -> None:
        if self.state not in _VALID_PREVIOUS[target]:
            raise RuntimeError(f"group {self.group_id}: illegal transition {self.state.value} -> {target.value}")
        self.previous_state = self.state
        self.state = target
        self.state_timestamp = now_ms

    def add(self, member: ClassicMember, join_cb: Respond | None = None) -> None:
        if member.group_instance_id is not None:
            if member.group_instance_id in self.static_members:
                raise RuntimeError(f"static member {member.group_instance_id} is already in {self.group_id}")
            self.static_members[member.group_instance_id] = member.member_id
        if not self.members:
            self.protocol_type = member.protocol_type
        if self.leader_id is None:
            self.leader_id = member.member_id
        member.join_cb = join_cb
        self.members[member.member_id] = member
        self.pending_join_members.discard(member.member_id)

    def remove(self, member_id: str) -> ClassicMember | None:
        member = self.members.pop(member_id, None)
        if member is not None and member.group_instance_id is not None:
            self.static_members.pop(member.group_instance_id, None)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        self.pending_join_members.discard(member_id)
        self.pending_sync_members.discard(member_id)
        return member

    def update_member(
        self,
        member: ClassicMember,
        protocols: Protocols,
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        join_cb: Respond | None,
    ) -> None:
        member.protocols = tuple(protocols)
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        member.join_cb = join_cb

    def replace_static_member(self, instance_id: str, old_id: str, new_id: str) -> tuple[ClassicMember, ClassicMember]:
        """Give instance ``instance_id`` the member id ``new_id``; (old member, new member).

        The new member keeps the old one's settings, protocols and assignment; the caller fences
        the old member's parked requests with FENCED_INSTANCE_ID.
        """
        old = self.members.pop(old_id)
        new = ClassicMember(
            member_id=new_id,
            group_instance_id=old.group_instance_id,
            client_id=old.client_id,
            client_host=old.client_host,
            rebalance_timeout_ms=old.rebalance_timeout_ms,
            session_timeout_ms=old.session_timeout_ms,
            protocol_type=old.protocol_type,
            protocols=old.protocols,
            assignment=old.assignment,
        )
        self.members[new_id] = new
        if self.leader_id == old_id:
            self.leader_id = new_id
        self.static_members[instance_id] = new_id
        # the old id may have owed a SyncGroup; the new one owes it now
        if old_id in self.pending_sync_members:
            self.pending_sync_members.discard(old_id)
            self.pending_sync_members.add(new_id)
        return old, new

    def maybe_elect_new_joined_leader(self) -> bool:
        """Make sure the leader is a member that rejoined; False when no member rejoined."""
        if self.leader_id is None:
            return False
        leader = self.members[self.leader_id]
        if leader.awaiting_join:
            return True
        for m in self.members.values():
            if m.awaiting_join:
                self.leader_id = m.member_id
                return True
        return False

    def init_next_generation(self, now_ms: int) -> None:
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(GroupState.COMPLETING_REBALANCE, now_ms)
        else:
            self.protocol_name = None
            self.subscribed_topics = self.compute_subscribed_topics()
            self.transition_to(GroupState.EMPTY, now_ms)
        self.pending_sync_members.clear()

    def compute_subscribed_topics(self) -> frozenset[str] | None:
        """Topics the members subscribe to, read from their consumer-protocol metadata; None when
        unknown (not a consumer group, or metadata that does not parse)."""
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE:
            return None
        if not self.members:
            return frozenset()
        if self.protocol_name is None:
            return None
        topics: set[str] = set()
        for m in self.members.values():
            found = subscribed_topics_of(m.metadata(self.protocol_name))
            if found is None:
                return None
            topics |= found
        return frozenset(topics)


_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


def subscribed_topics_of(metadata: bytes) -> set[str] | None:
    """Topics of a ConsumerProtocolSubscription, read through its v0 prefix; None if malformed.

    Layout (every version starts so)::

        version INT16, topics ARRAY of STRING (INT32 count, then INT16 length + UTF-8 each), ...
    """
    try:
        pos = 2
        (count,) = _I32.unpack_from(metadata, pos)
        pos += 4
        if count < 0 or count > len(metadata):
            return None
        topics = set()
        for _ in range(count):
            (n,) = _I16.unpack_from(metadata, pos)
            pos += 2
            if n < 0 or pos + n > len(metadata):
                return None
            topics.add(bytes(metadata[pos : pos + n]).decode("utf-8"))
            pos += n
        return topics
    except (struct.error, UnicodeDecodeError):
        return None


def describe_member(member: ClassicMember, protocol: str | None) -> dict[str, Any]:
    """A DescribeGroups member entry; metadata only when a protocol is given (Stable groups)."""
    return {
        "member_id": member.member_id,
        "group_instance_id": member.group_instance_id,
        "client_id": member.client_id,
        "client_host": member.client_host,
        "member_metadata": member.metadata(protocol) if protocol is not None else b"",
        "member_assignment": member.assignment,
    }
