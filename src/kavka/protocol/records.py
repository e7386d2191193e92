"""Record-level encode/decode of RecordBatch v2, for tools, tests, compaction and validation.

Never the produce/fetch hot path: those move whole batches through :mod:`kavka.protocol.batch`
without touching records. The batch header layout is documented (and parsed) there.

Records section: right after the 61-byte batch header, ``recordsCount`` records back to back. With
compression (attributes bits 0-2), the whole section is one compressed blob -- there is no extra
length or count inside it. One record (varint = zigzag int32, varlong = zigzag int64, see
:mod:`kavka.protocol.varint`)::

    length            varint   bytes of the record after this field
    attributes        int8     unused, written as 0
    timestampDelta    varlong  timestamp - batch baseTimestamp
    offsetDelta       varint   offset - batch baseOffset
    keyLength         varint   -1 for a null key
    key               bytes
    valueLength       varint   -1 for a null value (a tombstone)
    value             bytes
    headersCount      varint
    headers, each:
      headerKeyLength   varint   never negative: header keys are non-null strings
      headerKey         UTF-8
      headerValueLength varint   -1 for a null value
      headerValue       bytes

Timestamps: a record's timestamp is ``baseTimestamp + timestampDelta``, except in a LogAppendTime batch
(attributes bit 3), where every record reads the batch's maxTimestamp (the broker's append time), as
Java's DefaultRecordBatch and every client do. With hasDeleteHorizonMs (bit 6) the baseTimestamp is
the delete horizon the cleaner set, and deltas are relative to it all the same.

Control batches (attributes bit 5) hold one control record; its key is ``version int16 (0), type
int16`` (0 abort, 1 commit, 2 leader change, 3/4 snapshot header/footer, 5 KRaft version, 6 KRaft
voters) and an end-transaction marker's value is ``version int16 (0), coordinatorEpoch int32``.

Header keys are decoded from UTF-8 with ``surrogateescape`` and encoded the same way, so bytes that
are not valid UTF-8 survive a decode/encode round trip unchanged (the cleaner must not alter records).

Decoding is bounds-checked throughout: malformed input raises CorruptRecordError (or
InvalidRecordError for a magic other than 2), never IndexError or struct.error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeAlias, overload

from crc32c import crc32c

from .batch import (
    CONTROL_BIT,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    MAGIC,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
    BatchHeader,
    CorruptRecordError,
    InvalidRecordError,
    compute_crc,
    iter_headers,
    parse_header,
)
from .compression import CODEC_NAMES, UnsupportedCompressionError, compress, decompress
from .varint import Buffer, decode_varint, decode_varlong, encode_varint, encode_varlong

__all__ = [
    "Record",
    "build_batch",
    "decode_batch",
    "iter_batches",
    "iter_records",
    "records_section",
    "scan_records",
    "ScannedRecord",
    "DELETE_HORIZON_BIT",
    "NO_TIMESTAMP",
    "ControlType",
    "EndTxnMarker",
    "build_control_batch",
    "control_record_type",
    "parse_end_txn_marker",
]

DELETE_HORIZON_BIT = 0x40
NO_TIMESTAMP = -1
_INT32_MAX = (1 << 31) - 1
_CRC_END = 21  # the CRC covers [21, end): attributes onwards
_U32 = struct.Struct(">I")
_CONTROL_KEY = struct.Struct(">hh")
_END_TXN_VALUE = struct.Struct(">hi")
_SMALL_VARINTS = [(b >> 1) ^ -(b & 1) for b in range(0x80)]  # zigzag value of each one-byte varint


@dataclass(slots=True)
class Record:
    """One record as a consumer sees it. ``offset`` and ``timestamp`` are absolute."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


# -------------------------------------------------------------------------------------------- encoding


