"""A metadata quorum of one in memory, for the controller's tests and benches: a log store plus the image.

The broker uses ``raft.quorum.RaftMetadataQuorum`` (a Raft node over the metadata log on disk, one voter
or many); this class keeps the same contract for the controller (``image``, ``end_offset``, ``append``)
with nothing underneath but a list, so controller logic can be tested without Raft.

- A commit is a list of metadata records appended atomically: the records are first applied to a
  *copy* of the image (a record that cannot apply is refused before it reaches the log), then written
  to the log store as one unit, and only then does the live image change and listeners run.
- A new instance over the same store replays it into ``MetadataImage.empty(cluster_id)``.
- Offsets count records from 0; ``end_offset`` is the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from kavka.metadata.image import MetadataDelta, MetadataImage
from kavka.metadata.records import MetadataRecord, decode_record, encode_record

__all__ = [
    "MetadataLogStore",
    "InMemoryMetadataLogStore",
    "LocalMetadataQuorum",
    "CommitListener",
    "METADATA_PARTITION",
]

METADATA_PARTITION = 0

# listener(old_image, new_image, records, first_offset)
CommitListener = Callable[[MetadataImage, MetadataImage, Sequence[MetadataRecord], int], None]


class MetadataLogStore(Protocol):
    """Where committed metadata records live.

    ``append`` stores one commit (its encoded records, in order) atomically and durably enough for
    the caller's needs; ``read_all`` yields every stored encoded record, oldest first.
    """

    def append(self, records: Sequence[bytes]) -> None: ...

    def read_all(self) -> Iterable[bytes]: ...


class InMemoryMetadataLogStore:
    """A ``MetadataLogStore`` in a list, for tests. ``commits`` keeps the commit boundaries."""

    def __init__(self) -> None:
        self.commits: list[list[bytes]] = []

    def append(self, records: Sequence[bytes]) -> None:
        self.commits.append(list(records))

    def read_all(self) -> Iterable[bytes]:
        for commit in self.commits:
            yield from commit


class LocalMetadataQuorum:
    def __init__(self, store: MetadataLogStore, cluster_id: str | None = None) -> None:
        self._store = store
        self.cluster_id = cluster_id
        self._listeners: list[CommitListener] = []
        delta = MetadataDelta(MetadataImage.empty(cluster_id))
        count = 0
        for data in store.read_all():
            delta.replay(decode_record(data))
            count += 1
        self._image = delta.build()
        self._end_offset = count

    @property
    def image(self) -> MetadataImage:
        return self._image

    @property
    def end_offset(self) -> int:
        """Offset the next appended record will get (= number of records in the log)."""
        return self._end_offset

    def add_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def append(self, records: Sequence[MetadataRecord]) -> int:
        """Commit ``records`` atomically; returns the offset of the first one (``end_offset`` if empty)."""
        first = self._end_offset
        if not records:
            return first
        new_image = MetadataDelta(self._image).replay_all(records).build()
        self._store.append([encode_record(r) for r in records])
        old_image, self._image = self._image, new_image
        self._end_offset += len(records)
        for listener in self._listeners:
            listener(old_image, new_image, records, first)
        return first
