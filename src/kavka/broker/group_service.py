"""The group coordinator inside the broker: ``__consumer_offsets`` logs, asyncio futures and timers.

:class:`kavka.coordinator.group.GroupCoordinator` is a synchronous state machine; this module gives it
what it needs from the broker and nothing else:

Appends, loading, timers and shutdown are :class:`~kavka.broker.coordinator_service.CoordinatorService`'s;
this module adds what is particular to groups:

- **The log.** ``__consumer_offsets`` is an ordinary compacted topic in the metadata image, created
  through the controller the first time a client looks for a group coordinator (as Kafka does), with
  ``offsets.topic.num.partitions`` partitions; batches are compressed with
  ``offsets.topic.compression.codec``.
- **Loading.** Records of transactional batches (TxnOffsetCommit) are replayed with their producer id
  and COMMIT/ABORT markers as such, so a transaction's offsets count only once its commit marker is in
  the log.
- **Transactional offsets.** The coordinator runtime makes TxnOffsetCommit a transactional write
  and appends its records through :meth:`GroupService._append_transactional`: one transactional batch
  of the producer (its id and epoch, the next sequence of that producer on the partition; the log
  refuses a fenced epoch), so a crash before the marker keeps them, pending. The transaction service
  writes the COMMIT/ABORT marker into the partition and then reports it
  (:meth:`GroupCoordinator.complete_transaction`), which applies or drops the pending offsets.
- **Futures.** Handlers call the coordinator with a ``respond`` callback; :meth:`GroupService.call`
  returns the response at once when the coordinator answered synchronously, else an asyncio future
  resolved when it answers (a parked JoinGroup or SyncGroup).
- **Topics.** Consumer groups (KIP-848) assign partitions themselves, so the coordinator reads the
  topics of the metadata image through :meth:`topics_image`: a new
  :class:`~kavka.coordinator.group.consumer.TopicsImage` whenever the image changed, which tells the
  groups to look again at the partitions of what they subscribe to on their next heartbeat.
- **Timers**: heartbeat expiry, rebalance and sync timeouts, the retention check.

Everything here runs on the event loop thread.
"""

from __future__ import annotations

import asyncio
import datetime
import struct
from collections.abc import Callable
from typing import Any

from kavka.broker import authz
from kavka.broker.acl_operations import GROUP_OPERATIONS, authorized_operations
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.coordinator_service import AppendError, CoordinatorService
from kavka.broker.log_reading import iter_log_records
from kavka.coordinator.group import GroupConfig, GroupCoordinator
from kavka.coordinator.group.consumer import TopicInfo, TopicsImage
from kavka.coordinator.runtime import CoordinatorError
from kavka.metadata.internal_topics import OFFSETS_TOPIC
from kavka.protocol.api import ErrorCode
from kavka.protocol.batch import NO_PRODUCER_ID, CorruptRecordError
from kavka.protocol.records import EndTxnMarker, Record, build_batch, parse_end_txn_marker

__all__ = [
    "GroupService",
    "AppendError",
    "service_of",
    "described_groups",
    "client_host",
    "millis",
    "decode_consumer_assignment",
]


