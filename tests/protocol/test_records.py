"""RecordBatch v2 record codec: round trips, interop with kafka-python and aiokafka, hostile input.

librdkafka has no standalone batch builder, so it is covered by the end-to-end client tests; the raw
snappy it writes is covered in test_compression.py.
"""

from __future__ import annotations

import struct

import aiokafka.codec as aio_codec
import aiokafka.record.default_records as aio_records
import cramjam
import kafka.codec as kp_codec
import kafka.record.default_records as kp_records
import pytest
from aiokafka.record.control_record import ABORT_MARKER, COMMIT_MARKER
from aiokafka.record.control_record import ControlRecord as AioControlRecord
from crc32c import crc32c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.record.memory_records import MemoryRecords as KpMemoryRecords

from kavka.protocol.batch import (
    CorruptRecordError,
    InvalidRecordError,
    parse_header,
    validate_batches,
)
from kavka.protocol.compression import DecompressedSizeError, UnsupportedCompressionError
from kavka.protocol.records import (
    DELETE_HORIZON_BIT,
    ControlType,
    EndTxnMarker,
    Record,
    build_batch,
    build_control_batch,
    control_record_type,
    decode_batch,
    iter_batches,
    iter_records,
    parse_end_txn_marker,
)

CODECS = [0, 1, 2, 3, 4]

# ---------------------------------------------------------------------------------------- strategies

blobs = st.one_of(st.none(), st.binary(max_size=40), st.just(b""))
header_keys = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
headers = st.lists(st.tuples(header_keys, blobs), max_size=4)


@st.composite
def record_lists(draw, base_offset=0):
    n = draw(st.integers(0, 12))
    gaps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    base_ts = draw(st.integers(-1, 2**45))
    offsets, off = [], base_offset - 1
    for gap in gaps:
        off += gap if offsets else 1 + draw(st.integers(0, 2))
        offsets.append(off)
    return [
        Record(o, base_ts + draw(st.integers(-(2**20), 2**20)), draw(blobs), draw(blobs), draw(headers))
        for o in offsets
    ]


# ---------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("codec", CODECS)
@given(
    data=st.data(),
    base_offset=st.integers(0, 2**40),
    log_append=st.booleans(),
    producer=st.tuples(st.integers(-1, 2**40), st.integers(-1, 2**15 - 1), st.integers(-1, 2**31 - 1)),
    transactional=st.booleans(),
    leader_epoch=st.integers(-1, 2**31 - 1),
)
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(codec, data, base_offset, log_append, producer, transactional, leader_epoch):
    records = data.draw(record_lists(base_offset))
    pid, epoch, seq = producer
    buf = build_batch(
        records, base_offset=base_offset, compression=codec, timestamp_type_log_append=log_append,
        producer_id=pid, producer_epoch=epoch, base_sequence=seq, transactional=transactional,
        partition_leader_epoch=leader_epoch,
    )  # fmt: skip
    (checked,) = validate_batches(buf)
    header, decoded = decode_batch(buf)
    assert header == checked
    assert header.size == len(buf)
    assert header.compression == codec
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == producer
    assert header.is_transactional == transactional and not header.is_control
    assert header.log_append_time == log_append
    assert header.partition_leader_epoch == leader_epoch
    assert header.records_count == len(records)
    assert header.base_offset == base_offset
    if records:
        assert header.last_offset == records[-1].offset
        assert header.base_timestamp == records[0].timestamp
        assert header.max_timestamp == max(r.timestamp for r in records)
    else:
        assert header.max_timestamp == header.base_timestamp == -1
    expected = records
    if log_append:
        expected = [Record(r.offset, header.max_timestamp, r.key, r.value, r.headers) for r in records]
    assert decoded == expected
    # the rebuilt batch is byte-identical: the cleaner can rely on decode/encode being lossless
    if codec == 0 and not log_append:
        again = build_batch(
            decoded, base_offset=base_offset, producer_id=pid, producer_epoch=epoch, base_sequence=seq,
            transactional=transactional, partition_leader_epoch=leader_epoch,
        )  # fmt: skip
        assert again == buf


