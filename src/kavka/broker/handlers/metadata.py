"""Metadata (key 3), v0–13.

Brokers, cluster id and controller, and for each requested topic its id and partitions (leader,
leader epoch, replicas, ISR). A null topic list (an empty one in v0) means every topic. Unknown topics
are auto-created when both the request (v4+; always before) and `auto.create.topics.enable` allow it;
creation here is synchronous, so the new topic is answered in full at once. v10+ may name a topic by
id only. A partition whose log dir failed on this broker lists it in ``offline_replicas``.

Authorized operations (v8+): with ``include_topic_authorized_operations`` every topic answered by name
(found, auto-created or unknown; not an unknown id) carries every topic operation, and with
``include_cluster_authorized_operations`` (v8–10 only) the cluster field every cluster operation, as
from a Kafka broker with no authorizer; otherwise both stay INT32_MIN. v13 adds a top-level error code
(KIP-1102; Kafka sets it only for a rebootstrap request it refuses), always NONE here.
"""

from kavka.broker.acl_operations import CLUSTER_OPERATIONS, NOT_REQUESTED, TOPIC_OPERATIONS
from kavka.broker.dispatch import CloseConnection
from kavka.broker.registry import handles
from kavka.metadata.internal_topics import is_internal
from kavka.protocol.api import ApiKey, ErrorCode


def _topic_entry(broker, topic) -> dict:
    offline = broker.replica_manager.offline  # partitions whose log dir failed here: offline replicas
    return {
        "error_code": 0,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": is_internal(topic.name),
        "partitions": [
            {
                # a partition with no leader (its ISR gone): LEADER_NOT_AVAILABLE, as Kafka's metadata cache
                "error_code": ErrorCode.leader_not_available if p.leader < 0 else 0,
                "partition_index": index,
                "leader_id": p.leader,
                "leader_epoch": p.leader_epoch,
                "replica_nodes": list(p.replicas),
                "isr_nodes": list(p.isr),
                "offline_replicas": [broker.node_id] if (topic.name, index) in offline else [],
            }
            for index, p in sorted(topic.partitions.items())
        ],
    }


@handles(ApiKey.METADATA, 0, 13)
def handle_metadata(ctx, req):
    broker = ctx.broker
    requested = req.topics
    if requested is None or (ctx.version == 0 and not requested):
        topics = [_topic_entry(broker, t) for t in broker.topics()]
    else:
        allow_auto = getattr(req, "allow_auto_topic_creation", True)
        if ctx.version < 12 and any(getattr(rt, "name", "") is None for rt in requested):
            # Kafka throws InvalidRequestException here; a v10/v11 response cannot carry a null name
            raise CloseConnection(f"Topic name can not be null for version {ctx.version}")
        topics = []
        for rt in requested:
            name = getattr(rt, "name", None)
            topic_id = getattr(rt, "topic_id", None)
            if name is None and topic_id is not None:
                topic = broker.topic_by_id(topic_id)
                if topic is None:
                    topics.append(
                        {"error_code": ErrorCode.unknown_topic_id, "name": None, "topic_id": topic_id, "partitions": []}
                    )
                    continue
            else:
                topic = broker.topic(name)
                if topic is None:
                    if allow_auto:
                        error, topic = broker.auto_create_topic(name)
                    else:
                        error = ErrorCode.unknown_topic_or_partition
                    if topic is None:
                        topics.append({"error_code": error, "name": name, "partitions": []})
                        continue
            topics.append(_topic_entry(broker, topic))
    if ctx.version >= 8 and getattr(req, "include_topic_authorized_operations", False):
        for t in topics:
            if t["name"] is not None:
                t["topic_authorized_operations"] = TOPIC_OPERATIONS
    cluster_ops = NOT_REQUESTED
    if 8 <= ctx.version <= 10 and getattr(req, "include_cluster_authorized_operations", False):
        cluster_ops = CLUSTER_OPERATIONS
    return {
        "throttle_time": 0,
        "brokers": [
            {"node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
            for b in broker.live_brokers(ctx.conn.listener_name)
        ],
        "cluster_id": broker.cluster_id,
        "controller_id": broker.controller_id,
        "topics": topics,
        "cluster_authorized_operations": cluster_ops,
        "error_code": 0,  # v13+ (a request-level error, which a broker with no authorizer never has)
    }
