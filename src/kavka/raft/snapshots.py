"""Metadata snapshots (KIP-630): the image as a ``.checkpoint`` file Kafka can read, the file back into an
image, and the rule for when to take the next one.

A snapshot file, as Kafka's ``RecordsSnapshotWriter`` writes it (``raft.control_records.snapshot_file``;
offsets count from 0 within the file, every batch's partition leader epoch is the snapshot's epoch)::

    offset 0           control batch: SnapshotHeader (version 0, last contained log timestamp)
    offsets 1..n       data batches: the image's metadata records (``metadata.image_records``), in
                       Kafka's ``MetadataImage.write`` order, packed as Kafka packs them (below)
    offset n+1         control batch: SnapshotFooter (version 0)

Packing: Kafka's ``SnapshotEmitter`` hands the records to the writer 1024 at a time
(``DEFAULT_BATCH_SIZE``), and the writer's ``BatchAccumulator`` (whose linger never expires in a
snapshot) adds each such group to the open batch while the batch stays within
``KafkaRaftClient.MAX_BATCH_SIZE_BYTES`` (8 MiB), else starts a new one. So a snapshot under 8 MiB is one
data batch (Kafka 4.4 writes a topic of 1100 partitions as one batch of 1110 records), and batches
break only between groups of 1024. A group larger than 8 MiB by itself makes Kafka fail the snapshot
(``RecordBatchTooLargeException``); Kavka splits that group by bytes instead.

The file is named ``<end offset:020d>-<epoch:010d>.checkpoint``: the snapshot holds the state after every
entry below ``end_offset``, the last of them written in ``epoch``. Neither number is inside the file.
Kafka with ``kraft.version`` 1 adds KRaftVersion and KRaftVoters control records to the header batch;
Kavka's quorum is static (``kraft.version`` 0) and writes the header alone, which is what Kafka writes
at that level. A reader skips every control record.

When (Kafka's ``SnapshotGenerator``): each committed batch adds its size in bytes to a counter; once the
counter reaches ``metadata.log.max.record.bytes.between.snapshots`` (default 20 MiB), or, checked at the
same moment, ``metadata.log.max.snapshot.interval.ms`` (default one hour, 0 = never) have passed since the
last snapshot, a snapshot is due. Taking one, or loading one at start, resets both. Kafka only takes a
snapshot at a batch boundary (``isOffsetBatchAligned``): the caller asks after whole batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kavka.metadata.config import ConfigLookup
from kavka.metadata.image import MetadataApplyError, MetadataDelta, MetadataImage
from kavka.metadata.image_records import image_to_records
from kavka.metadata.records import (
    RECORD_TYPES,
    MetadataRecordError,
    decode_record,
    encode_record,
    read_uvarint,
)
from kavka.raft.control_records import read_snapshot_records, snapshot_file

__all__ = [
    "snapshot_bytes",
    "batch_sizes",
    "image_from_snapshot",
    "SnapshotPolicy",
    "SNAPSHOT_BATCH_RECORDS",
    "MAX_BATCH_SIZE_BYTES",
    "MAX_BYTES_BETWEEN_SNAPSHOTS",
    "MAX_SNAPSHOT_INTERVAL_MS",
]

#: Kafka's ``SnapshotEmitter.DEFAULT_BATCH_SIZE``: records handed to the snapshot writer at a time.
SNAPSHOT_BATCH_RECORDS = 1024
#: Kafka's ``KafkaRaftClient.MAX_BATCH_SIZE_BYTES``: the largest batch of the metadata log.
MAX_BATCH_SIZE_BYTES = 8 * 1024 * 1024
_BATCH_HEADER_BYTES = 61
#: Defaults of ``metadata.log.max.record.bytes.between.snapshots`` and
#: ``metadata.log.max.snapshot.interval.ms`` (Kafka 4.4).
MAX_BYTES_BETWEEN_SNAPSHOTS = 20 * 1024 * 1024
MAX_SNAPSHOT_INTERVAL_MS = 60 * 60 * 1000

# Kafka 4.4's metadata record types (MetadataRecordType), to name in a message the ones Kavka does not
# read: those Kavka has a class for are named by it, the others here.
_KAFKA_RECORD_NAMES = {
    **{key: cls.__name__ for key, cls in RECORD_TYPES.items()},
    10: "DelegationTokenRecord",
    11: "UserScramCredentialRecord",
    18: "AccessControlEntryRecord",
    19: "RemoveAccessControlEntryRecord",
    21: "ZkMigrationStateRecord",
    22: "RemoveUserScramCredentialRecord",
    23: "BeginTransactionRecord",
    24: "EndTransactionRecord",
    25: "AbortTransactionRecord",
    26: "RemoveDelegationTokenRecord",
    27: "RegisterControllerRecord",
    28: "ClearElrRecord",
    29: "UnregisterControllerRecord",
}


def snapshot_bytes(image: MetadataImage, *, end_offset: int, epoch: int, last_timestamp: int, now_ms: int) -> bytes:
    """The whole ``.checkpoint`` file of ``image``, the state after the entries below ``end_offset``.

    ``epoch`` is the epoch of the entry before ``end_offset`` (it and ``end_offset`` give the file's
    name, ``control_records.snapshot_file_name``); ``last_timestamp`` is that entry's append time, kept in
    the header; ``now_ms`` stamps the batches. The same image always gives the same records.
    """
    if end_offset < 0 or epoch < 0:
        raise ValueError(f"a snapshot needs a non-negative end offset and epoch, not {end_offset} and {epoch}")
    values = [encode_record(r) for r in image_to_records(image)]
    return snapshot_file(
        values, epoch=epoch, last_timestamp=last_timestamp, now_ms=now_ms, batch_sizes=batch_sizes(values)
    )


def _varint_size(n: int) -> int:
    zigzag = (n << 1) ^ (n >> 63)
    size = 1
    while zigzag >= 0x80:
        zigzag >>= 7
        size += 1
    return size


def _record_size(offset_delta: int, value_size: int) -> int:
    """Bytes of one record in a v2 batch: no key, no headers, timestamp delta 0."""
    body = 1 + 1 + _varint_size(offset_delta) + 1 + _varint_size(value_size) + value_size + 1
    return _varint_size(body) + body


def batch_sizes(values: Sequence[bytes]) -> list[int]:
    """How many of ``values`` go in each data batch of a snapshot, packed as Kafka packs them."""
    sizes: list[int] = []
    count, used = 0, _BATCH_HEADER_BYTES  # the open batch
    for start in range(0, len(values), SNAPSHOT_BATCH_RECORDS):
        group = values[start : start + SNAPSHOT_BATCH_RECORDS]
        need = sum(_record_size(count + i, len(v)) for i, v in enumerate(group))
        if count and used + need > MAX_BATCH_SIZE_BYTES:
            sizes.append(count)
            count, used = 0, _BATCH_HEADER_BYTES
            need = sum(_record_size(i, len(v)) for i, v in enumerate(group))
        if used + need <= MAX_BATCH_SIZE_BYTES:
            count, used = count + len(group), used + need
            continue
        for value in group:  # a group over 8 MiB by itself: split it by bytes
            size = _record_size(count, len(value))
            if count and used + size > MAX_BATCH_SIZE_BYTES:
                sizes.append(count)
                count, used = 0, _BATCH_HEADER_BYTES
                size = _record_size(0, len(value))
            count, used = count + 1, used + size
    if count:
        sizes.append(count)
    return sizes


def _unreadable(value: bytes) -> str | None:
    """Why Kavka cannot read this record (its type or version is unknown), or None for any other failure."""
    try:
        _, pos = read_uvarint(value, 0)
        api_key, pos = read_uvarint(value, pos)
        version, _ = read_uvarint(value, pos)
    except MetadataRecordError:
        return None  # not even a frame: let decode_record say what is wrong
    name = _KAFKA_RECORD_NAMES.get(api_key, "an unknown record type")
    cls = RECORD_TYPES.get(api_key)
    if cls is None:
        return f"{name} (api key {api_key}, version {version}): a record type Kavka does not read"
    if version > cls.MAX_VERSION:
        return f"{name} version {version}: Kavka reads versions 0 to {cls.MAX_VERSION}"
    return None


def image_from_snapshot(
    data: bytes, cluster_id: str | None, *, on_unknown: Callable[[str], None] | None = None
) -> MetadataImage:
    """The image a snapshot file holds, replayed into ``MetadataImage.empty(cluster_id)``.

    Raises ValueError for a file that is not a whole snapshot (no header or no footer, a damaged batch),
    and for a record that does not decode or apply (naming its position among the snapshot's records).
    A record of a type or version Kavka does not read (a snapshot written by Kafka or a newer Kavka) is
    an error too, unless ``on_unknown`` is given: then it is skipped and ``on_unknown`` gets one line
    saying which record it was and why.
    """
    try:
        values = read_snapshot_records(data)
    except ValueError as e:
        raise ValueError(f"not a metadata snapshot: {e}") from e
    delta = MetadataDelta(MetadataImage.empty(cluster_id))
    for i, value in enumerate(values):
        try:
            record = decode_record(value)
        except MetadataRecordError as e:
            reason = _unreadable(value)
            if reason is None:
                raise ValueError(f"snapshot record {i}: {e}") from e
            if on_unknown is None:
                raise ValueError(f"snapshot record {i}: {reason}") from e
            on_unknown(f"snapshot record {i} skipped: {reason}")
            continue
        try:
            delta.replay(record)
        except MetadataApplyError as e:
            raise ValueError(f"snapshot record {i}: {e}") from e
    return delta.build()


@dataclass
class SnapshotPolicy:
    """When the next snapshot is due (Kafka's ``SnapshotGenerator``; see the module docstring).

    ``record_appended(nbytes, now_ms)`` after each committed batch of ``nbytes`` bytes answers "take one
    now"; it keeps answering True until ``snapshot_taken(now_ms)`` (call it after loading one, too).
    ``reason`` says why, in Kafka's words, for the log line.
    """

    max_bytes_between: int = MAX_BYTES_BETWEEN_SNAPSHOTS
    max_interval_ms: int = MAX_SNAPSHOT_INTERVAL_MS
    last_snapshot_ms: int = 0
    bytes_since: int = field(default=0, init=False)
    reason: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.max_bytes_between < 1:
            raise ValueError(
                f"Invalid value {self.max_bytes_between} for configuration "
                "metadata.log.max.record.bytes.between.snapshots: Value must be at least 1"
            )
        if self.max_interval_ms < 0:
            raise ValueError(
                f"Invalid value {self.max_interval_ms} for configuration "
                "metadata.log.max.snapshot.interval.ms: Value must be at least 0"
            )

    @classmethod
    def from_config(cls, config: ConfigLookup, now_ms: int) -> SnapshotPolicy:
        """The policy for a broker's ``metadata.log.max.record.bytes.between.snapshots`` and
        ``metadata.log.max.snapshot.interval.ms``, counting time from ``now_ms``."""
        max_bytes = config.get("metadata.log.max.record.bytes.between.snapshots", None)
        interval = config.get("metadata.log.max.snapshot.interval.ms", None)
        return cls(
            MAX_BYTES_BETWEEN_SNAPSHOTS if max_bytes is None else int(max_bytes),
            MAX_SNAPSHOT_INTERVAL_MS if interval is None else int(interval),
            now_ms,
        )

    def record_appended(self, nbytes: int, now_ms: int | None = None) -> bool:
        """Count a committed batch of ``nbytes``; True when a snapshot is due. Without ``now_ms`` only
        the byte rule is checked."""
        self.bytes_since += nbytes
        if self.bytes_since >= self.max_bytes_between:
            self.reason = f"we have replayed at least {self.max_bytes_between} bytes"
        elif (
            self.max_interval_ms != 0 and now_ms is not None and now_ms - self.last_snapshot_ms >= self.max_interval_ms
        ):
            self.reason = f"we have waited at least {self.max_interval_ms // 60_000} minute(s)"
        return self.reason is not None

    def snapshot_taken(self, now_ms: int | None = None) -> None:
        """A snapshot was written (or loaded): count again from nothing, and from ``now_ms``."""
        self.bytes_since = 0
        self.reason = None
        if now_ms is not None:
            self.last_snapshot_ms = now_ms
