"""DeleteTopics (key 20), v1–6: by name (all versions) or by topic id (v6+)."""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.DELETE_TOPICS, 1, 6)
def handle_delete_topics(ctx, req):
    if ctx.version >= 6:
        targets = [(t.name, t.topic_id) for t in req.topics]
    else:
        targets = [(name, None) for name in req.topic_names]
    return {"throttle_time": 0, "responses": ctx.broker.delete_topics(targets, ctx.version)}
