"""Record-batch compression codecs, with the framings Kafka clients actually put on the wire.

A compressed batch carries its records section (everything after the 61-byte header) as one
compressed blob; the codec id is in bits 0-2 of the batch attributes. Codec ids and framings:

    0 none
    1 gzip    RFC 1952 gzip members (Java GZIPOutputStream, librdkafka's zlib with a gzip header).
              Read: one or more concatenated members; bytes after the last member that do not start
              a new member are ignored, as Java's GZIPInputStream does. Write: one member.
    2 snappy  Two framings in the wild, told apart by the first 8 bytes:

              xerial (Java's snappy-java SnappyOutputStream, kafka-python, aiokafka)::

                  0   8  magic   82 53 4E 41 50 50 59 00   ("\\x82SNAPPY\\0")
                  8   4  version int32 BE (1)    -- ignored on read: some producers (Redpanda)
                  12  4  compat  int32 BE (1)    -- write these little-endian
                  16  then blocks until the end: int32 BE compressed length, raw snappy block

              raw (librdkafka): one raw snappy block (varint uncompressed length, then elements).
              Read both; write xerial with 32 KiB blocks, as snappy-java does.
    3 lz4     LZ4 *frame* format (KIP-57), little-endian::

                  0   4  magic  04 22 4D 18
                  4   1  FLG    version 01, block-independence, block/content checksum, content size
                  5   1  BD     block max size (4 = 64 KiB ... 7 = 4 MiB)
                  6   8  content size, only if FLG bit 3
                  ..  1  HC     (xxh32(FLG..) >> 8) & 0xFF
                  then blocks: uint32 LE size (bit 31 = stored uncompressed), data, [xxh32 if FLG bit 4]
                  end mark 00 00 00 00, then [content xxh32 if FLG bit 2]

              Java's reader rejects dependent (linked) blocks, so what is written here is exactly what
              Kafka's Lz4BlockOutputStream writes: FLG 0x60 (independent blocks, no checksums, no
              content size), BD 0x40 (64 KiB blocks), HC 0x82. Read any valid frame.
    4 zstd    zstd frames; Java's streaming writer omits the frame content size, so reading never
              relies on it (and accepts concatenated frames).

``decompress`` takes an optional ``max_size`` and then never materialises more than ``max_size``
bytes of output (plus one byte), so a tiny hostile payload cannot balloon into gigabytes. The bound the
broker uses for one batch is :func:`decompressed_limit`: a record is at most ``max.message.bytes``
(producers refuse larger records: librdkafka's ``message.max.bytes``, Java's ``max.request.size``), so a
batch of ``n`` records holds at most ``n * max.message.bytes`` bytes of records, and never more than
``DECOMPRESSED_CEILING`` (64 MiB, or ``max.message.bytes`` if that is larger) whatever it claims.
Kafka itself streams records out of a compressed batch one at a time and never holds the whole output;
Kavka decodes a batch at once, so it bounds the whole.
"""

from __future__ import annotations

import struct
import zlib
from typing import Literal, Protocol, TypedDict

import cramjam

from .batch import CorruptRecordError
from .varint import Buffer

__all__ = [
    "NONE",
    "GZIP",
    "SNAPPY",
    "LZ4",
    "ZSTD",
    "CODEC_NAMES",
    "UnsupportedCompressionError",
    "DecompressionError",
    "DecompressedSizeError",
    "compress",
    "decompress",
    "codec_id",
    "DECOMPRESSED_CEILING",
    "decompressed_limit",
]

NONE = 0
GZIP = 1
SNAPPY = 2
LZ4 = 3
ZSTD = 4
CODEC_NAMES = {NONE: "none", GZIP: "gzip", SNAPPY: "snappy", LZ4: "lz4", ZSTD: "zstd"}
_CODEC_IDS = {name: codec for codec, name in CODEC_NAMES.items()}

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024
_I32BE = struct.Struct(">i")

LZ4_FRAME_HEADER = b"\x04\x22\x4d\x18\x60\x40\x82"  # magic, FLG 0x60, BD 0x40, HC of (0x60, 0x40)
_LZ4_BLOCK = 64 * 1024
_LZ4_UNCOMPRESSED = 0x80000000
_LZ4_END_MARK = b"\x00\x00\x00\x00"
_U32LE = struct.Struct("<I")

