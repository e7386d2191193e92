"""Fetch (key 1), v4–12 (v13+ names topics by id only; not served).

Per partition: whole batches from the requested offset up to the high watermark (the last stable
offset for read_committed), at most ``partition_max_bytes`` and ``max_bytes`` overall, but always at
least one whole batch for the first partition with data (KIP-74). Fewer than ``min_bytes`` found and
``max_wait_ms`` > 0: the request waits until an append to one of its partitions (then reads again) or
the wait runs out. No fetch sessions (KIP-227): session id 0 tells clients to send full requests.
The response never holds large record data in memory: a partition's data above 64 KiB is a file region
(kavka.storage.file_region) that the connection streams from the segment as the socket drains
(kavka.server.connection); smaller reads are bytes. A damaged batch where a read starts is answered with
CORRUPT_MESSAGE for that partition (kavka.broker.replica_manager).
"""

import asyncio

from kavka.broker.byte_rate_quotas import fetch_answer
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


def _read_all(ctx, req):
    """Read every requested partition: (topics, bytes found, whether any partition has an error)."""
    rm = ctx.broker.replica_manager
    read_committed = getattr(req, "isolation_level", 0) == 1
    remaining = getattr(req, "max_bytes", 0x7FFFFFFF)
    if remaining <= 0:
        remaining = 1
    total = 0
    errors = False
    topics = []
    for t in req.topics:
        parts = []
        for fp in t.partitions:
            limit = max(0, min(fp.partition_max_bytes, remaining))
            r = rm.read(
                t.topic, fp.partition, fp.fetch_offset, limit, read_committed=read_committed, min_one_batch=(total == 0)
            )
            remaining -= r.records_size
            total += r.records_size
            errors = errors or r.error_code != 0
            parts.append(r)
        topics.append((t.topic, parts))
    return topics, total, errors


@handles(ApiKey.FETCH, 4, 12)
def handle_fetch(ctx, req):
    topics, total, errors = _read_all(ctx, req)
    wait_ms = req.max_wait.total_seconds() * 1000
    # Like Kafka's DelayedFetch, a partition error is worth telling the client at once.
    if total >= req.min_bytes or wait_ms <= 0 or errors:
        return fetch_answer(ctx, topics, _close)
    return _long_poll(ctx, req, wait_ms)


async def _long_poll(ctx, req, wait_ms):
    rm = ctx.broker.replica_manager
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_ms / 1000
    keys = [(t.topic, fp.partition) for t in req.topics for fp in t.partitions]
    while True:
        fut = rm.wait_for_data(keys, loop)
        try:
            await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
        except TimeoutError:
            rm.forget_waiter(keys, fut)
        topics, total, errors = _read_all(ctx, req)
        if total >= req.min_bytes or errors or loop.time() >= deadline:
            return fetch_answer(ctx, topics, _close)
        _close(topics)  # not sent: read again at the next append


def _close(topics) -> None:
    """Release the file regions of a read that is not sent."""
    for _name, parts in topics:
        for p in parts:
            for chunk in p.records or ():
                close = getattr(chunk, "close", None)
                if close is not None:
                    close()
