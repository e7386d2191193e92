"""The ``quorum-state`` file of a KRaft node (in the metadata log's directory), in Kafka's format.

Kafka's ``FileQuorumStateStore`` writes ``QuorumStateData`` as one JSON object with a ``data_version``;
version 1 (KIP-853, what Kafka 4 writes and what this module writes)::

    {"leaderId":1,"leaderEpoch":3,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}

Version 0 (Kafka 3.x) also had ``clusterId``, ``appliedOffset`` and ``currentVoters``; both are read.
The file is replaced atomically (tmp + fsync + rename): a crash leaves the old state or the new one.
A missing file is no state (a new node); a file that does not parse raises ``QuorumStateError``, since
starting without its vote could let the node vote twice in one epoch.
"""

from __future__ import annotations

import json

from kavka.storage.fs import FileSystem

__all__ = ["QUORUM_STATE", "QuorumStateError", "FileQuorumStateStore", "NO_DIRECTORY_ID"]

QUORUM_STATE = "quorum-state"
NO_DIRECTORY_ID = "AAAAAAAAAAAAAAAAAAAAAA"  # Kafka's Uuid.ZERO_UUID as a string


class QuorumStateError(ValueError):
    pass


class FileQuorumStateStore:
    """``read()`` -> (epoch, leader id, voted id) or None; ``write(epoch, leader_id, voted_id)``."""

    def __init__(self, fs: FileSystem, dir_path: str) -> None:
        self.fs = fs
        self.path = f"{dir_path}/{QUORUM_STATE}"

    def read(self) -> tuple[int, int, int] | None:
        if not self.fs.exists(self.path):
            return None
        raw = self.fs.read_bytes(self.path)
        try:
            data = json.loads(raw.decode())
            version = data["data_version"]
            if version not in (0, 1):
                raise QuorumStateError(f"{self.path}: data_version {version} is not 0 or 1")
            epoch, leader, voted = int(data["leaderEpoch"]), int(data["leaderId"]), int(data["votedId"])
        except QuorumStateError:
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise QuorumStateError(f"{self.path} is not a quorum state file: {e}") from None
        return max(epoch, 0), leader, voted

    def write(self, epoch: int, leader_id: int, voted_id: int) -> None:
        body = {
            "leaderId": leader_id,
            "leaderEpoch": epoch,
            "votedId": voted_id,
            "votedDirectoryId": NO_DIRECTORY_ID,
            "data_version": 1,
        }
        self.fs.write_atomic(self.path, json.dumps(body, separators=(",", ":")).encode())