_GZIP_MAGIC = b"\x1f\x8b"
_DEFAULT_GZIP_LEVEL = 6  # zlib's Z_DEFAULT_COMPRESSION, Kafka's compression.gzip.level default
_DEFAULT_ZSTD_LEVEL = 3  # Kafka's compression.zstd.level default


DECOMPRESSED_CEILING = 64 * 1024 * 1024


def decompressed_limit(records_count: int | None, max_message_bytes: int) -> int:
    """The most bytes a batch of ``records_count`` records may decompress to (see the module docstring).

    Batches already in the log were accepted under whatever ``max.message.bytes`` was in force then, so
    readers of the log (the cleaner, timestamp lookups) pass ``records_count=None`` and get the ceiling
    alone."""
    ceiling = max(DECOMPRESSED_CEILING, max_message_bytes)
    if records_count is None:
        return ceiling
    return min(max(records_count, 1) * max(max_message_bytes, 1), ceiling)


class UnsupportedCompressionError(ValueError):
    """A codec id (or name) that is not one of Kafka's five. Kafka: UNSUPPORTED_COMPRESSION_TYPE."""


class DecompressionError(CorruptRecordError):
    """Compressed bytes that do not decompress under their codec's framing."""


class DecompressedSizeError(DecompressionError):
    """Decompressed output would exceed the caller's ``max_size`` (a decompression bomb)."""


def codec_id(name: str) -> int:
    """The codec id for a Kafka ``compression.type`` name ("none", "gzip", "snappy", "lz4", "zstd")."""
    try:
        return _CODEC_IDS[name.lower()]
    except KeyError:
        raise UnsupportedCompressionError(f"unknown compression type {name!r}") from None


def _check_codec(codec: int) -> None:
    if codec not in CODEC_NAMES:
        raise UnsupportedCompressionError(f"unknown compression codec id {codec!r} (Kafka knows 0-4)")


# --------------------------------------------------------------------------------------------- compress


