"""Single header fields read in place (the Produce handler's look at each partition's first batch)
agree with the full header parse, at any position in a record set."""

from __future__ import annotations

import pytest

from kavka.protocol.batch import batch_size_at, is_transactional_at, parse_header, producer_at
from kavka.protocol.records import Record, build_batch


@pytest.mark.parametrize("transactional", [False, True])
def test_fields_match_the_parsed_header(transactional):
    first = build_batch([Record(0, 1, b"k", b"v")])
    second = build_batch(
        [Record(5, 2, None, b"x" * 300)],
        base_offset=5,
        producer_id=4242,
        producer_epoch=7,
        base_sequence=0,
        transactional=transactional,
    )
    records = memoryview(first + second)
    for pos, raw in ((0, first), (len(first), second)):
        h = parse_header(raw)
        assert batch_size_at(records, pos) == h.size == len(raw)
        assert is_transactional_at(records, pos) is h.is_transactional
        assert producer_at(records, pos) == (h.producer_id, h.producer_epoch)
    assert is_transactional_at(records, len(first)) is transactional
    assert producer_at(records, len(first)) == (4242, 7)
