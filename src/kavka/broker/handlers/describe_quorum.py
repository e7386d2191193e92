"""DescribeQuorum (key 55), v0–2: the KRaft quorum of ``__cluster_metadata-0``, as
``kafka-metadata-quorum.sh describe --status / --replication`` shows it.

Kavka runs combined mode with one local voter (kavka.raft.local), so the answer is a quorum of one:
this node is the leader and the only voter, its log end offset is the high watermark, and both of
its timestamps are now (Kafka reports the leader as fetched and caught up at the time of the call).
The leader epoch is 1: a single voter never loses an election, so Kavka keeps no epoch history for
the metadata log. The voter's directory id (v2) is the ``directory.id`` of the metadata log dir's
meta.properties, as Kafka's voter record carries it. v2 adds the voters' endpoints (``nodes``). A request for any other topic-partition
gets UNKNOWN_TOPIC_OR_PARTITION at the top level, as from Kafka's raft client.
"""

from kavka.broker.registry import handles
from kavka.metadata.ids import ZERO_UUID, uuid_from_str
from kavka.metadata.internal_topics import METADATA_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.storage.checkpoints import read_meta_properties

_LEADER_EPOCH = 1


@handles(ApiKey.DESCRIBE_QUORUM, 0, 2)
def handle_describe_quorum(ctx, req):
    broker = ctx.broker
    asked = [(t.topic_name, int(p.partition_index)) for t in req.topics for p in t.partitions]
    if asked != [(METADATA_TOPIC, 0)]:
        return {"error_code": ErrorCode.unknown_topic_or_partition, "error_message": None, "topics": [], "nodes": []}
    now = broker.clock_ms()
    end = broker.quorum.end_offset
    directory_id = (read_meta_properties(broker.fs, broker.config.metadata_log_dir) or {}).get("directory.id")
    voter = {
        "replica_id": broker.node_id,
        "replica_directory_id": uuid_from_str(directory_id) if directory_id else ZERO_UUID,
        "log_end_offset": end,
        "last_fetch_timestamp": now,
        "last_caught_up_timestamp": now,
    }
    listeners = [{"name": name, "host": host, "port": port} for name, host, port in broker.bound_listeners()]
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "topics": [
            {
                "topic_name": METADATA_TOPIC,
                "partitions": [
                    {
                        "partition_index": 0,
                        "error_code": ErrorCode.none,
                        "error_message": None,
                        "leader_id": broker.node_id,
                        "leader_epoch": _LEADER_EPOCH,
                        "high_watermark": end,
                        "current_voters": [voter],
                        "observers": [],
                    }
                ],
            }
        ],
        "nodes": [{"node_id": broker.node_id, "listeners": listeners}],
    }
