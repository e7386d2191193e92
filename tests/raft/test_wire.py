"""kavka.raft.wire: the Raft core's messages through Kafka's request and response bytes and back.

Each round trip goes through the real encoders and decoders (``kavka.protocol.api``: kio's schemas),
at the versions Kavka sends and at the older ones a Kafka node may send. The refusals (another
cluster, another partition, impossible epochs, a request meant for another voter) are Kafka's
(KafkaRaftClient); the oracle tests check the same answers against a running Kafka.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kavka.protocol.api import decode_request, encode_request_body, encode_response, response_class
from kavka.protocol.decoder import decode_with, entity_decoder
from kavka.protocol.primitives import skip_tagged_fields
from kavka.raft import wire
from kavka.raft.entries import entries_to_batches, leader_change_entry
from kavka.raft.messages import (
    FENCED_LEADER_EPOCH,
    NONE,
    SNAPSHOT_NOT_FOUND,
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    EndQuorumEpoch,
    Entry,
    FetchRequest,
    FetchResponse,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
    VoteRequest,
    VoteResponse,
)

CLUSTER = "MkU3OEVBNTcwNTJENDM2Qg"
INT32 = st.integers(-(2**31), 2**31 - 1)
NODE = st.integers(0, 2**31 - 1)
EPOCH = st.integers(1, 2**31 - 1)
OFFSET = st.integers(0, 2**63 - 1)


def _wire_request(msg, *, dest=-1, cluster=CLUSTER, version=None):
    """The request as the receiving node decodes it from the bytes: (api key, version, kio entity)."""
    key, sent_version, body = wire.request_for(msg, cluster, dest=dest)
    version = sent_version if version is None else version
    return key, version, decode_request(key, version, encode_request_body(key, version, body), 0)


def _wire_response(key, version, body):
    """The response entity as the requesting node decodes it from the bytes."""
    raw = encode_response(key, version, 7, body)
    cls = response_class(key, version)
    offset = skip_tagged_fields(memoryview(raw), 4) if cls.__flexible__ else 4
    return decode_with(entity_decoder(cls), raw, offset)[0]


def _round_trip_request(msg, **kw):
    key, version, req = _wire_request(msg, **kw)
    return wire.decode_request(key, version, req, CLUSTER, local_id=kw.get("dest"))


def _round_trip_response(request_msg, answer, *, timestamp_ms=1_700_000_000_000):
    key, version, req = _wire_request(request_msg)
    body = wire.response_for(key, version, answer, CLUSTER, request=req, timestamp_ms=timestamp_ms)
    return wire.decode_response(key, version, _wire_response(key, version, body), request=request_msg)


def test_versions_sent_are_kafka_44s():
    """What Kafka 4.4's Raft client sends to another 4.4 node: the newest version of each."""
    sent = {
        type(m).__name__: wire.request_for(m, CLUSTER)[:2]
        for m in (
            VoteRequest(1, 2, 1, 0, False),
            BeginQuorumEpoch(1, 2),
            EndQuorumEpoch(1, 2, ()),
            FetchRequest(1, 2, 0, 0),
            FetchSnapshotRequest(1, 2, (5, 1)),
        )
    }
    assert sent == {
        "VoteRequest": (52, 2),
        "BeginQuorumEpoch": (53, 1),
        "EndQuorumEpoch": (54, 1),
        "FetchRequest": (1, 18),
        "FetchSnapshotRequest": (59, 1),
    }


@given(candidate=NODE, epoch=EPOCH, data=st.data(), pre_vote=st.booleans())
def test_vote_request_round_trip(candidate, epoch, data, pre_vote):
    last_epoch = data.draw(st.integers(0, epoch - 1))
    msg = VoteRequest(candidate, epoch, last_epoch, data.draw(OFFSET), pre_vote)
    assert _round_trip_request(msg, dest=candidate) == (candidate, msg)


