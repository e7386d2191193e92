"""Produce (key 0), v3–11 served; v0–2 advertised but refused (Kafka 4 does the same, KAFKA-18659:
librdkafka reads its feature set from the advertised Produce range).

The body is decoded by the hand-written codec: record sets stay memoryviews into the request frame,
which the log validates, patches (offsets, leader epoch) and writes without copying record by record.
acks must be 0, 1 or -1 (INVALID_REQUIRED_ACKS otherwise); acks=0 gets no response at all.
"""

from kavka.broker.dispatch import CloseConnection
from kavka.broker.handlers.metadata import INTERNAL_TOPICS
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.protocol.primitives import ProtocolDecodeError
from kavka.protocol.produce import PartitionResponse, decode_produce_request, encode_produce_response


@handles(ApiKey.PRODUCE, 3, 11, raw=True, advertised_min=0)
def handle_produce(ctx, body):
    try:
        req = decode_produce_request(body, 0, ctx.version)
    except ProtocolDecodeError as e:
        raise CloseConnection(f"bad Produce request: {e}") from None
    broker = ctx.broker
    acks = req.acks
    responses = []
    if acks not in (0, 1, -1):
        for name, parts in req.topics:
            responses.append((name, [PartitionResponse(i, ErrorCode.invalid_required_acks) for i, _ in parts]))
    else:
        rm = broker.replica_manager
        for name, parts in req.topics:
            if name in INTERNAL_TOPICS:
                results = [PartitionResponse(i, ErrorCode.invalid_topic_exception,
                                             error_message=f"Cannot append to internal topic {name}")
                           for i, _ in parts]
            else:
                if broker.topic(name) is None:
                    broker.auto_create_topic(name)
                results = [rm.append(name, index, records, acks) for index, records in parts]
            responses.append((name, results))
    if acks == 0:
        return None
    return [encode_produce_response(ctx.version, responses)]
