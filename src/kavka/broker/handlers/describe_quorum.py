"""DescribeQuorum (key 55), v0–2: the KRaft quorum of ``__cluster_metadata-0``, as
``kafka-metadata-quorum.sh describe --status / --replication`` shows it.

The leader answers from its Raft state (kavka.raft.node): its epoch and high watermark, each voter's
and observer's fetch offset, last fetch and last caught-up time (Kafka's LeaderState rules; -1 for a
replica that has not fetched in this epoch); the leader itself is fetched and caught up now, at its
log end offset. Any other node answers NOT_LEADER_OR_FOLLOWER for the partition (a broker forwards the
request to the active controller first, as Kafka's brokers do). The leader's directory id (v2) is the
``directory.id`` of the metadata log dir's meta.properties; v2 adds the voters' endpoints (``nodes``).
A request for any other topic-partition gets UNKNOWN_TOPIC_OR_PARTITION at the top level, as from
Kafka's raft client.
"""

from kavka.broker.registry import handles
from kavka.metadata.ids import ZERO_UUID, uuid_from_str
from kavka.metadata.internal_topics import METADATA_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.raft.states import Leader
from kavka.storage.checkpoints import read_meta_properties


@handles(ApiKey.DESCRIBE_QUORUM, 0, 2)
def handle_describe_quorum(ctx, req):
    broker = ctx.broker
    asked = [(t.topic_name, int(p.partition_index)) for t in req.topics for p in t.partitions]
    if asked != [(METADATA_TOPIC, 0)]:
        return {"error_code": ErrorCode.unknown_topic_or_partition, "error_message": None, "topics": [], "nodes": []}
    now = broker.clock_ms()
    node = broker.quorum.node
    partition = {
        "partition_index": 0,
        "error_code": ErrorCode.none,
        "error_message": None,
        "leader_id": node.leader_id,
        "leader_epoch": node.epoch,
        "high_watermark": node.high_watermark,
        "current_voters": [],
        "observers": [],
    }
    state = node.state
    if not isinstance(state, Leader):
        partition["error_code"] = ErrorCode.not_leader_or_follower
    else:
        directory_id = (read_meta_properties(broker.fs, broker.config.metadata_log_dir) or {}).get("directory.id")
        own_dir = uuid_from_str(directory_id) if directory_id else ZERO_UUID
        replicas = dict(state.replicas)
        for v in node.voters:
            if v == node.node_id:
                row = (node.log.end_offset, now, now)
            else:
                offset, fetched, caught_up, _ = replicas.get(v, (-1, -1, -1, -1))
                row = (offset, fetched, caught_up)
            partition["current_voters"].append(_replica(v, own_dir if v == node.node_id else ZERO_UUID, row))
        for r, (offset, fetched, caught_up, _) in sorted(replicas.items()):
            if r not in node.voters:
                partition["observers"].append(_replica(r, ZERO_UUID, (offset, fetched, caught_up)))
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "topics": [{"topic_name": METADATA_TOPIC, "partitions": [partition]}],
        "nodes": _voter_nodes(broker, node.voters),
    }


def _replica(replica_id, directory_id, row):
    offset, fetched, caught_up = row
    return {
        "replica_id": replica_id,
        "replica_directory_id": directory_id,
        "log_end_offset": offset,
        "last_fetch_timestamp": fetched,
        "last_caught_up_timestamp": caught_up,
    }


def _voter_nodes(broker, voters):
    """v2's endpoints of the voters: their CONTROLLER listeners (a quorum of one: this node's listeners)."""
    if not broker.cluster_mode:
        listeners = [{"name": name, "host": host, "port": port} for name, host, port in broker.bound_listeners()]
        return [{"node_id": broker.node_id, "listeners": listeners}]
    name = (broker.config.controller_listener_names or ["CONTROLLER"])[0]
    return [
        {"node_id": v, "listeners": [{"name": name, "host": host, "port": port}]}
        for v, (host, port) in sorted(broker.voters.items())
        if v in voters
    ]
