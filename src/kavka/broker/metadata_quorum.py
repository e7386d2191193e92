"""Opening a node's metadata quorum from its configuration (Kafka's KafkaRaftManager, for Kavka).

- ``controller.quorum.voters`` empty (``kavka serve`` with no cluster settings): a quorum of one, this
  node, with no network at all; it leads at once, and every append commits before it returns.
- ``controller.quorum.voters`` set (``1@host:port,2@host:port,...``): those voters, reached on their
  CONTROLLER listeners; a node among them votes and may lead (``process.roles`` has ``controller``),
  any other node (a broker) is an observer that follows the leader's log.

The log is ``__cluster_metadata-0`` in the metadata log dir, the vote and epoch are its
``quorum-state`` file (Kafka's format), and snapshots are ``.checkpoint`` files beside it. Timeouts
are Kafka's ``controller.quorum.*`` settings.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from kavka.metadata.config import BrokerConfig, ConfigError
from kavka.raft.disk_log import DiskReplicatedLog
from kavka.raft.node import RaftConfig, RaftNode
from kavka.raft.quorum import RaftMetadataQuorum
from kavka.raft.snapshots import SnapshotPolicy, image_from_snapshot, snapshot_bytes
from kavka.raft.states import StoredQuorumState
from kavka.storage.errors import KafkaStorageError
from kavka.storage.quorum_state import FileQuorumStateStore

__all__ = ["parse_voters", "open_metadata_quorum"]


def parse_voters(value: str | list[str]) -> dict[int, tuple[str, int]]:
    """``controller.quorum.voters`` as {node id: (host, port)}; ConfigError with Kafka's wording."""
    entries = value if isinstance(value, list) else value.split(",")
    voters: dict[int, tuple[str, int]] = {}
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        node, at, address = entry.partition("@")
        host, colon, port = address.rpartition(":")
        if not at or not colon or not node.strip().isdigit() or not port.isdigit() or not host:
            raise ConfigError(
                f"Failed to parse controller.quorum.voters entry {entry!r}: expected the form id@host:port",
                "controller.quorum.voters",
            )
        voters[int(node)] = (host.strip("[]"), int(port))
    return voters


class _FailureReporting:
    """The metadata log, with every write's I/O failure reported to ``on_failure`` before it is raised:
    the broker takes the dir offline, and since it holds the metadata log, halts (Kafka 4: "Shutdown
    broker because the metadata log dir ... has failed"), rather than go on with a log it cannot write."""

    _WRITES = frozenset(
        {
            "append_as_leader",
            "append_as_follower",
            "truncate_to",
            "flush",
            "take_snapshot",
            "install_snapshot",
            "delete_before",
        }
    )

    def __init__(self, log: DiskReplicatedLog, on_failure: Callable[[Exception], None]) -> None:
        self._log = log
        self._on_failure = on_failure

    def __getattr__(self, name: str):
        value = getattr(self._log, name)
        if name not in self._WRITES:
            return value

        def write(*args, **kwargs):
            try:
                return value(*args, **kwargs)
            except (OSError, KafkaStorageError) as e:
                self._on_failure(e)
                raise

        return write


def open_metadata_quorum(
    config: BrokerConfig,
    metadata_log,
    fs,
    clock_ms,
    cluster_id: str,
    on_failure: Callable[[Exception], None] = lambda e: None,
) -> RaftMetadataQuorum:
    voters = parse_voters(config["controller.quorum.voters"])
    node_id = config.node_id
    voter_ids = list(voters) if voters else [node_id]
    raft_config = RaftConfig(
        election_timeout=config["controller.quorum.election.timeout.ms"],
        fetch_timeout=config["controller.quorum.fetch.timeout.ms"],
        election_backoff_max=config["controller.quorum.election.backoff.max.ms"],
        request_timeout=config["controller.quorum.request.timeout.ms"],
    )
    log = _FailureReporting(DiskReplicatedLog(metadata_log, fs, clock_ms), on_failure)
    store = StoredQuorumState(FileQuorumStateStore(fs, metadata_log.dir))
    node = RaftNode(node_id, voter_ids, log, store, raft_config, random.Random(), clock_ms())
    policy = SnapshotPolicy.from_config(config, clock_ms())

    def writer(image, end_offset: int, epoch: int) -> bytes:
        now = clock_ms()
        return snapshot_bytes(image, end_offset=end_offset, epoch=epoch, last_timestamp=now, now_ms=now)

    return RaftMetadataQuorum(
        node,
        cluster_id,
        clock_ms,
        snapshot_reader=lambda data: image_from_snapshot(data, cluster_id),
        snapshot_writer=writer,
        snapshot_policy=policy,
    )
