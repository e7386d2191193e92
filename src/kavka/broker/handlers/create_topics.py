"""CreateTopics (key 19), v2–7.

Partitions, replication factor or explicit assignments, per-topic configs and validate_only, with
Kafka's errors and messages (decided by the controller). v5+ echoes the resulting partition count,
replication factor and configs; v7+ the topic id. A topic named twice answers once (INVALID_REQUEST).
A client over its ``controller_mutation_rate`` gets THROTTLING_QUOTA_EXCEEDED for the topics past it
(v6+; older versions are throttled only), ``broker/mutation_quotas.py``.
"""

from kavka.broker.mutation_quotas import mutation_quota, throttle_time
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.CREATE_TOPICS, 2, 7)
def handle_create_topics(ctx, req):
    specs = [
        {
            "name": t.name,
            "num_partitions": t.num_partitions,
            "replication_factor": t.replication_factor,
            "assignments": [(a.partition_index, list(a.broker_ids)) for a in t.assignments],
            "configs": {c.name: c.value for c in t.configs},
        }
        for t in req.topics
    ]
    quota = mutation_quota(ctx)  # controller_mutation_rate: THROTTLING_QUOTA_EXCEEDED per topic (v6+)
    admit = None if quota is None else quota.admit
    results = ctx.broker.create_topics(specs, validate_only=bool(getattr(req, "validate_only", False)), admit=admit)
    # As Kafka: one entry per topic name (a name twice in the request answers once), and a failed
    # topic's configs are an empty list, not null.
    unique: dict[str, dict] = {}
    for r in results:
        unique.setdefault(r["name"], {**r, "configs": r["configs"] if r["configs"] is not None else []})
    return {"throttle_time": throttle_time(ctx, quota), "topics": list(unique.values())}