def _encode_record(r: Record, offset_delta: int, timestamp_delta: int) -> bytes:
    body = bytearray(b"\x00")  # attributes
    body += encode_varlong(timestamp_delta)
    body += encode_varint(offset_delta)
    for blob in (r.key, r.value):
        if blob is None:
            body += b"\x01"  # varint -1
        else:
            blob = bytes(blob)
            body += encode_varint(len(blob))
            body += blob
    body += encode_varint(len(r.headers))
    for hkey, hvalue in r.headers:
        if not isinstance(hkey, str):
            raise TypeError(f"header key must be str, not {type(hkey).__name__}")
        hk = hkey.encode("utf-8", "surrogateescape")
        body += encode_varint(len(hk))
        body += hk
        if hvalue is None:
            body += b"\x01"
        else:
            hvalue = bytes(hvalue)
            body += encode_varint(len(hvalue))
            body += hvalue
    return encode_varint(len(body)) + body


def build_batch(
    records: Iterable[Record],
    *,
    base_offset: int = 0,
    compression: int = 0,
    timestamp_type_log_append: bool = False,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = -1,
    base_sequence: int = NO_SEQUENCE,
    transactional: bool = False,
    control: bool = False,
    partition_leader_epoch: int = -1,
    last_offset_delta: int | None = None,
    delete_horizon_ms: int | None = None,
    compression_level: int | None = None,
) -> bytes:
    """Encode ``records`` as one v2 batch with a correct CRC32C; return its bytes.

    Record offsets are absolute and must strictly increase from ``base_offset`` (gaps are allowed, as
    after compaction); offsetDelta = offset - base_offset. baseTimestamp is the first record's
    timestamp (or ``delete_horizon_ms``, which also sets attributes bit 6) and maxTimestamp the largest
    record timestamp; an empty batch has both -1. For a LogAppendTime batch pass records stamped with
    the append time: readers then see maxTimestamp for every record. ``last_offset_delta`` overrides
    the last record's delta (the cleaner keeps a batch's last offset when it drops records from its
    end). Raises ValueError for out-of-range fields, UnsupportedCompressionError for a bad codec.
    """
    records = list(records)
    if compression not in CODEC_NAMES:
        raise UnsupportedCompressionError(f"unknown compression codec id {compression!r} (Kafka knows 0-4)")
    attributes = compression
    if timestamp_type_log_append:
        attributes |= TIMESTAMP_TYPE_BIT
    if transactional:
        attributes |= TRANSACTIONAL_BIT
    if control:
        attributes |= CONTROL_BIT

    if records:
        base_timestamp = records[0].timestamp
        max_timestamp = max(r.timestamp for r in records)
    else:
        base_timestamp = max_timestamp = NO_TIMESTAMP
    if delete_horizon_ms is not None:
        attributes |= DELETE_HORIZON_BIT
        base_timestamp = delete_horizon_ms

    parts = []
    previous = -1
    for r in records:
        delta = r.offset - base_offset
        if delta <= previous:
            raise ValueError(f"record offsets must strictly increase from base_offset; got {r.offset}")
        if delta > _INT32_MAX:
            raise ValueError(f"offset {r.offset} is too far from base offset {base_offset}")
        previous = delta
        parts.append(_encode_record(r, delta, r.timestamp - base_timestamp))
    if last_offset_delta is None:
        last_offset_delta = max(previous, 0)
    elif not previous <= last_offset_delta <= _INT32_MAX:
        raise ValueError(f"last_offset_delta {last_offset_delta} is before the last record")

    payload = b"".join(parts)
    if compression:
        payload = compress(compression, payload, compression_level)
    batch = bytearray(HEADER_SIZE)
    try:
        HEADER_STRUCT.pack_into(
            batch, 0, base_offset, HEADER_SIZE - LOG_OVERHEAD + len(payload), partition_leader_epoch, MAGIC, 0,
            attributes, last_offset_delta, base_timestamp, max_timestamp, producer_id, producer_epoch,
            base_sequence, len(records),
        )  # fmt: skip
    except struct.error as e:
        raise ValueError(f"batch header field out of range: {e}") from None
    batch += payload
    _U32.pack_into(batch, 17, crc32c(memoryview(batch)[_CRC_END:]))
    return bytes(batch)


# -------------------------------------------------------------------------------------------- decoding


