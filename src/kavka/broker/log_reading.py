"""Reading a whole partition log from its start: how the metadata quorum and the coordinators rebuild
their state at startup (DESIGN §5: replay the log)."""

from __future__ import annotations

from collections.abc import Iterator

from kavka.protocol.batch import BatchHeader, iter_headers
from kavka.protocol.records import Record, iter_records

__all__ = ["read_whole_log", "iter_log_records"]

_CHUNK = 1 << 20


def read_whole_log(plog) -> Iterator[bytes]:
    """Yield the log's bytes from its log start offset to its end, in chunks of whole batches. The first
    chunk may begin with a batch that starts before the log start offset (DeleteRecords mid-batch)."""
    offset = plog.log_start_offset
    end = plog.log_end_offset
    while offset < end:
        data = b"".join(bytes(c) for c in plog.read(offset, _CHUNK, max_offset=end).chunks)
        last = None
        for _, header in iter_headers(data):
            last = header
        if last is None:
            return
        yield data
        offset = last.next_offset


def iter_log_records(plog) -> Iterator[tuple[BatchHeader, Record]]:
    """(batch header, record) for every record at or after the log start offset, oldest first, control
    records included (callers skip what they do not replay)."""
    start = plog.log_start_offset
    for data in read_whole_log(plog):
        for header, record in iter_records(data):
            if record.offset >= start:
                yield header, record