def test_record_bytes_layout():
    buf = build_batch([Record(0, 10, b"k", b"v", [("h", b"x")])])
    # length 12, attributes 0, timestampDelta 0, offsetDelta 0, key len 1 (zigzag 2), ...
    assert buf[61:] == b"\x18\x00\x00\x00\x02k\x02v\x02\x02h\x02x"
    null = build_batch([Record(0, 10, None, None, [("h", None)])])
    assert null[61:] == b"\x12\x00\x00\x00\x01\x01\x02\x02h\x01"


def test_header_fields_and_flags():
    recs = [Record(100, 5, b"a", b"b"), Record(103, 3, None, b"c")]
    buf = build_batch(recs, base_offset=100, producer_id=7, producer_epoch=2, base_sequence=40,
                      transactional=True, partition_leader_epoch=9)  # fmt: skip
    h = parse_header(buf)
    assert (h.base_offset, h.last_offset_delta, h.records_count) == (100, 3, 2)
    assert (h.base_timestamp, h.max_timestamp) == (5, 5)
    assert h.attributes == 0x10 and h.last_sequence == 43
    assert h.crc == crc32c(buf[21:])


def test_delete_horizon_and_last_offset_delta():
    recs = [Record(10, 1_000, b"k", None), Record(11, 2_000, b"j", b"v")]
    buf = build_batch(recs, base_offset=10, delete_horizon_ms=5_000, last_offset_delta=4)
    header, decoded = decode_batch(buf)
    assert header.attributes & DELETE_HORIZON_BIT
    assert header.base_timestamp == 5_000 and header.max_timestamp == 2_000
    assert header.last_offset == 14
    assert decoded == recs


def test_empty_batch():
    header, decoded = decode_batch(build_batch([], base_offset=50, last_offset_delta=3, producer_id=1))
    assert decoded == [] and header.records_count == 0 and header.next_offset == 54


def test_header_key_bytes_survive_round_trip():
    # not UTF-8: decoded with surrogateescape, re-encoded to the same bytes
    raw = bytearray(build_batch([Record(0, 0, None, None, [("ab", b"v")])]))
    key_at = raw.index(b"ab")
    raw[key_at : key_at + 2] = b"\xff\xfe"
    struct.pack_into(">I", raw, 17, crc32c(raw[21:]))
    _, (rec,) = decode_batch(bytes(raw))
    assert rec.headers[0][0].encode("utf-8", "surrogateescape") == b"\xff\xfe"
    assert build_batch([rec]) == bytes(raw)


def test_build_batch_argument_errors():
    with pytest.raises(ValueError):
        build_batch([Record(1, 0, None, None), Record(1, 0, None, None)])
    with pytest.raises(ValueError):
        build_batch([Record(4, 0, None, None)], base_offset=5)
    with pytest.raises(ValueError):
        build_batch([Record(2**31, 0, None, None)])
    with pytest.raises(ValueError):
        build_batch([Record(3, 0, None, None)], last_offset_delta=2)
    with pytest.raises(ValueError):
        build_batch([], producer_epoch=2**15)
    with pytest.raises(UnsupportedCompressionError):
        build_batch([], compression=5)
    with pytest.raises(TypeError):
        build_batch([Record(0, 0, None, None, [(b"bytes-key", None)])])


# ---------------------------------------------------------------------------------- many batches


def test_iter_records_across_batches():
    batches = [
        build_batch(
            [Record(o, 100 + o, b"%d" % o, b"v") for o in range(start, start + 3)], base_offset=start, compression=codec
        )  # fmt: skip
        for start, codec in zip(range(0, 15, 3), CODECS)
    ]
    log = b"".join(batches)
    got = list(iter_records(log))
    assert [r.offset for _, r in got] == list(range(15))
    assert [h.compression for h, _ in got] == [c for c in CODECS for _ in range(3)]
    assert [p for p, _, _ in iter_batches(log)] == [sum(map(len, batches[:i])) for i in range(5)]
    # a partial trailing batch (the tail of a fetch response) is left alone
    assert len(list(iter_records(log + batches[0][:40]))) == 15
    assert len(list(iter_records(log + batches[0][:-1]))) == 15


# ---------------------------------------------------------------------------------- control batches


