"""FindCoordinator (key 10), v0–6.

Which broker coordinates a group: the leader of the group's ``__consumer_offsets`` partition
(``abs(hashCode(group)) % offsets.topic.num.partitions``). The first lookup creates the topic, as
Kafka does. v0 has no key type (always a group); v4 batches keys (``coordinator_keys``) and answers
one entry per key. Key type 1 (transactional id): the leader of the id's ``__transaction_state``
partition (kavka.broker.txn_service), created on first lookup too. v5 only allows the
TRANSACTION_ABORTABLE error (never answered here). v6 adds key type 2, a share-group partition
("groupId:topicId:partition", KIP-932): Kavka has no share coordinator, so a well-formed key is
COORDINATOR_NOT_AVAILABLE (what Kafka answers while its share-state topic is not there) and a
malformed one INVALID_REQUEST, as Kafka checks it (the partition is not checked beyond being a
number). Below v4 the answer's ``error_message`` is Kafka's text for its error code ("NONE" on
success: ``Errors.message()``); from v4 every entry's is "", as Kafka sends, except for an unknown
key type (INVALID_REQUEST with its text at every version).
"""

import base64
import binascii

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.metadata.internal_topics import OFFSETS_TOPIC, TXN_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode

_GROUP, _TRANSACTION, _SHARE = 0, 1, 2


# Kafka's Errors.message() of each code this handler answers (the v1-3 error_message).
_MESSAGES = {
    ErrorCode.none: "NONE",
    ErrorCode.coordinator_not_available: "The coordinator is not available.",
    ErrorCode.not_coordinator: "This is not the correct coordinator.",
    ErrorCode.group_authorization_failed: "Group authorization failed.",
    ErrorCode.transactional_id_authorization_failed: "Transactional Id authorization failed.",
    ErrorCode.invalid_request: (
        "This most likely occurs because of a request being malformed by the client library or the "
        "message was sent to an incompatible broker. See the broker logs for more details."
    ),
}


def _share_key_ok(key: str) -> bool:
    """Kafka's check of a share-group key "groupId:topicId:partition": three parts, a non-blank group,
    a topic id in Kafka's base64 form and a partition number."""
    parts = key.split(":")
    if len(parts) != 3 or not parts[0].strip():
        return False
    try:
        standard = parts[1].replace("-", "+").replace("_", "/") + "=" * (-len(parts[1]) % 4)
        if len(base64.b64decode(standard, validate=True)) != 16:  # validate: no character skipped
            return False
        int(parts[2])
    except (binascii.Error, ValueError):
        return False
    return True


def _message(entry: dict, version: int) -> dict:
    if version >= 4:
        # Kafka leaves "" from v4, but an unknown key type keeps its exception's message
        return dict(entry, error_message=entry["error_message"] or "")
    code = ErrorCode(int(entry["error_code"]))
    return dict(entry, error_message=_MESSAGES.get(code, entry["error_message"]))


def _lookup(ctx, key_type: int, key: str) -> dict:
    error = {
        "error_code": ErrorCode.coordinator_not_available,
        "error_message": None,
        "node_id": -1,
        "host": "",
        "port": -1,
    }
    if key_type in (_GROUP, _TRANSACTION) and not authz.authorize(
        ctx, AclOperation.DESCRIBE, ResourceType.GROUP if key_type == _GROUP else ResourceType.TRANSACTIONAL_ID, key
    ):
        code = (
            ErrorCode.group_authorization_failed
            if key_type == _GROUP
            else ErrorCode.transactional_id_authorization_failed
        )
        return dict(error, error_code=code)
    if key_type == _TRANSACTION:
        service = txn_service_of(ctx)
        topic_name, ensure = TXN_TOPIC, "ensure_txn_topic"
    elif key_type == _GROUP:
        service = service_of(ctx)
        topic_name, ensure = OFFSETS_TOPIC, "ensure_offsets_topic"
    elif key_type == _SHARE:
        # before v6, or a malformed key: INVALID_REQUEST with no message of its own
        if ctx.version < 6 or not _share_key_ok(key):
            return dict(error, error_code=ErrorCode.invalid_request)
        return error
    else:
        return dict(error, error_code=ErrorCode.invalid_request, error_message=_MESSAGES[ErrorCode.invalid_request])
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
    endpoint = next((b for b in broker.live_brokers(ctx.conn.listener_name) if b.node_id == pimg.leader), None)
    if endpoint is None:
        return error
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "node_id": endpoint.node_id,
        "host": endpoint.host,
        "port": endpoint.port,
    }


@handles(ApiKey.FIND_COORDINATOR, 0, 6)
def handle_find_coordinator(ctx, req):
    key_type = int(getattr(req, "key_type", _GROUP))
    if ctx.version >= 4:
        return {
            "throttle_time": 0,
            "coordinators": [
                _message(dict(_lookup(ctx, key_type, key), key=key), ctx.version) for key in req.coordinator_keys
            ],
        }
    return dict(_message(_lookup(ctx, key_type, req.key), ctx.version), throttle_time=0)
