"""LocalMetadataQuorum, the in-memory quorum of one the controller's tests run on."""

import uuid

import pytest

from kavka.metadata.image import MetadataApplyError
from kavka.metadata.records import FeatureLevelRecord, PartitionRecord, TopicRecord
from kavka.raft.local import InMemoryMetadataLogStore, LocalMetadataQuorum

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
