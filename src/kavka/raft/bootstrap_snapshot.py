"""The bootstrap snapshot ``kavka storage format`` writes for a controller, as Kafka 4.4's StorageTool
writes it: ``__cluster_metadata-0/00000000000000000000-0000000000.checkpoint`` in the metadata log dir.

Layout (offsets from 0, every batch with partition leader epoch 0)::

    control batch   SnapshotHeaderRecord (type 3)
                    KRaftVersionRecord (type 5)      only at kraft.version 1 (no static voters)
                    VotersRecord (type 6)            only with initial controllers (--standalone,
                                                     --initial-controllers)
    data batch      FeatureLevelRecord per finalized feature: metadata.version first, then by name;
                    then UserScramCredentialRecords (``--add-scram``), in the order given
    control batch   SnapshotFooterRecord (type 4)

The two KRaft control record values (Kafka's ``KRaftVersionRecord.json`` / ``VotersRecord.json``,
version 0, flexible)::

    KRaftVersionRecord   int16 version, int16 kraft_version, tagged fields
    VotersRecord         int16 version, uvarint(n + 1) voters, tagged fields
      voter              int32 voter_id, uuid directory_id, uvarint(m + 1) endpoints,
                         KRaftVersionFeature (int16 min, int16 max, tagged fields), tagged fields
      endpoint           compact string name, compact string host, uint16 port, tagged fields
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kavka.metadata.records import FeatureLevelRecord, MetadataRecord, encode_record
from kavka.protocol.records import ControlType, Record, build_batch, control_record_type, iter_records
from kavka.protocol.varint import decode_unsigned_varint, encode_unsigned_varint

__all__ = [
    "BOOTSTRAP_SNAPSHOT_NAME",
    "InitialVoter",
    "bootstrap_snapshot",
    "decode_voters",
    "encode_kraft_version",
    "encode_voters",
    "read_bootstrap_voters",
]

BOOTSTRAP_SNAPSHOT_NAME = "00000000000000000000-0000000000.checkpoint"
KRAFT_VERSION_SUPPORTED = (0, 1)  # what Kafka 4.4 advertises in each voter's KRaftVersionFeature


@dataclass(frozen=True)
class InitialVoter:
    """One voter of the first voter set: ``id@host:port:directory-id`` on the controller listener."""

    node_id: int
    directory_id: uuid.UUID
    listener: str
    host: str
    port: int


def _string(text: str) -> bytes:
    data = text.encode()
    return encode_unsigned_varint(len(data) + 1) + data


def encode_kraft_version(kraft_version: int) -> bytes:
    return struct.pack(">hh", 0, kraft_version) + b"\x00"


def encode_voters(voters: Sequence[InitialVoter]) -> bytes:
    out = bytearray(struct.pack(">h", 0))
    out += encode_unsigned_varint(len(voters) + 1)
    for v in voters:
        out += struct.pack(">i", v.node_id) + v.directory_id.bytes
        out += encode_unsigned_varint(2)  # one endpoint
        out += _string(v.listener) + _string(v.host) + struct.pack(">H", v.port) + b"\x00"
        out += struct.pack(">hh", *KRAFT_VERSION_SUPPORTED) + b"\x00"
        out += b"\x00"
    out += b"\x00"
    return bytes(out)


def decode_voters(value: bytes) -> list[InitialVoter]:
    """A VotersRecord value back into voters (the first endpoint of each); ValueError if it does not parse."""

    def uvarint(pos: int) -> tuple[int, int]:
        return decode_unsigned_varint(value, pos)

    def skip_tags(pos: int) -> int:
        count, pos = uvarint(pos)
        for _ in range(count):
            _, pos = uvarint(pos)
            size, pos = uvarint(pos)
            pos += size
        return pos

    def string(pos: int) -> tuple[str, int]:
        n, pos = uvarint(pos)
        return value[pos : pos + n - 1].decode(), pos + n - 1

    try:
        (version,) = struct.unpack_from(">h", value, 0)
        if version != 0:
            raise ValueError(f"VotersRecord version {version}")
        count, pos = uvarint(2)
        voters = []
        for _ in range(count - 1):
            node_id, raw = struct.unpack_from(">i16s", value, pos)
            endpoints, pos = uvarint(pos + 20)
            found: list[tuple[str, str, int]] = []
            for _ in range(endpoints - 1):
                name, pos = string(pos)
                host, pos = string(pos)
                (port,) = struct.unpack_from(">H", value, pos)
                pos = skip_tags(pos + 2)
                found.append((name, host, port))
            pos = skip_tags(pos + 4)  # KRaftVersionFeature
            pos = skip_tags(pos)
            if not found:
                raise ValueError(f"voter {node_id} has no endpoint")
            voters.append(InitialVoter(node_id, uuid.UUID(bytes=raw), *found[0]))
        skip_tags(pos)
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise ValueError(f"malformed VotersRecord: {e}") from None
    return voters


def _control(ctype: int, offset: int, value: bytes, now_ms: int) -> Record:
    return Record(offset, now_ms, struct.pack(">hh", 0, ctype), value, [])


def bootstrap_snapshot(
    features: Mapping[str, int],
    *,
    kraft_version: int,
    voters: Sequence[InitialVoter] | None,
    now_ms: int,
    records: Sequence[MetadataRecord] = (),
) -> bytes:
    """The whole bootstrap ``.checkpoint`` file (see the module for its layout). ``features``: the
    finalized levels to write (levels of 0 are left out, as Kafka leaves them out); ``records``: more
    bootstrap records after them (``--add-scram``'s UserScramCredentialRecords), in the same batch."""
    header = [_control(ControlType.SNAPSHOT_HEADER, 0, struct.pack(">hq", 0, now_ms) + b"\x00", now_ms)]
    if kraft_version >= 1:
        header.append(_control(ControlType.KRAFT_VERSION, 1, encode_kraft_version(kraft_version), now_ms))
        if voters:
            header.append(_control(ControlType.KRAFT_VOTERS, 2, encode_voters(voters), now_ms))
    out = bytearray(build_batch(header, base_offset=0, control=True, partition_leader_epoch=0))
    offset = len(header)
    names = sorted(features, key=lambda n: (n != "metadata.version", n))
    values = [encode_record(FeatureLevelRecord(n, features[n])) for n in names if features[n] > 0]
    values += [encode_record(r) for r in records]
    if values:
        batch = [Record(offset + i, now_ms, None, v, []) for i, v in enumerate(values)]
        out += build_batch(batch, base_offset=offset, partition_leader_epoch=0)
        offset += len(values)
    footer = _control(ControlType.SNAPSHOT_FOOTER, offset, struct.pack(">h", 0) + b"\x00", now_ms)
    out += build_batch([footer], base_offset=offset, control=True, partition_leader_epoch=0)
    return bytes(out)


def read_bootstrap_voters(data: bytes) -> tuple[int, list[InitialVoter] | None]:
    """``(kraft.version, voters)`` from a snapshot file's control records: kraft.version 0 and None when
    it has neither record (static voters in ``controller.quorum.voters``)."""
    kraft_version, voters = 0, None
    for header, record in iter_records(data):
        if not header.attributes & 0x20 or record.value is None:
            continue
        _, ctype = control_record_type(record)
        if ctype == ControlType.KRAFT_VERSION:
            kraft_version = struct.unpack_from(">h", record.value, 2)[0]
        elif ctype == ControlType.KRAFT_VOTERS:
            voters = decode_voters(record.value)
    return kraft_version, voters
