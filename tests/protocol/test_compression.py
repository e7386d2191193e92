"""Compression codecs: round trips, the framings each client writes, hostile input, bomb guard."""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import aiokafka.codec as aio_codec
import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kavka.protocol.batch import CorruptRecordError
from kavka.protocol.compression import (
    GZIP,
    LZ4,
    LZ4_FRAME_HEADER,
    NONE,
    SNAPPY,
    XERIAL_MAGIC,
    ZSTD,
    DecompressedSizeError,
    DecompressionError,
    UnsupportedCompressionError,
    codec_id,
    compress,
    decompress,
)

CODECS = [NONE, GZIP, SNAPPY, LZ4, ZSTD]
COMPRESSED = [GZIP, SNAPPY, LZ4, ZSTD]

# aiokafka's codec module is an independent implementation of the same framings (on cramjam, like
# Kavka): what it writes Kavka must read, and what Kavka writes it must read.
AIO_DECODE = {GZIP: aio_codec.gzip_decode, SNAPPY: aio_codec.snappy_decode, LZ4: aio_codec.lz4_decode,
              ZSTD: aio_codec.zstd_decode}  # fmt: skip
AIO_ENCODE = {GZIP: aio_codec.gzip_encode, SNAPPY: aio_codec.snappy_encode, LZ4: aio_codec.lz4_encode,
              ZSTD: aio_codec.zstd_encode}  # fmt: skip

payloads = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=50), st.integers(1, 3000)),
)


@pytest.mark.parametrize("codec", CODECS)
@given(data=payloads)
@settings(max_examples=60)
def test_round_trip(codec, data):
    for form in (data, bytearray(data), memoryview(data)):
        blob = compress(codec, form)
        assert decompress(codec, blob) == data
        assert decompress(codec, memoryview(blob)) == data
        assert decompress(codec, blob, max_size=len(data)) == data


@pytest.mark.parametrize("codec", COMPRESSED)
@given(data=payloads)
@settings(max_examples=30)
def test_clients_read_ours_and_we_read_theirs(codec, data):
    assert bytes(AIO_DECODE[codec](compress(codec, data))) == data
    assert decompress(codec, bytes(AIO_ENCODE[codec](data))) == data