def test_a_pre_vote_carries_the_senders_current_epoch():
    """Kafka 4.4 sends a pre-vote with its current epoch (``quorum.epoch()``) and checks that the last
    epoch is at most that; the core's pre-vote names the epoch it would stand in, one more."""
    key, version, req = _wire_request(VoteRequest(2, 6, 5, 10, True))
    assert req.topics[0].partitions[0].replica_epoch == 5
    assert wire.decode_request(key, version, req, CLUSTER) == (2, VoteRequest(2, 6, 5, 10, True))
    key, version, req = _wire_request(VoteRequest(2, 6, 5, 10, False))
    assert req.topics[0].partitions[0].replica_epoch == 6
    # a pre-vote whose last epoch equals its epoch is fine (above); one past it is refused
    key, version, body = wire.request_for(VoteRequest(2, 6, 5, 10, True), CLUSTER)
    body["topics"][0]["partitions"][0]["last_offset_epoch"] = 6
    req = decode_request(key, version, encode_request_body(key, version, body), 0)
    assert wire.decode_request(key, version, req, CLUSTER) == wire.RequestError(wire.INVALID_REQUEST, False)


@given(error=st.sampled_from([NONE, FENCED_LEADER_EPOCH, 75]), leader=st.integers(-1, 2**31 - 1), epoch=INT32)
@pytest.mark.parametrize("pre_vote", [False, True])
def test_vote_response_round_trip(pre_vote, error, leader, epoch):
    request = VoteRequest(1, 5, 4, 10, pre_vote)
    for granted in (False, True):
        answer = VoteResponse(error, leader, epoch, granted, pre_vote)
        assert _round_trip_response(request, answer) == answer


@given(leader=NODE, epoch=INT32, dest=NODE)
def test_begin_quorum_epoch_round_trip(leader, epoch, dest):
    msg = BeginQuorumEpoch(leader, epoch)
    assert _round_trip_request(msg, dest=dest) == (leader, msg)
    answer = BeginQuorumEpochResponse(NONE, leader, epoch)
    assert _round_trip_response(msg, answer) == answer


@given(leader=NODE, epoch=INT32, successors=st.lists(NODE, max_size=5).map(tuple))
def test_end_quorum_epoch_round_trip(leader, epoch, successors):
    msg = EndQuorumEpoch(leader, epoch, successors)
    assert _round_trip_request(msg) == (leader, msg)
    # the core answers nothing: the response is NONE, echoing the request's leader and epoch
    key, version, req = _wire_request(msg)
    body = wire.response_for(key, version, None, CLUSTER, request=req)
    resp = _wire_response(key, version, body)
    p = resp.topics[0].partitions[0]
    assert (int(p.error_code), p.leader_id, p.leader_epoch) == (NONE, leader, epoch)
    assert wire.decode_response(key, version, resp, request=msg) is None


def test_end_quorum_epoch_v0_preferred_successors():
    """v0 names successors as plain ids (``preferred_successors``), v1 as ``preferred_candidates``."""
    body = {
        "cluster_id": CLUSTER,
        "topics": [
            {
                "topic_name": "__cluster_metadata",
                "partitions": [
                    {"partition_index": 0, "leader_id": 3, "leader_epoch": 9, "preferred_successors": [2, 1]}
                ],
            }
        ],
    }
    req = decode_request(54, 0, encode_request_body(54, 0, body), 0)
    assert wire.decode_request(54, 0, req, CLUSTER) == (3, EndQuorumEpoch(3, 9, (2, 1)))


@given(replica=st.integers(-1, 2**31 - 1), epoch=EPOCH, offset=OFFSET, data=st.data())
def test_fetch_request_round_trip(replica, epoch, offset, data):
    msg = FetchRequest(replica, epoch, offset, data.draw(st.integers(0, epoch)))
    assert _round_trip_request(msg) == (replica, msg)


