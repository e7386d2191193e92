"""Bad input on raw sockets: Kafka's answer (an error response where the protocol defines one, else
the connection closed), and afterwards the broker still serves clients and stored data is intact.

Kafka's behaviour, which Kavka follows:

- frame size < 0, or > ``socket.request.max.bytes``: close, before reading (or allocating) the body;
- a frame too short for a request header, or a header that does not parse: close;
- an unknown API key: close (no response: the response format is unknown);
- ApiVersions at an unsupported version: an ApiVersions v0 response (header v0) with
  UNSUPPORTED_VERSION (35) and the full list, and the connection stays open;
- any other API at an unsupported version: close.

Every test runs against one broker (module scope) whose ``socket.request.max.bytes`` is 100 KiB, and
is followed by a check that a client still produces and reads back everything produced so far.
"""

from __future__ import annotations

import struct
import time

import pytest

from kavka.testing.process import BrokerProcess, create_topic
from tests.server.rawwire import connect, expect_closed, frame, read_frame

MAX_REQUEST = 100 * 1024
UNSUPPORTED_VERSION = 35


@pytest.fixture(scope="module")
def bad_broker(tmp_path_factory):
    b = BrokerProcess(
        tmp_path_factory.mktemp("badframes") / "data", overrides={"socket.request.max.bytes": MAX_REQUEST}
    )
    b.start()
    yield b
    b.stop()
    b.cleanup()


@pytest.fixture(scope="module")
def ledger(bad_broker):
    """A topic and the values produced to it so far (the 'stored data' that must stay intact)."""
    topic = create_topic(bad_broker.bootstrap, "badframes-ledger", 1)
    state = {"topic": topic, "values": []}
    _produce(bad_broker, state, b"before any bad frame")
    return state


@pytest.fixture(autouse=True)
def still_serving(bad_broker, ledger, request):
    yield
    assert bad_broker.is_running(), f"broker died\n{bad_broker.diagnostics()}"
    _produce(bad_broker, ledger, f"after {request.node.name}".encode())
    assert _read_values(bad_broker, ledger["topic"]) == ledger["values"], "stored data changed"


def _produce(broker: BrokerProcess, ledger: dict, value: bytes) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    result = {}
    p.produce(
        ledger["topic"],
        value=value,
        partition=0,
        on_delivery=lambda err, msg: result.update(err=err, offset=msg.offset()),
    )
    assert p.flush(30) == 0
    assert result["err"] is None, result
    assert result["offset"] == len(ledger["values"])
    ledger["values"].append(value)


def _read_values(broker: BrokerProcess, topic: str) -> list[bytes]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "badframes", "enable.auto.commit": False})
    try:
        high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < high and time.monotonic() < deadline:
            for m in c.consume(100, timeout=0.2):
                assert m.error() is None, m.error()
                values.append(m.value())
        return values
    finally:
        c.close()


# -- raw protocol ----------------------------------------------------------------------------------


def parse_api_versions_v0(payload: bytes, correlation_id: int) -> tuple[int, dict[int, tuple[int, int]]]:
    corr, error, n = struct.unpack_from(">ihi", payload)
    assert corr == correlation_id
    versions = {}
    for i in range(n):
        key, lo, hi = struct.unpack_from(">hhh", payload, 10 + 6 * i)
        versions[key] = (lo, hi)
    return error, versions


def uvarint(b: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = b[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def compact_string(s: bytes) -> bytes:
    assert len(s) < 127
    return bytes([len(s) + 1]) + s


# -- well-formed requests (the baseline) -----------------------------------------------------------


def test_api_versions_v0(bad_broker):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(18, 0, 11))
        error, versions = parse_api_versions_v0(read_frame(s), 11)
    assert error == 0
    assert versions[18][1] >= 3


def test_api_versions_v3_response_header_is_v0(bad_broker):
    body = compact_string(b"kavka-raw") + compact_string(b"1.0") + b"\x00"
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(18, 3, 12, body, flexible=True))
        payload = read_frame(s)
    # Header v0: the correlation id and nothing else (no tagged fields), then error_code.
    corr, error = struct.unpack_from(">ih", payload)
    assert (corr, error) == (12, 0)
    n, pos = uvarint(payload, 6)
    keys = set()
    for _ in range(n - 1):
        key, lo, hi = struct.unpack_from(">hhh", payload, pos)
        keys.add(key)
        tagged, pos = uvarint(payload, pos + 6)
        assert tagged == 0
    assert {0, 1, 3, 18} <= keys
    (throttle,) = struct.unpack_from(">i", payload, pos)
    assert throttle == 0


def test_pipelined_requests_answered_in_order(bad_broker):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(b"".join(frame(18, 0, corr) for corr in range(100, 110)))
        for corr in range(100, 110):
            assert parse_api_versions_v0(read_frame(s), corr)[0] == 0


