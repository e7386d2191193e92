"""The requests Kafka authorizes on the cluster resource alone, checked before their handler runs.

Inter-broker and controller traffic needs CLUSTER_ACTION (a broker's principal; brokers are usually
``super.users``): AlterPartition, BrokerRegistration, BrokerHeartbeat, AllocateProducerIds, the KRaft
APIs (Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot, and Fetch on the controller listener),
WriteTxnMarkers (ALTER on the cluster also does, as in Kafka). Cluster administration needs ALTER
(ElectLeaders, AlterPartitionReassignments, UpdateFeatures, UnregisterBroker, AlterReplicaLogDirs) or
DESCRIBE (DescribeQuorum, ListPartitionReassignments, DescribeLogDirs).

A refused request is answered as Kafka's ``authorizeClusterOperation`` makes it: the API's error response
with CLUSTER_AUTHORIZATION_FAILED (at the top level where the schema has an error code; on every
partition for WriteTxnMarkers and AlterReplicaLogDirs; DescribeLogDirs before v3, which has no top-level
code, answers no directories). With no authorizer nothing is refused. The dispatcher asks
:func:`refusal` before it dispatches, and before it forwards a controller request, so the node the
client called decides with the client's principal.
"""

from __future__ import annotations

from typing import Any

from kavka.broker import authz
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.security.authorizer import AclOperation

__all__ = ["refusal", "REQUIRED"]

_A = AclOperation
_VOTE, _BEGIN_QUORUM_EPOCH, _END_QUORUM_EPOCH, _FETCH_SNAPSHOT = 52, 53, 54, 59  # KRaft (no ApiKey members)
# api key -> (listener kind or None for both, the cluster operation required)
REQUIRED: dict[int, tuple[str | None, int]] = {
    ApiKey.ALTER_PARTITION: (None, _A.CLUSTER_ACTION),
    ApiKey.BROKER_REGISTRATION: (None, _A.CLUSTER_ACTION),
    ApiKey.BROKER_HEARTBEAT: (None, _A.CLUSTER_ACTION),
    ApiKey.ALLOCATE_PRODUCER_IDS: (None, _A.CLUSTER_ACTION),
    _VOTE: (None, _A.CLUSTER_ACTION),
    _BEGIN_QUORUM_EPOCH: (None, _A.CLUSTER_ACTION),
    _END_QUORUM_EPOCH: (None, _A.CLUSTER_ACTION),
    _FETCH_SNAPSHOT: (None, _A.CLUSTER_ACTION),
    ApiKey.FETCH: ("controller", _A.CLUSTER_ACTION),  # the metadata log's Fetch, from a voter or broker
    ApiKey.WRITE_TXN_MARKERS: (None, _A.CLUSTER_ACTION),
    ApiKey.UNREGISTER_BROKER: (None, _A.ALTER),
    ApiKey.ELECT_LEADERS: (None, _A.ALTER),
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: (None, _A.ALTER),
    ApiKey.UPDATE_FEATURES: (None, _A.ALTER),
    ApiKey.ALTER_REPLICA_LOG_DIRS: (None, _A.ALTER),
    ApiKey.DESCRIBE_QUORUM: (None, _A.DESCRIBE),
    ApiKey.LIST_PARTITION_REASSIGNMENTS: (None, _A.DESCRIBE),
    ApiKey.DESCRIBE_LOG_DIRS: (None, _A.DESCRIBE),
}


def refusal(ctx: Any, request: Any) -> dict | None:
    """The error answer when the request's principal lacks the cluster operation its API needs."""
    required = REQUIRED.get(ctx.header.api_key)
    if required is None or not authz.enabled(ctx):
        return None
    listener, operation = required
    if listener is not None and ctx.listener != listener:
        return None
    if authz.authorize_cluster(ctx, operation):
        return None
    key = ctx.header.api_key
    if key == ApiKey.WRITE_TXN_MARKERS:
        if authz.authorize_cluster(ctx, _A.ALTER):  # Kafka takes ALTER on the cluster as well
            return None
        return {"markers": [_marker_refused(m) for m in request.markers]}
    code = ErrorCode.cluster_authorization_failed
    if key == ApiKey.ALTER_REPLICA_LOG_DIRS:
        return {
            "throttle_time": 0,
            "results": [
                {
                    "topic_name": t.name,
                    "partitions": [{"partition_index": p, "error_code": code} for p in t.partitions],
                }
                for d in request.dirs
                for t in d.topics
            ],
        }
    if key == ApiKey.DESCRIBE_LOG_DIRS:
        return {"throttle_time": 0, "error_code": code, "results": []}
    # DescribeQuorum's error response carries Kafka's Errors message; the others the exception's
    message = "Cluster authorization failed." if key == ApiKey.DESCRIBE_QUORUM else authz.denied_message(ctx, operation)
    return {"throttle_time": 0, "error_code": code, "error_message": message}


def _marker_refused(marker: Any) -> dict:
    return {
        "producer_id": marker.producer_id,
        "topics": [
            {
                "name": t.name,
                "partitions": [
                    {"partition_index": p, "error_code": ErrorCode.cluster_authorization_failed}
                    for p in t.partition_indexes
                ],
            }
            for t in marker.topics
        ],
    }