class GroupService(CoordinatorService):
    topic = OFFSETS_TOPIC

    def __init__(self, broker):
        super().__init__(broker)
        self.config = GroupConfig.from_broker_config(broker.config)
        self.compression = int(broker.config.get("offsets.topic.compression.codec", 0) or 0)
        self._seen_image = None
        self._topics = TopicsImage()
        self.coordinator = GroupCoordinator(
            self.config,
            self._append,
            broker.clock_ms,
            topics=self.topics_image,
            append_transactional=self._append_transactional,
        )

    def topics_image(self) -> TopicsImage:
        """The topics of the current metadata image (one object per image)."""
        image = self.broker.image
        if image is not self._seen_image:
            self._topics = TopicsImage(
                {t.name: TopicInfo(t.topic_id, t.num_partitions) for t in image.topics_by_name.values()}
            )
            self._seen_image = image
        return self._topics

    # --- the offsets topic -------------------------------------------------------------------

    def ensure_offsets_topic(self) -> int:
        """Create ``__consumer_offsets`` if missing and load its partitions; NONE or an error code."""
        cfg = self.broker.config
        return self._ensure_topic(
            self.config.offsets_topic_num_partitions,
            int(cfg.get("offsets.topic.replication.factor", 3) or 3),
            {
                "cleanup.policy": "compact",
                "compression.type": "producer",
                "segment.bytes": str(cfg.get("offsets.topic.segment.bytes", 104857600)),
            },
        )

    def _replay(self, index: int, plog) -> int:
        n = 0
        for header, record in _read_records(plog):
            if header.is_control:
                marker = _end_txn_marker(record)
                if marker is not None:
                    self.coordinator.replay_end_transaction(index, header.producer_id, marker.commit)
                continue
            self.coordinator.replay(
                index,
                bytes(record.key),
                None if record.value is None else bytes(record.value),
                header.producer_id if header.is_transactional else NO_PRODUCER_ID,
            )
            n += 1
        return n

    def _append_transactional(
        self, partition: int, producer_id: int, producer_epoch: int, records: list[tuple[bytes, bytes | None]]
    ) -> None:
        """Append ``records`` in a transactional batch of the producer. Its sequence follows the
        producer's last one on this partition (0 for a new epoch), as the log checks it; an older
        epoch is refused by the log (INVALID_PRODUCER_EPOCH)."""
        rm = self.broker.replica_manager
        p = rm.get(OFFSETS_TOPIC, partition)
        entry = None if p is None else p.log.producer_state.producers.get(producer_id)
        sequence = 0
        if entry is not None and entry.epoch == producer_epoch:
            sequence = (entry.last_seq + 1) & 0x7FFFFFFF
        now = self.broker.clock_ms()
        batch = build_batch(
            [Record(i, now, key, value) for i, (key, value) in enumerate(records)],
            compression=self.compression,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            base_sequence=sequence,
            transactional=True,
        )
        self._append_batch(partition, batch)

    # --- asyncio adaptation ------------------------------------------------------------------

    def call(self, fn: Callable[..., None], **kwargs) -> Any:
        """Run ``fn(respond=..., **kwargs)``; its response, or a future of it if it is parked."""
        self._ensure_timer_task()
        answers: list = []
        fut: asyncio.Future | None = None

        def respond(response) -> None:
            if fut is None:
                answers.append(response)
            elif not fut.done():  # the client may have gone (the future was cancelled)
                fut.set_result(response)

        fn(respond=respond, **kwargs)
        if answers:
            return answers[0]
        fut = asyncio.get_running_loop().create_future()
        return fut

    # --- views for the console and tools ------------------------------------------------------

    def list_groups(self) -> list[dict]:
        return [
            {
                "group_id": g["group_id"],
                "state": g["group_state"],
                "protocol_type": g["protocol_type"],
                "protocol": self._protocol_of(g["group_id"]),
            }
            for g in self.coordinator.list_groups()["groups"]
        ]

    def _protocol_of(self, group_id: str) -> str | None:
        """The classic group's chosen protocol (assignor); None for a consumer group (KIP-848), an
        unknown group, or a partition this broker does not coordinate."""
        try:
            group = self.coordinator.shard_of(group_id).groups.get(group_id)
        except CoordinatorError:
            return None
        return getattr(group, "protocol_name", None)

    def describe_group(self, group_id: str) -> dict | None:
        """The group with members and their assignments decoded, or None if there is no such group."""
        [d] = self.coordinator.describe_groups([group_id])
        if d["error_code"] or d["group_state"] == "Dead":
            return None
        return {
            "group_id": group_id,
            "state": d["group_state"],
            "protocol_type": d["protocol_type"],
            "protocol": d["protocol_data"] or self._protocol_of(group_id),
            "members": [
                {
                    "member_id": m["member_id"],
                    "group_instance_id": m["group_instance_id"],
                    "client_id": m["client_id"],
                    "client_host": m["client_host"],
                    "assignment": decode_consumer_assignment(m["member_assignment"]),
                }
                for m in d["members"]
            ],
        }

    def reset_offsets(self, group_id: str, offsets: dict[tuple[str, int], int]) -> None:
        """Commit ``offsets`` as an administrator would (generation -1, no member): accepted only
        while the group has no members; raises RuntimeError naming the Kafka error otherwise."""
        topics: dict[str, list] = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append((partition, offset, -1, ""))
        answers: list[dict] = []
        self.coordinator.commit_offsets(
            group_id=group_id, generation_id=-1, member_id="", topics=list(topics.items()), respond=answers.append
        )
        errors = {int(p["error_code"]) for t in answers[0]["topics"] for p in t["partitions"]} - {0}
        if errors:
            raise RuntimeError(
                f"cannot reset offsets of group {group_id}: "
                + ", ".join(ErrorCode(e).name.upper() for e in sorted(errors))
            )

    def committed_offsets(self, group_id: str) -> dict[str, dict[int, int]]:
        res = self.coordinator.fetch_offsets(group_id, None)
        return {
            t["name"]: {p["partition_index"]: p["committed_offset"] for p in t["partitions"]} for t in res["topics"]
        }