@pytest.mark.parametrize("commit", [True, False])
def test_control_batch(commit):
    buf = build_control_batch(commit, producer_id=42, producer_epoch=3, coordinator_epoch=7,
                              timestamp=1_700_000_000_000, base_offset=99, partition_leader_epoch=4)  # fmt: skip
    validate_batches(buf)
    header, (rec,) = decode_batch(buf)
    assert header.is_control and header.is_transactional
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (42, 3, -1)
    assert header.partition_leader_epoch == 4 and header.compression == 0
    assert rec.offset == 99 and rec.timestamp == 1_700_000_000_000
    assert rec.key == struct.pack(">hh", 0, int(commit))
    assert rec.value == struct.pack(">hi", 0, 7)
    assert control_record_type(rec) == (0, ControlType.COMMIT if commit else ControlType.ABORT)
    assert parse_end_txn_marker(rec) == EndTxnMarker(commit, 7, 0)
    # the clients agree
    assert AioControlRecord.parse(rec.key) == (COMMIT_MARKER if commit else ABORT_MARKER)
    (kp_rec,) = list(KpMemoryRecords(buf).next_batch())
    assert kp_rec.commit == commit and kp_rec.abort == (not commit)


def test_control_record_parsing_errors():
    with pytest.raises(CorruptRecordError):
        control_record_type(Record(0, 0, b"\x00\x00\x00", None))
    with pytest.raises(CorruptRecordError):
        parse_end_txn_marker(Record(0, 0, struct.pack(">hh", 0, ControlType.LEADER_CHANGE), b"\x00" * 6))
    with pytest.raises(CorruptRecordError):
        parse_end_txn_marker(Record(0, 0, struct.pack(">hh", 0, 1), b"\x00\x00\x00"))
    # a future value version is read as version 0, as Kafka does
    marker = parse_end_txn_marker(Record(0, 0, struct.pack(">hh", 0, 1), struct.pack(">hi", 1, 5) + b"xx"))
    assert marker == EndTxnMarker(True, 5, 1)


# ---------------------------------------------------------------------------------- real clients


class _SnappyShim:
    """Stands in for python-snappy so kafka-python's own xerial framing code runs on cramjam."""

    @staticmethod
    def compress(data):
        return bytes(cramjam.snappy.compress_raw(bytes(data)))

    @staticmethod
    def decompress(data):
        return bytes(cramjam.snappy.decompress_raw(bytes(data)))


def _kp_lz4_encode(data):
    # what kafka-python asks python-lz4 for: a frame with independent blocks
    c = cramjam.lz4.Compressor(content_checksum=False, block_linked=False)
    c.compress(bytes(data))
    return bytes(c.finish())


def _kp_zstd_encode(data):
    # streaming writer: no frame content size, as Java's zstd-jni output stream writes
    c = cramjam.zstd.Compressor()
    c.compress(bytes(data))
    return bytes(c.finish())


@pytest.fixture
def kafka_python_codecs(monkeypatch):
    """kafka-python ships only gzip here (python-snappy, lz4, zstandard are not installed): plug in
    cramjam underneath its framing code so its batch builder and reader cover every codec."""
    monkeypatch.setattr(kp_codec, "snappy", _SnappyShim)
    for name in ("has_snappy", "has_lz4", "has_zstd"):
        monkeypatch.setattr(kp_codec, name, lambda: True)
    monkeypatch.setattr(kp_records, "lz4_encode", _kp_lz4_encode)
    monkeypatch.setattr(kp_records, "lz4_decode", lambda d: bytes(cramjam.lz4.decompress(bytes(d))))
    monkeypatch.setattr(kp_records, "zstd_encode", _kp_zstd_encode)
    monkeypatch.setattr(kp_records, "zstd_decode", lambda d: bytes(cramjam.zstd.decompress(bytes(d))))


def _client_records():
    return [
        Record(0, 1_600_000_000_000, b"key-0", b"value " * 50, [("trace", b"abc"), ("empty", b""), ("nil", None)]),
        Record(1, 1_600_000_000_005, None, b"value " * 40, []),
        Record(2, 1_599_999_999_999, b"tomb", None, [("\u00e9t\u00e9", b"\x00\xff")]),
        Record(3, 1_600_000_000_001, b"", b"", []),
    ]


def _fill(builder, records):
    for r in records:
        assert builder.append(r.offset, timestamp=r.timestamp, key=r.key, value=r.value, headers=r.headers)
    return bytes(builder.build())


