"""OffsetForLeaderEpoch (key 23), v2–4.

For each partition, the largest leader epoch at or below the one asked for and the offset where it
ends (the next epoch's start, or the log end offset for the latest epoch), from the partition log's
leader-epoch cache; an epoch older than the cache knows gives epoch -1 and offset -1. A
``current_leader_epoch`` other than -1 is fenced against ours as Kafka does: older
FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. Consumers send this after a leader change (KIP-320)
to detect log truncation.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _answer(rm, topic: str, rp) -> dict:
    out = {"partition": rp.partition, "error_code": 0, "leader_epoch": -1, "end_offset": -1}
    p = rm.get(topic, rp.partition)
    if p is None or p.offline:
        out["error_code"] = rm.missing_code(topic, rp.partition) if p is None else ErrorCode.kafka_storage_error
        return out
    current = rp.current_leader_epoch
    if current != -1 and current < p.leader_epoch:
        out["error_code"] = ErrorCode.fenced_leader_epoch
        return out
    if current != -1 and current > p.leader_epoch:
        out["error_code"] = ErrorCode.unknown_leader_epoch
        return out
    if not p.is_leader:
        out["error_code"] = ErrorCode.not_leader_or_follower
        return out
    epoch, end = p.log.end_offset_for_epoch(rp.leader_epoch)
    if epoch != -1:
        out["leader_epoch"], out["end_offset"] = epoch, end
    return out


@handles(ApiKey.OFFSET_FOR_LEADER_EPOCH, 2, 4)
def handle_offset_for_leader_epoch(ctx, req):
    rm = ctx.broker.replica_manager
    # Kafka: a broker (CLUSTER_ACTION) may ask for any topic, a client for those it may DESCRIBE
    names = [t.topic for t in req.topics]
    if authz.authorize_cluster(ctx, AclOperation.CLUSTER_ACTION):
        describable = set(names)
    else:
        describable = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, names)
    return {
        "throttle_time": 0,
        "topics": [
            {
                "topic": t.topic,
                "partitions": [
                    _answer(rm, t.topic, rp)
                    if t.topic in describable
                    else {
                        "partition": rp.partition,
                        "error_code": ErrorCode.topic_authorization_failed,
                        "leader_epoch": -1,
                        "end_offset": -1,
                    }
                    for rp in t.partitions
                ],
            }
            for t in req.topics
        ],
    }
