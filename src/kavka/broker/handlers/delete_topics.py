"""DeleteTopics (key 20), v1–6: by name (all versions) or by topic id (v6+).

A v6 entry that names both a topic and a (non-zero) topic id is refused with INVALID_REQUEST and
nothing of it is deleted, as Kafka answers it; the other entries are deleted.
"""

import uuid
from dataclasses import replace

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.mutation_quotas import mutation_quota, throttle_time
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_ZERO_UUID = uuid.UUID(int=0)


def _authorized(ctx, targets):
    """Kafka's ControllerApis checks (DELETE on the cluster, else per topic DESCRIBE and DELETE): the
    targets that go on, and TOPIC_AUTHORIZATION_FAILED answers for the others; a topic the principal may
    not describe is not named when asked by id, nor given an id when asked by name."""
    if authz.authorize_cluster(ctx, AclOperation.DELETE):
        return targets, []
    broker = ctx.broker
    names = {n for n, _ in targets if n is not None}
    by_id = {}
    for n, topic_id in targets:
        if n is None and topic_id is not None:
            topic = broker.topic_by_id(topic_id)
            if topic is not None:
                by_id[topic_id] = topic.name
    candidates = names | set(by_id.values())
    describable = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, candidates)
    deletable = authz.filter_authorized(ctx, AclOperation.DELETE, ResourceType.TOPIC, candidates)
    kept, denied = [], []
    for n, topic_id in targets:
        if n is None:
            name = by_id.get(topic_id)
            if name is not None and name not in deletable:
                denied.append(_denied(name if name in describable else None, topic_id))
                continue
        elif n not in describable or (broker.topic(n) is not None and n not in deletable):
            denied.append(_denied(n, None))
            continue
        kept.append((n, topic_id))
    return kept, denied


def _denied(name, topic_id) -> dict:
    return {
        "name": name,
        "topic_id": topic_id or _ZERO_UUID,
        "error_code": ErrorCode.topic_authorization_failed,
        "error_message": "Topic authorization failed.",
    }


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
    if authz.enabled(ctx):
        targets, denied = _authorized(ctx, targets)
        refused += denied
    quota = mutation_quota(ctx)  # controller_mutation_rate: THROTTLING_QUOTA_EXCEEDED per topic (v5+)
    admit = None if quota is None else quota.admit
    deleted = ctx.broker.delete_topics(targets, ctx.version, admit=admit) if targets else []
    return {"throttle_time": throttle_time(ctx, quota), "responses": deleted + refused}


def split_before_forwarding(ctx, req):
    """On a node forwarding DeleteTopics to the active controller: the topics the client may delete go
    on (with the invalid entries, which the controller answers), the refusals are merged in after."""
    if ctx.version >= 6:
        both = [t for t in req.topics if t.name and t.topic_id is not None and t.topic_id != _ZERO_UUID]
        kept, denied = _authorized(ctx, [(t.name, t.topic_id) for t in req.topics if t not in both])
        going = set(kept)
        topics = [t for t in req.topics if t in both or (t.name, t.topic_id) in going]
        allowed = replace(req, topics=tuple(topics)) if topics else None
    else:
        kept, denied = _authorized(ctx, [(name, None) for name in req.topic_names])
        names = [name for name, _ in kept]
        allowed = replace(req, topic_names=tuple(names)) if names else None

    def merge(answer):
        responses = list(answer["responses"] if isinstance(answer, dict) else answer.responses) if answer else []
        throttle = (answer["throttle_time"] if isinstance(answer, dict) else answer.throttle_time) if answer else 0
        return {"throttle_time": throttle, "responses": [*responses, *denied]}

    return allowed, merge


handle_delete_topics.split_before_forwarding = split_before_forwarding