@pytest.mark.parametrize("codec", COMPRESSED)
@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 300_000])
def test_block_boundaries(codec, size):
    data = (os.urandom(1000) * (size // 1000 + 1))[:size]
    blob = compress(codec, data)
    assert decompress(codec, blob) == data
    assert bytes(AIO_DECODE[codec](blob)) == data
    random_data = os.urandom(size)  # incompressible: LZ4 stores such blocks raw
    assert decompress(codec, compress(codec, random_data)) == random_data


@pytest.mark.parametrize("codec", COMPRESSED)
def test_levels(codec):
    data = b"level test " * 5000
    for level in (1, 9):
        assert decompress(codec, compress(codec, data, level=level)) == data


def test_codec_names():
    assert [codec_id(n) for n in ("none", "gzip", "snappy", "lz4", "ZSTD")] == CODECS
    with pytest.raises(UnsupportedCompressionError):
        codec_id("brotli")


@pytest.mark.parametrize("bad", [5, 6, 7, -1, 8])
def test_unknown_codec(bad):
    with pytest.raises(UnsupportedCompressionError) as info:
        compress(bad, b"x")
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnsupportedCompressionError):
        decompress(bad, b"x")


# ---- snappy: xerial (Java, kafka-python, aiokafka) and raw (librdkafka)


def test_snappy_writes_xerial():
    data = b"x" * 100_000
    blob = compress(SNAPPY, data)
    assert blob[:8] == XERIAL_MAGIC
    assert struct.unpack(">ii", blob[8:16]) == (1, 1)
    # blocks of at most 32 KiB of input, each with a big-endian int32 length
    pos, blocks = 16, 0
    while pos < len(blob):
        (n,) = struct.unpack_from(">i", blob, pos)
        assert len(cramjam.snappy.decompress_raw(blob[pos + 4 : pos + 4 + n])) <= 32 * 1024
        pos += 4 + n
        blocks += 1
    assert pos == len(blob) and blocks == 4


def test_snappy_empty_is_readable_by_clients():
    # a bare 16-byte xerial header is taken for raw snappy by kafka-python/aiokafka (they want > 16 bytes)
    blob = compress(SNAPPY, b"")
    assert len(blob) > 16
    assert aio_codec.snappy_decode(blob) == b""


@given(payloads)
@settings(max_examples=30)
def test_snappy_reads_raw_as_librdkafka_writes(data):
    assert decompress(SNAPPY, bytes(cramjam.snappy.compress_raw(data))) == data


def test_snappy_xerial_version_fields_ignored():
    # Redpanda has been seen writing version/compat little-endian; the magic alone decides.
    data = b"redpanda " * 100
    block = bytes(cramjam.snappy.compress_raw(data))
    blob = XERIAL_MAGIC + struct.pack("<ii", 1, 1) + struct.pack(">i", len(block)) + block
    assert decompress(SNAPPY, blob) == data


@pytest.mark.parametrize(
    "blob",
    [
        XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00",  # truncated block length
        XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x09abc",  # block overruns
        XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff\xff\xff",  # negative length
        XERIAL_MAGIC + b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02\xff\xff",  # bad block
        b"\xff\xff\xff\xff\xff\xff\xff",  # raw, bad length varint
    ],
)
def test_snappy_corrupt(blob):
    with pytest.raises(DecompressionError):
        decompress(SNAPPY, blob)


# ---- lz4: frame format, independent blocks, as Kafka's Lz4BlockOutputStream writes


def test_lz4_frame_is_what_kafka_writes():
    data = b"lz4 " * 50_000  # several 64 KiB blocks
    blob = compress(LZ4, data)
    assert blob[:7] == LZ4_FRAME_HEADER == bytes.fromhex("04224d18604082")
    flg, bd = blob[4], blob[5]
    assert flg & 0x20  # block independence: Java's reader refuses linked blocks
    assert not flg & 0x1C  # no block checksum, no content size, no content checksum
    assert bd == 0x40  # 64 KiB blocks
    assert blob.endswith(b"\x00\x00\x00\x00")
    assert bytes(cramjam.lz4.decompress(blob)) == data  # liblz4 checks the header checksum byte


def test_lz4_reads_other_frames():
    data = b"some lz4 data " * 20_000
    # cramjam's default frame: linked blocks, block and content checksums
    assert decompress(LZ4, bytes(cramjam.lz4.compress(data))) == data
    c = cramjam.lz4.Compressor(content_checksum=False, block_linked=False)  # aiokafka's choice
    c.compress(data)
    assert decompress(LZ4, bytes(c.finish())) == data


def test_lz4_corrupt_header_checksum():
    blob = bytearray(compress(LZ4, b"abc" * 100))
    blob[6] ^= 0xFF
    with pytest.raises(DecompressionError):
        decompress(LZ4, bytes(blob))


# ---- zstd: frames without content size, concatenated frames


def _zstd_streamed(data: bytes) -> bytes:
    c = cramjam.zstd.Compressor()
    c.compress(data)
    return bytes(c.finish())


def test_zstd_without_content_size():
    data = b"zstd streamed " * 10_000
    blob = _zstd_streamed(data)
    assert blob[:4] == b"\x28\xb5\x2f\xfd"
    assert blob[4] & 0xC0 == 0 and not blob[4] & 0x20  # Frame_Content_Size_flag 0, not single-segment
    assert decompress(ZSTD, blob) == data
    assert decompress(ZSTD, blob, max_size=len(data)) == data
    with pytest.raises(DecompressedSizeError):
        decompress(ZSTD, blob, max_size=len(data) - 1)


def test_zstd_concatenated_frames():
    assert decompress(ZSTD, compress(ZSTD, b"one ") + _zstd_streamed(b"two")) == b"one two"


# ---- gzip


def test_gzip_reads_concatenated_members_and_ignores_trailing_garbage():
    blob = gzip.compress(b"first ") + gzip.compress(b"second", mtime=0)
    assert decompress(GZIP, blob) == b"first second"
    assert decompress(GZIP, blob + b"\x00\x00garbage") == b"first second"


def test_gzip_is_a_gzip_member():
    assert compress(GZIP, b"data")[:2] == b"\x1f\x8b"
    assert gzip.decompress(compress(GZIP, b"data")) == b"data"


def test_gzip_truncated():
    blob = gzip.compress(b"abcdef" * 100)
    with pytest.raises(DecompressionError):
        decompress(GZIP, blob[:-10])


def test_gzip_rejects_raw_zlib():
    with pytest.raises(DecompressionError):
        decompress(GZIP, zlib.compress(b"zlib, not gzip"))


# ---- hostile input


@pytest.mark.parametrize("codec", COMPRESSED)
@given(junk=st.binary(max_size=300))
@settings(max_examples=150)
def test_garbage_raises_only_decompression_error(codec, junk):
    for blob in (junk, LZ4_FRAME_HEADER + junk, XERIAL_MAGIC + junk, b"\x28\xb5\x2f\xfd" + junk):
        try:
            decompress(codec, blob, max_size=1 << 20)
        except DecompressionError as e:
            assert isinstance(e, CorruptRecordError)


@pytest.mark.parametrize("codec", COMPRESSED)
def test_decompression_bomb_guard(codec):
    size = 8 << 20
    bomb = compress(codec, bytes(size))
    assert len(bomb) < size // 10  # snappy tops out near 21:1
    with pytest.raises(DecompressedSizeError):
        decompress(codec, bomb, max_size=1 << 20)
    with pytest.raises(DecompressedSizeError):
        decompress(codec, bomb, max_size=size - 1)
    assert decompress(codec, bomb, max_size=size) == bytes(size)


def test_bomb_guard_raw_snappy_checks_declared_length():
    blob = bytes(cramjam.snappy.compress_raw(bytes(100_000)))
    with pytest.raises(DecompressedSizeError):
        decompress(SNAPPY, blob, max_size=99_999)


def test_none_codec_respects_max_size():
    assert decompress(NONE, memoryview(b"abc"), max_size=3) == b"abc"
    with pytest.raises(DecompressedSizeError):
        decompress(NONE, b"abcd", max_size=3)
