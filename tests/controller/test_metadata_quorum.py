"""LocalMetadataQuorum and the RecordBatch log-store adapter (raft/ tests live here: the brief keeps
tests to tests/metadata and tests/controller)."""

import uuid

import pytest

from kavka.metadata.image import MetadataApplyError
from kavka.metadata.records import FeatureLevelRecord, PartitionRecord, TopicRecord, encode_record
from kavka.protocol.batch import iter_headers
from kavka.protocol.records import build_control_batch
from kavka.raft.local import InMemoryMetadataLogStore, LocalMetadataQuorum
from kavka.raft.log_store import BatchMetadataLogStore

T = uuid.UUID(int=77)


def test_append_persists_then_applies_and_replays():
    store = InMemoryMetadataLogStore()
    q = LocalMetadataQuorum(store, "cid")
    seen = []
    q.add_listener(lambda old, new, recs, first: seen.append((old.topic("t"), new.topic("t"), len(recs), first)))
    assert q.append([FeatureLevelRecord("metadata.version", 25)]) == 0
    assert q.append([TopicRecord("t", T), PartitionRecord(0, T, (1,), (1,), 1)]) == 1
    assert q.end_offset == 3
    assert [(o, n.name if n else None, k, f) for o, n, k, f in seen] == [(None, None, 1, 0), (None, "t", 2, 1)]
    assert [len(c) for c in store.commits] == [1, 2]
    again = LocalMetadataQuorum(store, "cid")
    assert again.image == q.image and again.end_offset == 3


def test_bad_commit_never_reaches_the_log():
    store = InMemoryMetadataLogStore()
    q = LocalMetadataQuorum(store)
    before = q.image
    with pytest.raises(MetadataApplyError):
        q.append([TopicRecord("t", T), PartitionRecord(0, uuid.UUID(int=5), (1,), (1,), 1)])
    assert store.commits == [] and q.image is before and q.end_offset == 0


def test_empty_append_is_noop():
    q = LocalMetadataQuorum(InMemoryMetadataLogStore())
    assert q.append([]) == 0 and q.end_offset == 0


def test_batch_log_store_roundtrip():
    log = bytearray()
    store = BatchMetadataLogStore(log.extend, lambda: [bytes(log)], clock_ms=lambda: 1234)
    q = LocalMetadataQuorum(store, "cid")
    q.append([FeatureLevelRecord("metadata.version", 25)])
    q.append([TopicRecord("t", T), PartitionRecord(0, T, (1,), (1,), 1)])
    headers = [h for _, h in iter_headers(bytes(log))]
    assert [h.records_count for h in headers] == [1, 2]  # one batch per commit
    # a control batch in the log (e.g. a leader change marker) is skipped
    log.extend(build_control_batch(True, 1, 0, 0, 0, base_offset=3))
    again = LocalMetadataQuorum(store, "cid")
    assert again.image == q.image
    assert list(store.read_all())[0] == encode_record(FeatureLevelRecord("metadata.version", 25))
