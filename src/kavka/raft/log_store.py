"""``MetadataLogStore`` on a partition log: one RecordBatch v2 per commit in ``__cluster_metadata-0``.

Each commit becomes one uncompressed batch whose records have a null key and the encoded metadata
record (``kavka.metadata.records.encode_record``) as value, as Kafka's metadata log does (Kafka's
record values are the same frame: frame version, api key, version, body). Reading decodes every
batch of the log with ``kavka.protocol.records.iter_records`` and yields the record values.

The partition log is reached through two callables so this module does not depend on the storage
API's exact shape: ``append_batch(batch_bytes)`` appends one batch (the log assigns offsets by
patching the base offset), and ``read_log()`` yields the log's bytes from the start, in chunks that
each hold whole batches (a segment file's contents, say). Control batches are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from kavka.protocol.batch import CONTROL_BIT
from kavka.protocol.records import Record, build_batch, iter_records

__all__ = ["BatchMetadataLogStore"]


class BatchMetadataLogStore:
    def __init__(
        self,
        append_batch: Callable[[bytes], object],
        read_log: Callable[[], Iterable[bytes]],
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self._append_batch = append_batch
        self._read_log = read_log
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    def append(self, records: Sequence[bytes]) -> None:
        if not records:
            return
        now = self._clock_ms()
        batch = build_batch([Record(i, now, None, value) for i, value in enumerate(records)], base_offset=0)
        self._append_batch(batch)

    def read_all(self) -> Iterable[bytes]:
        for chunk in self._read_log():
            for header, record in iter_records(chunk):
                if header.attributes & CONTROL_BIT:
                    continue
                if record.value is not None:
                    yield record.value