# -- bad frames --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [-1, -(2**31)])
def test_negative_frame_size_closes(bad_broker, size):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(struct.pack(">i", size) + b"\x00" * 16)
        expect_closed(s, silent=True)


@pytest.mark.parametrize("size", [MAX_REQUEST + 1, 2**31 - 1])
def test_frame_over_socket_request_max_bytes_closes_without_allocating(bad_broker, size):
    rss_before = bad_broker.memory_kib("VmRSS")
    with connect(bad_broker.bootstrap) as s:
        s.sendall(struct.pack(">i", size) + frame(18, 0, 1)[4:])
        expect_closed(s, silent=True)
    assert bad_broker.memory_kib("VmRSS") - rss_before < 50 * 1024, "claimed size must not be allocated"


def test_truncated_frame_then_client_closes(bad_broker):
    whole = frame(18, 0, 5)
    s = connect(bad_broker.bootstrap)
    s.sendall(whole[: len(whole) - 3])
    s.close()
    # Many at once, at different cut points, including inside the size prefix.
    for cut in range(1, len(whole)):
        with connect(bad_broker.bootstrap) as s:
            s.sendall(whole[:cut])


def test_truncated_frame_claiming_nearly_max_size(bad_broker):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(struct.pack(">i", MAX_REQUEST) + b"\x00\x12\x00\x00")
        # The broker waits for the rest; another connection is served meanwhile.
        with connect(bad_broker.bootstrap) as other:
            other.sendall(frame(18, 0, 77))
            assert parse_api_versions_v0(read_frame(other), 77)[0] == 0


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x00\x12\x00", b"\x00\x12\x00\x00\x00\x00\x00", b"\xff" * 20],
    ids=["empty", "1-byte", "3-bytes", "7-bytes-no-client-id", "all-ff"],
)
def test_garbage_header_closes(bad_broker, payload):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(struct.pack(">i", len(payload)) + payload)
        expect_closed(s, silent=True)


def test_client_id_longer_than_frame_closes(bad_broker):
    payload = struct.pack(">hhih", 18, 0, 9, 500) + b"abc"
    with connect(bad_broker.bootstrap) as s:
        s.sendall(struct.pack(">i", len(payload)) + payload)
        expect_closed(s, silent=True)


@pytest.mark.parametrize("api_key", [999, 32767, -5])
def test_unknown_api_key_closes(bad_broker, api_key):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(api_key, 0, 3))
        expect_closed(s, silent=True)


def test_unsupported_api_versions_version_answers_v0_with_error(bad_broker):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(18, 127, 21, b"\x00\x00\x00", flexible=True))
        error, versions = parse_api_versions_v0(read_frame(s), 21)
        assert error == UNSUPPORTED_VERSION
        assert versions[18][1] >= 3 and 0 in versions and 1 in versions
        # The connection stays usable: the client retries at a version it now knows.
        s.sendall(frame(18, 0, 22))
        assert parse_api_versions_v0(read_frame(s), 22)[0] == 0


@pytest.mark.parametrize("api_key,version", [(3, 99), (0, 99), (1, 99)])
def test_unsupported_version_of_other_api_closes(bad_broker, api_key, version):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(api_key, version, 4))
        expect_closed(s, silent=True)


def test_bad_frame_leaves_other_connections_alone(bad_broker):
    with connect(bad_broker.bootstrap) as good:
        good.sendall(frame(18, 0, 1))
        assert parse_api_versions_v0(read_frame(good), 1)[0] == 0
        bad = [connect(bad_broker.bootstrap) for _ in range(5)]
        for i, b in enumerate(bad):
            b.sendall(
                [
                    struct.pack(">i", -1),
                    struct.pack(">i", 2**31 - 1),
                    frame(999, 0, 1),
                    struct.pack(">i", 3) + b"\xff\xff\xff",
                    frame(3, 99, 1),
                ][i]
            )
        for b in bad:
            expect_closed(b, silent=True)
            b.close()
        good.sendall(frame(18, 0, 2))
        assert parse_api_versions_v0(read_frame(good), 2)[0] == 0


def test_garbage_after_valid_request_gets_response_then_close(bad_broker):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(18, 0, 31) + struct.pack(">i", -7))
        assert parse_api_versions_v0(read_frame(s), 31)[0] == 0
        expect_closed(s, silent=True)


# -- bad record batches in well-formed Produce requests ------------------------------------------

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REQUIRED_ACKS = 21


def record_batch(values: list[bytes]) -> bytes:
    from kafka.record.default_records import DefaultRecordBatchBuilder

    b = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    for i, v in enumerate(values):
        b.append(i, timestamp=int(time.time() * 1000), key=None, value=v, headers=[])
    return bytes(b.build())


