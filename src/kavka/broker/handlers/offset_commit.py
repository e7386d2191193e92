"""OffsetCommit (key 8), v2–10.

Offsets (with their metadata strings) go to ``__consumer_offsets`` before the answer. Members of a
group must give its generation and their member id; with generation -1 and no member id (a consumer
using ``assign()``, or an admin) commits are taken while the group has no members. v2–4 carry a
retention time (-1: the broker's ``offsets.retention.minutes``); v6 the leader epoch of each
offset; v7 ``group_instance_id``; v9 answers GROUP_ID_NOT_FOUND (not ILLEGAL_GENERATION) for a group
that does not exist. A member of a KIP-848 consumer group commits with v9+ and its member epoch as the
generation (UNKNOWN_MEMBER_ID, UNSUPPORTED_VERSION below v9, STALE_MEMBER_EPOCH for another epoch).
v10 (KIP-848) names topics by id instead of name, in the request and the answer; an id the
metadata does not know is UNKNOWN_TOPIC_ID.

A partition the cluster does not have gets UNKNOWN_TOPIC_OR_PARTITION and is not committed; the
others are. The answer is put together as Kafka's ``OffsetCommitResponse.Builder`` does it: the
refused partitions first, in request order, each topic once; then the coordinator's answers, added to
a topic already listed or appended as a new one.
"""

from kavka.broker.group_service import millis, service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


class _Answer:
    """The response topics, one entry per topic (by name, or by id from v10), in first-seen order."""

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


@handles(ApiKey.OFFSET_COMMIT, 2, 10)
def handle_offset_commit(ctx, req):
    broker = ctx.broker
    by_id = ctx.version >= 10
    answer = _Answer(by_id)
    key_of: dict[str, object] = {}  # topic name -> its key in the answer
    topics: dict[str, list] = {}  # what the coordinator gets: name -> [(partition, offset, epoch, metadata)]
    for t in req.topics:
        topic = broker.topic_by_id(t.topic_id) if by_id else broker.topic(t.name)
        key: object = t.topic_id if by_id else t.name
        if topic is None:
            code = ErrorCode.unknown_topic_id if by_id else ErrorCode.unknown_topic_or_partition
            for p in t.partitions:
                answer.add(key, p.partition_index, code)
            continue
        key_of[topic.name] = key
        for p in t.partitions:
            if p.partition_index not in topic.partitions:
                answer.add(key, p.partition_index, ErrorCode.unknown_topic_or_partition)
                continue
            topics.setdefault(topic.name, []).append(
                (p.partition_index, p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.committed_metadata)
            )
    if not topics:
        return answer.body()
    service = service_of(ctx)
    if service is None:
        for name, parts in topics.items():
            for p in parts:
                answer.add(key_of[name], p[0], ErrorCode.coordinator_not_available)
        return answer.body()
    retention = millis(req.retention_time) if 2 <= ctx.version <= 4 else -1
    result = service.call(
        service.coordinator.commit_offsets,
        group_id=req.group_id,
        generation_id=req.generation_id_or_member_epoch,
        member_id=req.member_id,
        topics=list(topics.items()),
        group_instance_id=getattr(req, "group_instance_id", None),
        retention_ms=retention,
        api_version=ctx.version,
    )
    for t in result["topics"]:
        for p in t["partitions"]:
            answer.add(key_of.get(t["name"], t["name"]), p["partition_index"], p["error_code"])
    return dict(result, **answer.body())