def compress(codec: int, data: Buffer, level: int | None = None) -> bytes:
    """Compress ``data`` (any bytes-like object) with ``codec``, in the framing Kafka clients read.

    ``level`` follows Kafka's KIP-390 per-codec levels (gzip 1-9, lz4 1-17 selects LZ4-HC, zstd any
    zstd level); None means the codec's Kafka default. Snappy has no level.
    """
    _check_codec(codec)
    if codec == NONE:
        return bytes(data)
    if codec == GZIP:
        c = zlib.compressobj(_DEFAULT_GZIP_LEVEL if level is None else level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return c.compress(data) + c.flush()
    if codec == SNAPPY:
        return _xerial_compress(data)
    if codec == LZ4:
        return _lz4_frame_compress(data, level)
    return bytes(cramjam.zstd.compress(data, level=_DEFAULT_ZSTD_LEVEL if level is None else level))


def _xerial_compress(data: Buffer) -> bytes:
    mv = memoryview(data).cast("B")
    parts = [_XERIAL_HEADER]
    # Always at least one block: kafka-python and aiokafka only recognise the xerial header when more
    # bytes follow it, so a bare 16-byte header (empty input) would be misread by them as raw snappy.
    for start in range(0, max(len(mv), 1), _XERIAL_BLOCK):
        block = bytes(cramjam.snappy.compress_raw(mv[start : start + _XERIAL_BLOCK]))
        parts.append(_I32BE.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


class _Lz4BlockOptions(TypedDict, total=False):
    """The keyword arguments of ``cramjam.lz4.compress_block`` that choose the compression level."""

    mode: Literal["default", "fast", "high_compression"]
    compression: int


def _lz4_frame_compress(data: Buffer, level: int | None) -> bytes:
    mv = memoryview(data).cast("B")
    kwargs: _Lz4BlockOptions
    if level is None:
        kwargs = {}
    else:
        kwargs = {"mode": "high_compression", "compression": level}
    parts = [LZ4_FRAME_HEADER]
    for start in range(0, len(mv), _LZ4_BLOCK):
        chunk = mv[start : start + _LZ4_BLOCK]
        block = bytes(cramjam.lz4.compress_block(chunk, store_size=False, **kwargs))
        if len(block) >= len(chunk):
            # incompressible: store it raw, flagged by bit 31 of the size (the frame spec allows it)
            parts.append(_U32LE.pack(len(chunk) | _LZ4_UNCOMPRESSED))
            parts.append(bytes(chunk))
        else:
            parts.append(_U32LE.pack(len(block)))
            parts.append(block)
    parts.append(_LZ4_END_MARK)
    return b"".join(parts)


# ------------------------------------------------------------------------------------------- decompress


def decompress(codec: int, data: Buffer, max_size: int | None = None) -> bytes:
    """Decompress ``data`` (any bytes-like object) that was compressed with ``codec``.

    Raises UnsupportedCompressionError for an unknown codec id, DecompressionError (a
    CorruptRecordError) for bytes that do not decompress, and DecompressedSizeError when the output
    would exceed ``max_size`` bytes (checked before that much is allocated).
    """
    _check_codec(codec)
    if max_size is not None and max_size < 0:
        raise ValueError("max_size must be >= 0")
    if codec == NONE:
        out = bytes(data)
        _check_size(len(out), max_size)
        return out
    try:
        if codec == GZIP:
            return _gunzip(data, max_size)
        if codec == SNAPPY:
            return _snappy_decompress(data, max_size)
        if codec == LZ4:
            return _cramjam_decompress(cramjam.lz4, data, max_size)
        return _cramjam_decompress(cramjam.zstd, data, max_size)
    except DecompressionError:
        raise
    except (cramjam.DecompressionError, zlib.error, ValueError) as e:
        raise DecompressionError(f"{CODEC_NAMES[codec]}: cannot decompress: {e}") from e


def _check_size(size: int, max_size: int | None) -> None:
    if max_size is not None and size > max_size:
        raise DecompressedSizeError(f"decompressed size exceeds the limit of {max_size} bytes")


def _gunzip(data: Buffer, max_size: int | None) -> bytes:
    out: list[bytes] = []
    total = 0
    rest = data
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        # max_length = limit + 1 lets us tell "exactly at the limit" from "over it" without
        # inflating more than one byte beyond the limit.
        chunk = d.decompress(rest, 0 if max_size is None else max_size - total + 1)
        total += len(chunk)
        _check_size(total, max_size)
        if not d.eof:
            raise DecompressionError("gzip: truncated stream")
        out.append(chunk)
        rest = d.unused_data
        if not rest.startswith(_GZIP_MAGIC):
            return b"".join(out)


def _snappy_decompress(data: Buffer, max_size: int | None) -> bytes:
    mv = memoryview(data).cast("B")
    if mv[:8] != XERIAL_MAGIC or len(mv) < 16:
        # raw snappy (librdkafka): the uncompressed length leads the block, so check it up front
        if max_size is not None:
            _check_size(cramjam.snappy.decompress_raw_len(mv), max_size)
        return bytes(cramjam.snappy.decompress_raw(mv))
    out = []
    total = 0
    pos = 16
    end = len(mv)
    while pos < end:
        if end - pos < 4:
            raise DecompressionError(f"snappy: truncated xerial block length at byte {pos}")
        (size,) = _I32BE.unpack_from(mv, pos)
        pos += 4
        if size < 0 or size > end - pos:
            raise DecompressionError(f"snappy: xerial block of {size} bytes does not fit")
        block = mv[pos : pos + size]
        pos += size
        total += cramjam.snappy.decompress_raw_len(block)
        _check_size(total, max_size)
        out.append(bytes(cramjam.snappy.decompress_raw(block)))
    return b"".join(out)


class _CramjamCodec(Protocol):
    """What this module uses of a cramjam codec module (``cramjam.lz4``, ``cramjam.zstd``)."""

    def decompress(self, data: Buffer, /) -> cramjam.Buffer: ...

    def decompress_into(self, data: Buffer, output: bytearray, /) -> int: ...


def _cramjam_decompress(module: _CramjamCodec, data: Buffer, max_size: int | None) -> bytes:
    if max_size is None:
        return bytes(module.decompress(data))
    # cramjam's decompress_into fails rather than overrun the buffer it is given, which makes it a
    # hard bound. Start small and grow geometrically, so the total work stays linear in the output.
    size = min(max_size + 1, max(4 * len(data), 64 * 1024))
    while True:
        buf = bytearray(size)
        try:
            n = module.decompress_into(data, buf)
        except cramjam.DecompressionError as e:
            if size <= max_size:
                size = min(max_size + 1, size * 4)
                continue
            if "whole buffer" in str(e):
                raise DecompressedSizeError(f"decompressed size exceeds the limit of {max_size} bytes") from e
            raise
        _check_size(n, max_size)
        return bytes(memoryview(buf)[:n])