@pytest.mark.parametrize("version", [4, 8, 9, 12, 13, 14, 15, 17, 18])
def test_fetch_request_older_versions(version):
    """Kafka's controller listener serves Fetch 4-18: the fetcher is ``replica_id`` before v15 and
    ``replica_state.replica_id`` from v15; the topic is named before v13 and by id from v13. Before v12
    there is no last fetched epoch (before v9 no leader epoch either): INVALID_REQUEST, as on Kafka."""
    body = {
        "cluster_id": CLUSTER,
        "replica_id": 4,
        "replica_state": {"replica_id": 4, "replica_epoch": -1},
        "max_wait": 500,
        "min_bytes": 0,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "topics": [
            {
                "topic": "__cluster_metadata",
                "topic_id": wire.METADATA_TOPIC_ID,
                "partitions": [
                    {"partition": 0, "current_leader_epoch": 3, "fetch_offset": 10, "last_fetched_epoch": 2}
                ],
            }
        ],
        "forgotten_topics_data": [],
        "rack_id": "",
    }
    req = decode_request(1, version, encode_request_body(1, version, body), 0)
    expected = (4, FetchRequest(4, 3, 10, 2)) if version >= 12 else wire.RequestError(wire.INVALID_REQUEST, False)
    assert wire.decode_request(1, version, req, CLUSTER) == expected


ENTRY = st.builds(Entry, st.integers(0, 1000), st.binary(max_size=40).map(lambda b: b"\x01" + b))


@given(
    entries=st.lists(ENTRY, max_size=8).map(tuple),
    fetch_offset=st.integers(0, 2**40),
    hw=st.integers(-1, 2**40),
    leader=st.integers(-1, 100),
    epoch=st.integers(0, 1000),
)
def test_fetch_response_round_trip_with_entries(entries, fetch_offset, hw, leader, epoch):
    request = FetchRequest(2, epoch, fetch_offset, 0, correlation_id=17)
    answer = FetchResponse(NONE, leader, epoch, hw, entries, fetch_offset, None, 17)
    assert _round_trip_response(request, answer) == answer


def test_fetch_response_carries_control_entries_as_control_batches():
    """A new leader's LeaderChangeMessage goes as a control batch and comes back as the same entry."""
    entries = (Entry(4, leader_change_entry(1, [1, 2, 3], [1, 2])), Entry(4, b"\x01rec"), Entry(5, b"\x01next"))
    request = FetchRequest(2, 5, 100, 3, correlation_id=1)
    answer = FetchResponse(NONE, 1, 5, 102, entries, 100, None, 1)
    assert _round_trip_response(request, answer) == answer


@pytest.mark.parametrize(
    "diverging, snapshot_id",
    [((3, 40), None), ((0, 0), None), (None, (500, 7)), (None, (0, 0))],
)
def test_fetch_response_diverging_epoch_and_snapshot_id(diverging, snapshot_id):
    request = FetchRequest(2, 7, 60, 4, correlation_id=5)
    answer = FetchResponse(NONE, 1, 7, 55, (), 60, diverging, 5, snapshot_id)
    assert _round_trip_response(request, answer) == answer


@pytest.mark.parametrize("error", [FENCED_LEADER_EPOCH, 75, 6])
def test_fetch_response_errors(error):
    request = FetchRequest(2, 3, 0, 0, correlation_id=9)
    answer = FetchResponse(error, 1, 4, -1, (), 0, None, 9)
    assert _round_trip_response(request, answer) == answer


def test_fetch_response_trims_a_batch_that_starts_before_the_fetch_offset():
    """A Kafka leader reads whole batches, so the first may start below the fetch offset."""
    records = entries_to_batches([Entry(2, b"\x01a"), Entry(2, b"\x01b"), Entry(2, b"\x01c")], 10, 0)
    body = wire.response_for(1, 18, FetchResponse(NONE, 1, 2, 13, (), 11), CLUSTER)
    body["responses"][0]["partitions"][0]["records"] = records
    resp = _wire_response(1, 18, body)
    got = wire.decode_response(1, 18, resp, request=FetchRequest(3, 2, 11, 2))
    assert got.entries == (Entry(2, b"\x01b"), Entry(2, b"\x01c"))
    with pytest.raises(wire.RaftWireError, match="offset 10 where 9 was due"):
        wire.decode_response(1, 18, resp, request=FetchRequest(3, 2, 9, 2))