def decode_batch(
    buf: Buffer, pos: int = 0, *, check_crc: bool = True, max_decompressed_size: int | None = None
) -> tuple[BatchHeader, list[Record]]:
    """Decode the whole batch at ``pos`` of ``buf``: its header and every record, decompressed.

    Raises CorruptRecordError for truncated or malformed bytes, a CRC mismatch (when ``check_crc``),
    an undecodable or unknown compression, a record count that does not match the records, or
    decompressed output above ``max_decompressed_size``; InvalidRecordError for a magic other than 2.
    """
    n = len(buf)
    if pos < 0 or n - pos < HEADER_SIZE:
        raise CorruptRecordError(f"truncated batch header at byte {pos}")
    header = parse_header(buf, pos)
    if header.magic != MAGIC:
        raise InvalidRecordError(f"unsupported magic {header.magic}; only record batch v2 is supported")
    size = header.size
    if header.batch_length < HEADER_SIZE - LOG_OVERHEAD or pos + size > n:
        raise CorruptRecordError(f"batch length {header.batch_length} at byte {pos} does not fit the buffer")
    if header.records_count < 0:
        raise CorruptRecordError(f"negative record count {header.records_count}")
    if check_crc and compute_crc(buf, pos, size) != header.crc:
        raise CorruptRecordError(f"CRC mismatch in batch at byte {pos}")
    codec = header.compression
    if codec and codec not in CODEC_NAMES:
        raise CorruptRecordError(f"unknown compression codec id {codec} in batch at byte {pos}")
    data = records_section(buf, pos, header, max_decompressed_size)  # DecompressionError is a CorruptRecordError
    return header, _decode_records(data, header, False)


def records_section(buf: Buffer, pos: int, header: BatchHeader, max_decompressed_size: int | None = None) -> bytes:
    """The records section of the batch at ``pos`` (whose ``header`` the caller parsed), decompressed.

    No header checks here (callers have made them). Raises UnsupportedCompressionError for an unknown
    codec, DecompressionError (a CorruptRecordError) for bytes that do not decompress, and
    DecompressedSizeError above ``max_decompressed_size``.
    """
    payload = memoryview(buf)[pos + HEADER_SIZE : pos + header.batch_length + LOG_OVERHEAD]
    codec = header.compression
    return bytes(payload) if codec == 0 else decompress(codec, payload, max_decompressed_size)


#: One record as :func:`scan_records` sees it: ``(offset, key, has value, timestamp delta, start, end)``.
ScannedRecord: TypeAlias = tuple[int, bytes | None, bool, int, int, int]


def scan_records(data: bytes, header: BatchHeader) -> list[ScannedRecord]:
    """A lean view of a records section (from :func:`records_section`), for the log cleaner: per record
    ``(offset, key, has value, timestamp delta, start, end)``, where ``data[start:end]`` is the record's
    bytes as they are (length field included) -- reusable as they are in a rebuilt batch with the same
    base offset and base timestamp. Values and headers are skipped, not decoded or checked.

    Raises CorruptRecordError for malformed input, like :func:`decode_batch`.
    """
    return _decode_records(data, header, True)


@overload
def _decode_records(data: bytes, header: BatchHeader, lean: Literal[False]) -> list[Record]: ...
@overload
def _decode_records(data: bytes, header: BatchHeader, lean: Literal[True]) -> list[ScannedRecord]: ...


