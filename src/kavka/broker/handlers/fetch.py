"""Fetch (key 1), v4–18.

Per partition: whole batches from the requested offset up to the high watermark (the last stable
offset for read_committed), at most ``partition_max_bytes`` and ``max_bytes`` overall, but always at
least one whole batch for the first partition with data (KIP-74). Fewer than ``min_bytes`` found and
``max_wait_ms`` > 0: the request waits until an append to one of its partitions (then reads again) or
the wait runs out. A partition with an error is answered as Kafka answers it: offsets -1, no records.
The response never holds large record data in memory: a partition's data above
64 KiB is a file region (kavka.storage.file_region) that the connection streams from the segment as the
socket drains (kavka.server.connection); smaller reads are bytes. A damaged batch where a read starts is
answered with CORRUPT_MESSAGE for that partition (kavka.broker.replica_manager).

From v13 (KIP-516) topics are named by id: a partition of an id this broker does not know is
UNKNOWN_TOPIC_ID (high watermark -1, as Kafka answers it) and the response names topics by id. v15's
ReplicaState, v17's replica directory id and v18's follower high watermark concern followers; a
consumer's request carries their defaults and they change nothing here.

Fetch sessions (KIP-227): none are kept, so the session id answered is always 0 and clients go on
sending full requests (a Kafka broker whose session cache is full answers the same). A request that
claims a session (epoch > 0, an incremental fetch) names one this broker never gave out: it is answered
FETCH_SESSION_ID_NOT_FOUND at the top level with no topics, as Kafka answers an unknown session. Without
sessions, FETCH_SESSION_TOPIC_ID_ERROR (a session's topic changing id) cannot arise, nor can
INCONSISTENT_TOPIC_ID (the id is resolved to the name through the same metadata image the logs follow).
"""

import asyncio

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.protocol.fetch import FIRST_TOPIC_ID_VERSION, FetchPartitionResponse, encode_fetch_response

_FINAL_EPOCH = -1  # FetchMetadata: -1 closes (or asks for no) session, 0 opens one, > 0 continues one


# Errors Kafka finds before reading (the topic or partition is not in its metadata): their answers carry
# an empty list of aborted transactions; errors of the read itself (OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE,
# KAFKA_STORAGE_ERROR) a null one.
_NOT_READ = frozenset({ErrorCode.unknown_topic_or_partition, ErrorCode.unknown_topic_id})


def _failed(index: int, error_code: int) -> FetchPartitionResponse:
    """A partition's answer with an error, as Kafka writes it: offsets -1, no records (empty, not null:
    librdkafka refuses null records)."""
    aborted = () if error_code in _NOT_READ else None
    return FetchPartitionResponse(
        index, error_code, -1, -1, -1, aborted_transactions=aborted, records=(), records_size=0
    )


def _unknown_topic_id(fp) -> FetchPartitionResponse:
    return _failed(fp.partition, ErrorCode.unknown_topic_id)


def _read_all(ctx, req):
    """Read every requested partition: (topics, bytes found, whether any partition has an error)."""
    broker = ctx.broker
    rm = broker.replica_manager
    read_committed = getattr(req, "isolation_level", 0) == 1
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    remaining = getattr(req, "max_bytes", 0x7FFFFFFF)
    if remaining <= 0:
        remaining = 1
    total = 0
    errors = False
    topics = []
    for t in req.topics:
        if by_id:
            image = broker.topic_by_id(t.topic_id)
            if image is None:
                topics.append((t.topic_id, [_unknown_topic_id(fp) for fp in t.partitions]))
                errors = errors or bool(t.partitions)
                continue
            name, key = image.name, t.topic_id
        else:
            name = key = t.topic
        parts = []
        for fp in t.partitions:
            limit = max(0, min(fp.partition_max_bytes, remaining))
            r = rm.read(
                name, fp.partition, fp.fetch_offset, limit, read_committed=read_committed, min_one_batch=(total == 0)
            )
            if r.error_code:
                errors = True
                r = _failed(fp.partition, r.error_code)
            else:
                remaining -= r.records_size
                total += r.records_size
            parts.append(r)
        topics.append((key, parts))
    return topics, total, errors


def _session_error(ctx, req):
    """FETCH_SESSION_ID_NOT_FOUND for an incremental fetch (v7+, epoch > 0): no session exists here."""
    if ctx.version >= 7 and getattr(req, "session_epoch", _FINAL_EPOCH) > 0:
        return [*encode_fetch_response(ctx.version, error_code=ErrorCode.fetch_session_id_not_found, topics=[])]
    return None


@handles(ApiKey.FETCH, 4, 18)
def handle_fetch(ctx, req):
    refused = _session_error(ctx, req)
    if refused is not None:
        return refused
    topics, total, errors = _read_all(ctx, req)
    wait_ms = req.max_wait.total_seconds() * 1000
    # Like Kafka's DelayedFetch, a partition error is worth telling the client at once.
    if total >= req.min_bytes or wait_ms <= 0 or errors:
        return [*encode_fetch_response(ctx.version, topics=topics)]
    return _long_poll(ctx, req, wait_ms)


async def _long_poll(ctx, req, wait_ms):
    rm = ctx.broker.replica_manager
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_ms / 1000
    keys = list(_partition_names(ctx, req))
    while True:
        fut = rm.wait_for_data(keys, loop)
        try:
            await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
        except TimeoutError:
            rm.forget_waiter(keys, fut)
        topics, total, errors = _read_all(ctx, req)
        if total >= req.min_bytes or errors or loop.time() >= deadline:
            return [*encode_fetch_response(ctx.version, topics=topics)]
        _close(topics)  # not sent: read again at the next append


def _partition_names(ctx, req):
    """(topic name, partition) of every requested partition whose topic is known."""
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    for t in req.topics:
        if by_id:
            image = ctx.broker.topic_by_id(t.topic_id)
            if image is None:
                continue
            name = image.name
        else:
            name = t.topic
        for fp in t.partitions:
            yield name, fp.partition


def _close(topics) -> None:
    """Release the file regions of a read that is not sent."""
    for _name, parts in topics:
        for p in parts:
            for chunk in p.records or ():
                close = getattr(chunk, "close", None)
                if close is not None:
                    close()
