"""The Raft core's entries as the record batches of ``__cluster_metadata-0`` (on disk and on the wire).

The core counts entries, and one entry is one record, so its offsets are the log's record offsets, as
in Kafka's metadata log. An entry's ``data`` is opaque to the core; this module fixes its meaning:

- a data record: ``data`` is the record's value (a metadata record frame, whose first byte, the frame
  version, is 1; or a legacy JSON body, whose first byte is ``{``);
- a control record: ``data`` is ``0x00``, then the control key (``int16 version, int16 type``), then
  the control value. The leader's first entry of an epoch is such an entry holding Kafka's
  LeaderChangeMessage (``leader_change_entry``).

``entries_to_batches`` writes consecutive entries as v2 batches: one control batch per control entry
(Kafka's control batches hold one record), and one uncompressed batch per run of data entries of one
epoch; each batch's partition leader epoch is its entries' epoch. ``batches_to_entries`` reads batches
back (any batch a Kafka node wrote too: compressed, several records). Both keep offsets absolute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kavka.protocol.batch import CONTROL_BIT
from kavka.protocol.records import ControlType, Record, build_batch, iter_records
from kavka.raft.control_records import LeaderChange, leader_change_value
from kavka.raft.messages import Entry

__all__ = [
    "CONTROL_MARK",
    "leader_change_entry",
    "is_control",
    "control_parts",
    "entries_to_batches",
    "batches_to_entries",
]

CONTROL_MARK = 0x00


def leader_change_entry(leader_id: int, voters: Iterable[int], granting: Iterable[int]) -> bytes:
    """The data of the LeaderChangeMessage entry a new leader appends first in its epoch."""
    value = leader_change_value(LeaderChange(leader_id, tuple(sorted(voters)), tuple(sorted(granting))))
    return bytes([CONTROL_MARK]) + ControlType.LEADER_CHANGE.to_bytes(4, "big") + value


def is_control(data: bytes) -> bool:
    return bool(data) and data[0] == CONTROL_MARK


def control_parts(data: bytes) -> tuple[bytes, bytes]:
    """(control key, control value) of a control entry's data."""
    return data[1:5], data[5:]


def entries_to_batches(entries: Sequence[Entry], base_offset: int, timestamp: int) -> bytes:
    out = bytearray()
    offset = base_offset
    i = 0
    while i < len(entries):
        entry = entries[i]
        if is_control(entry.data):
            key, value = control_parts(entry.data)
            record = Record(offset, timestamp, key, value)
            out += build_batch([record], base_offset=offset, control=True, partition_leader_epoch=entry.epoch)
            offset += 1
            i += 1
            continue
        j = i
        while j < len(entries) and entries[j].epoch == entry.epoch and not is_control(entries[j].data):
            j += 1
        records = [Record(offset + k, timestamp, None, entries[i + k].data) for k in range(j - i)]
        out += build_batch(records, base_offset=offset, partition_leader_epoch=entry.epoch)
        offset += j - i
        i = j
    return bytes(out)


def batches_to_entries(data: bytes | memoryview) -> list[tuple[int, Entry]]:
    """(offset, entry) of every record in ``data``, a run of whole v2 batches."""
    out: list[tuple[int, Entry]] = []
    for header, record in iter_records(data):
        if header.attributes & CONTROL_BIT:
            payload = bytes([CONTROL_MARK]) + bytes(record.key or b"") + bytes(record.value or b"")
        else:
            payload = bytes(record.value or b"")
        out.append((record.offset, Entry(header.partition_leader_epoch, payload)))
    return out
