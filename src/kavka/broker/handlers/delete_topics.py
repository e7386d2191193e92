"""DeleteTopics (key 20), v1–6: by name (all versions) or by topic id (v6+).

A v6 entry that names both a topic and a (non-zero) topic id is refused with INVALID_REQUEST and
nothing of it is deleted, as Kafka answers it; the other entries are deleted.
"""

import uuid

from kavka.broker.mutation_quotas import mutation_quota, throttle_time
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_ZERO_UUID = uuid.UUID(int=0)


@handles(ApiKey.DELETE_TOPICS, 1, 6)
def handle_delete_topics(ctx, req):
    refused = []
    if ctx.version >= 6:
        targets = []
        for t in req.topics:
            if t.name and t.topic_id is not None and t.topic_id != _ZERO_UUID:
                refused.append(
                    {
                        "name": t.name,
                        "topic_id": t.topic_id,
                        "error_code": ErrorCode.invalid_request,
                        "error_message": "You may not specify both topic name and topic id.",
                    }
                )
            else:
                targets.append((t.name, t.topic_id))
    else:
        targets = [(name, None) for name in req.topic_names]
    quota = mutation_quota(ctx)  # controller_mutation_rate: THROTTLING_QUOTA_EXCEEDED per topic (v5+)
    admit = None if quota is None else quota.admit
    deleted = ctx.broker.delete_topics(targets, ctx.version, admit=admit) if targets else []
    return {"throttle_time": throttle_time(ctx, quota), "responses": deleted + refused}
