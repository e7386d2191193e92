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

With the authorizer (``kavka.broker.authz``), as Kafka's ``handleTopicMetadataRequest``: a request for
every topic lists only those the principal may DESCRIBE; a named topic it may not describe is
TOPIC_AUTHORIZATION_FAILED whether it exists or not (by id: the id is answered, not the name);
auto-creation needs CREATE on the cluster or the topic (else TOPIC_AUTHORIZATION_FAILED); authorized
operations are the principal's real rights (0 for the cluster without DESCRIBE on it), set on the
topics answered in full or as unknown, not on the refused ones.
"""

from kavka.broker import authz
from kavka.broker.acl_operations import CLUSTER_OPERATIONS, NOT_REQUESTED, TOPIC_OPERATIONS, authorized_operations
from kavka.broker.authz import CLUSTER_NAME, AclOperation, ResourceType
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


def _refused(name, topic_id=None) -> dict:
    entry = {"error_code": ErrorCode.topic_authorization_failed, "name": name, "partitions": []}
    if topic_id is not None:
        entry["topic_id"] = topic_id
    return entry


def _may_create(ctx, name: str) -> bool:
    """Auto-creation needs CREATE on the cluster or on the topic."""
    return authz.authorize_cluster(ctx, AclOperation.CREATE) or authz.authorize(
        ctx, AclOperation.CREATE, ResourceType.TOPIC, name
    )


@handles(ApiKey.METADATA, 0, 13)
def handle_metadata(ctx, req):
    broker = ctx.broker
    requested = req.topics
    secured = broker.authz.enabled
    described: list[dict] = []  # the answers Kafka's getTopicMetadata gives (they carry authorized operations)
    refused: list[dict] = []  # TOPIC_AUTHORIZATION_FAILED answers, after the others as in Kafka
    if requested is None or (ctx.version == 0 and not requested):
        every = broker.topics()
        if secured:  # an unauthorized topic is not disclosed at all
            allowed = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, (t.name for t in every))
            every = [t for t in every if t.name in allowed]
        topics = [_topic_entry(broker, t) for t in every]
        described = topics
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
                if secured and not authz.authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topic.name):
                    # topic ids are not sensitive: the id is answered, the name not
                    refused.append(_refused(None, topic_id))
                    continue
            else:
                if secured and not authz.authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name):
                    refused.append(_refused(name))  # not even whether it exists
                    continue
                topic = broker.topic(name)
                if topic is None:
                    if (
                        allow_auto
                        and secured
                        and broker.config["auto.create.topics.enable"]
                        and not _may_create(ctx, name)
                    ):
                        refused.append({**_refused(name), "is_internal": is_internal(name)})
                        continue
                    if allow_auto:
                        error, topic = broker.auto_create_topic(name)
                    else:
                        error = ErrorCode.unknown_topic_or_partition
                    if topic is None:
                        entry = {"error_code": error, "name": name, "partitions": []}
                        topics.append(entry)
                        described.append(entry)
                        continue
            entry = _topic_entry(broker, topic)
            topics.append(entry)
            described.append(entry)
        topics += refused
    if ctx.version >= 8 and getattr(req, "include_topic_authorized_operations", False):
        for t in described if secured else topics:
            if t["name"] is not None:
                t["topic_authorized_operations"] = (
                    authorized_operations(ctx, ResourceType.TOPIC, t["name"]) if secured else TOPIC_OPERATIONS
                )
    cluster_ops = NOT_REQUESTED
    if 8 <= ctx.version <= 10 and getattr(req, "include_cluster_authorized_operations", False):
        cluster_ops = CLUSTER_OPERATIONS
        if secured:
            cluster_ops = 0
            if authz.authorize_cluster(ctx, AclOperation.DESCRIBE):
                cluster_ops = authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
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