def _as_records(client_records):
    return [Record(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in client_records]


def _builders():
    yield (
        "kafka-python",
        lambda codec, pid, epoch, seq, txn: kp_records.DefaultRecordBatchBuilder(
            2, codec, txn, pid, epoch, seq, batch_size=1 << 20
        ),
    )
    yield (
        "aiokafka-c",
        lambda codec, pid, epoch, seq, txn: aio_records.DefaultRecordBatchBuilder(
            2, codec, txn, pid, epoch, seq, 1 << 20
        ),
    )
    yield (
        "aiokafka-py",
        lambda codec, pid, epoch, seq, txn: aio_records._DefaultRecordBatchBuilderPy(
            2, codec, txn, pid, epoch, seq, 1 << 20
        ),
    )


@pytest.mark.usefixtures("kafka_python_codecs")
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize(("client", "make"), list(_builders()))
@pytest.mark.parametrize("producer", [(-1, -1, -1, False), (1234, 5, 17, False), (99, 0, 0, True)])
def test_client_built_batches_decode(client, make, codec, producer):
    records = _client_records()
    buf = _fill(make(codec, *producer), records)
    (checked,) = validate_batches(buf)
    header, decoded = decode_batch(buf)
    assert header == checked
    assert header.compression == codec  # the values compress, so no client fell back to none
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == producer[:3]
    assert header.is_transactional == producer[3]
    assert header.max_timestamp == 1_600_000_000_005 and header.last_offset_delta == 3
    assert decoded == records
    # and the client reads the same records back from its own batch
    if client == "kafka-python":
        assert _as_records(KpMemoryRecords(buf).next_batch()) == decoded
    else:
        assert _as_records(aio_records.DefaultRecordBatch(buf)) == decoded


@pytest.mark.usefixtures("kafka_python_codecs")
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("log_append", [False, True])
def test_clients_read_our_batches(codec, log_append):
    records = [Record(r.offset + 500, r.timestamp, r.key, r.value, r.headers) for r in _client_records()]
    buf = build_batch(records, base_offset=500, compression=codec, producer_id=8, producer_epoch=1,
                      base_sequence=3, timestamp_type_log_append=log_append)  # fmt: skip
    if log_append:
        records = [Record(r.offset, 1_600_000_000_005, r.key, r.value, r.headers) for r in records]
    kp_batch = KpMemoryRecords(buf).next_batch()
    assert kp_batch.validate_crc()
    assert kp_batch.compression_type == codec
    assert _as_records(kp_batch) == records
    for reader in (aio_records.DefaultRecordBatch, aio_records._DefaultRecordBatchPy):
        batch = reader(buf)
        assert batch.validate_crc()
        assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (8, 1, 3)
        got = list(batch)
        assert _as_records(got) == records
        assert {r.timestamp_type for r in got} == {int(log_append)}


def test_aiokafka_codec_framings_match_ours():
    # aiokafka's LZ4 frames carry block checksums (FLG 0x70); Kafka's and ours do not (0x60).
    assert aio_codec.lz4_encode(b"x" * 100)[4] == 0x70
    buf = _fill(aio_records.DefaultRecordBatchBuilder(2, 3, 0, -1, -1, -1, 1 << 20), _client_records())
    assert buf[61 + 4] == 0x70
    assert decode_batch(buf)[1] == _client_records()


# ---------------------------------------------------------------------------------- hostile input


def _rebuild(header_fields: dict, payload: bytes) -> bytes:
    """A batch with arbitrary records bytes and a correct CRC, so decoding reaches the records."""
    raw = bytearray(build_batch([], **header_fields)[:61])
    raw += payload
    struct.pack_into(">i", raw, 8, len(raw) - 12)
    struct.pack_into(">I", raw, 17, crc32c(raw[21:]))
    return bytes(raw)


def _with_count(buf: bytes, count: int) -> bytes:
    raw = bytearray(buf)
    struct.pack_into(">i", raw, 57, count)
    struct.pack_into(">I", raw, 17, crc32c(raw[21:]))
    return bytes(raw)


def test_structural_errors():
    good = build_batch([Record(0, 0, b"k", b"v", [("h", b"x")]), Record(1, 0, None, None)])
    with pytest.raises(CorruptRecordError, match="truncated"):
        decode_batch(good[:60])
    with pytest.raises(CorruptRecordError):
        decode_batch(good[:-1])
    bad_crc = bytearray(good)
    bad_crc[20] ^= 1
    with pytest.raises(CorruptRecordError, match="CRC"):
        decode_batch(bytes(bad_crc))
    assert decode_batch(bytes(bad_crc), check_crc=False)[1][0].key == b"k"
    magic1 = bytearray(good)
    magic1[16] = 1
    with pytest.raises(InvalidRecordError):
        decode_batch(bytes(magic1))
    with pytest.raises(CorruptRecordError):
        decode_batch(_with_count(good, 3))  # more records claimed than present
    with pytest.raises(CorruptRecordError, match="bytes left"):
        decode_batch(_with_count(good, 1))  # fewer: trailing bytes
    with pytest.raises(CorruptRecordError):
        decode_batch(_with_count(good, -1))
    codec5 = bytearray(good)
    codec5[22] |= 5
    struct.pack_into(">I", codec5, 17, crc32c(codec5[21:]))
    with pytest.raises(CorruptRecordError, match="codec"):
        decode_batch(bytes(codec5))
    with pytest.raises(CorruptRecordError):
        decode_batch(good, pos=-1)


@pytest.mark.parametrize(
    "record",
    [
        b"\x02\x00",  # length 1 but fields run on
        b"\x0e\x00\x00\x00\x01\x01\x02\x01h\x01",  # header key length -1
        b"\x0e\x00\x00\x00\x01\x01\x02\x02h\x01\x00",  # record shorter than its fields... plus trailing byte
        b"\x0c\x00\x00\x00\x40\x01\x00",  # key length 32 overruns
        b"\x10\x00\x00\x00\x01\x01\x7f\x00\x00\x00\x00\x00\x00\x00",  # header count -64
        b"\x10\x00\x00\x00\x01\x01\x7e\x00\x00\x00\x00\x00\x00\x00",  # 63 headers in 7 bytes
        b"\x0c\x00" + b"\xff" * 10 + b"\x01",  # overlong varlong (11 bytes)
        b"\x01",  # negative record length
    ],
)
def test_malformed_records(record):
    with pytest.raises(CorruptRecordError):
        decode_batch(_with_count(_rebuild({}, record), 1))


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_bomb_guard_in_decode(codec):
    buf = build_batch([Record(0, 0, None, bytes(2 << 20))], compression=codec)
    with pytest.raises(DecompressedSizeError):
        decode_batch(buf, max_decompressed_size=1 << 20)
    with pytest.raises(CorruptRecordError):
        list(iter_records(buf, max_decompressed_size=1 << 20))
    assert decode_batch(buf, max_decompressed_size=3 << 20)[1][0].value == bytes(2 << 20)


@pytest.mark.parametrize("codec", [0, 1, 2, 3, 4])
@given(data=st.data())
@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_batches_raise_only_record_errors(codec, data):
    records = [Record(0, 0, b"key", b"value" * 5, [("h", b"v")]), Record(1, 5, None, None, [("", None)])]
    buf = bytearray(build_batch(records, compression=codec))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(8, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del buf[data.draw(st.integers(0, len(buf))) :]
    try:
        for check_crc in (True, False):
            decode_batch(bytes(buf), check_crc=check_crc, max_decompressed_size=1 << 16)
            list(iter_records(bytes(buf), check_crc=check_crc, max_decompressed_size=1 << 16))
    except (CorruptRecordError, InvalidRecordError):
        pass


@given(st.binary(max_size=200), st.integers(-1, 30))
@settings(max_examples=300)
def test_arbitrary_record_bytes_raise_only_corrupt_record(payload, count):
    buf = _with_count(_rebuild({}, payload), count)
    try:
        _, records = decode_batch(buf)
    except CorruptRecordError:
        return
    assert len(records) == count


def test_iter_records_reports_bad_magic_in_stream():
    good = build_batch([Record(0, 0, b"k", b"v")])
    bad = bytearray(good)
    bad[16] = 0
    with pytest.raises(InvalidRecordError):
        list(iter_records(good + bytes(bad)))


def test_types_accepted():
    buf = build_batch([Record(0, 0, bytearray(b"k"), memoryview(b"v"), [("h", bytearray(b"x"))])])
    for form in (buf, bytearray(buf), memoryview(buf)):
        _, (rec,) = decode_batch(form)
        assert rec == Record(0, 0, b"k", b"v", [("h", b"x")])
        assert type(rec.key) is bytes and type(rec.value) is bytes