@given(replica=st.integers(-1, 2**31 - 1), epoch=INT32, end=OFFSET, snap_epoch=INT32)
def test_fetch_snapshot_request_round_trip(replica, epoch, end, snap_epoch):
    msg = FetchSnapshotRequest(replica, epoch, (end, snap_epoch))
    assert _round_trip_request(msg) == (replica, msg)


@given(data=st.binary(max_size=3000), end=OFFSET, epoch=st.integers(0, 2**31 - 1))
def test_fetch_snapshot_response_round_trip(data, end, epoch):
    request = FetchSnapshotRequest(2, 3, (end, epoch), correlation_id=4)
    if not data:
        # an empty snapshot has no position 0 to read from (Kafka: POSITION_OUT_OF_RANGE)
        got = _round_trip_response(request, FetchSnapshotResponse(NONE, 1, 3, (end, epoch, data), 4))
        assert got == FetchSnapshotResponse(99, 1, 3, None, 4)
        return
    answer = FetchSnapshotResponse(NONE, 1, 3, (end, epoch, data), 4)
    assert _round_trip_response(request, answer) == answer


def test_fetch_snapshot_response_is_sliced_by_position_and_max_bytes():
    data = bytes(range(256)) * 4
    key, version, body = wire.request_for(FetchSnapshotRequest(2, 3, (100, 2)), CLUSTER)
    part = body["topics"][0]["partitions"][0]

    def answer(position, max_bytes):
        part["position"], body["max_bytes"] = position, max_bytes
        req = decode_request(key, version, encode_request_body(key, version, body), 0)
        out = wire.response_for(key, version, FetchSnapshotResponse(NONE, 1, 3, (100, 2, data)), CLUSTER, request=req)
        p = _wire_response(key, version, out).topics[0].partitions[0]
        return int(p.error_code), int(p.size), int(p.position), bytes(p.unaligned_records)

    assert answer(0, 100) == (NONE, 1024, 0, data[:100])
    assert answer(1000, 100) == (NONE, 1024, 1000, data[1000:])
    assert answer(1024, 100)[0] == 99  # POSITION_OUT_OF_RANGE, as Kafka
    assert answer(-1, 100)[0] == 99
    # a chunk is refused by the core's side: Kavka takes a snapshot in one piece
    part["position"], body["max_bytes"] = 0, 100
    req = decode_request(key, version, encode_request_body(key, version, body), 0)
    out = wire.response_for(key, version, FetchSnapshotResponse(NONE, 1, 3, (100, 2, data)), CLUSTER, request=req)
    with pytest.raises(wire.RaftWireError, match="bytes 0..100 of 1024"):
        wire.decode_response(key, version, _wire_response(key, version, out))


def test_fetch_snapshot_errors_carry_empty_records():
    got = _round_trip_response(
        FetchSnapshotRequest(2, 3, (9, 1)), FetchSnapshotResponse(SNAPSHOT_NOT_FOUND, 1, 3, None)
    )
    assert got == FetchSnapshotResponse(SNAPSHOT_NOT_FOUND, 1, 3, None)


# -- refusals, as Kafka's Raft client refuses ----------------------------------------------------------

REQUESTS = [
    VoteRequest(2, 5, 4, 10, False),
    BeginQuorumEpoch(2, 5),
    EndQuorumEpoch(2, 5, (3,)),
    FetchRequest(2, 5, 10, 4),
    FetchSnapshotRequest(2, 5, (10, 4)),
]


