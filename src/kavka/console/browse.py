"""Browse a partition's records and produce one, in-process, with bounded work per call.

Reading goes through ``PartitionLog.read`` (whole batches, up to the high watermark, as a consumer
sees them) and :func:`kavka.protocol.records.iter_batches`. One call reads at most
:data:`MAX_READS` chunks of at most :data:`READ_BYTES` each and returns at most :data:`MAX_LIMIT`
records, so a browse never holds the event loop for long, whatever the partition holds.

Values are shown the way people read them: JSON objects/arrays pretty-printed, UTF-8 text as text,
anything else as hex; each is cut at :data:`SHOW_BYTES`.

Producing builds one RecordBatch v2 and hands it to ``ReplicaManager.append`` (acks=all), the same
path a Produce request takes, so offsets, counters and long-polling consumers all see it.
"""

from __future__ import annotations

import itertools
import json
import time

from kavka.console.state import ConsoleError, _error_name
from kavka.protocol.batch import CorruptRecordError, InvalidRecordError
from kavka.protocol.murmur2 import default_partition, murmur2
from kavka.protocol.records import Record, build_batch, control_record_type, iter_batches

__all__ = ["browse", "read_range", "describe_value", "produce", "partition_for_key", "explore", "MAX_LIMIT"]

MAX_LIMIT = 500
READ_BYTES = 512 * 1024
MAX_READS = 16
SHOW_BYTES = 16 * 1024
MAX_DECOMPRESSED = 32 * 1024 * 1024
MAX_EXPLORED_PARTITIONS = 64

_round_robin = itertools.count()


def _partition(broker, topic: str, partition: int):
    if broker.image.topics_by_name.get(topic) is None:
        raise ConsoleError(404, f"Topic {topic!r} does not exist.")
    p = broker.replica_manager.get(topic, int(partition))
    if p is None:
        raise ConsoleError(404, f"Partition {topic}-{partition} is not hosted here.")
    return p


def describe_value(data: bytes | None) -> dict:
    """``{"type": "null"|"json"|"text"|"binary", "text": ..., "size": n, "truncated": bool}``."""
    if data is None:
        return {"type": "null", "text": None, "size": 0, "truncated": False}
    size = len(data)
    shown = data[:SHOW_BYTES]
    truncated = size > SHOW_BYTES
    try:
        text = data.decode("utf-8") if not truncated else shown.decode("utf-8", "ignore")
    except UnicodeDecodeError:
        text = None
    if text is not None and (text.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in text)):
        stripped = text.lstrip()
        if not truncated and stripped[:1] in ("{", "["):
            try:
                return {
                    "type": "json",
                    "text": json.dumps(json.loads(text), indent=2, ensure_ascii=False),
                    "size": size,
                    "truncated": False,
                }
            except ValueError:
                pass
        return {"type": "text", "text": text, "size": size, "truncated": truncated}
    return {"type": "binary", "text": shown.hex(" "), "size": size, "truncated": truncated}


def _record_dict(partition: int, header, record) -> dict:
    control = header.is_control
    entry = {
        "partition": partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": "LogAppendTime" if header.log_append_time else "CreateTime",
        "key": describe_value(record.key),
        "value": describe_value(record.value),
        "headers": [{"key": k, "value": describe_value(v)} for k, v in record.headers],
        "size": (
            len(record.key or b"") + len(record.value or b"") + sum(len(k) + len(v or b"") for k, v in record.headers)
        ),
        "control": control,
        "transactional": header.is_transactional,
        "producer_id": header.producer_id,
        "batch_offset": header.base_offset,
    }
    if control:
        try:
            _, ctype = control_record_type(record)
            entry["control_type"] = {0: "ABORT", 1: "COMMIT"}.get(ctype, str(ctype))
        except CorruptRecordError:
            entry["control_type"] = "?"
    return entry


def read_range(plog, partition: int, start: int, upper: int, limit: int, raw: bool = False) -> tuple[list, int]:
    """Records with ``start <= offset < upper``, at most ``limit``; returns (records, next offset)."""
    out: list = []
    offset = max(start, plog.log_start_offset)
    for _ in range(MAX_READS):
        if offset >= upper or len(out) >= limit:
            break
        res = plog.read(offset, READ_BYTES, max_offset=upper, min_one_batch=True)
        if not res.chunks:
            break
        data = b"".join(bytes(c) for c in res.chunks)
        progressed = False
        try:
            for _pos, header, records in iter_batches(data, max_decompressed_size=MAX_DECOMPRESSED):
                for r in records:
                    if offset <= r.offset < upper and len(out) < limit:
                        out.append((header, r) if raw else _record_dict(partition, header, r))
                if len(out) >= limit:
                    last = out[-1][1].offset if raw else out[-1]["offset"]
                    return out, last + 1
                if header.next_offset > offset:
                    offset = header.next_offset
                    progressed = True
        except (CorruptRecordError, InvalidRecordError) as e:
            raise ConsoleError(500, f"cannot decode the batch at offset {offset}: {e}") from None
        if not progressed:
            break
    return out, offset


