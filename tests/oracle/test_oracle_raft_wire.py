"""KRaft's messages on Kafka's wire, checked against the running Apache Kafka (the ``apache_kafka``
fixture: one KRaft voter, node 1, with a CONTROLLER listener).

Requests go from Kavka's peer client (``kavka.server.peer_client``) to Kafka's controller listener,
built by ``kavka.raft.wire`` and decoded back into the Raft core's messages; the same requests go to
Kavka's controller listener (the dispatcher of that kind in process, its KRaft handlers feeding a
real one-voter Raft core: ``tests/raft/coredriver.py``), and the two answers are compared field by
field. Only requests that cannot disturb the shared Kafka are sent: a Vote in its current epoch (not
granted), a BeginQuorumEpoch and EndQuorumEpoch of an older epoch (fenced), Fetches as an anonymous
observer (replica id -1: Kafka keeps no state for it), requests naming another cluster. Known
differences: tests/oracle/oracleknown.py, explained in docs/compatibility.md.
"""

from __future__ import annotations

import asyncio

import pytest

from kavka.broker.dispatch import Dispatcher
from kavka.protocol.api import ApiKey
from kavka.raft import wire
from kavka.raft.control_records import decode_leader_change
from kavka.raft.entries import control_parts, is_control
from kavka.raft.messages import (
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    EndQuorumEpoch,
    FetchRequest,
    FetchSnapshotRequest,
    VoteRequest,
    VoteResponse,
)
from kavka.server.peer_client import PeerClient
from tests.broker.harness import BrokerHarness
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences, normalise, record
from tests.oracle.oraclewire import plain
from tests.raft.coredriver import CoreDriver

OTHER_CLUSTER = "AnotherClusterIdAAAAAA"
API_VERSIONS_V3 = {"client_software_name": "kavka-oracle", "client_software_version": "1"}


@pytest.fixture
def kavka_controller(tmp_path):
    """A Kavka broker answering as its controller listener does, its Raft driver a real core that
    leads epoch 1."""
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    }
    h = BrokerHarness(tmp_path / "data", overrides)

    async def bind_controller_too():  # as if the server had bound both (the harness binds nothing)
        h.broker.set_bound_listeners([("PLAINTEXT", "127.0.0.1", 9092), ("CONTROLLER", "127.0.0.1", 9093)])

    h.run(bind_controller_too())
    h.broker.raft_driver = CoreDriver.leader(h.broker.node_id, [b"\x01one"])
    h.dispatcher = Dispatcher(h.broker, "controller")
    yield h
    h.close()


def _kafka_calls(apache_kafka, requests: list[tuple[int, int, dict]]) -> list:
    async def run():
        client = PeerClient("127.0.0.1", apache_kafka.controller_port)
        try:
            return [await client.request(k, v, body, timeout=15) for k, v, body in requests]
        finally:
            await client.close()

    return asyncio.run(run())


def _kafka_epoch(apache_kafka) -> int:
    body = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]}
    [answer] = _kafka_calls(apache_kafka, [(ApiKey.DESCRIBE_QUORUM, 2, body)])
    p = answer.topics[0].partitions[0]
    assert p.leader_id == 1, plain(answer)
    return int(p.leader_epoch)


def _ranges(answer) -> dict[int, tuple[int, int]]:
    return {int(e.api_key): (int(e.min_version), int(e.max_version)) for e in answer.api_keys}


def test_controller_listener_api_versions(apache_kafka, kavka_controller):
    [kafka] = _kafka_calls(apache_kafka, [(ApiKey.API_VERSIONS, 3, API_VERSIONS_V3)])
    kavka = kavka_controller.call(ApiKey.API_VERSIONS, 3, API_VERSIONS_V3)
    k, v = _ranges(kafka), _ranges(kavka)
    found = {key: (k.get(key), v.get(key)) for key in sorted(k.keys() | v.keys()) if k.get(key) != v.get(key)}
    record("controller-api-versions", found)
    assert found == known.CONTROLLER_API_VERSION_DIFFERENCES
    # and KRaft's own APIs are on it, at Kafka's versions, on both
    assert {key: k[key] for key in (1, 52, 53, 54, 59)} == {key: v[key] for key in (1, 52, 53, 54, 59)}