def _read_records(plog):
    """(batch header, record) of every keyed record of a partition log, oldest first, with the control
    records (transaction markers)."""
    for header, record in iter_log_records(plog):
        if record.key is not None:
            yield header, record


def _end_txn_marker(record) -> EndTxnMarker | None:
    """The COMMIT/ABORT marker of a control record; None for other control records."""
    try:
        return parse_end_txn_marker(record)
    except CorruptRecordError:
        return None


def decode_consumer_assignment(data: bytes) -> dict[str, list[int]]:
    """Topics and partitions of a ConsumerProtocolAssignment (version INT16, then
    [topic STRING, partitions [INT32]]); {} when it is empty or not a consumer assignment."""
    try:
        pos = 2
        (count,) = struct.unpack_from(">i", data, pos)
        pos += 4
        out: dict[str, list[int]] = {}
        for _ in range(max(count, 0)):
            (n,) = struct.unpack_from(">h", data, pos)
            pos += 2
            topic = bytes(data[pos : pos + n]).decode()
            pos += n
            (k,) = struct.unpack_from(">i", data, pos)
            pos += 4
            out[topic] = list(struct.unpack_from(f">{k}i", data, pos)) if k > 0 else []
            pos += 4 * max(k, 0)
        return out
    except (struct.error, UnicodeDecodeError):
        return {}


# --- what the group handlers share ------------------------------------------------------------------


def service_of(ctx) -> GroupService | None:
    """The broker's group service (made in ``Broker.startup``), or None after its shutdown (handlers
    answer COORDINATOR_NOT_AVAILABLE then)."""
    return ctx.broker.group_service


def described_groups(
    ctx,
    group_ids: list[str],
    describe: Callable[[GroupCoordinator, list[str]], list[dict[str, Any]]],
    refused: Callable[[str, int], dict[str, Any]],
    include_operations: bool,
) -> list[dict[str, Any]]:
    """What DescribeGroups and ConsumerGroupDescribe share: each group's entry from the coordinator
    (``describe``), or ``refused(group_id, COORDINATOR_NOT_AVAILABLE)`` while there is no group service;
    with ``include_operations``, every entry without an error carries every group operation."""
    # Kafka: a group the principal may not DESCRIBE is GROUP_AUTHORIZATION_FAILED, listed first
    allowed = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, group_ids)
    denied = [refused(g, ErrorCode.group_authorization_failed) for g in group_ids if g not in allowed]
    group_ids = [g for g in group_ids if g in allowed]
    service = service_of(ctx)
    if not group_ids:
        groups = []
    elif service is None:
        groups = [refused(g, ErrorCode.coordinator_not_available) for g in group_ids]
    else:
        groups = describe(service.coordinator, group_ids)
    if include_operations:
        secured = authz.enabled(ctx)
        groups = [
            {
                **g,
                "authorized_operations": authorized_operations(ctx, ResourceType.GROUP, g["group_id"])
                if secured
                else GROUP_OPERATIONS,
            }
            if int(g["error_code"]) == 0
            else g
            for g in groups
        ]
    return denied + groups


