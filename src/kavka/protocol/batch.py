"""RecordBatch v2 (magic 2) header view: parse, validate, patch. No per-record work.

Byte layout of one batch (all integers big-endian)::

    offset  size  field
    0       8     baseOffset            patched by the broker on append
    8       4     batchLength           bytes after this field (= total size - 12)
    12      4     partitionLeaderEpoch  patched by the broker on append (outside the CRC)
    16      1     magic                 must be 2
    17      4     crc                   CRC32C (Castagnoli) of bytes [21, end)
    21      2     attributes            bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4,
                                        4 zstd), bit 3 timestampType (1 = LogAppendTime),
                                        bit 4 isTransactional, bit 5 isControlBatch,
                                        bit 6 hasDeleteHorizonMs
    23      4     lastOffsetDelta
    27      8     baseTimestamp
    35      8     maxTimestamp          set to the append time for LogAppendTime topics
    43      8     producerId            -1 when not idempotent
    51      2     producerEpoch
    53      4     baseSequence
    57      4     recordsCount
    61      ...   records (possibly compressed as a whole)

Because baseOffset and partitionLeaderEpoch sit before the CRC'd range, the broker assigns offsets by
patching 12 bytes without recomputing the CRC. Stamping LogAppendTime changes attributes and
maxTimestamp, so it does recompute the CRC.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

from crc32c import crc32c

from kavka.protocol.varint import Buffer

__all__ = [
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "MAGIC",
    "BatchHeader",
    "HEADER_STRUCT",
    "CorruptRecordError",
    "InvalidRecordError",
    "parse_header",
    "iter_headers",
    "validate_batches",
    "patch_base_offset",
    "patch_leader_epoch",
    "stamp_log_append_time",
    "compute_crc",
    "batch_size_at",
    "is_transactional_at",
    "producer_at",
    "COMPRESSION_MASK",
    "TIMESTAMP_TYPE_BIT",
    "TRANSACTIONAL_BIT",
    "CONTROL_BIT",
    "NO_PRODUCER_ID",
    "NO_SEQUENCE",
]

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset + batchLength: the bytes not counted by batchLength
MAGIC = 2
COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20
NO_PRODUCER_ID = -1
NO_SEQUENCE = -1

_HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_STRUCT = _HEADER  # the one definition of the layout, for the few that write a whole header
_OFFSET = struct.Struct(">q")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_ATTR_AND_REST = struct.Struct(">h")
_I64 = struct.Struct(">q")
_PRODUCER = struct.Struct(">qh")  # producerId, producerEpoch at 43
_BATCH_LENGTH_AT = 8
_ATTRIBUTES_LOW_BYTE_AT = 22  # attributes is an int16 at 21: its flags all sit in the low byte
_PRODUCER_AT = 43


class CorruptRecordError(ValueError):
    """Bytes that do not form a valid batch: bad CRC, bad length, torn data. Kafka: CORRUPT_MESSAGE."""


class InvalidRecordError(ValueError):
    """A well-formed batch the broker refuses (wrong magic, bad offsets). Kafka: INVALID_RECORD.

    ``record_errors`` names the refused records, ``[(index in the batch, message)]``, for the Produce
    response's ``record_errors`` (KIP-467); empty when the batch as a whole is refused.
    """

    def __init__(self, message: str, record_errors: tuple[tuple[int, str], ...] = ()):
        super().__init__(message)
        self.record_errors = record_errors


class BatchHeader(NamedTuple):
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Total bytes of the batch on the wire / on disk."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_BIT)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)

    @property
    def log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_BIT)

    @property
    def last_sequence(self) -> int:
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        # sequences wrap at Int32.MAX_VALUE, as in Kafka's DefaultRecordBatch.incrementSequence
        return (self.base_sequence + self.last_offset_delta) % 0x80000000


def parse_header(buf: Buffer, pos: int = 0) -> BatchHeader:
    """Parse the 61-byte header at ``pos``. The caller guarantees 61 bytes are there."""
    return BatchHeader._make(_HEADER.unpack_from(buf, pos))


# Single fields of the header at ``pos``, without parsing the whole of it: the Produce handler looks at
# the first batch of every partition of every request (one field each, nearly always). The caller
# guarantees the header's 61 bytes are there.


def batch_size_at(buf: Buffer, pos: int = 0) -> int:
    """Total bytes of the batch at ``pos`` (batchLength + 12), as the header says; not validated."""
    batch_length: int = _I32.unpack_from(buf, pos + _BATCH_LENGTH_AT)[0]
    return batch_length + LOG_OVERHEAD


def is_transactional_at(buf: Buffer, pos: int = 0) -> bool:
    """The isTransactional attribute (bit 4) of the batch at ``pos``."""
    return bool(buf[pos + _ATTRIBUTES_LOW_BYTE_AT] & TRANSACTIONAL_BIT)


def producer_at(buf: Buffer, pos: int = 0) -> tuple[int, int]:
    """``(producerId, producerEpoch)`` of the batch at ``pos``."""
    return _PRODUCER.unpack_from(buf, pos + _PRODUCER_AT)


def compute_crc(buf: Buffer, pos: int, size: int) -> int:
    """CRC32C of the batch at ``pos`` spanning ``size`` bytes (the range the header's crc covers)."""
    mv = memoryview(buf)
    return crc32c(mv[pos + 21 : pos + size])


def iter_headers(buf: Buffer, start: int = 0, end: int | None = None) -> Iterator[tuple[int, BatchHeader]]:
    """Yield ``(position, header)`` for each whole batch in ``buf[start:end]``.

    Stops silently at a partial trailing batch (a fetch response may end in one); raises
    CorruptRecordError for a length that cannot be a batch.
    """
    if end is None:
        end = len(buf)
    pos = start
    while end - pos >= HEADER_SIZE:
        header = parse_header(buf, pos)
        if header.batch_length < HEADER_SIZE - LOG_OVERHEAD:
            raise CorruptRecordError(f"batch length {header.batch_length} at {pos} is too small")
        if pos + header.size > end:
            return
        yield pos, header
        pos += header.size


def validate_batches(buf: Buffer, max_batch_size: int | None = None, check_crc: bool = True) -> list[BatchHeader]:
    """Check that ``buf`` is a sequence of complete, well-formed v2 batches, as a produce request carries.

    Raises CorruptRecordError for truncated data, bad lengths or CRC mismatch, InvalidRecordError for a
    magic other than 2 or a negative record count, and returns the headers in order. ``max_batch_size``
    is checked by the caller (it maps to MESSAGE_TOO_LARGE), so it is only reported, not raised, here.
    """
    n = len(buf)
    if n == 0:
        raise CorruptRecordError("empty record set")
    headers = []
    pos = 0
    while pos < n:
        if n - pos < HEADER_SIZE:
            if n - pos >= 17 and buf[pos + 16] != MAGIC:
                raise InvalidRecordError(f"unsupported magic {buf[pos + 16]}")
            raise CorruptRecordError(f"truncated batch header at {pos} ({n - pos} bytes)")
        header = parse_header(buf, pos)
        if header.magic != MAGIC:
            raise InvalidRecordError(f"unsupported magic {header.magic}; only record batch v2 is accepted")
        size = header.size
        if header.batch_length < HEADER_SIZE - LOG_OVERHEAD or pos + size > n:
            raise CorruptRecordError(f"batch length {header.batch_length} does not fit the {n - pos} bytes left")
        if header.records_count < 0 or header.last_offset_delta < 0:
            raise CorruptRecordError("negative record count or offset delta")
        if check_crc and compute_crc(buf, pos, size) != header.crc:
            raise CorruptRecordError(f"CRC mismatch in batch at byte {pos}")
        headers.append(header)
        pos += size
    return headers


def patch_base_offset(buf: bytearray | memoryview, pos: int, base_offset: int) -> None:
    """Write the broker-assigned base offset (outside the CRC)."""
    _OFFSET.pack_into(buf, pos, base_offset)


def patch_leader_epoch(buf: bytearray | memoryview, pos: int, epoch: int) -> None:
    """Write the partition leader epoch (outside the CRC)."""
    _I32.pack_into(buf, pos + 12, epoch)


def stamp_log_append_time(buf: bytearray | memoryview, pos: int, size: int, timestamp_ms: int) -> None:
    """Mark the batch as LogAppendTime with ``timestamp_ms`` as its max timestamp; recompute the CRC."""
    (attributes,) = _ATTR_AND_REST.unpack_from(buf, pos + 21)
    _ATTR_AND_REST.pack_into(buf, pos + 21, attributes | TIMESTAMP_TYPE_BIT)
    _I64.pack_into(buf, pos + 35, timestamp_ms)
    _U32.pack_into(buf, pos + 17, compute_crc(buf, pos, size))