def _plain_answer(value, epoch: int):
    """An answer as plain data, the node's current epoch as ``<epoch>`` and records as their count."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "leader_epoch" and v == epoch:
                out[k] = "<epoch>"
            elif k in ("records", "unaligned_records") and v:
                out[k] = "<records>"
            elif k == "high_watermark" and isinstance(v, int) and v > 0:
                out[k] = "<high-watermark>"
            else:
                out[k] = _plain_answer(v, epoch)
        return out
    if isinstance(value, list):
        return [_plain_answer(v, epoch) for v in value]
    return value


def _scenario(cluster: str, epoch: int) -> dict[str, tuple[int, int, dict]]:
    """The requests each side gets, by name, for a node whose id is 1, in ``epoch``."""

    def req(msg, cluster_id=cluster):
        return wire.request_for(msg, cluster_id, dest=1, max_wait_ms=0)

    return {
        "vote-current-epoch": req(VoteRequest(1, epoch, epoch - 1, 0, False)),
        "begin-old-epoch": req(BeginQuorumEpoch(2, epoch - 1)),
        "end-old-epoch": req(EndQuorumEpoch(2, epoch - 1, (1,))),
        "fetch-observer": req(FetchRequest(-1, epoch, 0, 0)),
        "fetch-old-epoch": req(FetchRequest(-1, epoch - 1, 0, 0)),
        "fetch-snapshot-missing": req(FetchSnapshotRequest(-1, epoch, (1, epoch))),
        **{
            f"other-cluster-{type(m).__name__}": req(m, OTHER_CLUSTER)
            for m in (
                VoteRequest(1, epoch, epoch - 1, 0, False),
                BeginQuorumEpoch(2, epoch - 1),
                EndQuorumEpoch(2, epoch - 1, ()),
                FetchRequest(-1, epoch, 0, 0),
                FetchSnapshotRequest(-1, epoch, (1, epoch)),
            )
        },
    }


def test_kraft_answers_against_kafka(apache_kafka, kavka_controller):
    kafka_epoch = _kafka_epoch(apache_kafka)
    kafka_requests = _scenario(apache_kafka.cluster_id, kafka_epoch)
    kavka_requests = _scenario(kavka_controller.broker.cluster_id, 1)
    kafka_answers = dict(zip(kafka_requests, _kafka_calls(apache_kafka, list(kafka_requests.values()))))
    kavka_answers = {name: kavka_controller.call(*r) for name, r in kavka_requests.items()}

    # What Kafka says, read as the Raft core's messages
    vote = VoteRequest(1, kafka_epoch, kafka_epoch - 1, 0, False)
    key, version, _ = kafka_requests["vote-current-epoch"]
    assert wire.decode_response(key, version, kafka_answers["vote-current-epoch"], request=vote) == VoteResponse(
        0, 1, kafka_epoch, False, False
    )
    key, version, _ = kafka_requests["begin-old-epoch"]
    assert wire.decode_response(key, version, kafka_answers["begin-old-epoch"]) == BeginQuorumEpochResponse(
        74, 1, kafka_epoch
    )
    fetch = FetchRequest(-1, kafka_epoch, 0, 0, correlation_id=8)
    key, version, _ = kafka_requests["fetch-observer"]
    got = wire.decode_response(key, version, kafka_answers["fetch-observer"], request=fetch)
    assert (got.error, got.leader_id, got.leader_epoch, got.correlation_id) == (0, 1, kafka_epoch, 8)
    assert 0 < got.high_watermark <= len(got.entries)
    # Kafka's log starts with the first leader's LeaderChangeMessage, which Kavka's entries read as one
    assert is_control(got.entries[0].data)
    assert decode_leader_change(control_parts(got.entries[0].data)[1]).leader_id == 1
    for name, (key, version, _) in kafka_requests.items():
        if name.startswith("other-cluster"):
            with pytest.raises(wire.RaftWireError) as e:
                wire.decode_response(key, version, kafka_answers[name])
            assert e.value.code == wire.INCONSISTENT_CLUSTER_ID, name

    # The same requests to Kavka, field by field
    found = {}
    for name in kafka_requests:
        kafka = normalise(_plain_answer(plain(kafka_answers[name]), kafka_epoch), {})
        kavka = normalise(_plain_answer(plain(kavka_answers[name]), 1), {})
        if diff := differences(kafka, kavka):
            found[name] = diff
    record("raft-wire", found)
    assert found == known.RAFT_WIRE_DIFFERENCES