def produce_v3(topic: str, partition: int, records: bytes, acks: int = 1) -> bytes:
    name = topic.encode()
    return (
        struct.pack(">hhi", -1, acks, 10_000)
        + struct.pack(">ih", 1, len(name))
        + name
        + struct.pack(">iii", 1, partition, len(records))
        + records
    )


def produce_v3_error(broker: BrokerProcess, topic: str, partition: int, records: bytes, acks: int = 1) -> int:
    """Send one Produce v3 request; return the partition's error code (ProduceResponse v3)."""
    with connect(broker.bootstrap) as s:
        s.sendall(frame(0, 3, 41, produce_v3(topic, partition, records, acks)))
        payload = read_frame(s)
    corr, n_topics, name_len = struct.unpack_from(">iih", payload)
    assert (corr, n_topics) == (41, 1)
    pos = 10 + name_len
    n_parts, index, error = struct.unpack_from(">iih", payload, pos)
    assert (n_parts, index) == (1, partition)
    return error


def test_valid_raw_produce_is_accepted(bad_broker, ledger):
    assert produce_v3_error(bad_broker, ledger["topic"], 0, record_batch([b"raw produce"])) == 0
    ledger["values"].append(b"raw produce")


def test_batch_with_bad_crc_is_corrupt_message(bad_broker, ledger):
    batch = bytearray(record_batch([b"payload to corrupt"]))
    batch[-3] ^= 0xFF  # inside the records, covered by the CRC
    assert produce_v3_error(bad_broker, ledger["topic"], 0, bytes(batch)) == CORRUPT_MESSAGE


def test_batch_length_beyond_records_is_corrupt_message(bad_broker, ledger):
    batch = bytearray(record_batch([b"x" * 50]))
    struct.pack_into(">i", batch, 8, len(batch))  # batchLength claims 12 more bytes than there are
    assert produce_v3_error(bad_broker, ledger["topic"], 0, bytes(batch)) == CORRUPT_MESSAGE


def test_truncated_batch_is_corrupt_message(bad_broker, ledger):
    batch = record_batch([b"x" * 50])
    assert produce_v3_error(bad_broker, ledger["topic"], 0, batch[:-10]) == CORRUPT_MESSAGE


def test_produce_to_unknown_partition(bad_broker, ledger):
    assert produce_v3_error(bad_broker, ledger["topic"], 7, record_batch([b"x"])) == UNKNOWN_TOPIC_OR_PARTITION


def test_produce_with_invalid_acks(bad_broker, ledger):
    assert produce_v3_error(bad_broker, ledger["topic"], 0, record_batch([b"x"]), acks=5) == INVALID_REQUIRED_ACKS


def test_acks_0_produce_gets_no_response_and_next_request_is_answered(bad_broker, ledger):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(frame(0, 3, 51, produce_v3(ledger["topic"], 0, record_batch([b"acks0"]), acks=0)) + frame(18, 0, 52))
        # The first (and only) response is ApiVersions'; Produce with acks=0 has none.
        assert parse_api_versions_v0(read_frame(s), 52)[0] == 0
    ledger["values"].append(b"acks0")


# -- bodies that do not parse, and well-formed requests Kafka refuses -------------------------------
#
# A length the rest of the frame cannot hold, or null where the schema forbids it: Kafka's request
# parser throws, and the broker closes the connection (InvalidRequestException). Kavka does the same
# after logging one line, without a traceback; kio's reader once aborted the whole process on these.


def _body(api_key: int, version: int, data: dict) -> bytes:
    from kavka.protocol.api import encode_request_body

    return encode_request_body(api_key, version, data)


def _length_field(api_key: int, version: int, body: bytes, path: str):
    from kavka.protocol.api import request_class
    from kavka.testing.fuzz import length_fields

    cls = request_class(api_key, version)
    return next(f for f in length_fields(cls, body) if f.path == f"{cls.__name__}.{path}")


def _log_lines_since(broker: BrokerProcess, mark: int) -> list[str]:
    return broker.log_text()[mark:].splitlines()


def _closes_with_one_line(broker: BrokerProcess, frame: bytes, expect: str) -> None:
    from kavka.testing.process import wait_until

    mark = len(broker.log_text())
    with connect(broker.bootstrap) as s:
        s.sendall(frame)
        expect_closed(s, silent=True)
    wait_until(
        lambda: any("malformed request" in line for line in _log_lines_since(broker, mark)),
        timeout=10,
        message="the malformed request is logged",
    )
    lines = _log_lines_since(broker, mark)
    bad = [line for line in lines if "malformed request" in line]
    assert len(bad) == 1 and expect in bad[0], lines
    assert not any("Traceback" in line for line in lines), "\n".join(lines)


HUGE_COMPACT = bytes.fromhex("ffffffff0f")


