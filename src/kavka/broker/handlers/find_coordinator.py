"""FindCoordinator (key 10), v0–4.

Which broker coordinates a group: the leader of the group's ``__consumer_offsets`` partition
(``abs(hashCode(group)) % offsets.topic.num.partitions``). The first lookup creates the topic, as
Kafka does. v0 has no key type (always a group); v4 batches keys (``coordinator_keys``) and answers
one entry per key. Key type 1 (transactional id): the leader of the id's ``__transaction_state``
partition (kavka.broker.txn_service), created on first lookup too.
"""

from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.metadata.internal_topics import OFFSETS_TOPIC, TXN_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode

_GROUP, _TRANSACTION = 0, 1


def _lookup(ctx, key_type: int, key: str) -> dict:
    error = {
        "error_code": ErrorCode.coordinator_not_available,
        "error_message": None,
        "node_id": -1,
        "host": "",
        "port": -1,
    }
    if key_type == _TRANSACTION:
        service = txn_service_of(ctx)
        topic_name, ensure = TXN_TOPIC, "ensure_txn_topic"
    elif key_type == _GROUP:
        service = service_of(ctx)
        topic_name, ensure = OFFSETS_TOPIC, "ensure_offsets_topic"
    else:
        return dict(error, error_code=ErrorCode.invalid_request, error_message=f"Unknown key type {key_type}")
    if service is None:
        return error
    code = getattr(service, ensure)()
    if code:
        return dict(error, error_code=code)
    broker = ctx.broker
    topic = broker.topic(topic_name)
    pimg = topic.partitions.get(service.partition_for(key)) if topic is not None else None
    if pimg is None or pimg.leader < 0:
        return error
    endpoint = next((b for b in broker.live_brokers() if b.node_id == pimg.leader), None)
    if endpoint is None:
        return error
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "node_id": endpoint.node_id,
        "host": endpoint.host,
        "port": endpoint.port,
    }


@handles(ApiKey.FIND_COORDINATOR, 0, 4)
def handle_find_coordinator(ctx, req):
    key_type = int(getattr(req, "key_type", _GROUP))
    if ctx.version >= 4:
        return {
            "throttle_time": 0,
            "coordinators": [dict(_lookup(ctx, key_type, key), key=key) for key in req.coordinator_keys],
        }
    return dict(_lookup(ctx, key_type, req.key), throttle_time=0)
