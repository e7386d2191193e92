"""A consumer group (KIP-848 protocol): members with epochs, a target assignment, and reconciliation.

The model, as Kafka's ``ConsumerGroup`` / ``ConsumerGroupMember`` / ``CurrentAssignmentBuilder``:

- The **group epoch** counts changes of what the group must assign: a member joining or leaving, a
  subscription changing, the subscribed topics' partition counts changing. Each bump is a record.
- The **target assignment** is the assignor's answer for one group epoch (the *assignment epoch*):
  the partitions each member should own. It is recomputed on a heartbeat when the group epoch is
  ahead of the assignment epoch.
- Each **member** converges to its target one heartbeat at a time, with a member epoch:

  ========================  ================================================================
  STABLE                    the member owns its assignment at its epoch; if the target epoch
                            moved on, it is reconciled again
  UNREVOKED_PARTITIONS      the member must first give up ``pending_revocation``; it stays at
                            its epoch until a heartbeat no longer lists them as owned (or its
                            rebalance timeout fences it)
  UNRELEASED_PARTITIONS     the member is at the target epoch but some of its target partitions
                            are still owned by others; it gets them once they are released
  ========================  ================================================================

  A partition is handed to a member only when no other member owns it (assigned or pending
  revocation): that is the incremental, cooperative rebalance of KIP-848.
- Group state is derived: Empty (no members), Assigning (group epoch ahead of the assignment
  epoch), Reconciling (some member not STABLE at the assignment epoch), Stable.
- A member may use the **classic protocol** (KIP-848 online migration): it then carries its
  :class:`~.consumer_records.ClassicMemberMetadata` (session timeout, JoinGroup protocols) and
  reconciles one JoinGroup at a time (:mod:`.consumer_classic`). A classic member may join only
  with a protocol every other classic member supports.

Objects here are plain data; :mod:`.consumer_membership` turns requests into records, and replaying
the records is what changes a group.
"""

from __future__ import annotations

import enum
import functools
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from kavka.coordinator.group.consumer_records import Assignment, ClassicMemberMetadata, PartitionEpochs

__all__ = [
    "MemberState",
    "ConsumerGroupState",
    "ConsumerMember",
    "ConsumerGroup",
    "TopicInfo",
    "TopicsImage",
    "EMPTY_TOPICS",
    "LEAVE_GROUP_MEMBER_EPOCH",
    "LEAVE_GROUP_STATIC_MEMBER_EPOCH",
    "reconcile",
    "compile_regex",
    "assignment_equal",
]

LEAVE_GROUP_MEMBER_EPOCH = -1
LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2


class MemberState(enum.IntEnum):
    STABLE = 0
    UNREVOKED_PARTITIONS = 1
    UNRELEASED_PARTITIONS = 2
    UNKNOWN = 127


