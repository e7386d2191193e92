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

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import millis, refuse_commit, service_of, sort_commit_topics
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.OFFSET_COMMIT, 2, 10)
def handle_offset_commit(ctx, req):
    broker = ctx.broker
    by_id = ctx.version >= 10
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return refuse_commit(req.topics, by_id, ErrorCode.group_authorization_failed)
    answer, key_of, topics = sort_commit_topics(broker, req.topics, by_id, ctx)
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
