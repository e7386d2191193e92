"""ElectLeaders (key 43), v0–2.

Kafka's controller rules (``ReplicationControlManager.electLeader``) on the current image: a PREFERRED
election (0; the only kind before v1) is not needed when the leader is already the first replica, an
UNCLEAN one (1) when the partition has a leader -- ELECTION_NOT_NEEDED with Kafka's default message.
On one node every partition is led by its preferred (only) replica, so no election ever runs here;
when replication arrives, the case "leader is not preferred" moves to the controller. A null topic
list means every partition, and then partitions not needing an election are left out of the answer.
Unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION ``No such topic as t`` /
``No such partition as t-9``. An election type other than 0 or 1 fails the request (INVALID_REQUEST).
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

PREFERRED, UNCLEAN = 0, 1
NOT_NEEDED = "Leader election not needed for topic partition."
NO_PREFERRED = "The preferred leader was not available."
NO_ELIGIBLE = "Eligible topic partition leaders are not available."


def _elect(image, topic: str, index: int, election_type: int) -> tuple[int, str | None]:
    t = image.topic(topic)
    if t is None:
        return ErrorCode.unknown_topic_or_partition, f"No such topic as {topic}"
    p = t.partitions.get(index)
    if p is None:
        return ErrorCode.unknown_topic_or_partition, f"No such partition as {topic}-{index}"
    has_leader = p.leader >= 0
    if election_type == PREFERRED and p.replicas and p.leader == p.replicas[0]:
        return ErrorCode.election_not_needed, NOT_NEEDED
    if election_type == UNCLEAN and has_leader:
        return ErrorCode.election_not_needed, NOT_NEEDED
    # A change of leader needs replication, which Kavka does not have: no other live replica can take over.
    if election_type == PREFERRED:
        return ErrorCode.preferred_leader_not_available, NO_PREFERRED
    return ErrorCode.eligible_leaders_not_available, NO_ELIGIBLE


@handles(ApiKey.ELECT_LEADERS, 0, 2)
def handle_elect_leaders(ctx, req):
    election_type = int(getattr(req, "election_type", PREFERRED))
    image = ctx.broker.image
    if election_type not in (PREFERRED, UNCLEAN):
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.invalid_request,
            "replica_election_results": [
                {
                    "topic": t.topic,
                    "partition_result": [
                        {
                            "partition_id": p,
                            "error_code": ErrorCode.invalid_request,
                            "error_message": f"Unknown election type {election_type}",
                        }
                        for p in t.partitions
                    ],
                }
                for t in (req.topic_partitions or ())
            ],
        }
    results = []
    if req.topic_partitions is None:
        for name, topic in image.topics_by_name.items():
            parts = []
            for index in sorted(topic.partitions):
                code, message = _elect(image, name, index, election_type)
                if code != ErrorCode.election_not_needed:
                    parts.append({"partition_id": index, "error_code": code, "error_message": message})
            results.append({"topic": name, "partition_result": parts})
    else:
        for t in req.topic_partitions:
            parts = []
            for index in t.partitions:
                code, message = _elect(image, t.topic, index, election_type)
                parts.append({"partition_id": index, "error_code": code, "error_message": message})
            results.append({"topic": t.topic, "partition_result": parts})
    return {"throttle_time": 0, "error_code": 0, "replica_election_results": results}