class ConsumerGroupState(enum.Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"


class TopicInfo(NamedTuple):
    topic_id: uuid.UUID
    num_partitions: int


class TopicsImage:
    """The topics of the cluster as the coordinator sees them: name -> (id, partition count).

    A new object stands for new metadata: the coordinator compares identities to notice a change.
    """

    __slots__ = ("by_name", "by_id")

    def __init__(self, topics: Mapping[str, TopicInfo] | None = None):
        self.by_name: dict[str, TopicInfo] = dict(topics or {})
        self.by_id: dict[uuid.UUID, str] = {info.topic_id: name for name, info in self.by_name.items()}

    def name_of(self, topic_id: uuid.UUID) -> str | None:
        return self.by_id.get(topic_id)


EMPTY_TOPICS = TopicsImage()


@functools.lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A subscription regex (Java/RE2J syntax; Python's agrees on the common subset); re.error if bad."""
    return re.compile(pattern)


# Python's re error messages (their start) -> the description RE2J, which Kafka compiles subscription
# regexes with, gives for the same mistake.
_RE2J_ERRORS = (
    ("unterminated character set", "missing closing ]"),
    ("missing ), unterminated subpattern", "missing closing )"),
    ("unbalanced parenthesis", "unexpected )"),
    ("nothing to repeat", "missing argument to repetition operator"),
    ("multiple repeat", "invalid nested repetition operator"),
    ("bad escape (end of pattern)", "trailing backslash at end of expression"),
    ("bad escape", "invalid escape sequence"),
    ("bad character range", "invalid character class range"),
)


def regex_error(e: re.error) -> str:
    """What Kafka says is wrong with a subscription regex, from Python's error (its own text if the
    mistake is not one of the common ones mapped above)."""
    for python, re2j in _RE2J_ERRORS:
        if e.msg.startswith(python):
            return re2j
    return e.msg


def _is_internal(topic: str) -> bool:
    return topic.startswith("__")


@dataclass(frozen=True, slots=True)
class ConsumerMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = 0
    state: MemberState = MemberState.STABLE
    assigned: Assignment = field(default_factory=dict)
    pending_revocation: Assignment = field(default_factory=dict)
    classic: ClassicMemberMetadata | None = None  # set while the member uses the classic protocol
    # KIP-1251: the member epoch at which each partition of ``assigned`` and ``pending_revocation``
    # was assigned to this member; a commit with an older epoch is still this member's for it
    assignment_epochs: PartitionEpochs = field(default_factory=dict)

    @property
    def uses_classic_protocol(self) -> bool:
        return self.classic is not None

    def classic_protocol_name(self) -> str:
        """The protocol a classic member is told it uses: the first it listed (Kafka's choice)."""
        assert self.classic is not None and self.classic.supported_protocols
        return self.classic.supported_protocols[0][0]

    def subscribed_topics(self, topics: Iterable[str]) -> set[str]:
        """Names this member subscribes to among ``topics`` (the names and the regex's matches)."""
        out = set(self.subscribed_topic_names)
        if self.subscribed_topic_regex:
            try:
                pattern = compile_regex(self.subscribed_topic_regex)
            except re.error:
                return out
            out |= {t for t in topics if not _is_internal(t) and pattern.fullmatch(t)}
        return out

    def is_reconciled_to(self, target_epoch: int) -> bool:
        return self.state == MemberState.STABLE and self.member_epoch == target_epoch

    def assignment_epoch(self, topic_id: uuid.UUID, partition: int) -> int | None:
        """The epoch at which the member got a partition it holds (assigned or pending revocation);
        None if it holds no such partition."""
        return self.assignment_epochs.get((topic_id, partition))

    def with_epoch(
        self, epoch: int, *, state: MemberState, assigned: Assignment, pending_revocation: Assignment
    ) -> ConsumerMember:
        """The member moved to ``epoch`` (the previous epoch remembers where it came from) with this
        state and these partitions. A partition it already had keeps its assignment epoch; a new one
        is assigned at ``epoch`` (Kafka's CurrentAssignmentBuilder)."""
        old = self.assignment_epochs
        epochs: dict[tuple[uuid.UUID, int], int] = {}
        for topic_id, partitions in assigned.items():
            had = self.assigned.get(topic_id, frozenset())
            for p in partitions:
                epochs[(topic_id, p)] = old.get((topic_id, p), epoch) if p in had else epoch
        for topic_id, partitions in pending_revocation.items():
            for p in partitions:
                epochs[(topic_id, p)] = old.get((topic_id, p), self.member_epoch)
        return replace(
            self,
            member_epoch=epoch,
            previous_member_epoch=self.member_epoch,
            state=state,
            assigned=assigned,
            pending_revocation=pending_revocation,
            assignment_epochs=epochs,
        )


def assignment_equal(a: Assignment, b: Assignment) -> bool:
    return {k: v for k, v in a.items() if v} == {k: v for k, v in b.items() if v}


@dataclass(eq=False)
class ConsumerGroup:
    group_id: str
    group_epoch: int = 0
    assignment_epoch: int = 0
    members: dict[str, ConsumerMember] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)  # instance id -> member id
    target_assignment: dict[str, Assignment] = field(default_factory=dict)
    # name -> (topic id, partitions) of the topics some member subscribes to, as last recorded
    subscription_metadata: dict[str, TopicInfo] = field(default_factory=dict)
    # soft state: the topics image the subscription metadata was last checked against
    checked_image: object | None = None
    deleted: bool = False

    # --- queries ------------------------------------------------------------------------------

    @property
    def state(self) -> ConsumerGroupState:
        if self.deleted:
            return ConsumerGroupState.DEAD
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return ConsumerGroupState.ASSIGNING
        for m in self.members.values():
            if m.member_epoch != self.assignment_epoch or m.state != MemberState.STABLE:
                return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    def is_empty(self) -> bool:
        return not self.members

    def static_member(self, instance_id: str | None) -> ConsumerMember | None:
        mid = None if instance_id is None else self.static_members.get(instance_id)
        return None if mid is None else self.members.get(mid)

    def partition_owners(self) -> dict[tuple[uuid.UUID, int], int]:
        """(topic id, partition) -> epoch of the member that owns it (assigned or being revoked)."""
        owners: dict[tuple[uuid.UUID, int], int] = {}
        for m in self.members.values():
            for assignment in (m.assigned, m.pending_revocation):
                for topic_id, partitions in assignment.items():
                    for p in partitions:
                        owners[(topic_id, p)] = m.member_epoch
        return owners

    def subscribed_topic_names(
        self, topics: Iterable[str], replacing: Mapping[str, ConsumerMember | None] = {}
    ) -> set[str]:
        """Every topic name a member subscribes to, among ``topics``; ``replacing`` maps member ids
        to their new version (None: the member is gone) before the records say so."""
        topics = list(topics)
        out: set[str] = set()
        members = dict(self.members)
        for mid, m in replacing.items():
            if m is None:
                members.pop(mid, None)
            else:
                members[mid] = m
        for m in members.values():
            out |= m.subscribed_topics(topics)
        return out

    def classic_members(self) -> list[ConsumerMember]:
        return [m for m in self.members.values() if m.classic is not None]

    def supports_classic_protocols(self, protocol_type: str, names: Iterable[str]) -> bool:
        """Whether a classic member with these protocols may join (Kafka's supportsClassicProtocols):
        it must speak the consumer protocol, and one of its protocols must be supported by every
        classic member already in the group."""
        names = set(names)
        if protocol_type != "consumer" or not names:
            return False
        for m in self.members.values():
            if m.classic is not None:  # a classic member
                names &= {name for name, _ in m.classic.supported_protocols}
        return bool(names)

    def all_members_use_classic_except(self, member_id: str) -> bool:
        """Whether ``member_id`` uses the consumer protocol and every other member the classic one."""
        member = self.members.get(member_id)
        if member is None or member.uses_classic_protocol:
            return False
        return all(m.uses_classic_protocol for mid, m in self.members.items() if mid != member_id)

    def waiting_on_unreleased_partition(self, member: ConsumerMember) -> bool:
        """Whether ``member`` waits for a target partition another member still owns (Kafka's
        waitingOnUnreleasedPartition); False unless it is UNRELEASED_PARTITIONS."""
        if member.state != MemberState.UNRELEASED_PARTITIONS:
            return False
        owners = self.partition_owners()
        for topic_id, partitions in self.target_assignment.get(member.member_id, {}).items():
            have = member.assigned.get(topic_id, frozenset())
            if any(p not in have and (topic_id, p) in owners for p in partitions):
                return True
        return False

    def is_subscribed_to(self, topic: str) -> bool:
        """Whether a member subscribes to ``topic`` by name or regex (its offsets do not expire)."""
        return any(topic in m.subscribed_topics((topic,)) for m in self.members.values())

    def preferred_assignor(self, default: str, replacing: Mapping[str, ConsumerMember | None] = {}) -> str:
        """The server assignor most members asked for (ties: the name first in sorted order); else
        ``default`` (Kafka's computePreferredServerAssignor)."""
        counts: dict[str, int] = {}
        members: dict[str, ConsumerMember | None] = dict(self.members)
        members.update(replacing)
        for m in members.values():
            if m is not None and m.server_assignor:
                counts[m.server_assignor] = counts.get(m.server_assignor, 0) + 1
        if not counts:
            return default
        return min(counts, key=lambda name: (-counts[name], name))


def reconcile(
    member: ConsumerMember,
    target_epoch: int,
    target: Assignment,
    owner_epoch: Callable[[uuid.UUID, int], int | None],
    owned: Iterable[tuple[uuid.UUID, Iterable[int]]] | None,
) -> ConsumerMember:
    """The member one step closer to ``target`` (Kafka's CurrentAssignmentBuilder).

    ``owner_epoch(topic_id, partition)`` is the epoch of whoever owns a partition now (None if
    free); ``owned`` is what the member's heartbeat says it owns (None when it did not say).
    """
    owned_list = None if owned is None else [(t, set(ps)) for t, ps in owned]

    def still_owns(revoking: Assignment) -> bool:
        if owned_list is None:
            return True
        return any(p in revoking.get(t, ()) for t, ps in owned_list for p in ps)

    def next_assignment(epoch: int, current: Assignment) -> ConsumerMember:
        assigned: dict[uuid.UUID, set[int]] = {}
        revoking: Assignment = {}
        adding: dict[uuid.UUID, set[int]] = {}
        unreleased = False
        for topic_id in set(target) | set(current):
            want = target.get(topic_id, frozenset())
            have = current.get(topic_id, frozenset())
            keep = have & want
            gone = have - keep
            new = set()
            revoking_now = member.pending_revocation.get(topic_id, frozenset())
            for p in want - keep:
                # a partition this member is itself revoking is not another's to release (KAFKA-19449)
                if owner_epoch(topic_id, p) is None or p in revoking_now:
                    new.add(p)
                else:
                    unreleased = True
            if keep:
                assigned[topic_id] = set(keep)
            if gone:
                revoking[topic_id] = frozenset(gone)
            if new:
                adding[topic_id] = new
        frozen = {t: frozenset(ps) for t, ps in assigned.items()}
        if revoking and still_owns(revoking):
            return _moved(
                member, epoch, state=MemberState.UNREVOKED_PARTITIONS, assigned=frozen, pending_revocation=revoking
            )
        for t, ps in adding.items():
            assigned.setdefault(t, set()).update(ps)
        state = MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE
        return _moved(
            member,
            target_epoch,
            state=state,
            assigned={t: frozenset(ps) for t, ps in assigned.items()},
            pending_revocation={},
        )

    if member.state == MemberState.STABLE:
        if member.member_epoch != target_epoch:
            return next_assignment(member.member_epoch, member.assigned)
        return member
    if member.state == MemberState.UNREVOKED_PARTITIONS:
        if still_owns(member.pending_revocation):
            return member
        # revoking again keeps the epoch (Kafka 4.2+, KAFKA-19974: no partition is held by two members
        # at one epoch, which the assignment epochs of commits rely on); any other step goes to the target's
        return next_assignment(member.member_epoch, member.assigned)
    if member.state == MemberState.UNRELEASED_PARTITIONS:
        return next_assignment(member.member_epoch, member.assigned)
    return next_assignment(target_epoch, member.assigned)


def _moved(
    member: ConsumerMember, epoch: int, *, state: MemberState, assigned: Assignment, pending_revocation: Assignment
) -> ConsumerMember:
    # Kafka's updateMemberEpoch: the previous epoch is the one before this step, even if unchanged
    return member.with_epoch(epoch, state=state, assigned=assigned, pending_revocation=pending_revocation)