def browse(
    broker,
    topic: str,
    partition: int,
    *,
    offset: int | None = None,
    timestamp: int | None = None,
    newest_first: bool = False,
    limit: int = 50,
) -> dict:
    """A page of records. Oldest first from ``offset`` / ``timestamp`` / the log start; newest first
    ends at ``offset`` (inclusive) or the high watermark and goes backwards."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    plog = _partition(broker, topic, partition).log
    log_start, hw = plog.log_start_offset, plog.high_watermark
    if timestamp is not None:
        found = plog.offset_for_timestamp(int(timestamp), max_offset=hw)
        offset = found[0] if found is not None else hw
    if newest_first:
        end = hw if offset is None else max(log_start, min(int(offset) + 1, hw))
        begin = max(log_start, end - limit)
        records, _ = read_range(plog, partition, begin, end, limit)
        records.reverse()
        next_offset = begin - 1 if begin > log_start else None  # where the next (older) page ends
    else:
        begin = log_start if offset is None else max(log_start, min(int(offset), hw))
        records, nxt = read_range(plog, partition, begin, hw, limit)
        next_offset = nxt if nxt < hw else None
    return {
        "topic": topic,
        "partition": int(partition),
        "log_start_offset": log_start,
        "high_watermark": hw,
        "order": "newest" if newest_first else "oldest",
        "records": records,
        "next_offset": next_offset,
    }


def partition_for_key(key: bytes, partitions: int) -> dict:
    if partitions <= 0:
        raise ConsoleError(400, "The number of partitions must be at least 1.")
    h = murmur2(key)
    return {
        "murmur2": h,
        "positive": h & 0x7FFFFFFF,
        "partitions": partitions,
        "partition": default_partition(key, partitions),
    }


def _encode(text) -> bytes | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        return text
    return str(text).encode("utf-8")


def produce(broker, topic: str, *, key=None, value=None, headers=None, partition: int | None = None) -> dict:
    """Append one record; partition given, else murmur2(key) % n, else round-robin (no key)."""
    t = broker.image.topics_by_name.get(topic)
    if t is None:
        raise ConsoleError(404, f"Topic {topic!r} does not exist.")
    n = len(t.partitions)
    key_b = _encode(key) if key not in (None, "") else None
    if partition in (None, "", -1):
        partition = default_partition(key_b, n) if key_b is not None else next(_round_robin) % n
    partition = int(partition)
    if not 0 <= partition < n:
        raise ConsoleError(400, f"Topic {topic!r} has partitions 0..{n - 1}; {partition} does not exist.")
    hdrs = []
    for h in headers or []:
        if isinstance(h, dict):
            k, v = h.get("key"), h.get("value")
        else:
            k, v = h
        if not k:
            raise ConsoleError(400, "Every header needs a name.")
        hdrs.append((str(k), _encode(v)))
    now = time.time_ns() // 1_000_000
    batch = build_batch([Record(0, now, key_b, _encode(value), hdrs)])
    resp = broker.replica_manager.append(topic, partition, bytearray(batch), -1)
    if resp.error_code:
        raise ConsoleError(400, f"{_error_name(resp.error_code)}: {resp.error_message or 'not appended'}")
    return {"topic": topic, "partition": partition, "offset": resp.base_offset, "timestamp": now}


def explore(broker, topic: str, per_partition: int = 60) -> dict:
    """The last ``per_partition`` records of every partition, reduced to what the explorer draws."""
    t = broker.image.topics_by_name.get(topic)
    if t is None:
        raise ConsoleError(404, f"Topic {topic!r} does not exist.")
    per_partition = max(1, min(int(per_partition), 200))
    rows = []
    for index in sorted(t.partitions)[:MAX_EXPLORED_PARTITIONS]:
        p = broker.replica_manager.get(topic, index)
        if p is None:
            continue
        plog = p.log
        hw = plog.high_watermark
        begin = max(plog.log_start_offset, hw - per_partition)
        pairs, _ = read_range(plog, index, begin, hw, per_partition, raw=True)
        blocks = []
        for header, r in pairs:
            if header.is_control:
                continue
            blocks.append(
                {
                    "offset": r.offset,
                    "timestamp": r.timestamp,
                    "key": None if r.key is None else describe_value(r.key)["text"],
                    "key_hash": None if r.key is None else murmur2(r.key) & 0x7FFFFFFF,
                    "value": describe_value(r.value[:200] if r.value else r.value)["text"],
                    "headers": [{"key": k, "value": describe_value(v)["text"]} for k, v in r.headers],
                }
            )
        rows.append(
            {"partition": index, "log_start_offset": plog.log_start_offset, "high_watermark": hw, "blocks": blocks}
        )
    return {
        "topic": topic,
        "partitions": rows,
        "count": len(t.partitions),
        "truncated": len(t.partitions) > MAX_EXPLORED_PARTITIONS,
    }
