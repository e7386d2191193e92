"""The Raft core's messages (``kavka.raft.messages``) on Kafka's wire, both ways, with no I/O.

KRaft nodes talk with five of Kafka's APIs, every one about the single partition
``__cluster_metadata-0`` (topic id ``AAAAAAAAAAAAAAAAAAAAAQ``, Kafka's fixed metadata topic id). The
versions a Kavka node sends are those Kafka 4.4 sends to its own nodes (the newest each side serves):

    Vote 52 v2              VoteRequest <-> PartitionData(replica_epoch = candidate epoch, replica_id =
                            candidate, last_offset_epoch, last_offset, pre_vote); request.voter_id = the
                            receiver. A pre-vote's replica_epoch is the sender's current epoch, as
                            Kafka 4.4 sends it (KIP-996); the core's is the epoch it would stand in,
                            one more. VoteResponse <-> (error, leader_id, leader_epoch, vote_granted);
                            the response has no pre-vote flag: it is the request's.
    BeginQuorumEpoch 53 v1  (leader_id, leader_epoch); request.voter_id = the receiver, and the
                            leader's endpoints. Response: (error, leader_id, leader_epoch).
    EndQuorumEpoch 54 v1    (leader_id, leader_epoch, preferred_candidates); v0 preferred_successors.
                            The core answers nothing: the response is NONE, echoing the request's
                            leader and epoch.
    Fetch 1 v18             replica_state.replica_id (v15+; replica_id before) = the fetcher;
                            partition (current_leader_epoch, fetch_offset, last_fetched_epoch).
                            Response partition: error, high_watermark, current_leader (leader_id,
                            leader_epoch), diverging_epoch (epoch, end_offset), snapshot_id
                            (end_offset, epoch), records: the entries as v2 batches
                            (``raft.entries``), from fetch_offset on.
    FetchSnapshot 59 v1     (replica_id, current_leader_epoch, snapshot_id). The core answers with the
                            whole snapshot; the response carries ``[position, position + max_bytes)``
                            of it with its full ``size``, as Kafka slices it. Kavka asks with
                            max_bytes 2^31-1 from position 0, so a Kavka leader answers in one piece;
                            a partial answer (a leader that caps it) is refused by ``decode_response``.

Every request carries the cluster id; a request naming another cluster is refused with
INCONSISTENT_CLUSTER_ID (104) at the top level, as Kafka does (a null cluster id is not checked). A
request not about ``__cluster_metadata-0`` exactly is refused with INVALID_REQUEST at the top level.
The checks Kafka makes before its Raft client sees a request (epochs and offsets that cannot be valid,
a request meant for another voter: INVALID_VOTER_KEY) answer at the partition level.

Functions:

- ``request_for(msg, cluster_id, dest=...)`` -> (api_key, version, body dict) for a peer client;
- ``decode_request(api_key, version, req, cluster_id, local_id=...)`` -> (sender id, message) or a
  ``RequestError`` (code, top level or not);
- ``response_for(api_key, version, answer, cluster_id, request=...)`` -> body dict (encode with
  ``kavka.protocol.api.encode_response``);
- ``error_response(api_key, version, error)`` -> body dict for a ``RequestError``;
- ``decode_response(api_key, version, resp, request=...)`` -> message (None for EndQuorumEpoch);
  a top-level error raises ``RaftWireError`` (it names the API and the error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kavka.metadata.ids import ONE_UUID
from kavka.metadata.internal_topics import METADATA_TOPIC
from kavka.protocol.api import ApiKey
from kavka.raft.entries import batches_to_entries, entries_to_batches
from kavka.raft.messages import (
    NONE,
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    EndQuorumEpoch,
    Entry,
    FetchRequest,
    FetchResponse,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
    Message,
    VoteRequest,
    VoteResponse,
)

__all__ = [
    "METADATA_TOPIC_ID",
    "RAFT_APIS",
    "SEND_VERSIONS",
    "FETCH_MAX_BYTES",
    "INCONSISTENT_CLUSTER_ID",
    "INVALID_REQUEST",
    "INVALID_VOTER_KEY",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "RequestError",
    "RaftWireError",
    "request_for",
    "decode_request",
    "response_for",
    "error_response",
    "decode_response",
]

METADATA_TOPIC_ID = ONE_UUID
PARTITION = 0

UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REQUEST = 42
INCONSISTENT_CLUSTER_ID = 104
INVALID_VOTER_KEY = 125
_POSITION_OUT_OF_RANGE = 99

# What a Kavka node sends (Kafka 4.4 between its own nodes: the newest versions both sides serve).
SEND_VERSIONS = {
    ApiKey.FETCH: 18,
    52: 2,  # Vote
    53: 1,  # BeginQuorumEpoch
    54: 1,  # EndQuorumEpoch
    59: 1,  # FetchSnapshot
}
VOTE, BEGIN_QUORUM_EPOCH, END_QUORUM_EPOCH, FETCH_SNAPSHOT = 52, 53, 54, 59
RAFT_APIS = frozenset({int(ApiKey.FETCH), VOTE, BEGIN_QUORUM_EPOCH, END_QUORUM_EPOCH, FETCH_SNAPSHOT})

FETCH_MAX_BYTES = 8 * 1024 * 1024  # Kafka's KafkaRaftClient.MAX_FETCH_SIZE_BYTES
FETCH_MAX_WAIT_MS = 500  # Kafka's KafkaRaftClient.MAX_FETCH_WAIT_MS
_ALL = 0x7FFFFFFF
_FIRST_TOPIC_ID_FETCH = 13
_FIRST_REPLICA_STATE_FETCH = 15
_NAMES = {
    int(ApiKey.FETCH): "Fetch",
    VOTE: "Vote",
    BEGIN_QUORUM_EPOCH: "BeginQuorumEpoch",
    END_QUORUM_EPOCH: "EndQuorumEpoch",
    FETCH_SNAPSHOT: "FetchSnapshot",
}


@dataclass(frozen=True, slots=True)
class RequestError:
    """A request refused before the core sees it: Kafka's error ``code``, answered at the top level
    of the response (``top_level``) or in its one partition."""

    code: int
    top_level: bool


class RaftWireError(Exception):
    """A response the core cannot take: a top-level error (``code``) or a malformed answer."""

    def __init__(self, message: str, code: int = -1) -> None:
        super().__init__(message)
        self.code = code


def _code(value: Any) -> int:
    return int(getattr(value, "value", value))


_UNKNOWN_HW = (1 << 63) - 1  # FetchRequest v18's high_watermark default: the fetcher does not say


# -- requests ---------------------------------------------------------------------------------------


def request_for(
    msg: Message,
    cluster_id: str | None,
    *,
    dest: int = -1,
    leader_endpoints: Sequence[tuple[str, str, int]] = (),
    max_wait_ms: int = FETCH_MAX_WAIT_MS,
) -> tuple[int, int, dict[str, Any]]:
    """(api key, version, request body) for a request message of the core. ``dest`` is the node it
    goes to (Vote and BeginQuorumEpoch name it as ``voter_id``; -1 names none, which Kafka accepts);
    ``leader_endpoints`` are (listener name, host, port) of a leader's BeginQuorumEpoch /
    EndQuorumEpoch; ``max_wait_ms`` is how long a leader may hold a Fetch with nothing new."""
    topic = METADATA_TOPIC
    part: dict[str, Any]
    body: dict[str, Any]
    endpoints: list[dict[str, Any]] = [{"name": n, "host": h, "port": p} for n, h, p in leader_endpoints]
    if isinstance(msg, VoteRequest):
        part = {
            "partition_index": PARTITION,
            # Kafka's pre-vote carries the sender's current epoch; the core's names the one it would stand in
            "replica_epoch": msg.candidate_epoch - 1 if msg.pre_vote else msg.candidate_epoch,
            "replica_id": msg.candidate_id,
            "replica_directory_id": None,
            "voter_directory_id": None,
            "last_offset_epoch": msg.last_offset_epoch,
            "last_offset": msg.last_offset,
            "pre_vote": msg.pre_vote,
        }
        body = {"cluster_id": cluster_id, "voter_id": dest, "topics": [{"topic_name": topic, "partitions": [part]}]}
        return VOTE, SEND_VERSIONS[VOTE], body
    if isinstance(msg, BeginQuorumEpoch):
        part = {
            "partition_index": PARTITION,
            "voter_directory_id": None,
            "leader_id": msg.leader_id,
            "leader_epoch": msg.leader_epoch,
        }
        body = {
            "cluster_id": cluster_id,
            "voter_id": dest,
            "topics": [{"topic_name": topic, "partitions": [part]}],
            "leader_endpoints": endpoints,
        }
        return BEGIN_QUORUM_EPOCH, SEND_VERSIONS[BEGIN_QUORUM_EPOCH], body
    if isinstance(msg, EndQuorumEpoch):
        part = {
            "partition_index": PARTITION,
            "leader_id": msg.leader_id,
            "leader_epoch": msg.leader_epoch,
            "preferred_candidates": [
                {"candidate_id": c, "candidate_directory_id": None} for c in msg.preferred_successors
            ],
        }
        body = {
            "cluster_id": cluster_id,
            "topics": [{"topic_name": topic, "partitions": [part]}],
            "leader_endpoints": endpoints,
        }
        return END_QUORUM_EPOCH, SEND_VERSIONS[END_QUORUM_EPOCH], body
    if isinstance(msg, FetchRequest):
        part = {
            "partition": PARTITION,
            "current_leader_epoch": msg.epoch,
            "fetch_offset": msg.fetch_offset,
            "last_fetched_epoch": msg.last_fetched_epoch,
            "log_start_offset": -1,
            "partition_max_bytes": 0,  # Kafka's Raft client leaves it 0; its leader reads up to max_bytes
            "replica_directory_id": None,
            # KIP-1166: the fetcher's high watermark, or the schema's "unknown" (Long.MAX_VALUE)
            "high_watermark": msg.high_watermark if msg.high_watermark >= 0 else _UNKNOWN_HW,
        }
        body = {
            "cluster_id": cluster_id,
            "replica_state": {"replica_id": msg.replica_id, "replica_epoch": -1},
            "max_wait": max_wait_ms,
            "min_bytes": 0,
            "max_bytes": FETCH_MAX_BYTES,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [{"topic": topic, "topic_id": METADATA_TOPIC_ID, "partitions": [part]}],
            "forgotten_topics_data": [],
            "rack_id": "",
        }
        return int(ApiKey.FETCH), SEND_VERSIONS[ApiKey.FETCH], body
    if isinstance(msg, FetchSnapshotRequest):
        end, epoch = msg.snapshot_id
        part = {
            "partition": PARTITION,
            "current_leader_epoch": msg.epoch,
            "snapshot_id": {"end_offset": end, "epoch": epoch},
            "position": 0,
            "replica_directory_id": None,
        }
        body = {
            "cluster_id": cluster_id,
            "replica_id": msg.replica_id,
            "max_bytes": _ALL,
            "topics": [{"name": topic, "partitions": [part]}],
        }
        return FETCH_SNAPSHOT, SEND_VERSIONS[FETCH_SNAPSHOT], body
    raise TypeError(f"{type(msg).__name__} is not a request")


def _single(topics: Any, name_of: str, parts_of: str = "partitions") -> tuple[Any, Any] | None:
    """(topic, partition) of a request naming exactly one topic with one partition, else None."""
    if topics is None or len(topics) != 1:
        return None
    parts = getattr(topics[0], parts_of)
    if parts is None or len(parts) != 1:
        return None
    return topics[0], parts[0]


def _cluster_ok(req: Any, cluster_id: str | None) -> bool:
    asked = getattr(req, "cluster_id", None)
    return asked is None or asked == cluster_id


def decode_request(
    api_key: int, version: int, req: Any, cluster_id: str | None, *, local_id: int | None = None
) -> tuple[int, Message] | RequestError:
    """(sender id, core message) of a decoded request (kio's entity), or why it is refused.

    ``local_id`` is this node's id: a Vote or BeginQuorumEpoch whose ``voter_id`` names another node
    gets INVALID_VOTER_KEY, as on Kafka."""
    if not _cluster_ok(req, cluster_id):
        return RequestError(INCONSISTENT_CLUSTER_ID, True)
    if api_key == ApiKey.FETCH:
        return _decode_fetch(version, req)
    if api_key == FETCH_SNAPSHOT:
        return _decode_fetch_snapshot(req)
    found = _single(req.topics, "topic_name")
    if found is None or found[0].topic_name != METADATA_TOPIC or found[1].partition_index != PARTITION:
        return RequestError(INVALID_REQUEST, True)
    p = found[1]
    voter_id = int(getattr(req, "voter_id", -1))
    wrong_voter = local_id is not None and voter_id >= 0 and voter_id != local_id
    if api_key == VOTE:
        candidate, epoch = int(p.replica_id), int(p.replica_epoch)
        last_epoch, last_offset = int(p.last_offset_epoch), int(p.last_offset)
        pre_vote = bool(getattr(p, "pre_vote", False))
        # Kafka 4.4's check: a candidate's last epoch is below the epoch it stands in; a pre-vote's is
        # at most the sender's current epoch
        too_new = last_epoch > epoch if pre_vote else last_epoch >= epoch
        if last_offset < 0 or last_epoch < 0 or too_new or candidate < 0:
            return RequestError(INVALID_REQUEST, False)
        if wrong_voter:
            return RequestError(INVALID_VOTER_KEY, False)
        return candidate, VoteRequest(candidate, epoch + 1 if pre_vote else epoch, last_epoch, last_offset, pre_vote)
    if api_key == BEGIN_QUORUM_EPOCH:
        leader = int(p.leader_id)
        if leader < 0:
            return RequestError(INVALID_REQUEST, False)
        if wrong_voter:
            return RequestError(INVALID_VOTER_KEY, False)
        return leader, BeginQuorumEpoch(leader, int(p.leader_epoch))
    if api_key == END_QUORUM_EPOCH:
        leader = int(p.leader_id)
        if leader < 0:
            return RequestError(INVALID_REQUEST, False)
        if version >= 1:
            successors = tuple(int(c.candidate_id) for c in p.preferred_candidates)
        else:
            successors = tuple(int(c) for c in p.preferred_successors)
        return leader, EndQuorumEpoch(leader, int(p.leader_epoch), successors)
    raise ValueError(f"api key {api_key} is not one of KRaft's")


def _decode_fetch(version: int, req: Any) -> tuple[int, Message] | RequestError:
    found = _single(req.topics, "topic")
    if found is None:
        return RequestError(INVALID_REQUEST, True)
    topic, p = found
    if version >= _FIRST_TOPIC_ID_FETCH:
        ours = topic.topic_id == METADATA_TOPIC_ID
    else:
        ours = topic.topic == METADATA_TOPIC
    if not ours or p.partition != PARTITION:
        return RequestError(INVALID_REQUEST, True)
    if version >= _FIRST_REPLICA_STATE_FETCH:
        replica = int(req.replica_state.replica_id)
    else:
        replica = int(req.replica_id)
    # before v9 there is no current_leader_epoch and before v12 no last_fetched_epoch: -1, which Kafka
    # refuses as INVALID_REQUEST, as here
    epoch = int(getattr(p, "current_leader_epoch", -1))
    offset, last_epoch = int(p.fetch_offset), int(getattr(p, "last_fetched_epoch", -1))
    if req.max_wait.total_seconds() < 0 or offset < 0 or last_epoch < 0 or last_epoch > epoch:
        return RequestError(INVALID_REQUEST, False)
    hw = int(getattr(p, "high_watermark", _UNKNOWN_HW))
    return replica, FetchRequest(replica, epoch, offset, last_epoch, high_watermark=hw if 0 <= hw < _UNKNOWN_HW else -1)


def _decode_fetch_snapshot(req: Any) -> tuple[int, Message] | RequestError:
    found = _single(req.topics, "name")
    if found is None:
        return RequestError(INVALID_REQUEST, True)
    topic, p = found
    if topic.name != METADATA_TOPIC or p.partition != PARTITION:
        return RequestError(UNKNOWN_TOPIC_OR_PARTITION, False)
    replica = int(req.replica_id)
    snapshot_id = (int(p.snapshot_id.end_offset), int(p.snapshot_id.epoch))
    return replica, FetchSnapshotRequest(replica, int(p.current_leader_epoch), snapshot_id)


# -- responses --------------------------------------------------------------------------------------


def _quorum_body(error: int, leader_id: int, leader_epoch: int, **extra: Any) -> dict[str, Any]:
    part: dict[str, Any] = {
        "partition_index": PARTITION,
        "error_code": error,
        "leader_id": leader_id,
        "leader_epoch": leader_epoch,
        **extra,
    }
    return {"error_code": NONE, "topics": [{"topic_name": METADATA_TOPIC, "partitions": [part]}]}


def _fetch_body(
    error: int,
    leader: tuple[int, int],
    high_watermark: int,
    records: bytes,
    *,
    log_start_offset: int,
    diverging: tuple[int, int] | None = None,
    snapshot_id: tuple[int, int] | None = None,
) -> dict[str, Any]:
    part: dict[str, Any] = {
        "partition_index": PARTITION,
        "error_code": error,
        "high_watermark": high_watermark,
        "last_stable_offset": -1,
        "log_start_offset": log_start_offset,
        "current_leader": {"leader_id": leader[0], "leader_epoch": leader[1]},
        "aborted_transactions": [],
        "preferred_read_replica": -1,
        "records": records,
    }
    if diverging is not None:
        part["diverging_epoch"] = {"epoch": diverging[0], "end_offset": diverging[1]}
    if snapshot_id is not None:
        part["snapshot_id"] = {"end_offset": snapshot_id[0], "epoch": snapshot_id[1]}
    topic: dict[str, Any] = {"topic": METADATA_TOPIC, "topic_id": METADATA_TOPIC_ID, "partitions": [part]}
    return {"throttle_time": 0, "error_code": NONE, "session_id": 0, "responses": [topic]}


def _snapshot_body(
    error: int,
    leader: tuple[int, int],
    snapshot_id: tuple[int, int],
    size: int,
    position: int,
    chunk: bytes,
) -> dict[str, Any]:
    part: dict[str, Any] = {
        "index": PARTITION,
        "error_code": error,
        "snapshot_id": {"end_offset": snapshot_id[0], "epoch": snapshot_id[1]},
        "current_leader": {"leader_id": leader[0], "leader_epoch": leader[1]},
        "size": size,
        "position": position,
        # empty, not null, on errors too: Kafka 4.4 leaves it null there and then fails to write its
        # own answer (UNKNOWN_SERVER_ERROR at the top level; docs/compatibility.md)
        "unaligned_records": chunk,
    }
    return {"throttle_time": 0, "error_code": NONE, "topics": [{"name": METADATA_TOPIC, "partitions": [part]}]}


def response_for(
    api_key: int,
    version: int,
    answer: Message | None,
    cluster_id: str | None,
    *,
    request: Any = None,
    timestamp_ms: int = 0,
    log_start_offset: int = -1,
    leader_endpoint: tuple[int, str, int] | None = None,
) -> dict[str, Any]:
    """The response body for the core's ``answer`` to a request (``request``: the decoded kio request
    it answers, needed for EndQuorumEpoch, whose answer is None, and for FetchSnapshot's position and
    max_bytes). A Vote the core leaves unanswered (from a node outside the voter set) is answered not
    granted, leader and epoch unknown; a Fetch it leaves unanswered, empty. ``timestamp_ms`` stamps
    the batches a Fetch answer carries (the core's entries hold no time); ``log_start_offset`` is the leader's, when the caller knows it (-1 otherwise);
    ``leader_endpoint`` is (node id, host, port) of a node's controller listener: when it is the leader
    the answer names, the answer carries it in ``node_endpoints`` (Vote, BeginQuorumEpoch,
    EndQuorumEpoch, FetchSnapshot v1+, Fetch v17+), as Kafka's do."""
    del cluster_id  # responses carry none; the parameter keeps the four functions alike
    body = _response_body(api_key, answer, request, timestamp_ms, log_start_offset)
    if leader_endpoint is not None and version >= (17 if api_key == ApiKey.FETCH else 1):
        node_id, host, port = leader_endpoint
        if answer is not None:
            leader = int(getattr(answer, "leader_id", -1))
        else:  # EndQuorumEpoch's answer names the request's leader; a Vote or Fetch left unanswered, none
            leader = int(request.topics[0].partitions[0].leader_id) if api_key == END_QUORUM_EPOCH else -1
        if leader == node_id:
            body["node_endpoints"] = [{"node_id": node_id, "host": host, "port": port}]
    return body


def _response_body(
    api_key: int, answer: Message | None, request: Any, timestamp_ms: int, log_start_offset: int
) -> dict[str, Any]:
    if answer is None and api_key == VOTE:
        # the core does not answer a vote from outside the voter set; Kafka answers it, not granted
        return _quorum_body(NONE, -1, -1, vote_granted=False)
    if answer is None and api_key == ApiKey.FETCH:
        return _fetch_body(NONE, (-1, -1), -1, b"", log_start_offset=log_start_offset)
    if api_key == VOTE and isinstance(answer, VoteResponse):
        return _quorum_body(answer.error, answer.leader_id, answer.leader_epoch, vote_granted=answer.vote_granted)
    if api_key == BEGIN_QUORUM_EPOCH and isinstance(answer, BeginQuorumEpochResponse):
        return _quorum_body(answer.error, answer.leader_id, answer.leader_epoch)
    if api_key == END_QUORUM_EPOCH and answer is None:
        if request is None:
            raise ValueError("an EndQuorumEpoch answer echoes its request: pass request=")
        p = request.topics[0].partitions[0]
        return _quorum_body(NONE, int(p.leader_id), int(p.leader_epoch))
    if api_key == ApiKey.FETCH and isinstance(answer, FetchResponse):
        records = entries_to_batches(answer.entries, answer.fetch_offset, timestamp_ms) if answer.entries else b""
        return _fetch_body(
            answer.error,
            (answer.leader_id, answer.leader_epoch),
            answer.high_watermark,
            records,
            log_start_offset=log_start_offset,
            diverging=answer.diverging,
            snapshot_id=answer.snapshot_id,
        )
    if api_key == FETCH_SNAPSHOT and isinstance(answer, FetchSnapshotResponse):
        leader = (answer.leader_id, answer.leader_epoch)
        if answer.snapshot is None:
            asked = (-1, -1)
            if request is not None:
                sid = request.topics[0].partitions[0].snapshot_id
                asked = (int(sid.end_offset), int(sid.epoch))
            return _snapshot_body(answer.error, leader, asked, 0, 0, b"")
        end, epoch, data = answer.snapshot
        position, max_bytes = 0, _ALL
        if request is not None:
            position = int(request.topics[0].partitions[0].position)
            max_bytes = int(request.max_bytes)
        if position < 0 or position >= len(data):
            return _snapshot_body(_POSITION_OUT_OF_RANGE, leader, (end, epoch), 0, 0, b"")
        chunk = data[position : position + max(0, max_bytes)]
        return _snapshot_body(answer.error, leader, (end, epoch), len(data), position, chunk)
    raise TypeError(f"{type(answer).__name__} does not answer api key {api_key}")


def error_response(api_key: int, version: int, error: RequestError) -> dict[str, Any]:
    """The body Kafka answers a refused request with: the code alone at the top level, or the one
    partition with the code (leader unknown: -1, -1)."""
    if error.top_level:
        if api_key == ApiKey.FETCH:
            return {"throttle_time": 0, "error_code": error.code, "session_id": 0, "responses": []}
        if api_key == FETCH_SNAPSHOT:
            return {"throttle_time": 0, "error_code": error.code, "topics": []}
        return {"error_code": error.code, "topics": []}
    if api_key == ApiKey.FETCH:
        return _fetch_body(error.code, (-1, -1), -1, b"", log_start_offset=-1)
    if api_key == FETCH_SNAPSHOT:
        return _snapshot_body(error.code, (-1, -1), (-1, -1), 0, 0, b"")
    extra = {"vote_granted": False} if api_key == VOTE else {}
    return _quorum_body(error.code, -1, -1, **extra)


def _top_level(api_key: int, resp: Any) -> None:
    code = _code(resp.error_code)
    if code != NONE:
        raise RaftWireError(f"{_NAMES.get(api_key, api_key)} answered with error {code} at the top level", code)


def decode_response(api_key: int, version: int, resp: Any, *, request: Message | None = None) -> Message | None:
    """The core's message for a decoded response (kio's entity). ``request`` is the message the
    response answers: it gives a VoteResponse its pre-vote flag and a Fetch / FetchSnapshot answer
    its fetch offset and the core's correlation id, which the wire does not carry.

    EndQuorumEpoch's answer is None (the core has no message for it). Raises RaftWireError for a
    top-level error and for an answer that does not fit the request."""
    _top_level(api_key, resp)
    if api_key in (VOTE, BEGIN_QUORUM_EPOCH, END_QUORUM_EPOCH):
        found = _single(resp.topics, "topic_name")
        if found is None:
            raise RaftWireError(f"{_NAMES[api_key]} answer without exactly one partition")
        p = found[1]
        error, leader, epoch = _code(p.error_code), int(p.leader_id), int(p.leader_epoch)
        if api_key == VOTE:
            pre_vote = request.pre_vote if isinstance(request, VoteRequest) else False
            return VoteResponse(error, leader, epoch, bool(p.vote_granted), pre_vote)
        if api_key == BEGIN_QUORUM_EPOCH:
            return BeginQuorumEpochResponse(error, leader, epoch)
        return None
    if api_key == ApiKey.FETCH:
        return _decode_fetch_response(resp, request)
    if api_key == FETCH_SNAPSHOT:
        return _decode_snapshot_response(resp, request)
    raise ValueError(f"api key {api_key} is not one of KRaft's")


def _decode_fetch_response(resp: Any, request: Message | None) -> FetchResponse:
    found = _single(resp.responses, "topic")
    if found is None:
        raise RaftWireError("Fetch answer without exactly one partition")
    p = found[1]
    fetch_offset = request.fetch_offset if isinstance(request, FetchRequest) else -1
    correlation = request.correlation_id if isinstance(request, FetchRequest) else 0
    entries: list[Entry] = []
    if p.records:
        found_entries = batches_to_entries(bytes(p.records))
        if fetch_offset < 0 and found_entries:
            fetch_offset = found_entries[0][0]
        expected = fetch_offset
        for offset, entry in found_entries:
            if offset < fetch_offset:
                continue  # a leader reads whole batches: the first may start before the fetch offset
            if offset != expected:
                raise RaftWireError(f"Fetch answer has offset {offset} where {expected} was due")
            entries.append(entry)
            expected += 1
    div = p.diverging_epoch
    diverging = (int(div.epoch), int(div.end_offset)) if int(div.epoch) >= 0 else None
    sid = p.snapshot_id
    snapshot_id = (int(sid.end_offset), int(sid.epoch)) if int(sid.epoch) >= 0 or int(sid.end_offset) >= 0 else None
    return FetchResponse(
        _code(p.error_code),
        int(p.current_leader.leader_id),
        int(p.current_leader.leader_epoch),
        int(p.high_watermark),
        tuple(entries),
        fetch_offset,
        diverging,
        correlation,
        snapshot_id,
    )


def _decode_snapshot_response(resp: Any, request: Message | None) -> FetchSnapshotResponse:
    found = _single(resp.topics, "name")
    if found is None:
        raise RaftWireError("FetchSnapshot answer without exactly one partition")
    p = found[1]
    correlation = request.correlation_id if isinstance(request, FetchSnapshotRequest) else 0
    error = _code(p.error_code)
    leader, epoch = int(p.current_leader.leader_id), int(p.current_leader.leader_epoch)
    if error != NONE:
        return FetchSnapshotResponse(error, leader, epoch, None, correlation)
    data = bytes(p.unaligned_records or b"")
    if int(p.position) != 0 or int(p.size) != len(data):
        raise RaftWireError(
            f"FetchSnapshot answer holds bytes {int(p.position)}..{int(p.position) + len(data)} of {int(p.size)}: "
            "Kavka takes a snapshot in one piece"
        )
    snapshot = (int(p.snapshot_id.end_offset), int(p.snapshot_id.epoch), data)
    return FetchSnapshotResponse(error, leader, epoch, snapshot, correlation)