@pytest.mark.parametrize("api_key,version", [(8, 9), (9, 8), (9, 9)])
def test_collection_length_past_the_frame_closes_and_broker_lives(bad_broker, api_key, version):
    """The frames that aborted the broker (kio allocating ~34 GB): a compact length of 2**32-2."""
    from kavka.protocol.api import request_class
    from kavka.testing.fuzz import length_fields

    data = {"group_id": "g", "member_id": "m", "topics": [], "groups": [{"group_id": "g", "topics": []}]}
    body = _body(api_key, version, data)
    lf = next(f for f in length_fields(request_class(api_key, version), body) if f.kind == "array")
    body = body[: lf.offset] + HUGE_COMPACT + body[lf.offset + lf.width :]
    _closes_with_one_line(bad_broker, frame(api_key, version, 61, body, flexible=True), "elements claimed")


@pytest.mark.parametrize(
    "api_key,version,data,path",
    [
        (2, 1, {"replica_id": -1, "topics": []}, "topics"),  # ListOffsets
        (9, 1, {"group_id": "g", "topics": []}, "topics"),  # OffsetFetch v1
        (10, 4, {"key_type": 0, "coordinator_keys": []}, "coordinator_keys"),  # FindCoordinator
        (8, 2, {"group_id": "g", "member_id": "m", "topics": []}, "topics"),  # OffsetCommit
    ],
)
def test_null_array_where_kafka_forbids_it_closes_with_one_line(bad_broker, api_key, version, data, path):
    from kavka.protocol.api import is_flexible
    from kavka.testing.fuzz import overwrite_length

    body = _body(api_key, version, data)
    body = overwrite_length(body, _length_field(api_key, version, body, path), -1)
    _closes_with_one_line(
        bad_broker,
        frame(api_key, version, 62, body, flexible=is_flexible(api_key, version)),
        "was serialized as null",
    )


def _create_topics_v5(topics: list[dict]) -> bytes:
    return frame(19, 5, 71, _body(19, 5, {"topics": topics, "timeout": 10_000}), flexible=True)


def _topic_results(payload: bytes, api_key: int, version: int, offset: int = 5):
    """The response body (``offset``: after the correlation id and, for header v1, its tag byte)."""
    from kio.serial import entity_reader

    from kavka.protocol.api import response_class

    resp, _ = entity_reader(response_class(api_key, version))(payload, offset)
    return resp


POLICY_VIOLATION = 44
INVALID_REPLICA_ASSIGNMENT = 39


def test_create_topics_with_too_many_partitions_is_policy_violation(bad_broker):
    with connect(bad_broker.bootstrap) as s:
        s.sendall(
            _create_topics_v5(
                [
                    {"name": "badframes-huge", "num_partitions": 2**31 - 1, "replication_factor": 1},
                    {"name": "badframes-small", "num_partitions": 1, "replication_factor": 1},
                ]
            )
        )
        resp = _topic_results(read_frame(s), 19, 5)
    assert [(t.name, t.error_code, t.error_message) for t in resp.topics] == [
        ("badframes-huge", POLICY_VIOLATION, "Excessively large number of partitions per request."),
        ("badframes-small", POLICY_VIOLATION, "Excessively large number of partitions per request."),
    ]


def test_duplicate_partition_in_manual_assignment_is_refused(bad_broker):
    assignments = [{"partition_index": 0, "broker_ids": [1]}, {"partition_index": 0, "broker_ids": [1]}]
    with connect(bad_broker.bootstrap) as s:
        s.sendall(
            _create_topics_v5(
                [{"name": "badframes-dup", "num_partitions": -1, "replication_factor": -1, "assignments": assignments}]
            )
        )
        resp = _topic_results(read_frame(s), 19, 5)
    [t] = resp.topics
    assert (t.error_code, t.error_message) == (
        INVALID_REPLICA_ASSIGNMENT,
        "Found multiple manual partition assignments for partition 0",
    )


def test_create_partitions_to_a_huge_count_is_refused_quickly(bad_broker):
    from confluent_kafka.admin import AdminClient

    topic = create_topic(bad_broker.bootstrap, "badframes-grow", 1)
    with connect(bad_broker.bootstrap) as s:
        s.sendall(
            frame(
                37,
                1,
                72,
                _body(
                    37,
                    1,
                    {
                        "topics": [{"name": topic, "count": 2**31 - 1, "assignments": None}],
                        "timeout": 10_000,
                        "validate_only": False,
                    },
                ),
            )
        )
        resp = _topic_results(read_frame(s), 37, 1, offset=4)  # header v0: correlation id only
    [r] = resp.results
    assert (r.name, r.error_code, r.error_message) == (
        topic,
        POLICY_VIOLATION,
        "Unable to perform excessively large batch operation.",
    )
    md = AdminClient({"bootstrap.servers": bad_broker.bootstrap}).list_topics(topic, timeout=10)
    assert len(md.topics[topic].partitions) == 1
