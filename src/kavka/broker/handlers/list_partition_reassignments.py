"""ListPartitionReassignments (key 46), v0: the partition reassignments in progress.

As Kafka's controller answers it (``ReplicationControlManager.listPartitionReassignments``): a
partition is reassigning while its registration has adding or removing replicas. A null topic list
asks for every reassigning partition; a named topic that does not exist, and a named partition that
does not exist or is not reassigning, are left out without an error. A single Kavka broker never
moves a replica, so the answer is empty, with no error.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


def _ongoing(topic, indexes) -> list[dict]:
    out = []
    for index in indexes:
        p = topic.partitions.get(int(index))
        if p is not None and (p.adding_replicas or p.removing_replicas):
            out.append(
                {
                    "partition_index": int(index),
                    "replicas": list(p.replicas),
                    "adding_replicas": list(p.adding_replicas),
                    "removing_replicas": list(p.removing_replicas),
                }
            )
    return out


@handles(ApiKey.LIST_PARTITION_REASSIGNMENTS, 0, 0)
def handle_list_partition_reassignments(ctx, req):
    broker = ctx.broker
    if req.topics is None:
        wanted = [(t, sorted(t.partitions)) for t in sorted(broker.topics(), key=lambda t: t.name)]
    else:
        wanted = [(broker.topic(t.name), t.partition_indexes) for t in req.topics]
    topics = []
    for topic, indexes in wanted:
        if topic is None:
            continue
        partitions = _ongoing(topic, indexes)
        if partitions:
            topics.append({"name": topic.name, "partitions": partitions})
    return {"throttle_time": 0, "error_code": 0, "error_message": None, "topics": topics}
