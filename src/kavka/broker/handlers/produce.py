"""Produce (key 0), v3–13 served; v0–2 advertised but refused (Kafka 4 does the same, KAFKA-18659:
librdkafka reads its feature set from the advertised Produce range).

The body is decoded by the hand-written codec: record sets stay memoryviews into the request frame,
which the log validates, patches (offsets, leader epoch) and writes without copying record by record.
acks must be 0, 1 or -1 (INVALID_REQUIRED_ACKS otherwise); acks=0 gets no response at all. Each
partition's records must be exactly one batch (INVALID_RECORD otherwise, as Kafka checks from v3). A topic
that does not exist gets UNKNOWN_TOPIC_OR_PARTITION: as in Kafka, only a Metadata request creates topics
(``auto.create.topics.enable``), and producers send one before they produce. From v13 (KIP-516) topics
are named by id: an id this broker does not know is UNKNOWN_TOPIC_ID for each of its partitions, and
the response names each topic as the request did.

Transactional batches (KIP-890 part 1, kavka.coordinator.txn.verification): finding them costs a look
at each partition's first batch header (attributes byte, length). When there are some, Kafka's request
rules apply first: transactional records without the request's ``transactional_id`` fail every
partition with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, batches of more than one producer id/epoch with
INVALID_PRODUCER_ID_MAPPING. Then, per partition, the transaction service verifies the first batch of
a transaction with the coordinator before the append: INVALID_TXN_STATE (TRANSACTION_ABORTABLE from
v11) when the partition is not in the producer's ongoing transaction, NOT_ENOUGH_REPLICAS (which every
producer retries) while the coordinator cannot tell yet. That verification is the one call in
:func:`_verify_transactional` (v12+ with transaction version 2 adds the partition to the transaction
instead, KIP-890 part 2: the transaction service decides from the request version it is given).
"""

import asyncio
import inspect

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.byte_rate_quotas import record_produce
from kavka.broker.registry import handles
from kavka.metadata.internal_topics import is_internal
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.protocol.batch import HEADER_SIZE, batch_size_at, is_transactional_at, producer_at
from kavka.protocol.produce import (
    FIRST_TOPIC_ID_VERSION,
    NodeEndpoint,
    PartitionResponse,
    decode_produce_request,
    encode_produce_response,
)


def _txn_producer(records) -> tuple[int, int] | None:
    """(producer id, epoch) of the first transactional batch of a record set, else None. Batch headers
    only; a malformed set ends the scan (the log refuses it with the right error)."""
    n, pos = len(records), 0
    while pos + HEADER_SIZE <= n:
        if is_transactional_at(records, pos):
            producer = producer_at(records, pos)
            if producer[0] >= 0:
                return producer
        size = batch_size_at(records, pos)
        if size < HEADER_SIZE:
            return None
        pos += size
    return None


def _transactional_producers(topics) -> set[tuple[int, int]] | None:
    """The (producer id, epoch) pairs of a request's transactional batches, None if it has none. The hot
    path: per partition, the first batch's attributes byte and its length against the record set's
    (a second batch is looked at only when there is one)."""
    producers = None
    for _, parts in topics:
        for _, records in parts:
            if (
                records is not None
                and len(records) >= HEADER_SIZE
                and (is_transactional_at(records) or batch_size_at(records) != len(records))
            ):
                producer = _txn_producer(records)
                if producer is not None:
                    if producers is None:
                        producers = set()
                    producers.add(producer)
    return producers


def _first_batch_transactional(records) -> bool:
    return records is not None and len(records) >= HEADER_SIZE and is_transactional_at(records)


def _request_error(req, producers: set) -> tuple[int, str] | None:
    """Kafka's checks of a request holding transactional batches, failing it as a whole."""
    if req.transactional_id is None and any(
        _first_batch_transactional(records) for _, parts in req.topics for _, records in parts
    ):
        return ErrorCode.transactional_id_authorization_failed, "Transactional records need a transactional id"
    if len(producers) > 1:
        return ErrorCode.invalid_producer_id_mapping, "Transactional records contained more than one producer ID"
    return None


def _more_than_one_batch(records) -> bool:
    """Does the record set hold a second whole batch after the first? (Kafka's ``validateRecords``: from
    v3 a partition's records are exactly one batch.) One length read when there is one batch."""
    if records is None or len(records) < HEADER_SIZE:
        return False
    first = batch_size_at(records)
    rest = len(records) - first
    if first < HEADER_SIZE or rest < HEADER_SIZE:
        return False  # one batch, or bytes that are no batch: the log answers for them
    return rest >= batch_size_at(records, first)


