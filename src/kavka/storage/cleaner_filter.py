"""The cleaner's filter of records: one batch in, the bytes that stay out (Kafka's
``MemoryRecords.filterTo`` with the retention rules of ``Cleaner``, step 4 of :mod:`kavka.storage.cleaner`).

Contract: :func:`filter_batch` is a pure function of the batch's bytes, the round's offset map, the
transaction state of the pass (:class:`CleanedTransactions`, fed batch by batch in log order), the log's
active producers and the round's clock reading. It does no I/O and keeps no state of its own. Per batch:

- a record survives if it is past the map (offset > ``latest``), or it is the latest offset for its key
  and has a value, or is a tombstone whose batch has no delete horizon yet / one still in the future;
  keyless records are dropped (Kafka counts them invalid);
- a batch keeping all its records and needing no horizon is returned byte for byte; one losing records
  is rebuilt from the kept records' own bytes (same base offset, base timestamp, last offset delta,
  producer fields, attributes, codec); one whose tombstones (or empty-transaction marker) get their
  first horizon (``now + delete.retention.ms``, KIP-534 bit 6) is re-encoded, since its base timestamp
  moves;
- aborted transactional data goes; a COMMIT/ABORT marker goes once no data of its transaction remains
  and its horizon has passed;
- a batch that keeps nothing becomes an empty header when it is an active producer's last batch (its
  sequence and epoch: idempotence survives) or the last batch of a cleaned group (so a cleaned segment
  ends where the segments it replaces ended), else it goes.

Malformed record data raises CorruptRecordError (the caller marks the log uncleanable).
"""

from __future__ import annotations

import hashlib
import struct

from kavka.protocol.batch import (
    CONTROL_BIT,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    MAGIC,
    TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
    BatchHeader,
    compute_crc,
)
from kavka.protocol.compression import compress
from kavka.protocol.records import (
    DELETE_HORIZON_BIT,
    ControlType,
    Record,
    ScannedRecord,
    build_batch,
    decode_batch,
    records_section,
    scan_records,
)

__all__ = ["CleanedTransactions", "filter_batch", "map_key", "control_type"]

_U32 = struct.Struct(">I")
_CONTROL_KEY = struct.Struct(">hh")  # a control record's key: version, type


def _rebuild_raw(h: BatchHeader, payload: bytes, kept: list[ScannedRecord]) -> bytes:
    """The batch with only ``kept`` records, their bytes reused as they are: same base offset, base
    timestamp (so every delta stays valid, a delete horizon included), last offset delta, producer
    fields and attributes; new count, max timestamp and CRC; recompressed with the same codec."""
    body = b"".join(payload[start:end] for _o, _k, _v, _t, start, end in kept)
    if h.compression:
        body = compress(h.compression, body)
    if h.log_append_time:
        max_ts = h.max_timestamp
    else:
        max_ts = h.base_timestamp + max(t for _o, _k, _v, t, _s, _e in kept)
    buf = bytearray(HEADER_SIZE + len(body))
    HEADER_STRUCT.pack_into(
        buf,
        0,
        h.base_offset,
        HEADER_SIZE - LOG_OVERHEAD + len(body),
        h.partition_leader_epoch,
        MAGIC,
        0,
        h.attributes,
        h.last_offset_delta,
        h.base_timestamp,
        max_ts,
        h.producer_id,
        h.producer_epoch,
        h.base_sequence,
        len(kept),
    )
    buf[HEADER_SIZE:] = body
    _U32.pack_into(buf, 17, compute_crc(buf, 0, len(buf)))
    return bytes(buf)


def map_key(key: bytes) -> bytes:
    """The offset map's key for a record key: itself up to 16 bytes, else a 17-byte BLAKE2b digest."""
    return key if len(key) <= 16 else hashlib.blake2b(key, digest_size=17).digest()


def _horizon(h: BatchHeader) -> int | None:
    """The batch's delete horizon (KIP-534: bit 6 set, baseTimestamp holds it), else None."""
    return h.base_timestamp if h.attributes & DELETE_HORIZON_BIT else None


def _empty_batch(h: BatchHeader) -> bytes:
    """Kafka's ``writeEmptyHeader``: the batch's offsets, producer fields and type, no records."""
    attributes = h.attributes & (TIMESTAMP_TYPE_BIT | TRANSACTIONAL_BIT | CONTROL_BIT)
    buf = bytearray(
        HEADER_STRUCT.pack(
            h.base_offset,
            HEADER_SIZE - LOG_OVERHEAD,
            h.partition_leader_epoch,
            MAGIC,
            0,
            attributes,
            h.last_offset_delta,
            h.max_timestamp,
            h.max_timestamp,
            h.producer_id,
            h.producer_epoch,
            h.base_sequence,
            0,
        )
    )
    _U32.pack_into(buf, 17, compute_crc(buf, 0, len(buf)))
    return bytes(buf)


def control_type(records: list[Record]) -> int | None:
    """A control batch's record type (ControlType), None when it has no record or a short key."""
    if not records or records[0].key is None or len(records[0].key) < _CONTROL_KEY.size:
        return None
    control: int = _CONTROL_KEY.unpack_from(records[0].key)[1]
    return control


