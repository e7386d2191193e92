"""DescribeProducers (key 61), v0: the active producers of partitions this broker leads.

What ``kafka-transactions.sh describe-producers`` and ``find-hanging`` read (KIP-664): per
partition, each producer id the log's producer state holds, with its epoch, the last sequence and
timestamp it wrote, the coordinator epoch of its last marker and, when it has a transaction open on
the partition, that transaction's first offset. A partition that does not exist gets
UNKNOWN_TOPIC_OR_PARTITION, one without a local leader NOT_LEADER_OR_FOLLOWER, as from Kafka.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _producers(plog) -> list[dict]:
    return [
        {
            "producer_id": pid,
            "producer_epoch": entry.epoch,
            "last_sequence": entry.last_seq,
            "last_timestamp": entry.last_timestamp,
            "coordinator_epoch": entry.coordinator_epoch,
            "current_txn_start_offset": entry.current_txn_first_offset,
        }
        for pid, entry in sorted(plog.producer_state.producers.items())
    ]


@handles(ApiKey.DESCRIBE_PRODUCERS, 0, 0)
def handle_describe_producers(ctx, req):
    broker, rm = ctx.broker, ctx.broker.replica_manager
    topics = []
    readable = authz.filter_authorized(ctx, AclOperation.READ, ResourceType.TOPIC, (t.name for t in req.topics))
    for t in req.topics:
        partitions = []
        for index in t.partition_indexes:
            index = int(index)
            if t.name not in readable:  # Kafka: READ on the topic
                partitions.append(
                    {
                        "partition_index": index,
                        "error_code": ErrorCode.topic_authorization_failed,
                        "error_message": "Topic authorization failed.",
                        "active_producers": [],
                    }
                )
                continue
            p = rm.get(t.name, index)
            if p is not None and p.offline:
                partitions.append(
                    {
                        "partition_index": index,
                        "error_code": ErrorCode.kafka_storage_error,
                        "error_message": "its log dir is offline",
                        "active_producers": [],
                    }
                )
                continue
            if p is not None and p.is_leader:
                partitions.append(
                    {
                        "partition_index": index,
                        "error_code": ErrorCode.none,
                        "error_message": None,
                        "active_producers": _producers(p.log),
                    }
                )
                continue
            topic = broker.topic(t.name)
            code = (
                ErrorCode.not_leader_or_follower
                if topic is not None and index in topic.partitions
                else ErrorCode.unknown_topic_or_partition
            )
            partitions.append(
                {"partition_index": index, "error_code": code, "error_message": None, "active_producers": []}
            )
        topics.append({"name": t.name, "partitions": partitions})
    return {"throttle_time": 0, "topics": topics}
