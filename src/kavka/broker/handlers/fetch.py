"""Fetch (key 1), v4–18.

Per partition: whole batches from the requested offset up to the high watermark (the last stable
offset for read_committed), at most ``partition_max_bytes`` and ``max_bytes`` overall, but always at
least one whole batch for the first partition with data (KIP-74). Fewer than ``min_bytes`` found and
``max_wait_ms`` > 0: the request waits until an append to one of its partitions (then reads again) or
the wait runs out. A partition with an error is answered as Kafka answers it: offsets -1, no records.
The response never holds large record data in memory: a partition's data above 64 KiB is a file region
(kavka.storage.file_region) that the connection streams from the segment as the socket drains
(kavka.server.connection); smaller reads are bytes. A damaged batch where a read starts is answered with
CORRUPT_MESSAGE for that partition (kavka.broker.replica_manager); a partition whose log dir failed
with KAFKA_STORAGE_ERROR, or NOT_LEADER_OR_FOLLOWER up to v5, as Kafka down-converts it.

From v13 (KIP-516) topics are named by id: a partition of an id this broker does not know is
UNKNOWN_TOPIC_ID (high watermark -1, as Kafka answers it) and the response names topics by id. v15's
ReplicaState, v17's replica directory id and v18's follower high watermark concern followers; a
consumer's request carries their defaults and they change nothing here.

On the controller listener a Fetch is KRaft's: a follower or observer fetching ``__cluster_metadata-0``
(by the fixed metadata topic id from v13). It goes to the node's Raft driver
(``kavka.broker.handlers.vote.raft_answer``, codec in ``kavka.raft.wire``); a Fetch of anything else
there is refused with INVALID_REQUEST at the top level, as Kafka's controller refuses it.

Fetch sessions (KIP-227, v7+): kavka.broker.fetch_sessions decides from the session id and epoch whether
a request is read as it is, opens a session, or continues one (then the session's partitions are read
and only those with news are answered), and answers FETCH_SESSION_ID_NOT_FOUND,
INVALID_FETCH_SESSION_EPOCH or FETCH_SESSION_TOPIC_ID_ERROR as Kafka does. INCONSISTENT_TOPIC_ID
cannot arise: an id is resolved to its name through the same metadata image the logs follow.
"""

import asyncio
import time
import uuid
import weakref

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.byte_rate_quotas import fetch_answer
from kavka.broker.fetch_sessions import FetchContext, FetchSessions
from kavka.broker.handlers.vote import raft_answer
from kavka.broker.registry import handles
from kavka.broker.replica_fetch import by_topic, replica_fetch
from kavka.broker.replica_fetch import release as _close
from kavka.metadata.replicationconfigdefs import RACK_AWARE_SELECTOR
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.protocol.fetch import FIRST_TOPIC_ID_VERSION, FetchPartitionResponse, encode_fetch_response

# Errors Kafka finds before reading (the topic or partition is not in its metadata): their answers carry
# an empty list of aborted transactions; errors of the read itself (OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE,
# KAFKA_STORAGE_ERROR) a null one.
_NOT_READ = frozenset(
    {ErrorCode.unknown_topic_or_partition, ErrorCode.unknown_topic_id, ErrorCode.topic_authorization_failed}
)

_SESSIONS: "weakref.WeakKeyDictionary[object, FetchSessions]" = weakref.WeakKeyDictionary()


def _sessions(broker) -> FetchSessions:
    """The broker's fetch sessions, made at its first Fetch."""
    sessions = _SESSIONS.get(broker)
    if sessions is None:
        sessions = _SESSIONS[broker] = FetchSessions()
    return sessions


def _now_ms() -> float:
    return time.monotonic() * 1000


def _failed(index: int, error_code: int) -> FetchPartitionResponse:
    """A partition's answer with an error, as Kafka writes it: offsets -1, no records (empty, not null:
    librdkafka refuses null records)."""
    aborted = () if error_code in _NOT_READ else None
    return FetchPartitionResponse(
        index, error_code, -1, -1, -1, aborted_transactions=aborted, records=(), records_size=0
    )


_ZERO_ID = uuid.UUID(int=0)


def _id(topic_id: uuid.UUID | None) -> uuid.UUID:
    """A request's topic id; the codec reads Kafka's zero uuid as None, which names no topic (and is
    answered UNKNOWN_TOPIC_ID under that same zero id, as Kafka answers it)."""
    return _ZERO_ID if topic_id is None else topic_id