class CleanedTransactions:
    """Kafka's ``CleanedTransactionMetadata``: which data is aborted, and when a marker may go."""

    def __init__(self, aborted: list[tuple[int, int, int]]) -> None:
        self._aborted = sorted(aborted, key=lambda t: t[1])  # (producer id, first offset, marker offset)
        self._next = 0
        self.ongoing_aborted: dict[int, bool] = {}  # pid -> a batch of it was seen in this pass
        self.ongoing_committed: set[int] = set()

    def _consume_up_to(self, offset: int) -> None:
        while self._next < len(self._aborted) and self._aborted[self._next][1] <= offset:
            self.ongoing_aborted.setdefault(self._aborted[self._next][0], False)
            self._next += 1

    def on_batch_read(self, h: BatchHeader) -> bool:
        """True if the (data) batch belongs to an aborted transaction."""
        self._consume_up_to(h.last_offset)
        if h.is_transactional:
            if h.producer_id in self.ongoing_aborted:
                self.ongoing_aborted[h.producer_id] = True
                return True
            self.ongoing_committed.add(h.producer_id)
        return False

    def on_control_batch_read(self, h: BatchHeader, control_type: int | None) -> bool:
        """True if the marker's transaction has no data left, so the marker may be discarded."""
        self._consume_up_to(h.last_offset)
        if control_type is None:
            return True  # an emptied control batch: already cleaned
        if control_type == ControlType.ABORT:
            seen = self.ongoing_aborted.pop(h.producer_id, None)
            return not seen
        if control_type == ControlType.COMMIT:
            if h.producer_id in self.ongoing_committed:
                self.ongoing_committed.discard(h.producer_id)
                return False
            return True
        return False


def filter_batch(
    data: bytes,
    off: int,
    h: BatchHeader,
    omap: dict[bytes, int],
    latest: int,
    txn: CleanedTransactions,
    producers: dict[int, tuple[int, int]],
    group_tail: bool,
    now: int,
    delete_retention: int,
    max_decompressed: int,
) -> tuple[bytes | None, int, int | None]:
    """Kafka's ``MemoryRecords.filterTo`` with the cleaner's filter, for the batch ``h`` at ``data[off:]``.

    Returns ``(bytes to keep, records retained, horizon)``: the bytes are the original batch, a rebuilt
    one or an empty header, or None to drop the batch; ``horizon`` is the delete horizon of the
    tombstones or empty-transaction marker it keeps (None when it keeps none). ``omap`` maps
    :func:`map_key` keys to their latest offset up to ``latest``; ``producers`` is the log's
    ``last_records_of_active_producers()``; ``group_tail`` is True for the last batch of a cleaned group. A compressed batch that inflates past
    ``max_decompressed`` raises CorruptRecordError (the log is marked uncleanable rather than the broker
    inflating a bomb).
    """
    control = h.is_control
    horizon = _horizon(h)
    recs: list[Record] = []
    if control:
        _hh, recs = decode_batch(data, off, max_decompressed_size=max_decompressed)
        can_discard = txn.on_control_batch_read(h, control_type(recs))
        discard_records = can_discard and horizon is not None and horizon <= now
    else:
        can_discard = txn.on_batch_read(h)
        discard_records = can_discard
    retain_empty = group_tail
    if h.producer_id >= 0:
        last = producers.get(h.producer_id)
        if last is not None:
            last_data_offset, epoch = last
            if last_data_offset >= 0:
                retain_empty = retain_empty or h.last_offset == last_data_offset
            else:
                retain_empty = retain_empty or (control and h.producer_epoch == epoch)
    if discard_records and not retain_empty:
        return None, 0, None
    payload = b""
    kept: list[Record] = []  # a control batch: its records, kept whole
    scanned: list[ScannedRecord] = []  # a data batch: the records it keeps, as scan_records reads them
    if discard_records:
        pass
    elif control:
        kept = recs
    else:
        payload = records_section(data, off, h, max_decompressed)
        retain_deletes = horizon is None or now < horizon
        for rec in scan_records(payload, h):
            offset, key, has_value = rec[0], rec[1], rec[2]
            if offset > latest:
                scanned.append(rec)
                continue
            if key is None:
                continue  # Kafka counts it invalid and drops it
            found = omap.get(key if len(key) <= 16 else map_key(key), -1)
            if offset >= found and (has_value or retain_deletes):
                scanned.append(rec)
    retained = len(kept) if control else len(scanned)
    if retained:
        tombstones = not control and not all(rec[2] for rec in scanned)
        marker_for_empty_txn = control and can_discard
        need_horizon = (tombstones or marker_for_empty_txn) and horizon is None
        h_at = None
        if tombstones or marker_for_empty_txn:
            h_at = now + delete_retention if need_horizon else horizon
        if retained == h.records_count and not need_horizon:
            return data[off : off + h.batch_length + LOG_OVERHEAD], retained, h_at
        if not control and not need_horizon:
            return _rebuild_raw(h, payload, scanned), retained, h_at
        if not control:  # new delete horizon: the base timestamp moves, so every delta is rewritten
            wanted = {rec[0] for rec in scanned}
            kept = [
                rec
                for rec in decode_batch(data, off, check_crc=False, max_decompressed_size=max_decompressed)[1]
                if rec.offset in wanted
            ]
        return (
            build_batch(
                kept,
                base_offset=h.base_offset,
                compression=h.compression,
                timestamp_type_log_append=h.log_append_time,
                producer_id=h.producer_id,
                producer_epoch=h.producer_epoch,
                base_sequence=h.base_sequence,
                transactional=h.is_transactional,
                control=control,
                partition_leader_epoch=h.partition_leader_epoch,
                last_offset_delta=h.last_offset_delta,
                delete_horizon_ms=now + delete_retention if need_horizon else horizon,
            ),
            retained,
            h_at,
        )
    if retain_empty:
        return _empty_batch(h), retained, None
    return None, retained, None
