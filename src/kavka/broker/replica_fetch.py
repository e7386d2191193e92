"""A follower's Fetch (``replica_id`` >= 0; v15+ in ReplicaState), as the partition leader serves it.

Per partition, the replica manager records where the follower's log ends (which may move the high
watermark or grow the ISR) and returns records up to our log end offset -- not the high watermark, a
follower copies what is not committed yet -- or the diverging epoch (KIP-320) when the follower's log
went another way. A partition this broker does not lead is NOT_LEADER_OR_FOLLOWER; a leader epoch the
follower names that is older or newer than ours is FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH.

No fetch session: a follower's request is read as it is (session id 0, as Kavka's own fetchers send
it), and no client quota applies. Fewer than ``min_bytes`` found: the request waits up to
``max_wait_ms`` for the next append to one of its partitions (replica.fetch.wait.max.ms on the
follower's side), as Kafka's DelayedFetch does for followers.
"""

from __future__ import annotations

import asyncio
import uuid

from kavka.protocol.api import ErrorCode
from kavka.protocol.fetch import FIRST_TOPIC_ID_VERSION, FetchPartitionResponse, encode_fetch_response

__all__ = ["replica_fetch", "by_topic", "release"]

_ZERO_ID = uuid.UUID(int=0)


def _failed(index: int, code: int) -> FetchPartitionResponse:
    return FetchPartitionResponse(index, code, -1, -1, -1, records=(), records_size=0)


def _targets(ctx, req) -> list[tuple[object, str | None, object]]:
    """(topic key as the request names it, topic name or None if unknown, partition request)."""
    broker = ctx.broker
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    out = []
    for t in req.topics:
        if by_id:
            # Kafka's zero uuid reads as None, names no topic, and is answered under that zero id
            key = t.topic_id if t.topic_id is not None else _ZERO_ID
            image = broker.topic_by_id(t.topic_id) if t.topic_id is not None else None
            name = None if image is None else image.name
        else:
            key, name = t.topic, t.topic
        for fp in t.partitions:
            out.append((key, name, fp))
    return out


def _read_all(ctx, req, replica_id: int, targets):
    rm = ctx.broker.replica_manager
    now = ctx.broker.clock_ms()
    remaining = max(1, req.max_bytes)
    with_epoch = ctx.version >= 12
    reads, total, errors = [], 0, False
    for key, name, fp in targets:
        if name is None:
            errors = True
            reads.append((key, _failed(fp.partition, ErrorCode.unknown_topic_id)))
            continue
        r = rm.read_for_replica(
            name,
            fp.partition,
            replica_id,
            fp.fetch_offset,
            max(0, min(fp.partition_max_bytes, remaining)),
            last_fetched_epoch=fp.last_fetched_epoch if with_epoch else -1,
            current_leader_epoch=getattr(fp, "current_leader_epoch", -1),  # v9+
            now_ms=now,
        )
        if r.error_code or r.diverging_epoch is not None:
            errors = True
        else:
            remaining -= r.records_size
            total += r.records_size
        reads.append((key, r))
    return reads, total, errors


def by_topic(reads) -> list:
    """[(topic key, [answer, ...]), ...]: consecutive partitions of one topic share its entry, as in
    Kafka's answer."""
    topics: list = []
    for key, r in reads:
        if topics and topics[-1][0] == key:
            topics[-1][1].append(r)
        else:
            topics.append((key, [r]))
    return topics


def _encode(ctx, reads):
    return [*encode_fetch_response(ctx.version, topics=by_topic(reads))]


def release(reads) -> None:
    """Release the file regions of reads that are not sent."""
    for _key, p in reads:
        for chunk in p.records or ():
            close = getattr(chunk, "close", None)
            if close is not None:
                close()


def replica_fetch(ctx, req, replica_id: int):
    targets = _targets(ctx, req)
    reads, total, errors = _read_all(ctx, req, replica_id, targets)
    wait_ms = req.max_wait.total_seconds() * 1000
    if total >= req.min_bytes or wait_ms <= 0 or errors:
        return _encode(ctx, reads)
    return _long_poll(ctx, req, replica_id, targets, wait_ms)


async def _long_poll(ctx, req, replica_id: int, targets, wait_ms: float):
    rm = ctx.broker.replica_manager
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_ms / 1000
    keys = [(name, fp.partition) for _, name, fp in targets if name is not None]
    while True:
        fut = rm.wait_for_data(keys, loop, replica=True)
        try:
            async with asyncio.timeout_at(deadline):
                await fut
        except TimeoutError:
            rm.forget_waiter(keys, fut)
        reads, total, errors = _read_all(ctx, req, replica_id, targets)
        if total >= req.min_bytes or errors or loop.time() >= deadline:
            return _encode(ctx, reads)
        release(reads)