def _context(ctx, req) -> FetchContext:
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    requested = [
        (_id(t.topic_id) if by_id else t.topic, fp.partition, fp.fetch_offset, fp.partition_max_bytes)
        for t in req.topics
        for fp in t.partitions
    ]
    if ctx.version < 7:
        return FetchContext("sessionless", requested)
    forgotten = [
        (_id(ft.topic_id) if by_id else ft.topic, index) for ft in req.forgotten_topics_data for index in ft.partitions
    ]
    return _sessions(ctx.broker).context(
        ctx.version, req.session_id, req.session_epoch, requested, forgotten, _now_ms()
    )


def _read_all(ctx, req, fctx: FetchContext):
    """Read every partition of the context, in order: ([(topic key, answer)], bytes found, any error)."""
    broker = ctx.broker
    rm = broker.replica_manager
    read_committed = getattr(req, "isolation_level", 0) == 1
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    remaining = getattr(req, "max_bytes", 0x7FFFFFFF)
    if remaining <= 0:
        remaining = 1
    total = 0
    errors = False
    names: dict = {}
    reads = []
    epochs = _leader_epochs(ctx, req)
    selector = _rack_selector(ctx, req)
    readable: dict[str, bool] | None = {} if broker.authz.enabled else None
    for key, index, offset, max_bytes in fctx.partitions:
        if by_id:
            if key not in names:
                image = broker.topic_by_id(key)
                names[key] = None if image is None else image.name
            name = names[key]
            if name is None:
                errors = True
                reads.append((key, _failed(index, ErrorCode.unknown_topic_id)))
                continue
        else:
            name = key
        if readable is not None and not _may_read(ctx, readable, name):
            errors = True
            reads.append((key, _failed(index, ErrorCode.topic_authorization_failed)))
            continue
        limit = max(0, min(max_bytes, remaining))
        r = rm.read(
            name,
            index,
            offset,
            limit,
            read_committed=read_committed,
            min_one_batch=(total == 0),
            current_leader_epoch=epochs.get((key, index), -1),
            follower_reads=ctx.version >= 11,
        )
        if selector and r.error_code == 0 and (preferred := selector(name, index, offset)) >= 0:
            _close([(key, r)])  # KIP-392: no data, the consumer goes to a replica in its rack
            r = FetchPartitionResponse(
                index,
                0,
                r.high_watermark,
                r.last_stable_offset,
                r.log_start_offset,
                aborted_transactions=None,
                preferred_read_replica=preferred,
                records=(),
                records_size=0,
            )
        if r.error_code:
            errors = True
            code = r.error_code
            if code == ErrorCode.kafka_storage_error and ctx.version <= 5:
                # Kafka's down-conversion: v5- clients may not know KAFKA_STORAGE_ERROR, and they refresh
                # their metadata and retry on NOT_LEADER_OR_FOLLOWER
                code = ErrorCode.not_leader_or_follower
            r = _failed(index, code)
        else:
            remaining -= r.records_size
            total += r.records_size
        reads.append((key, r))
    return reads, total, errors


def _may_read(ctx, readable: dict[str, bool], name: str) -> bool:
    """READ on the topic (Kafka's consumer fetch check), once per topic and request."""
    may = readable.get(name)
    if may is None:
        may = readable[name] = authz.authorize(ctx, AclOperation.READ, ResourceType.TOPIC, name)
    return may


def _all_failed(ctx, req, code: int):
    """Every requested partition answered with ``code`` (sessionless)."""
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    reads = [
        (_id(t.topic_id) if by_id else t.topic, _failed(fp.partition, code)) for t in req.topics for fp in t.partitions
    ]
    return _answer(ctx, FetchContext("sessionless", []), reads)


def _rack_selector(ctx, req):
    """KIP-392: with ``replica.selector.class`` set to Kafka's RackAwareReplicaSelector and a consumer
    that names its rack (v11+ ``rack_id``), a function (topic, partition, offset) -> the replica to read
    from instead (-1: here); else None."""
    broker = ctx.broker
    rack = getattr(req, "rack_id", "") or ""
    selector_class = broker.config.get("replica.selector.class") or ""
    if not rack or selector_class != RACK_AWARE_SELECTOR or not broker.cluster_mode:
        return None
    racks = {b: reg.rack for b, reg in broker.image.brokers.items()}
    rm = broker.replica_manager
    return lambda name, index, offset: rm.preferred_read_replica(name, index, offset, rack, racks)


