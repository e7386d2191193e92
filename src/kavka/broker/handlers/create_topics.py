"""CreateTopics (key 19), v2–7.

Partitions, replication factor or explicit assignments, per-topic configs and validate_only, with
Kafka's errors and messages (decided by the controller). v5+ echoes the resulting partition count,
replication factor and configs; v7+ the topic id. A topic named twice answers once (INVALID_REQUEST).
A client over its ``controller_mutation_rate`` gets THROTTLING_QUOTA_EXCEEDED for the topics past it
(v6+; older versions are throttled only), ``broker/mutation_quotas.py``.
"""

from dataclasses import fields, replace

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.mutation_quotas import mutation_quota, throttle_time
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.CREATE_TOPICS, 2, 7)
def handle_create_topics(ctx, req):
    if authz.enabled(ctx):
        allowed, merge = split_before_forwarding(ctx, req)
        return merge(_create(ctx, req, allowed.topics) if allowed is not None else None)
    return _create(ctx, req, req.topics)


def split_before_forwarding(ctx, req):
    """Kafka's ControllerApis checks, made where the client's principal is known (here, or on the node
    that forwards the request to the active controller): CREATE on the cluster or on each topic (else
    TOPIC_AUTHORIZATION_FAILED, "Authorization failed."), and DESCRIBE_CONFIGS on the topic for its
    configs in the answer (else ``topic_config_error_code`` TOPIC_AUTHORIZATION_FAILED, no configs).
    Returns (the request with the creatable topics, or None when there are none; a function from the
    answer to those to the whole answer)."""
    names = [t.name for t in req.topics]
    if authz.authorize_cluster(ctx, AclOperation.CREATE):
        creatable = set(names)
    else:
        creatable = authz.filter_authorized(ctx, AclOperation.CREATE, ResourceType.TOPIC, names)
    describable = authz.filter_authorized(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, names)
    kept = [t for t in req.topics if t.name in creatable]

    def merge(answer):
        done = {_get(t, "name"): t for t in (_get(answer, "topics") if answer is not None else ())}
        topics = []
        for name in dict.fromkeys(names):
            entry = done.get(name)
            if entry is None:
                entry = {
                    "name": name,
                    "error_code": ErrorCode.topic_authorization_failed,
                    "error_message": "Authorization failed.",
                    "num_partitions": -1,
                    "replication_factor": -1,
                    "configs": [],
                }
            elif name not in describable and _get(entry, "error_code") == 0:
                # the controller leaves out what the principal may not see (Kafka's ReplicationControlManager)
                entry = {
                    **_fields(entry),
                    "num_partitions": -1,
                    "replication_factor": -1,
                    "configs": [],
                    "topic_config_error_code": ErrorCode.topic_authorization_failed,
                }
            topics.append(entry)
        # the throttle time of the answer (controller_mutation_rate), or 0 when nothing went on
        return {"throttle_time": _get(answer, "throttle_time") if answer is not None else 0, "topics": topics}

    return (replace(req, topics=tuple(kept)) if kept else None), merge


def _get(entry, name):
    return entry[name] if isinstance(entry, dict) else getattr(entry, name)


def _fields(entry) -> dict:
    """A response entry as a dict (a forwarded answer's entries are kio entities)."""
    if isinstance(entry, dict):
        return entry
    return {f.name: getattr(entry, f.name) for f in fields(entry) if not f.name.startswith("__")}


def _create(ctx, req, requested):
    specs = [
        {
            "name": t.name,
            "num_partitions": t.num_partitions,
            "replication_factor": t.replication_factor,
            "assignments": [(a.partition_index, list(a.broker_ids)) for a in t.assignments],
            "configs": {c.name: c.value for c in t.configs},
        }
        for t in requested
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


handle_create_topics.split_before_forwarding = split_before_forwarding