def shaped(result: Any, shape: Callable[[Any], Any]) -> Any:
    """A handler's answer from what `GroupService.call` returned: ``shape(response)`` at once, or, for
    a parked operation (a future), a coroutine that awaits its response and shapes it then."""
    if isinstance(result, asyncio.Future):
        return _shaped_later(result, shape)
    return shape(result)


async def _shaped_later(fut: asyncio.Future, shape: Callable[[Any], Any]) -> Any:
    return shape(await fut)


def client_host(ctx) -> str:
    """The client's address as Kafka shows it (``InetAddress.toString()``: ``/127.0.0.1``)."""
    peer = getattr(ctx.conn, "peer", None)
    if isinstance(peer, (tuple, list)) and peer:
        return f"/{peer[0]}"
    return f"/{peer}" if peer else ""


def millis(value) -> int:
    """Milliseconds of a kio duration field (a timedelta) or a plain int."""
    if isinstance(value, datetime.timedelta):
        return value // datetime.timedelta(milliseconds=1)
    return int(value)


class CommitAnswer:
    """An OffsetCommit / TxnOffsetCommit answer put together as Kafka's response builders do: one
    entry per topic (keyed by name, or by topic id when ``by_id``), in first-seen order, each
    partition added to its topic's entry."""

    def __init__(self, by_id: bool) -> None:
        self.by_id = by_id
        self.topics: dict[object, dict] = {}

    def add(self, key, partition: int, error: int) -> None:
        entry = self.topics.get(key)
        if entry is None:
            entry = {"topic_id" if self.by_id else "name": key, "partitions": []}
            self.topics[key] = entry
        entry["partitions"].append({"partition_index": partition, "error_code": error})

    def body(self) -> dict:
        return {"throttle_time": 0, "topics": list(self.topics.values())}


def refuse_commit(req_topics, by_id: bool, code: int) -> dict:
    """An OffsetCommit / TxnOffsetCommit answer with ``code`` on every partition (Kafka's
    ``getErrorResponse``: the group or transactional id is not authorized)."""
    answer = CommitAnswer(by_id)
    for t in req_topics:
        for p in t.partitions:
            answer.add(t.topic_id if by_id else t.name, p.partition_index, code)
    return answer.body()


def sort_commit_topics(
    broker, req_topics, by_id: bool, ctx=None
) -> tuple[CommitAnswer, dict[str, object], dict[str, list]]:
    """The topics of an OffsetCommit / TxnOffsetCommit request (named, or by id when ``by_id``), sorted
    as Kafka does before asking the coordinator: an unknown topic gets UNKNOWN_TOPIC_ID (by id) or
    UNKNOWN_TOPIC_OR_PARTITION (by name) on each partition, a partition the topic does not have
    UNKNOWN_TOPIC_OR_PARTITION; those go into the returned answer first. Returns (that answer,
    topic name -> its key in the answer, what the coordinator gets: name -> [(partition, offset,
    leader epoch, metadata)]). With ``ctx`` and an authorizer, a topic the principal may not READ gets
    TOPIC_AUTHORIZATION_FAILED first, as in Kafka."""
    answer = CommitAnswer(by_id)
    key_of: dict[str, object] = {}
    topics: dict[str, list] = {}
    for t in req_topics:
        topic = broker.topic_by_id(t.topic_id) if by_id else broker.topic(t.name)
        key: object = t.topic_id if by_id else t.name
        if topic is None:
            code = ErrorCode.unknown_topic_id if by_id else ErrorCode.unknown_topic_or_partition
            for p in t.partitions:
                answer.add(key, p.partition_index, code)
            continue
        if ctx is not None and not authz.authorize(ctx, AclOperation.READ, ResourceType.TOPIC, topic.name):
            for p in t.partitions:
                answer.add(key, p.partition_index, ErrorCode.topic_authorization_failed)
            continue
        key_of[topic.name] = key
        for p in t.partitions:
            if p.partition_index not in topic.partitions:
                answer.add(key, p.partition_index, ErrorCode.unknown_topic_or_partition)
                continue
            topics.setdefault(topic.name, []).append(
                (p.partition_index, p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.committed_metadata)
            )
    return answer, key_of, topics