def _leader_epochs(ctx, req) -> dict:
    """(topic key, partition) -> the current leader epoch the client named, where it named one: the
    partitions of this request (a session's other partitions are read unchecked, as Kafka keeps no
    epoch for them either)."""
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    return {
        (_id(t.topic_id) if by_id else t.topic, fp.partition): fp.current_leader_epoch
        for t in req.topics
        for fp in t.partitions
        if getattr(fp, "current_leader_epoch", -1) >= 0
    }


def _answer(ctx, fctx: FetchContext, reads):
    """The encoded response: every read, or for a session only those with news."""
    sessions = _sessions(ctx.broker) if fctx.kind in ("full", "incremental") else None
    session_id = 0
    if sessions is not None and fctx.kind == "full":
        answered = [
            (key, r.partition_index, offset, max_bytes, r.high_watermark, r.log_start_offset)
            for (key, r), (_, _, offset, max_bytes) in zip(reads, fctx.partitions, strict=True)
        ]
        session_id = sessions.create(ctx.version, answered, _now_ms())
    elif sessions is not None and fctx.session is not None:
        session_id = fctx.session.id
        if sessions.epoch_moved_on(fctx):  # a duplicate: another request of the session came in meanwhile
            _close(reads)
            return [
                *encode_fetch_response(
                    ctx.version, error_code=ErrorCode.invalid_fetch_session_epoch, session_id=session_id, topics=[]
                )
            ]
        keep = FetchSessions.incremental_answer(
            fctx,
            [
                (key, r.partition_index, r.error_code, r.high_watermark, r.log_start_offset, r.records_size)
                for key, r in reads
            ],
        )
        _close([read for read, kept in zip(reads, keep, strict=True) if not kept])
        reads = [read for read, kept in zip(reads, keep, strict=True) if kept]
    topics = by_topic(reads)
    # consumer_byte_rate: a throttled client gets the session and no data (fetch_answer)
    return fetch_answer(ctx, topics, lambda ts: _close([(k, r) for k, rs in ts for r in rs]), session_id)


def _replica_id(ctx, req) -> int:
    """The fetching follower's broker id (v15+ in ReplicaState), -1 for a consumer."""
    if ctx.version >= 15:
        state = getattr(req, "replica_state", None)
        return -1 if state is None else state.replica_id
    return getattr(req, "replica_id", -1)


@handles(ApiKey.FETCH, 4, 18)
def handle_fetch(ctx, req):
    if ctx.listener == "controller":
        return raft_answer(ctx, ApiKey.FETCH, req)
    replica_id = _replica_id(ctx, req)
    if replica_id >= 0:
        if not authz.authorize_cluster(ctx, AclOperation.CLUSTER_ACTION):  # a follower must be a broker
            return _all_failed(ctx, req, ErrorCode.topic_authorization_failed)
        return replica_fetch(ctx, req, replica_id)
    fctx = _context(ctx, req)
    if fctx.kind == "error":
        return [*encode_fetch_response(ctx.version, error_code=fctx.error_code, topics=[])]
    reads, total, errors = _read_all(ctx, req, fctx)
    wait_ms = req.max_wait.total_seconds() * 1000
    # Like Kafka's DelayedFetch, a partition error is worth telling the client at once.
    if total >= req.min_bytes or wait_ms <= 0 or errors:
        return _answer(ctx, fctx, reads)
    return _long_poll(ctx, req, fctx, wait_ms)


async def _long_poll(ctx, req, fctx: FetchContext, wait_ms):
    rm = ctx.broker.replica_manager
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_ms / 1000
    keys = list(_partition_names(ctx, fctx))
    while True:
        fut = rm.wait_for_data(keys, loop)
        try:
            async with asyncio.timeout_at(deadline):
                await fut
        except TimeoutError:
            rm.forget_waiter(keys, fut)
        reads, total, errors = _read_all(ctx, req, fctx)
        if total >= req.min_bytes or errors or loop.time() >= deadline:
            return _answer(ctx, fctx, reads)
        _close(reads)  # not sent: read again at the next append


def _partition_names(ctx, fctx: FetchContext):
    """(topic name, partition) of every partition of the context whose topic is known."""
    by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
    for key, index, _, _ in fctx.partitions:
        if by_id:
            image = ctx.broker.topic_by_id(key)
            if image is None:
                continue
            yield image.name, index
        else:
            yield key, index
