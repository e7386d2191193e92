"""The log cleaner's lean view of records (``scan_records``) agrees with the full decoder, record for
record, on every length of varint (one, two and more bytes), and refuses what the full decoder refuses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kavka.protocol.batch import CorruptRecordError, parse_header
from kavka.protocol.records import Record, build_batch, decode_batch, records_section, scan_records

# sizes around the one-, two- and three-byte varint boundaries (zigzag: 63/64, 8191/8192)
sized_blobs = st.one_of(
    st.none(),
    st.integers(0, 70).map(bytes),
    st.sampled_from([63, 64, 8191, 8192, 20000]).map(bytes),
)


@st.composite
def batches(draw):
    n = draw(st.integers(1, 8))
    base_ts = draw(st.integers(0, 2**41))
    records = []
    offset = draw(st.integers(0, 2**40))
    base = offset
    for _ in range(n):
        headers = draw(st.lists(st.tuples(st.text(max_size=5), sized_blobs), max_size=2))
        ts = base_ts + draw(st.sampled_from([0, 1, -5, 63, 64, 10_000, 2**33]))
        records.append(Record(offset, ts, draw(sized_blobs), draw(sized_blobs), headers))
        offset += draw(st.sampled_from([1, 2, 70, 5000]))
    codec = draw(st.sampled_from([0, 1, 4]))
    return build_batch(records, base_offset=base, compression=codec), records


@given(batches())
@settings(max_examples=150, deadline=None)
def test_scan_agrees_with_decode(case):
    batch, records = case
    header = parse_header(batch)
    data = records_section(batch, 0, header)
    scanned = scan_records(data, header)
    _, decoded = decode_batch(batch)
    assert decoded == records
    assert [(s[0], s[1], s[2]) for s in scanned] == [(r.offset, r.key, r.value is not None) for r in records]
    assert [header.base_timestamp + s[3] for s in scanned] == [r.timestamp for r in records]
    # the spans tile the records section: each record's bytes, reusable as they are
    assert scanned[0][4] == 0 and scanned[-1][5] == len(data)
    assert all(a[5] == b[4] for a, b in zip(scanned, scanned[1:]))


@given(st.binary(min_size=1, max_size=120), st.integers(1, 5))
@settings(max_examples=300, deadline=None)  # timing varies on a loaded CI machine
def test_scan_refuses_what_decode_refuses_in_the_parts_it_reads(payload, count):
    # the same random records section behind a valid header: when the full decoder accepts it, the
    # scan accepts it too and sees the same records; the scan raises only CorruptRecordError
    header = parse_header(build_batch([Record(0, 0, None, None)]))._replace(records_count=count)
    try:
        scanned = scan_records(payload, header)
    except CorruptRecordError:
        scanned = None
    batch = bytearray(build_batch([Record(0, 0, None, None)]))
    batch[61:] = payload
    batch[57:61] = count.to_bytes(4, "big")
    batch[8:12] = (len(batch) - 12).to_bytes(4, "big")
    try:
        _, decoded = decode_batch(bytes(batch), check_crc=False)
    except CorruptRecordError:
        return
    assert scanned is not None
    assert [s[0] for s in scanned] == [r.offset for r in decoded]
