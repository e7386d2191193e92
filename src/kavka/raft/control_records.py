"""KRaft's control records, as Kafka writes them in ``__cluster_metadata`` and in its snapshots.

A control batch (attributes bit 5, not transactional) holds one record whose key is the control key
(``int16 version = 0, int16 type``) and whose value is the message body at version 0 in Kafka's flexible
encoding (no version prefix; ``kavka.metadata.record_schema``):

    LeaderChangeMessage (type 2)     int16 version, int32 leader id, []Voter voters, []Voter granting
                                     voters (Voter: int32 voter id), tagged fields
    SnapshotHeaderRecord (type 3)    int16 version, int64 last contained log timestamp, tagged fields
    SnapshotFooterRecord (type 4)    int16 version, tagged fields

A snapshot file (``<end offset:020d>-<epoch:010d>.checkpoint`` in the metadata log's directory) is a
header batch, the data batches, and a footer batch, with offsets counting from 0 within the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kavka.metadata.record_schema import Field, decode_body, encode_body
from kavka.protocol.records import ControlType, Record, build_batch, control_record_type, iter_records

__all__ = [
    "LeaderChange",
    "leader_change_batch",
    "leader_change_value",
    "snapshot_file",
    "snapshot_file_name",
    "parse_snapshot_name",
    "read_snapshot_records",
]


@dataclass(frozen=True)
class _Voter:
    voter_id: int


@dataclass(frozen=True)
class LeaderChange:
    leader_id: int
    voters: tuple[int, ...]
    granting_voters: tuple[int, ...]
    version: int = 0


@dataclass(frozen=True)
class _LeaderChangeBody:
    version: int
    leader_id: int
    voters: tuple[_Voter, ...]
    granting_voters: tuple[_Voter, ...]


@dataclass(frozen=True)
class _SnapshotHeader:
    version: int
    last_contained_log_timestamp: int


@dataclass(frozen=True)
class _SnapshotFooter:
    version: int


_VOTER = (Field("voter_id", "int32"),)
_LEADER_CHANGE = (
    Field("version", "int16"),
    Field("leader_id", "int32"),
    Field("voters", "[struct]", element=_Voter, fields=_VOTER),
    Field("granting_voters", "[struct]", element=_Voter, fields=_VOTER),
)
_HEADER = (Field("version", "int16"), Field("last_contained_log_timestamp", "int64"))
_FOOTER = (Field("version", "int16"),)


def _control_key(ctype: int) -> bytes:
    return (0).to_bytes(2, "big") + ctype.to_bytes(2, "big")


def _control_batch(ctype: int, value: bytes, timestamp: int, base_offset: int, epoch: int) -> bytes:
    record = Record(base_offset, timestamp, _control_key(ctype), value, [])
    return build_batch([record], base_offset=base_offset, control=True, partition_leader_epoch=epoch)


def leader_change_value(change: LeaderChange) -> bytes:
    """The control record value of a LeaderChangeMessage."""
    body = _LeaderChangeBody(
        change.version,
        change.leader_id,
        tuple(_Voter(v) for v in change.voters),
        tuple(_Voter(v) for v in change.granting_voters),
    )
    return encode_body(_LEADER_CHANGE, body, 0)


def leader_change_batch(change: LeaderChange, *, epoch: int, timestamp: int, base_offset: int = 0) -> bytes:
    """The batch a new leader writes first in its epoch."""
    return _control_batch(ControlType.LEADER_CHANGE, leader_change_value(change), timestamp, base_offset, epoch)


def decode_leader_change(value: bytes) -> LeaderChange:
    body = decode_body(_LEADER_CHANGE, _LeaderChangeBody, value, 0)
    return LeaderChange(
        body.leader_id,
        tuple(v.voter_id for v in body.voters),
        tuple(v.voter_id for v in body.granting_voters),
        body.version,
    )


def snapshot_file_name(end_offset: int, epoch: int) -> str:
    return f"{end_offset:020d}-{epoch:010d}.checkpoint"


def parse_snapshot_name(name: str) -> tuple[int, int] | None:
    """(end offset, epoch) of a snapshot file name, or None for any other name."""
    stem, dot, suffix = name.partition(".")
    offset, dash, epoch = stem.partition("-")
    if suffix != "checkpoint" or not dash or len(offset) != 20 or len(epoch) != 10:
        return None
    if not (offset.isdigit() and epoch.isdigit()):
        return None
    return int(offset), int(epoch)


def snapshot_file(
    values: Sequence[bytes],
    *,
    epoch: int,
    last_timestamp: int,
    now_ms: int,
    batch_sizes: Sequence[int] | None = None,
) -> bytes:
    """A whole snapshot file: header, data batches holding ``values`` (encoded metadata records), footer.

    ``batch_sizes`` is the number of records in each data batch, in order (they must add up to
    ``len(values)``); None puts every value in one batch.
    """
    sizes = list(batch_sizes) if batch_sizes is not None else ([len(values)] if values else [])
    if sum(sizes) != len(values) or any(n < 1 for n in sizes):
        raise ValueError(f"batch sizes {sizes} do not split {len(values)} records")
    out = bytearray()
    header = encode_body(_HEADER, _SnapshotHeader(0, last_timestamp), 0)
    out += _control_batch(ControlType.SNAPSHOT_HEADER, header, now_ms, 0, epoch)
    offset = 1
    for n in sizes:
        records = [Record(offset + i, now_ms, None, v, []) for i, v in enumerate(values[offset - 1 : offset - 1 + n])]
        out += build_batch(records, base_offset=offset, partition_leader_epoch=epoch)
        offset += n
    out += _control_batch(
        ControlType.SNAPSHOT_FOOTER, encode_body(_FOOTER, _SnapshotFooter(0), 0), now_ms, offset, epoch
    )
    return bytes(out)


def read_snapshot_records(data: bytes) -> list[bytes]:
    """The data record values of a snapshot file, in order; ValueError if its header or footer is
    missing (a snapshot cut short is not a snapshot)."""
    values: list[bytes] = []
    seen_header = seen_footer = False
    for header, record in iter_records(data):
        if header.attributes & 0x20:
            _, ctype = control_record_type(record)
            if ctype == ControlType.SNAPSHOT_HEADER:
                seen_header = True
            elif ctype == ControlType.SNAPSHOT_FOOTER:
                seen_footer = True
            continue
        if seen_footer:
            raise ValueError("a data record after the snapshot footer")
        if record.value is not None:
            values.append(record.value)
    if not (seen_header and seen_footer):
        raise ValueError("the snapshot has no " + ("header" if not seen_header else "footer"))
    return values