def _nonzero_base_offset(rm, name, index, records) -> PartitionResponse | None:
    """Kafka (UnifiedLog, for a client's append) refuses a batch whose base offset is not 0: the broker
    assigns offsets. INVALID_RECORD with the log start offset, as Kafka answers it."""
    if records is None or len(records) < HEADER_SIZE or records[:8] == _ZERO_OFFSET:
        return None
    p = rm.get(name, index)
    if p is None or p.offline:
        return None  # the append answers for a missing or offline partition
    base = int.from_bytes(records[:8], "big", signed=True)
    return PartitionResponse(
        index,
        ErrorCode.invalid_record,
        log_start_offset=p.log.log_start_offset,
        error_message=f"The baseOffset of the record batch in the append to {name}-{index} should be 0, but it is {base}",
    )


_ZERO_OFFSET = bytes(8)


def _one_batch_only(index, version) -> PartitionResponse:
    return PartitionResponse(
        index,
        ErrorCode.invalid_record,
        error_message=(
            f"Produce requests with version {version} are only allowed to contain exactly one record batch per "
            f"partition"
        ),
    )


def _append(rm, name, parts, acks, version):
    return [
        _one_batch_only(index, version)
        if _more_than_one_batch(records)
        else (_nonzero_base_offset(rm, name, index, records) or rm.append(name, index, records, acks))
        for index, records in parts
    ]


def _append_transactional(rm, txn, transactional_id, version, name, parts, acks):
    """Append each partition's records, verifying transactional ones with the coordinator first."""
    results = []
    for index, records in parts:
        if _more_than_one_batch(records):  # else a second batch would go in unverified
            results.append(_one_batch_only(index, version))
            continue
        refused = _nonzero_base_offset(rm, name, index, records)
        if refused is not None:
            results.append(refused)
            continue
        producer = _txn_producer(records) if records is not None else None
        if producer is not None and txn is not None:
            refused = _verify_transactional(txn, transactional_id, producer, name, index, version)
            if inspect.isawaitable(refused):  # the coordinator is another broker: append once it answers
                results.append(_append_when_verified(refused, rm, name, index, records, acks))
                continue
            if refused is not None:
                results.append(PartitionResponse(index, refused[0], error_message=refused[1]))
                continue
        results.append(rm.append(name, index, records, acks))
    return results


def _verify_transactional(txn, transactional_id, producer, name, index, version) -> tuple[int, str | None] | None:
    """The transaction service's word on a partition's first transactional batch before it is appended:
    None to append, else (error code, message) for that partition."""
    return txn.check_produce(transactional_id, producer[0], producer[1], name, index, version)


async def _append_when_verified(answer, rm, name, index, records, acks) -> PartitionResponse:
    """Append right after the remote coordinator's answer, nothing awaited in between (the answer holds
    only until the event loop runs something else)."""
    refused = await answer
    if refused is not None:
        return PartitionResponse(index, refused[0], error_message=refused[1])
    return rm.append(name, index, records, acks)


async def _when_verified(responses, respond):
    """The Produce answer once every partition waiting for its coordinator has been appended (the
    questions go out together; each partition is appended as soon as its own answer is in)."""
    waiting = [(results, i) for _, results in responses for i, r in enumerate(results) if inspect.iscoroutine(r)]
    done = await asyncio.gather(*(results[i] for results, i in waiting))
    for (results, i), result in zip(waiting, done):
        results[i] = result
    answer = respond()
    if inspect.isawaitable(answer):  # acks=all: then the ISR
        answer = await answer
    return answer


def _authorize(ctx, req, producers, refused):
    """Kafka's ``handleProduceRequest`` checks: for transactional records WRITE on the transactional id
    (else every partition fails with TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then WRITE on each topic;
    returns the request-wide refusal and the set of writable topic names."""
    if (
        producers
        and req.transactional_id is not None
        and not authz.authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactional_id)
    ):
        refused = (ErrorCode.transactional_id_authorization_failed, None)
    if ctx.version >= FIRST_TOPIC_ID_VERSION:
        names = [t.name for t in (ctx.broker.topic_by_id(topic) for topic, _ in req.topics) if t is not None]
    else:
        names = [topic for topic, _ in req.topics]
    return refused, authz.filter_authorized(ctx, AclOperation.WRITE, ResourceType.TOPIC, names)


def _unknown_topic_id(parts) -> list[PartitionResponse]:
    return [PartitionResponse(i, ErrorCode.unknown_topic_id) for i, _ in parts]