def _decode_records(data: bytes, header: BatchHeader, lean: bool) -> list[Record] | list[ScannedRecord]:
    """The one record-body decoder: full :class:`Record` objects, or (``lean``) the scan_records view.

    One loop for both so they cannot drift apart; ``lean`` costs one branch per record. Varints of one
    and two bytes (lengths up to 8191, as small keys and values have) are decoded inline: this loop runs
    once per record the cleaner, the tools and the coordinators read.
    """
    base_offset = header.base_offset
    base_timestamp = header.base_timestamp
    append_time = header.max_timestamp if header.log_append_time else None
    records: list[Any] = []  # list[Record], or list[ScannedRecord] when lean
    append = records.append
    dv = decode_varint
    dvl = decode_varlong
    small = _SMALL_VARINTS
    end = len(data)
    pos = 0
    index = 0
    try:
        for index in range(header.records_count):  # noqa: B007 - named in the error below
            start = pos
            b = data[pos]
            if b < 0x80:  # one-byte varint: the common case, decoded inline
                length = small[b]
                pos += 1
            elif data[pos + 1] < 0x80:  # two bytes, inline too
                u = (b & 0x7F) | (data[pos + 1] << 7)
                length = (u >> 1) ^ -(u & 1)
                pos += 2
            else:
                length, pos = dv(data, pos)
            rec_end = pos + length
            if length < 1 or rec_end > end:
                raise CorruptRecordError(f"record length {length} does not fit the {end - pos} bytes left")
            # every read below only moves forward, so a read that strays past rec_end is caught by the
            # final pos == rec_end check; slices are checked against rec_end before they are taken
            pos += 1  # attributes: unused
            b = data[pos]
            if b < 0x80:
                timestamp_delta = small[b]
                pos += 1
            elif data[pos + 1] < 0x80:
                u = (b & 0x7F) | (data[pos + 1] << 7)
                timestamp_delta = (u >> 1) ^ -(u & 1)
                pos += 2
            else:
                timestamp_delta, pos = dvl(data, pos)
            b = data[pos]
            if b < 0x80:
                offset_delta = small[b]
                pos += 1
            elif data[pos + 1] < 0x80:
                u = (b & 0x7F) | (data[pos + 1] << 7)
                offset_delta = (u >> 1) ^ -(u & 1)
                pos += 2
            else:
                offset_delta, pos = dv(data, pos)
            b = data[pos]
            if b < 0x80:
                key_len = small[b]
                pos += 1
            elif data[pos + 1] < 0x80:
                u = (b & 0x7F) | (data[pos + 1] << 7)
                key_len = (u >> 1) ^ -(u & 1)
                pos += 2
            else:
                key_len, pos = dv(data, pos)
            if key_len < 0:
                key = None
            elif key_len > rec_end - pos:
                raise CorruptRecordError(f"key length {key_len} overruns the record")
            else:
                key = data[pos : pos + key_len]
                pos += key_len
            if lean:
                # the value's length varint is -1 (null, a tombstone) exactly when it is the byte 0x01
                append((base_offset + offset_delta, key, data[pos] != 1, timestamp_delta, start, rec_end))
                pos = rec_end
                continue
            b = data[pos]
            if b < 0x80:
                value_len = small[b]
                pos += 1
            elif data[pos + 1] < 0x80:
                u = (b & 0x7F) | (data[pos + 1] << 7)
                value_len = (u >> 1) ^ -(u & 1)
                pos += 2
            else:
                value_len, pos = dv(data, pos)
            if value_len < 0:
                value = None
            elif value_len > rec_end - pos:
                raise CorruptRecordError(f"value length {value_len} overruns the record")
            else:
                value = data[pos : pos + value_len]
                pos += value_len
            b = data[pos]
            if b < 0x80:
                count = small[b]
                pos += 1
            else:
                count, pos = dv(data, pos)
            if count < 0 or 2 * count > rec_end - pos:  # a header takes at least two bytes
                raise CorruptRecordError(f"invalid header count {count}")
            headers = []
            for _ in range(count):
                hk_len, pos = dv(data, pos)
                if hk_len < 0 or hk_len > rec_end - pos:
                    raise CorruptRecordError(f"invalid header key length {hk_len}")
                hkey = data[pos : pos + hk_len].decode("utf-8", "surrogateescape")
                pos += hk_len
                hv_len, pos = dv(data, pos)
                if hv_len < 0:
                    hvalue = None
                elif hv_len > rec_end - pos:
                    raise CorruptRecordError(f"header value length {hv_len} overruns the record")
                else:
                    hvalue = data[pos : pos + hv_len]
                    pos += hv_len
                headers.append((hkey, hvalue))
            if pos != rec_end:
                raise CorruptRecordError(f"record declares {length} bytes but its fields take {length + pos - rec_end}")
            timestamp = base_timestamp + timestamp_delta if append_time is None else append_time
            append(Record(base_offset + offset_delta, timestamp, key, value, headers))
    except (ValueError, IndexError) as e:  # ours, a bad varint, or an inline read past the end
        raise CorruptRecordError(f"record {index} of batch at offset {base_offset}: {e}") from None
    if pos != end:
        raise CorruptRecordError(f"{end - pos} bytes left after the {header.records_count} records of the batch")
    return records


