"""The quorum-state file: Kafka's format both ways, atomic replacement, and a refusal of a damaged one."""

from __future__ import annotations

import json

import pytest

from kavka.raft.states import QuorumState, StoredQuorumState
from kavka.storage.fs import OsFileSystem
from kavka.storage.quorum_state import FileQuorumStateStore, QuorumStateError


def test_written_as_kafka_4_writes_it_and_read_back(tmp_path):
    store = StoredQuorumState(FileQuorumStateStore(OsFileSystem(), str(tmp_path)))
    assert store.read() is None
    store.write(QuorumState(3, leader_id=1, voted_id=2))
    data = json.loads((tmp_path / "quorum-state").read_text())
    assert data == {
        "leaderId": 1,
        "leaderEpoch": 3,
        "votedId": 2,
        "votedDirectoryId": "AAAAAAAAAAAAAAAAAAAAAA",
        "data_version": 1,
    }
    assert store.read() == QuorumState(3, 1, 2)
    assert not (tmp_path / "quorum-state.tmp").exists()


def test_reads_kafka_3_version_0(tmp_path):
    (tmp_path / "quorum-state").write_text(
        '{"clusterId":"","leaderId":-1,"leaderEpoch":7,"votedId":2,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}'
    )
    assert FileQuorumStateStore(OsFileSystem(), str(tmp_path)).read() == (7, -1, 2)


@pytest.mark.parametrize(
    "text", ["", "{", '{"leaderId":1}', '{"leaderId":1,"leaderEpoch":1,"votedId":1,"data_version":9}']
)
def test_a_damaged_file_is_refused(tmp_path, text):
    (tmp_path / "quorum-state").write_text(text)
    with pytest.raises(QuorumStateError, match="quorum-state"):
        FileQuorumStateStore(OsFileSystem(), str(tmp_path)).read()


def test_kafkas_own_file_reads_and_ours_is_written_the_same(tmp_path, apache_kafka):
    """The running Apache Kafka's quorum-state: Kavka reads it, and writing the same state gives the
    same bytes."""
    theirs = apache_kafka.data_dir / "__cluster_metadata-0" / "quorum-state"
    epoch, leader, voted = FileQuorumStateStore(OsFileSystem(), str(theirs.parent)).read()
    assert leader == 1 and epoch >= 1
    FileQuorumStateStore(OsFileSystem(), str(tmp_path)).write(epoch, leader, voted)
    assert (tmp_path / "quorum-state").read_bytes() == theirs.read_bytes()
