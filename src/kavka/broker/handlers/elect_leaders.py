"""ElectLeaders (key 43), v0–2.

Decided by the active controller (``kavka.controller.replication.elect_leaders``, Kafka's
``ReplicationControlManager.electLeaders``) and answered once the new leaders are committed; a node that
is not the active controller forwards the request (``broker/dispatch.py``, ``CONTROLLER_WRITES``). A
PREFERRED election (0; the only kind before v1) moves leadership to the first replica when it is in
the ISR and active; it is not needed when the first replica leads already. An UNCLEAN one (1) gives a
leaderless partition a leader, from outside the ISR if need be (the records the ISR had and it lacks
are lost); it is not needed when the partition has a leader. Not needed: ELECTION_NOT_NEEDED; nothing
could change: PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE, with Kafka's default
messages. A null topic list means every partition, and then partitions not needing an election are
left out of the answer. Unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION ``No such topic as t``
/ ``No such partition as t-9``. An election type other than 0 or 1 fails the request (INVALID_REQUEST).
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

PREFERRED, UNCLEAN = 0, 1


@handles(ApiKey.ELECT_LEADERS, 0, 2)
def handle_elect_leaders(ctx, req):
    election_type = int(getattr(req, "election_type", PREFERRED))
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
    if req.topic_partitions is None:
        wanted = None
    else:
        wanted = [(t.topic, [int(p) for p in t.partitions]) for t in req.topic_partitions]
    answers, _ = ctx.broker.controller.elect_leaders(election_type, wanted)
    results = [
        {
            "topic": topic,
            "partition_result": [
                {"partition_id": pid, "error_code": error.code, "error_message": error.message}
                for pid, error in partitions
            ],
        }
        for topic, partitions in answers
    ]
    return {"throttle_time": 0, "error_code": 0, "replica_election_results": results}
