"""Committed offsets of one coordinator shard: OffsetCommit, OffsetFetch, OffsetDelete and expiry.

Rules (Kafka's OffsetMetadataManager):

- The store changes only by replaying OffsetCommit records: a commit appends records and the store
  sees them after the append succeeded (write first, apply after). The latest record of a
  (group, topic, partition) wins; a tombstone deletes it.
- A commit from a member of a classic group must carry the group's generation and a member id the
  group knows (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID otherwise); during
  CompletingRebalance it is told REBALANCE_IN_PROGRESS. A commit with generation -1, no member id
  and no instance id (a "simple" consumer, or an admin resetting offsets) is accepted while the group
  is Empty, and creates an empty group without a protocol type if there is none.
- Metadata longer than ``offset.metadata.max.bytes`` (in characters, as Kafka counts) is refused per
  partition with OFFSET_METADATA_TOO_LARGE; a null metadata is stored as "".
- Offsets expire ``offsets.retention.minutes`` after the group became Empty (or after the commit, for
  groups without a protocol type or commits that carried their own retention); offsets of topics a
  Stable consumer group subscribes to never expire. Expiry writes tombstones.
- Consumer groups (KIP-848) take commits from their members with the member epoch as the
  generation (Kafka's ConsumerGroup.validateOffsetCommit: UNKNOWN_MEMBER_ID for a member id the group
  does not know, UNSUPPORTED_VERSION below OffsetCommit v9, STALE_MEMBER_EPOCH for another epoch;
  a member using the classic protocol may use any version and gets ILLEGAL_GENERATION instead),
  and from anyone with epoch -1 while they have no members. OffsetFetch v9 may name a member and its
  epoch; for a consumer group they are checked the same way (validateOffsetFetch: UNKNOWN_MEMBER_ID,
  STALE_MEMBER_EPOCH, as a group-level error), while a fetch with a null member id and epoch -1
  (admins, older versions) is always served. Their offsets expire ``offsets.retention.minutes`` after
  the commit, except for topics a member subscribes to.
- Transactional offsets (TxnOffsetCommit) are OffsetCommit records in a *transactional* batch of the
  producer. Replayed, they are held pending per producer id, invisible to OffsetFetch; the COMMIT
  marker of that producer applies them (unless a record written later in the log already set that
  offset: the latest record in log order wins, as in Kafka's OffsetMetadataManager), the ABORT marker
  drops them, and a tombstone drops the pending offsets of its partition. Pending offsets without a
  marker stay pending: the transaction coordinator resolves them. OffsetFetch with ``require_stable``
  answers UNSTABLE_OFFSET_COMMIT for a partition with pending offsets; such an offset does not expire
  yet, and deleting offsets (OffsetDelete, DeleteGroups) writes tombstones for pending ones too. A
  transactional commit skips the generation checks when it carries no member information, and is
  taken during CompletingRebalance.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kavka.coordinator.group.classic import ClassicGroup, GroupState
from kavka.coordinator.group.consumer import ConsumerGroup
from kavka.coordinator.group.records import (
    OffsetCommitValue,
    offset_commit_record,
    offset_commit_tombstone,
)
from kavka.coordinator.runtime import Batch, CoordinatorError, Respond, ResponseBody
from kavka.protocol.api import ErrorCode
from kavka.protocol.batch import NO_PRODUCER_ID

if TYPE_CHECKING:
    from kavka.coordinator.group.consumer_membership import CommitValidator
    from kavka.coordinator.group.shard import GroupShard

__all__ = ["OffsetAndMetadata", "OffsetStore", "OffsetManager", "CommitPartition", "commit_response"]


@dataclass(frozen=True, slots=True)
class OffsetAndMetadata:
    offset: int
    leader_epoch: int  # -1: none
    metadata: str
    commit_timestamp: int
    expire_timestamp: int  # -1: none (the group's retention applies)

    @classmethod
    def from_value(cls, v: OffsetCommitValue) -> OffsetAndMetadata:
        return cls(v.offset, v.leader_epoch, v.metadata, v.commit_timestamp, v.expire_timestamp)

    def to_value(self) -> OffsetCommitValue:
        return OffsetCommitValue(
            self.offset, self.metadata, self.commit_timestamp, self.leader_epoch, self.expire_timestamp
        )


class OffsetStore:
    """group -> topic -> partition -> OffsetAndMetadata; empty maps are dropped."""

    def __init__(self) -> None:
        self.by_group: dict[str, dict[str, dict[int, OffsetAndMetadata]]] = {}

    def put(self, group: str, topic: str, partition: int, value: OffsetAndMetadata) -> None:
        self.by_group.setdefault(group, {}).setdefault(topic, {})[partition] = value

    def get(self, group: str, topic: str, partition: int) -> OffsetAndMetadata | None:
        return self.by_group.get(group, {}).get(topic, {}).get(partition)

    def remove(self, group: str, topic: str, partition: int) -> None:
        topics = self.by_group.get(group)
        if topics is None:
            return
        partitions = topics.get(topic)
        if partitions is None:
            return
        partitions.pop(partition, None)
        if not partitions:
            del topics[topic]
        if not topics:
            del self.by_group[group]

    def group_offsets(self, group: str) -> dict[str, dict[int, OffsetAndMetadata]]:
        return self.by_group.get(group, {})


CommitPartition = tuple[int, int, int, str | None]
"""(partition index, committed offset, committed leader epoch or -1, metadata or None)."""


def commit_response(
    results: Iterable[tuple[str, Iterable[tuple[int, int]]]], error: int | None = None, *, every: bool = False
) -> ResponseBody:
    """An OffsetCommit / TxnOffsetCommit response, ``{"topics": [{name, partitions: [{partition_index,
    error_code}]}]}``, from each topic's (partition, code) pairs. ``error``, when given, replaces every
    NONE code, or every code at all with ``every``."""
    return {
        "topics": [
            {
                "name": name,
                "partitions": [
                    {"partition_index": index, "error_code": code if error is None or (code and not every) else error}
                    for index, code in entries
                ],
            }
            for name, entries in results
        ]
    }


class OffsetManager:
    """The offset operations of one shard; ``shard`` holds the groups and the clock."""

    def __init__(self, shard: GroupShard):
        self.shard = shard
        self.store = OffsetStore()
        # Position of each record in the log as replayed (a counter: replay follows log order), so a
        # committed transaction does not overwrite an offset written after its records.
        self._replayed = itertools.count()
        self._written_at: dict[tuple[str, str, int], int] = {}
        # producer id -> (group, topic, partition) -> (replay position, offset) of its open transaction
        self.pending: dict[int, dict[tuple[str, str, int], tuple[int, OffsetAndMetadata]]] = {}
        self._open_by_group: dict[str, set[int]] = {}  # group -> producer ids with pending offsets

    # --- replay -------------------------------------------------------------------------------

    def replay(
        self,
        group_id: str,
        topic: str,
        partition: int,
        value: OffsetCommitValue | None,
        producer_id: int = NO_PRODUCER_ID,
    ) -> None:
        """Apply one OffsetCommit record; ``producer_id`` is the producer of a transactional batch."""
        key = (group_id, topic, partition)
        position = next(self._replayed)
        if value is None:
            self.store.remove(group_id, topic, partition)
            self._written_at.pop(key, None)
            for pid in list(self._open_by_group.get(group_id, ())):
                self.pending[pid].pop(key, None)
            return
        # Offsets without a group belong to a "simple" group: an empty group with no protocol type.
        if group_id not in self.shard.consumer_groups:
            self.shard.get_or_create_group(group_id)
        if producer_id != NO_PRODUCER_ID:
            self.pending.setdefault(producer_id, {})[key] = (position, OffsetAndMetadata.from_value(value))
            self._open_by_group.setdefault(group_id, set()).add(producer_id)
            return
        self.store.put(group_id, topic, partition, OffsetAndMetadata.from_value(value))
        self._written_at[key] = position

    def replay_end_transaction(self, producer_id: int, commit: bool) -> None:
        """The COMMIT or ABORT marker of ``producer_id`` is in the log: apply or drop its pending offsets."""
        offsets = self.pending.pop(producer_id, None)
        if offsets is None:
            return
        for group_id, _topic, _partition in offsets:
            producers = self._open_by_group.get(group_id)
            if producers is not None:
                producers.discard(producer_id)
                if not producers:
                    del self._open_by_group[group_id]
        if not commit:
            return
        for key, (position, om) in offsets.items():
            group_id, topic, partition = key
            if self.store.get(group_id, topic, partition) is not None and self._written_at.get(key, -1) > position:
                continue  # a later record set this offset: it wins
            if group_id not in self.shard.consumer_groups:
                self.shard.get_or_create_group(group_id)
            self.store.put(group_id, topic, partition, om)
            self._written_at[key] = position

    def has_pending(self, group_id: str, topic: str, partition: int) -> bool:
        """True while a transaction holds an offset of (group, topic, partition) not yet committed."""
        return any((group_id, topic, partition) in self.pending[pid] for pid in self._open_by_group.get(group_id, ()))

    # --- OffsetCommit -------------------------------------------------------------------------

    def validate_commit(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        api_version: int,
        transactional: bool = False,
        topics: Iterable[tuple[str, Iterable[CommitPartition]]] = (),
    ) -> ClassicGroup | ConsumerGroup:
        """The group an offset commit goes to, once the request may commit to it: CoordinatorError
        refuses the whole request. For a consumer group's member committing with an older epoch,
        every partition of ``topics`` is checked too (KIP-1251), and one refusal refuses them all,
        as Kafka's validator does."""
        cgroup = self.shard.consumer_groups.get(group_id)
        max_meta = self.shard.config.offset_metadata_max_bytes
        if cgroup is not None:
            if transactional:
                # TxnOffsetCommit need not name a member; a stale epoch reads as ILLEGAL_GENERATION
                # before v6 (KIP-1319 gave it STALE_MEMBER_EPOCH)
                if generation_id < 0 and not member_id and instance_id is None:
                    return cgroup
                try:
                    _check(self.shard.consumer.validate_commit(cgroup, member_id, generation_id, 9), topics, max_meta)
                except CoordinatorError as e:
                    if e.error_code == ErrorCode.stale_member_epoch and api_version < 6:
                        raise CoordinatorError(ErrorCode.illegal_generation) from None
                    raise
                return cgroup
            _check(self.shard.consumer.validate_commit(cgroup, member_id, generation_id, api_version), topics, max_meta)
            return cgroup
        group = self.shard.groups.get(group_id)
        if group is None:
            if generation_id < 0:
                return self.shard.get_or_create_group(group_id)
            # OffsetCommit v9 and TxnOffsetCommit v6 introduced GROUP_ID_NOT_FOUND; older clients
            # expect ILLEGAL_GENERATION
            raise CoordinatorError(
                ErrorCode.group_id_not_found
                if api_version >= (6 if transactional else 9)
                else ErrorCode.illegal_generation
            )
        if group.state == GroupState.DEAD:
            raise CoordinatorError(ErrorCode.coordinator_not_available)
        if generation_id < 0 and group.state == GroupState.EMPTY:
            return group
        if generation_id >= 0 or member_id or instance_id is not None:
            self.shard.membership.validate_member(group, member_id, instance_id)
            if generation_id != group.generation_id:
                raise CoordinatorError(ErrorCode.illegal_generation)
        elif group.state != GroupState.EMPTY and not transactional:
            # no member id and no generation: only an Empty group takes such commits
            raise CoordinatorError(ErrorCode.unknown_member_id)
        if group.state == GroupState.COMPLETING_REBALANCE and not transactional:
            # the member has its new generation but not its assignment yet: let it finish first
            raise CoordinatorError(ErrorCode.rebalance_in_progress)
        return group

    def commit(
        self,
        batch: Batch,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        topics: Iterable[tuple[str, Iterable[CommitPartition]]],
        retention_ms: int | None,
        api_version: int,
        respond: Respond,
    ) -> None:
        """Validate, append one record per accepted partition, reply once they are in the log."""
        topic_list = [(name, list(parts)) for name, parts in topics]
        group = self.validate_commit(group_id, member_id, instance_id, generation_id, api_version, topics=topic_list)
        if (
            isinstance(group, ClassicGroup)
            and group.is_in(GroupState.STABLE, GroupState.PREPARING_REBALANCE)
            and member_id in group.members
        ):
            # a commit keeps a classic member's session alive, as a heartbeat does
            self.shard.membership.reschedule_heartbeat(group, group.members[member_id])
        now = self.shard.time_ms()
        expire = -1 if retention_ms is None or retention_ms < 0 else now + retention_ms
        results = self._append_commits(batch, group_id, topic_list, now, expire)
        # a failed append leaves a partition's own refusal (OFFSET_METADATA_TOO_LARGE) as it was
        batch.on_success(lambda _follow: batch.respond(respond, commit_response(results)))
        batch.on_failure(lambda _follow, error: batch.respond(respond, commit_response(results, error)))

    def _append_commits(
        self,
        batch: Batch,
        group_id: str,
        topics: Iterable[tuple[str, Iterable[CommitPartition]]],
        now: int,
        expire: int,
    ) -> list[tuple[str, list[tuple[int, ErrorCode]]]]:
        """One OffsetCommit record per partition whose metadata fits ``offset.metadata.max.bytes``;
        each partition's code: NONE, or OFFSET_METADATA_TOO_LARGE for one that got no record."""
        max_meta = self.shard.config.offset_metadata_max_bytes
        results: list[tuple[str, list[tuple[int, ErrorCode]]]] = []
        for name, parts in topics:
            entries: list[tuple[int, ErrorCode]] = []
            for index, offset, leader_epoch, metadata in parts:
                if metadata is not None and len(metadata) > max_meta:
                    entries.append((index, ErrorCode.offset_metadata_too_large))
                    continue
                value = OffsetCommitValue(
                    offset, metadata or "", now, -1 if leader_epoch is None else leader_epoch, expire
                )
                batch.append(offset_commit_record(group_id, name, index, value))
                entries.append((index, ErrorCode.none))
            results.append((name, entries))
        return results

    # --- TxnOffsetCommit -----------------------------------------------------------------------

    def transactional_commit(
        self,
        batch: Batch,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        generation_id: int,
        topics: Iterable[tuple[str, Iterable[CommitPartition]]],
        respond: Respond,
        api_version: int = 5,
    ) -> None:
        """Validate a TxnOffsetCommit (at ``api_version``) and fill ``batch`` (a transactional write of the runtime): one
        OffsetCommit record per accepted partition, replayed as pending for the producer once they are
        in the log, and the answer after the append. Raises CoordinatorError for a refusal of the
        whole request (ILLEGAL_GENERATION for a group that does not exist, GROUP_ID_NOT_FOUND from v6, as
        Kafka answers)."""
        topic_list = [(name, list(parts)) for name, parts in topics]
        self.validate_commit(
            group_id, member_id, instance_id, generation_id, api_version, transactional=True, topics=topic_list
        )
        results = self._append_commits(batch, group_id, topic_list, self.shard.time_ms(), -1)
        batch.on_success(lambda _follow: batch.respond(respond, commit_response(results)))
        # Kafka answers a failed transactional write with its error on every partition
        batch.on_failure(lambda _follow, error: batch.respond(respond, commit_response(results, error, every=True)))

    # --- OffsetFetch --------------------------------------------------------------------------

    def validate_fetch(self, group_id: str, member_id: str | None, member_epoch: int) -> None:
        """Kafka's ConsumerGroup.validateOffsetFetch: a fetch that names no member (null member id and a
        negative epoch: admin clients, classic consumers, requests before v9) is always served; one that
        does must come from a member of the consumer group (UNKNOWN_MEMBER_ID) at its current epoch
        (STALE_MEMBER_EPOCH). Classic groups check nothing (KIP-848 left their OffsetFetch as it was)."""
        group = self.shard.consumer_groups.get(group_id)
        if group is None or (member_id is None and member_epoch < 0):
            return
        member = group.members.get(member_id) if member_id is not None else None
        if member is None:
            raise CoordinatorError(
                ErrorCode.unknown_member_id, f"Member {member_id} is not a member of group {group_id}."
            )
        if member_epoch != member.member_epoch:
            if member.uses_classic_protocol:  # its generation is its member epoch
                raise CoordinatorError(
                    ErrorCode.illegal_generation,
                    f"The received generation id {member_epoch} does not match the expected "
                    f"member epoch {member.member_epoch}.",
                )
            raise CoordinatorError(
                ErrorCode.stale_member_epoch,
                f"The received member epoch {member_epoch} does not match the expected "
                f"member epoch {member.member_epoch}.",
            )

    def fetch(
        self,
        group_id: str,
        topics: Iterable[tuple[str, Iterable[int]]] | None,
        require_stable: bool = False,
        member_id: str | None = None,
        member_epoch: int = -1,
    ) -> ResponseBody:
        """An OffsetFetch group result: offsets of the named partitions (-1 where none), or of every
        committed partition when ``topics`` is None. With ``require_stable`` a partition a transaction
        holds a pending offset for is UNSTABLE_OFFSET_COMMIT (the client retries). ``member_id`` and
        ``member_epoch`` (OffsetFetch v9) are checked against a consumer group
        (:meth:`validate_fetch`); CoordinatorError when they do not hold."""
        self.validate_fetch(group_id, member_id, member_epoch)
        group = self.shard.groups.get(group_id)
        known = (group is not None and group.state != GroupState.DEAD) or group_id in self.shard.consumer_groups
        offsets = self.store.group_offsets(group_id) if known else {}
        unstable: Callable[[str, int], bool] = (
            (lambda name, index: self.has_pending(group_id, name, index))
            if require_stable and group_id in self._open_by_group
            else (lambda _name, _index: False)
        )
        out_topics: list[ResponseBody] = []
        if topics is None:
            for name, parts in offsets.items():
                out_topics.append(
                    {
                        "name": name,
                        "partitions": [
                            _unstable(index) if unstable(name, index) else _fetched(index, om)
                            for index, om in sorted(parts.items())
                        ],
                    }
                )
        else:
            for name, indexes in topics:
                parts = offsets.get(name, {})
                out_topics.append(
                    {
                        "name": name,
                        "partitions": [
                            _unstable(index) if unstable(name, index) else _fetched(index, parts.get(index))
                            for index in indexes
                        ],
                    }
                )
        return {"group_id": group_id, "error_code": ErrorCode.none, "topics": out_topics}

    # --- OffsetDelete -------------------------------------------------------------------------

    def delete(
        self, batch: Batch, group_id: str, topics: Iterable[tuple[str, Iterable[int]]], respond: Respond
    ) -> None:
        cgroup = self.shard.consumer_groups.get(group_id)
        if cgroup is not None:
            self._delete(batch, group_id, topics, respond, cgroup.is_subscribed_to)
            return
        group = self.shard.groups.get(group_id)
        if group is None or group.state == GroupState.DEAD:
            raise CoordinatorError(ErrorCode.group_id_not_found)
        if (
            group.is_in(GroupState.STABLE, GroupState.PREPARING_REBALANCE, GroupState.COMPLETING_REBALANCE)
            and not group.uses_consumer_protocol()
        ):
            # members of a non-consumer group own their offsets in ways the broker cannot see
            raise CoordinatorError(ErrorCode.non_empty_group)
        self._delete(
            batch,
            group_id,
            topics,
            respond,
            lambda name: group.is_subscribed_to(name) and group.state != GroupState.EMPTY,
        )

    def _delete(
        self,
        batch: Batch,
        group_id: str,
        topics: Iterable[tuple[str, Iterable[int]]],
        respond: Respond,
        subscribed: Callable[[str], bool],
    ) -> None:
        out: list[ResponseBody] = []
        for name, partitions in topics:
            indexes = list(partitions)
            if subscribed(name):
                code = ErrorCode.group_subscribed_to_topic
            else:
                code = ErrorCode.none
                for index in indexes:
                    if self.store.get(group_id, name, index) is not None or self.has_pending(group_id, name, index):
                        batch.append(offset_commit_tombstone(group_id, name, index))
            out.append(
                {"name": name, "partitions": [{"partition_index": index, "error_code": code} for index in indexes]}
            )
        batch.on_success(lambda _f: batch.respond(respond, {"error_code": ErrorCode.none, "topics": out}))
        batch.on_failure(lambda _f, error: batch.respond(respond, {"error_code": error, "topics": []}))

    def delete_all(self, batch: Batch, group_id: str) -> int:
        """Tombstones for every offset of ``group_id``, pending transactional ones too; how many."""
        n = 0
        for topic, parts in self.store.group_offsets(group_id).items():
            for index in parts:
                batch.append(offset_commit_tombstone(group_id, topic, index))
                n += 1
        pending = {
            key
            for pid in self._open_by_group.get(group_id, ())
            for key in self.pending[pid]
            if key[0] == group_id and self.store.get(*key) is None
        }
        for _group, topic, index in sorted(pending):
            batch.append(offset_commit_tombstone(group_id, topic, index))
            n += 1
        return n

    # --- expiry -------------------------------------------------------------------------------

    def expire(self, batch: Batch, group: ClassicGroup, now_ms: int) -> bool:
        """Tombstones for the group's expired offsets; True when every offset of it expired.

        The base of an offset's age is when the group became Empty (a group with a protocol type),
        or the commit itself (a group without one, or an old group record without a state
        timestamp); an offset that carried its own expiry expires then (OffsetCommit v2-v4).
        Consumer groups that are Stable and know their subscriptions expire offsets of topics
        nobody subscribes to; other non-empty groups expire nothing.
        """
        offsets = self.store.group_offsets(group.group_id)
        if not offsets:
            return True
        retention = self.shard.config.offsets_retention_ms
        if group.protocol_type:
            if group.state == GroupState.EMPTY:

                def base(om: OffsetAndMetadata) -> int:
                    return group.state_timestamp if group.state_timestamp is not None else om.commit_timestamp
            elif (
                group.uses_consumer_protocol()
                and group.subscribed_topics is not None
                and group.state == GroupState.STABLE
            ):

                def base(om: OffsetAndMetadata) -> int:
                    return om.commit_timestamp
            else:
                return False
        else:

            def base(om: OffsetAndMetadata) -> int:
                return om.commit_timestamp

        all_expired = True
        for topic, parts in offsets.items():
            if group.state != GroupState.EMPTY and group.is_subscribed_to(topic):
                all_expired = False
                continue
            for index, om in parts.items():
                if om.expire_timestamp >= 0:
                    expired = now_ms >= om.expire_timestamp
                else:
                    expired = now_ms - base(om) >= retention
                if expired and not self.has_pending(group.group_id, topic, index):
                    batch.append(offset_commit_tombstone(group.group_id, topic, index))
                else:
                    all_expired = False
        return all_expired

    def expire_consumer(self, batch: Batch, group: ConsumerGroup, now_ms: int) -> bool:
        """Tombstones for a consumer group's expired offsets; True when every offset of it expired.

        An offset expires ``offsets.retention.minutes`` after its commit (or at its own expiry),
        unless a member subscribes to its topic (Kafka's ConsumerGroup offsetExpirationCondition).
        """
        offsets = self.store.group_offsets(group.group_id)
        retention = self.shard.config.offsets_retention_ms
        all_expired = True
        for topic, parts in offsets.items():
            if group.is_subscribed_to(topic):
                all_expired = False
                continue
            for index, om in parts.items():
                if om.expire_timestamp >= 0:
                    expired = now_ms >= om.expire_timestamp
                else:
                    expired = now_ms - om.commit_timestamp >= retention
                if expired and not self.has_pending(group.group_id, topic, index):
                    batch.append(offset_commit_tombstone(group.group_id, topic, index))
                else:
                    all_expired = False
        return all_expired


def _check(
    validator: CommitValidator | None, topics: Iterable[tuple[str, Iterable[CommitPartition]]], max_metadata: int
) -> None:
    # a partition refused for its metadata is not checked (Kafka validates the others only)
    if validator is not None:
        for name, parts in topics:
            for index, _offset, _leader_epoch, metadata in parts:
                if metadata is None or len(metadata) <= max_metadata:
                    validator(name, index)


def _unstable(index: int) -> ResponseBody:
    return {
        "partition_index": index,
        "committed_offset": -1,
        "committed_leader_epoch": -1,
        "metadata": "",
        "error_code": ErrorCode.unstable_offset_commit,
    }


def _fetched(index: int, om: OffsetAndMetadata | None) -> ResponseBody:
    if om is None:
        return {
            "partition_index": index,
            "committed_offset": -1,
            "committed_leader_epoch": -1,
            "metadata": "",
            "error_code": ErrorCode.none,
        }
    return {
        "partition_index": index,
        "committed_offset": om.offset,
        "committed_leader_epoch": om.leader_epoch,
        "metadata": om.metadata,
        "error_code": ErrorCode.none,
    }
