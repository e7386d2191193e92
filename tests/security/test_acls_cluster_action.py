"""Inter-broker and controller requests need CLUSTER_ACTION on the cluster: refused with Kafka's codes
for an ordinary principal, let through for a broker principal named in ``super.users`` (the typical
configuration) and with no authorizer. In process (tests/broker/harness.py), on the broker and the
controller listener, as User:ANONYMOUS from 127.0.0.1."""

from __future__ import annotations

import pytest

from kavka.broker.dispatch import Dispatcher
from tests.broker.harness import BrokerHarness, decode_response, request_frame
from tests.clients.adminwire import fetch_body
from tests.security.aclfixtures import STANDARD_AUTHORIZER

FETCH, WRITE_TXN_MARKERS, ALTER_PARTITION, BROKER_HEARTBEAT, ALLOCATE_PRODUCER_IDS = 1, 27, 56, 63, 67
CLUSTER_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED = 31, 29


@pytest.fixture(params=["ordinary", "super-user", "no-authorizer"])
def node(request, tmp_path):
    overrides = {
        "ordinary": {"authorizer.class.name": STANDARD_AUTHORIZER},
        "super-user": {"authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:ANONYMOUS"},
        "no-authorizer": {},
    }[request.param]
    h = BrokerHarness(tmp_path, overrides)
    try:
        yield request.param, h
    finally:
        h.close()


def _call(h: BrokerHarness, listener: str, api_key: int, version: int, body: dict):
    dispatcher = Dispatcher(h.broker, listener)

    async def dispatch():
        result = dispatcher.dispatch(h.conn, bytearray(request_frame(api_key, version, body, 5)))
        return result if isinstance(result, list) else await result

    data = b"".join(bytes(b) for b in h.run(dispatch()))
    return decode_response(api_key, version, data[4:], 5)


def test_cluster_action_requests(node):
    kind, h = node
    refused = kind == "ordinary"
    answers = {
        "BrokerHeartbeat": _call(
            h,
            "controller",
            BROKER_HEARTBEAT,
            1,
            {
                "broker_id": 7,
                "broker_epoch": 1,
                "current_metadata_offset": 0,
                "want_fence": False,
                "want_shut_down": False,
                "offline_log_dirs": [],
            },
        ).error_code,  # fmt: skip
        "AllocateProducerIds": _call(
            h, "controller", ALLOCATE_PRODUCER_IDS, 0, {"broker_id": 7, "broker_epoch": 1}
        ).error_code,
        "AlterPartition": _call(
            h, "controller", ALTER_PARTITION, 3, {"broker_id": 7, "broker_epoch": 1, "topics": []}
        ).error_code,
    }
    for api, code in answers.items():
        assert (code == CLUSTER_AUTHORIZATION_FAILED) == refused, (kind, api, code)
    markers = _call(
        h, "broker", WRITE_TXN_MARKERS, 1,
        {"markers": [{"producer_id": 1, "producer_epoch": 0, "transaction_result": True,
                      "topics": [{"name": "t", "partition_indexes": [0]}], "coordinator_epoch": 0}]},
    )  # fmt: skip
    [code] = [p.error_code for m in markers.markers for t in m.topics for p in t.partitions]
    assert (code == CLUSTER_AUTHORIZATION_FAILED) == refused, (kind, code)


def test_a_followers_fetch_needs_cluster_action(node):
    kind, h = node
    h.call(19, 7, {"topics": [{"name": "t", "num_partitions": 1, "replication_factor": 1, "assignments": [],
                               "configs": []}], "timeout": 30000, "validate_only": False})  # fmt: skip
    body = {**fetch_body("t", 0, 0), "replica_id": 2}
    [topic] = _call(h, "broker", FETCH, 12, body).responses
    [partition] = topic.partitions
    assert (partition.error_code == TOPIC_AUTHORIZATION_FAILED) == (kind == "ordinary"), (kind, partition)