def iter_batches(
    buf: Buffer, *, check_crc: bool = True, max_decompressed_size: int | None = None
) -> Iterator[tuple[int, BatchHeader, list[Record]]]:
    """Yield ``(position, header, records)`` for each whole batch in ``buf``.

    Like :func:`kavka.protocol.batch.iter_headers`, stops silently at a partial trailing batch (a
    fetch response or a log being written may end in one); every whole batch is fully decoded.
    """
    for pos, _ in iter_headers(buf):
        header, records = decode_batch(buf, pos, check_crc=check_crc, max_decompressed_size=max_decompressed_size)
        yield pos, header, records


def iter_records(
    buf: Buffer, *, check_crc: bool = True, max_decompressed_size: int | None = None
) -> Iterator[tuple[BatchHeader, Record]]:
    """Yield ``(header, record)`` for every record of every whole batch in ``buf``, decompressing."""
    for _, header, records in iter_batches(buf, check_crc=check_crc, max_decompressed_size=max_decompressed_size):
        for record in records:
            yield header, record


# ------------------------------------------------------------------------------------- control records


class ControlType:
    """Control record types (the int16 in a control record's key), as in Kafka's ControlRecordType."""

    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2
    SNAPSHOT_HEADER = 3
    SNAPSHOT_FOOTER = 4
    KRAFT_VERSION = 5
    KRAFT_VOTERS = 6


class EndTxnMarker(NamedTuple):
    """An end-transaction marker: the control record that commits or aborts a transaction."""

    commit: bool
    coordinator_epoch: int
    version: int = 0


def build_control_batch(
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    timestamp: int,
    *,
    base_offset: int = 0,
    partition_leader_epoch: int = -1,
) -> bytes:
    """A transactional control batch holding one end-transaction marker, as the coordinator writes it.

    Uncompressed, CreateTime, no sequence; the single record's offset is ``base_offset``.
    """
    key = _CONTROL_KEY.pack(0, ControlType.COMMIT if commit else ControlType.ABORT)
    try:
        value = _END_TXN_VALUE.pack(0, coordinator_epoch)
    except struct.error as e:
        raise ValueError(f"coordinator epoch out of range: {e}") from None
    return build_batch(
        [Record(base_offset, timestamp, key, value, [])],
        base_offset=base_offset,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        transactional=True,
        control=True,
        partition_leader_epoch=partition_leader_epoch,
    )


def control_record_type(record: Record) -> tuple[int, int]:
    """``(version, type)`` from a control record's key. Raises CorruptRecordError if it is too short.

    Like Kafka, a key version above 0 is read the same way (the type stays in the same place).
    """
    key = record.key
    if key is None or len(key) < _CONTROL_KEY.size:
        raise CorruptRecordError("control record key must hold at least 4 bytes (version, type)")
    version, ctype = _CONTROL_KEY.unpack_from(key)
    if version < 0:
        raise CorruptRecordError(f"invalid control record key version {version}")
    return version, ctype


def parse_end_txn_marker(record: Record) -> EndTxnMarker:
    """Read a commit/abort marker from a control record.

    Raises CorruptRecordError if the record is not an abort or commit marker or its value is too short.
    A value version above 0 is parsed as version 0, as Kafka's EndTransactionMarker does.
    """
    _, ctype = control_record_type(record)
    if ctype not in (ControlType.ABORT, ControlType.COMMIT):
        raise CorruptRecordError(f"control record type {ctype} is not an end-transaction marker")
    value = record.value
    if value is None or len(value) < _END_TXN_VALUE.size:
        raise CorruptRecordError("end-transaction marker value must hold at least 6 bytes")
    version, coordinator_epoch = _END_TXN_VALUE.unpack_from(value)
    if version < 0:
        raise CorruptRecordError(f"invalid end-transaction marker version {version}")
    return EndTxnMarker(ctype == ControlType.COMMIT, coordinator_epoch, version)
