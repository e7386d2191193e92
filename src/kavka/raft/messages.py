"""The messages KRaft voters exchange (KIP-595, KIP-996), as plain values for the Raft core.

Each class mirrors the fields of Kafka's request or response of the same name (VoteRequest,
BeginQuorumEpochRequest, EndQuorumEpochRequest, FetchRequest on ``__cluster_metadata``) that the
quorum logic reads; the server shell translates them to and from Kafka's wire schemas, so the core
never sees bytes on a socket. Error codes are Kafka's numbers.

An ``Entry`` is one record batch of the metadata log as the core sees it: the leader epoch it was
written in and its opaque payload. Offsets count entries.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "NONE",
    "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH",
    "NOT_LEADER_OR_FOLLOWER",
    "INCONSISTENT_VOTER_SET",
    "SNAPSHOT_NOT_FOUND",
    "FetchSnapshotRequest",
    "FetchSnapshotResponse",
    "Entry",
    "VoteRequest",
    "VoteResponse",
    "BeginQuorumEpoch",
    "BeginQuorumEpochResponse",
    "EndQuorumEpoch",
    "FetchRequest",
    "FetchResponse",
    "Message",
]

NONE = 0
NOT_LEADER_OR_FOLLOWER = 6
FENCED_LEADER_EPOCH = 74
UNKNOWN_LEADER_EPOCH = 75
INCONSISTENT_VOTER_SET = 94
SNAPSHOT_NOT_FOUND = 98


@dataclass(frozen=True, slots=True)
class Entry:
    epoch: int
    data: bytes


@dataclass(frozen=True, slots=True)
class VoteRequest:
    """A (pre-)vote request: ``candidate_epoch`` is the epoch the candidate stands in (for a pre-vote,
    the epoch it would stand in: its current epoch plus one)."""

    candidate_id: int
    candidate_epoch: int
    last_offset_epoch: int
    last_offset: int  # the candidate's log end offset
    pre_vote: bool


@dataclass(frozen=True, slots=True)
class VoteResponse:
    error: int
    leader_id: int  # -1 when unknown
    leader_epoch: int
    vote_granted: bool
    pre_vote: bool


@dataclass(frozen=True, slots=True)
class BeginQuorumEpoch:
    leader_id: int
    leader_epoch: int


@dataclass(frozen=True, slots=True)
class BeginQuorumEpochResponse:
    error: int
    leader_id: int
    leader_epoch: int


@dataclass(frozen=True, slots=True)
class EndQuorumEpoch:
    """Sent by a leader that resigns; ``preferred_successors`` lists voters, most caught up first."""

    leader_id: int
    leader_epoch: int
    preferred_successors: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FetchRequest:
    replica_id: int
    epoch: int  # the fetcher's current leader epoch
    fetch_offset: int  # the fetcher's log end offset
    last_fetched_epoch: int  # epoch of the entry before fetch_offset (0 when empty)
    correlation_id: int = 0  # echoed in the response; a follower acts only on its latest fetch
    # the fetcher's high watermark (KIP-1166), -1 when unknown: a leader answers at once, rather than
    # holding the fetch, when the fetcher's is behind its own
    high_watermark: int = -1


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """``diverging`` is (epoch, end_offset) when the fetcher's log diverged from the leader's (KIP-320):
    the fetcher truncates to at most end_offset and fetches again. ``snapshot_id`` is (end_offset,
    epoch) when what the fetcher needs is only in the leader's snapshot (KIP-630): it fetches that
    snapshot. ``entries`` start at the request's fetch_offset."""

    error: int
    leader_id: int
    leader_epoch: int
    high_watermark: int
    entries: tuple[Entry, ...]
    fetch_offset: int
    diverging: tuple[int, int] | None = None
    correlation_id: int = 0
    snapshot_id: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class FetchSnapshotRequest:
    replica_id: int
    epoch: int
    snapshot_id: tuple[int, int]  # (end offset, epoch)
    correlation_id: int = 0


@dataclass(frozen=True, slots=True)
class FetchSnapshotResponse:
    """The whole snapshot in one answer (Kafka sends it in chunks by position; the shell does that)."""

    error: int
    leader_id: int
    leader_epoch: int
    snapshot: tuple[int, int, bytes] | None
    correlation_id: int = 0


Message = (
    VoteRequest
    | VoteResponse
    | BeginQuorumEpoch
    | BeginQuorumEpochResponse
    | EndQuorumEpoch
    | FetchRequest
    | FetchResponse
    | FetchSnapshotRequest
    | FetchSnapshotResponse
)