@pytest.mark.parametrize("msg", REQUESTS, ids=lambda m: type(m).__name__)
def test_another_cluster_is_inconsistent_cluster_id_and_null_is_accepted(msg):
    key, version, req = _wire_request(msg, cluster="AnotherClusterIdAAAAAA")
    refused = wire.decode_request(key, version, req, CLUSTER)
    assert refused == wire.RequestError(wire.INCONSISTENT_CLUSTER_ID, True)
    resp = _wire_response(key, version, wire.error_response(key, version, refused))
    with pytest.raises(wire.RaftWireError) as e:
        wire.decode_response(key, version, resp, request=msg)
    assert e.value.code == 104
    key, version, req = _wire_request(msg, cluster=None)
    assert wire.decode_request(key, version, req, CLUSTER) == (2, msg)


def test_another_partition_is_invalid_request_at_the_top_level():
    key, version, body = wire.request_for(VoteRequest(2, 5, 4, 10, False), CLUSTER)
    body["topics"][0]["topic_name"] = "other"
    req = decode_request(key, version, encode_request_body(key, version, body), 0)
    assert wire.decode_request(key, version, req, CLUSTER) == wire.RequestError(wire.INVALID_REQUEST, True)
    key, version, body = wire.request_for(FetchRequest(2, 5, 10, 4), CLUSTER)
    body["topics"][0]["partitions"][0]["partition"] = 1
    req = decode_request(key, version, encode_request_body(key, version, body), 0)
    assert wire.decode_request(key, version, req, CLUSTER) == wire.RequestError(wire.INVALID_REQUEST, True)
    key, version, body = wire.request_for(FetchSnapshotRequest(2, 5, (10, 4)), CLUSTER)
    body["topics"][0]["name"] = "other"
    req = decode_request(key, version, encode_request_body(key, version, body), 0)
    assert wire.decode_request(key, version, req, CLUSTER) == wire.RequestError(wire.UNKNOWN_TOPIC_OR_PARTITION, False)


@pytest.mark.parametrize(
    "msg",
    [
        VoteRequest(2, 5, 5, 10, False),  # last epoch not below the candidate's
        VoteRequest(2, 5, -1, 10, False),
        VoteRequest(2, 5, 4, -1, True),
        VoteRequest(-1, 5, 4, 10, False),
        BeginQuorumEpoch(-1, 5),
        EndQuorumEpoch(-1, 5, ()),
        FetchRequest(2, 5, -1, 4),
        FetchRequest(2, 5, 10, 6),  # last fetched epoch past the current one
        FetchRequest(2, 5, 10, -1),
    ],
)
def test_impossible_epochs_and_offsets_are_invalid_request(msg):
    key, version, req = _wire_request(msg)
    refused = wire.decode_request(key, version, req, CLUSTER)
    assert refused == wire.RequestError(wire.INVALID_REQUEST, False)
    resp = _wire_response(key, version, wire.error_response(key, version, refused))
    if isinstance(msg, EndQuorumEpoch):  # the core has no message for EndQuorumEpoch's answer
        assert int(resp.topics[0].partitions[0].error_code) == wire.INVALID_REQUEST
        assert wire.decode_response(key, version, resp, request=msg) is None
    else:
        assert wire.decode_response(key, version, resp, request=msg).error == wire.INVALID_REQUEST


@pytest.mark.parametrize(
    "msg", [VoteRequest(2, 5, 4, 10, True), BeginQuorumEpoch(2, 5)], ids=lambda m: type(m).__name__
)
def test_a_request_for_another_voter_is_invalid_voter_key(msg):
    key, version, req = _wire_request(msg, dest=3)
    assert wire.decode_request(key, version, req, CLUSTER, local_id=3) == (2, msg)
    assert wire.decode_request(key, version, req, CLUSTER, local_id=4) == wire.RequestError(
        wire.INVALID_VOTER_KEY, False
    )
    key, version, req = _wire_request(msg, dest=-1)  # no voter named: accepted by any node
    assert wire.decode_request(key, version, req, CLUSTER, local_id=4) == (2, msg)