@handles(ApiKey.PRODUCE, 3, 13, raw=True, advertised_min=0)
def handle_produce(ctx, body):
    req = decode_produce_request(body, 0, ctx.version)  # ProtocolDecodeError: the dispatcher closes
    broker = ctx.broker
    acks = req.acks
    responses = []
    producers = _transactional_producers(req.topics)
    refused = _request_error(req, producers) if producers else None
    writable = None  # with an authorizer: the topics the principal may WRITE (Kafka checks before all else)
    if broker.authz.enabled:
        refused, writable = _authorize(ctx, req, producers, refused)
    if acks not in (0, 1, -1) or refused is not None:
        code, message = (ErrorCode.invalid_required_acks, None) if refused is None else refused
        for name, parts in req.topics:
            responses.append((name, [PartitionResponse(i, code, error_message=message) for i, _ in parts]))
    else:
        rm = broker.replica_manager
        txn = broker.txn_service if producers else None
        by_id = ctx.version >= FIRST_TOPIC_ID_VERSION
        for topic, parts in req.topics:
            if by_id:  # KIP-516: the request names the topic by id; the log by name
                image = broker.topic_by_id(topic)
                if image is None:
                    responses.append((topic, _unknown_topic_id(parts)))
                    continue
                name = image.name
            else:
                name = topic
            if writable is not None and name not in writable:
                results = [PartitionResponse(i, ErrorCode.topic_authorization_failed) for i, _ in parts]
            elif is_internal(name):
                results = [
                    PartitionResponse(
                        i, ErrorCode.invalid_topic_exception, error_message=f"Cannot append to internal topic {name}"
                    )
                    for i, _ in parts
                ]
            else:  # a topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION: only Metadata auto-creates
                if producers:
                    results = _append_transactional(rm, txn, req.transactional_id, ctx.version, name, parts, acks)
                else:
                    results = _append(rm, name, parts, acks, ctx.version)
            responses.append((topic, results))
    throttle_ms = record_produce(ctx, len(body))

    def respond():
        if acks == 0:
            return None
        answered, endpoints = responses, ()
        if ctx.version >= 10 and broker.cluster_mode:
            answered, endpoints = _with_current_leaders(
                broker, responses, ctx.version >= FIRST_TOPIC_ID_VERSION, ctx.conn.listener_name
            )
        if acks == -1 and broker.cluster_mode:  # one node: its ISR is itself, nothing waits
            waits = _unreplicated(
                broker.replica_manager, req.topics, answered, ctx.version >= FIRST_TOPIC_ID_VERSION, broker
            )
            if waits:
                return _until_replicated(ctx, answered, waits, req.timeout_ms, throttle_ms)
        return [encode_produce_response(ctx.version, answered, throttle_time_ms=throttle_ms, node_endpoints=endpoints)]

    if producers and any(inspect.iscoroutine(r) for _, results in responses for r in results):
        return _when_verified(responses, respond)
    return respond()


def _with_current_leaders(broker, responses, by_id, listener=None):
    """KIP-951 (v10+): a NOT_LEADER_OR_FOLLOWER answer names the partition's current leader and epoch,
    and the response carries that leader's endpoint, so the producer goes there without a Metadata
    round trip."""
    leaders: set[int] = set()
    out = []
    for topic, results in responses:
        image = broker.topic_by_id(topic) if by_id else broker.topic(topic)
        patched = []
        for r in results:
            pimg = None if image is None else image.partitions.get(r.index)
            if r.error_code == ErrorCode.not_leader_or_follower and pimg is not None and pimg.leader >= 0:
                r = r._replace(current_leader=(pimg.leader, pimg.leader_epoch))
                leaders.add(pimg.leader)
            patched.append(r)
        out.append((topic, patched))
    if not leaders:
        return responses, ()
    endpoints = [
        NodeEndpoint(e.node_id, e.host, e.port, e.rack) for e in broker.live_brokers(listener) if e.node_id in leaders
    ]
    return out, endpoints


def _unreplicated(rm, topics, responses, by_id, broker) -> dict:
    """acks=all: the appended partitions whose high watermark has not reached the end of the append
    yet, as {id(response): (partition, offset to reach)}. Right after the append nothing else has been
    appended (one event loop), so the log end offset is where this append ends."""
    waits = {}
    for (topic, _parts), (_, results) in zip(topics, responses, strict=True):
        name = topic
        if by_id:
            image = broker.topic_by_id(topic)
            if image is None:
                continue
            name = image.name
        for r in results:
            if r.error_code != ErrorCode.none:
                continue
            p = rm.get(name, r.index)
            if p is not None and p.log.high_watermark < p.log.log_end_offset:
                waits[id(r)] = (p, p.log.log_end_offset)
    return waits


async def _until_replicated(ctx, responses, waits, timeout_ms, throttle_ms):
    """Kafka's DelayedProduce: the answer once every waiting partition's ISR has the append (or the
    request's ``timeout_ms`` ran out: REQUEST_TIMED_OUT for those still waiting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0, timeout_ms) / 1000
    codes = {}
    for key, (p, offset) in waits.items():
        codes[key] = await ctx.broker.replica_manager.until_replicated(p, offset, max(0.0, deadline - loop.time()))
    answered = [
        (topic, [r._replace(error_code=codes[id(r)]) if codes.get(id(r)) else r for r in results])
        for topic, results in responses
    ]
    endpoints = ()
    if ctx.version >= 10:
        answered, endpoints = _with_current_leaders(
            ctx.broker, answered, ctx.version >= FIRST_TOPIC_ID_VERSION, ctx.conn.listener_name
        )
    return [encode_produce_response(ctx.version, answered, throttle_time_ms=throttle_ms, node_endpoints=endpoints)]
