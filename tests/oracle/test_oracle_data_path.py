"""Produce, Fetch and ListOffsets at the wire, sent alike to Apache Kafka and Kavka (issue 13's data path):
empty topics, offsets out of range, ListOffsets by every special timestamp and by time, max_bytes
limits smaller than the first batch, read_committed against read_uncommitted around an aborted
transaction, unknown topics / topic ids / partitions, acks 0/1/-1 and invalid acks, records too large,
a batch with a bad CRC, at old and new versions (topic names up to Produce v12 / Fetch v12, topic ids
after).

Each test runs its steps in order on both brokers and collects the differences per step;
known.DATA_PATH_DIFFERENCES holds the expected lines of every step that differs. Record data is
compared decoded (`_records`): batch by batch, offsets, attributes, timestamps, keys, values, headers;
what two clusters legitimately differ in (producer ids, the wall-clock timestamps a client stamps) is
replaced by placeholders.
"""

from __future__ import annotations

import io
import socket
import struct
import uuid

from confluent_kafka import Producer
from kio.index import load_request_schema
from kio.schema.request_header.v2.header import RequestHeader
from kio.serial import entity_writer
from kio.static.primitive import i16, i32

from kavka.protocol.api import build_entity
from kavka.protocol.batch import iter_headers
from kavka.protocol.records import Record, build_batch, iter_batches
from kavka.testing.process import wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences, normalise, record
from tests.oracle.oraclewire import CREATE_TOPICS, METADATA, call, create_topics_body

PRODUCE, FETCH, LIST_OFFSETS = 0, 1, 2
EARLIEST, LATEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED, PENDING_UPLOAD = -2, -1, -3, -4, -5, -6
T0 = 1_700_000_000_000  # record timestamps: fixed, so both logs hold the same bytes


# -- helpers ---------------------------------------------------------------------------------------


def _records(raw) -> object:
    """A fetched record set, decoded: per batch its header fields and its records."""
    if raw is None or raw == b"":
        return raw
    data = bytes(raw)
    out = []
    for _, header, records in iter_batches(data):
        out.append(
            {
                "base_offset": header.base_offset,
                "last_offset_delta": header.last_offset_delta,
                "attributes": header.attributes,
                "producer": "<pid>" if header.producer_id >= 0 else -1,
                "base_sequence": header.base_sequence,
                "leader_epoch": header.partition_leader_epoch,
                "records": [(r.offset, _time(r.timestamp), r.key, r.value, r.headers) for r in records],
            }
        )
    whole = sum(1 for _ in iter_headers(data))
    tail = len(data) - sum(h.batch_length + 12 for _, h in iter_headers(data))
    return {"batches": out, "whole": whole, "partial_tail_bytes": tail}


def _time(timestamp: int):
    """A timestamp written here (T0 + 1 s per offset) as it is; one a broker or client stamped (transaction
    markers, records produced by a client) as ``<now>``."""
    return timestamp if T0 - 1 <= timestamp < T0 + 10**6 or timestamp < 0 else "<now>"


def _tidy(answer):
    """Decode record sets and hide producer ids, which each cluster hands out on its own."""
    if isinstance(answer, dict):
        out = {}
        for k, v in answer.items():
            if k == "records":
                out[k] = _records(v)
            elif k == "producer_id":
                out[k] = "<pid>"
            elif k == "timestamp" and isinstance(v, int):
                out[k] = _time(v)
            else:
                out[k] = _tidy(v)
        return out
    if isinstance(answer, list):
        return [_tidy(v) for v in answer]
    return answer


class Sides:
    """The two brokers of the oracle, each with its own topic ids (a v13+ request names them)."""

    def __init__(self, oracle, renames: dict[str, str]):
        self.oracle = oracle
        self.renames = renames
        self.bootstraps = {"kafka": oracle.kafka.bootstrap, "kavka": oracle.kavka.bootstrap}

    def topic_id(self, side: str, name: str) -> str:
        answer = call(
            self.bootstraps[side], METADATA, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False}
        )
        return answer["topics"][0]["topic_id"]

    def both(self, api: int, version: int, body) -> tuple[dict, dict]:
        """``body`` is a dict, or a function of the side ("kafka"/"kavka") returning one."""
        answers = []
        for side in ("kafka", "kavka"):
            b = body(side) if callable(body) else body
            raw = call(self.bootstraps[side], api, version, b)
            answers.append(normalise(_tidy(raw), {**self.renames, **self.oracle._renames(side)}))
        return answers[0], answers[1]


def _run(sides: Sides, steps) -> tuple[dict[str, list[str]], dict[str, dict]]:
    """Run ``(step, api, version, body)`` on both; (differences per step, Kafka's answer per step)."""
    found, kafka_answers = {}, {}
    for step, api, version, body in steps:
        kafka, kavka = sides.both(api, version, body)
        kafka_answers[step] = kafka
        lines = differences(kafka, kavka)
        if lines:
            found[step] = lines
    return found, kafka_answers


def _expected(group: str) -> dict[str, list[str]]:
    return {step: lines for step, lines in known.DATA_PATH_DIFFERENCES.items() if step.startswith(group + ":")}


def _create(sides: Sides, name: str, partitions: int = 1, configs: dict[str, str] | None = None) -> None:
    body = create_topics_body(name, partitions, configs)
    for side in ("kafka", "kavka"):
        answer = call(sides.bootstraps[side], CREATE_TOPICS, 7, body)
        assert answer["topics"][0]["error_code"] == 0, (side, answer)
    for side in ("kafka", "kavka"):  # Kafka's broker learns new topics from the metadata log a moment later
        wait_until(lambda s=side: _leaders_known(sides.bootstraps[s], name, partitions), 15)


def _leaders_known(bootstrap: str, name: str, partitions: int) -> bool:
    t = call(bootstrap, METADATA, 12, {"topics": [{"name": name}], "allow_auto_topic_creation": False})["topics"][0]
    return (
        t["error_code"] == 0
        and len(t["partitions"]) == partitions
        and all(p["leader_id"] >= 0 for p in t["partitions"])
    )


def _batch(first_offset: int, n: int, *, size: int = 10, base_offset: int = 0) -> bytes:
    """``n`` records meant for log offsets ``first_offset``...: keys and timestamps follow those offsets
    (T0 + 1 s per offset). The batch's base offset is 0, as a client writes it (the broker assigns)."""
    return build_batch(
        [
            Record(base_offset + i, T0 + (first_offset + i) * 1000, f"k{first_offset + i}".encode(), b"v" * size)
            for i in range(n)
        ],
        base_offset=base_offset,
    )


def _produce_body(topic, partitions: list[tuple[int, bytes | None]], acks: int = 1, version: int = 9):
    """A Produce body for ``topic`` (a name, or for v13 an id as a string)."""
    key = {"topic_id": uuid.UUID(topic)} if version >= 13 else {"name": topic}
    return {
        "transactional_id": None,
        "acks": acks,
        "timeout": 30000,
        "topic_data": [{**key, "partition_data": [{"index": i, "records": r} for i, r in partitions]}],
    }


def _fetch_body(
    topic, partitions, *, version: int, max_bytes: int = 1 << 20, isolation: int = 0, session_epoch: int = -1
):
    """A Fetch body: ``partitions`` = [(index, offset, partition max bytes)], ``topic`` a name or (v13+)
    an id string."""
    key = {"topic_id": uuid.UUID(topic)} if version >= 13 else {"topic": topic}
    since_v5 = {"log_start_offset": -1} if version >= 5 else {}
    body = {
        "max_wait": 0,
        "min_bytes": 1,
        "max_bytes": max_bytes,
        "isolation_level": isolation,
        "topics": [
            {
                **key,
                "partitions": [
                    {"partition": i, "fetch_offset": o, "partition_max_bytes": pmb, **since_v5}
                    for i, o, pmb in partitions
                ],
            }
        ],
    }
    if version < 15:
        body["replica_id"] = -1
    if version >= 7:
        body |= {"session_id": 0, "session_epoch": session_epoch, "forgotten_topics_data": []}
    if version >= 11:
        body["rack_id"] = ""
    return body


def _list_offsets_body(topic: str, timestamps: list[tuple[int, int]], isolation: int = 0, version: int = 11):
    body = {
        "replica_id": -1,
        "topics": [{"name": topic, "partitions": [{"partition_index": i, "timestamp": ts} for i, ts in timestamps]}],
    }
    if version >= 2:
        body["isolation_level"] = isolation
    if version >= 10:
        body["timeout"] = 30000
    return body


def _per_side(sides: Sides, name: str, build):
    """A body built per side from that side's topic id."""
    ids = {side: sides.topic_id(side, name) for side in ("kafka", "kavka")}
    return lambda side: build(ids[side])


def _check(found: dict[str, list[str]], group: str) -> None:
    record(group, found)
    assert found == _expected(group), "\n".join(f"{k}: {v}" for k, v in found.items())


# -- tests -----------------------------------------------------------------------------------------


def test_tidy_hides_only_what_two_clusters_may_differ_in():
    """The comparison's own check (no broker): producer ids and wall-clock timestamps are hidden; an
    offset, a value, a timestamp written here, a partial batch are not."""

    def answer(records: bytes) -> dict:
        return {"responses": [{"partitions": [{"partition_index": 0, "records": records}]}]}

    def txn_batch(pid: int, now: int, value: bytes = b"v") -> bytes:
        return build_batch([Record(0, now, None, value)], producer_id=pid, producer_epoch=0, base_sequence=0)

    same = differences(_tidy(answer(txn_batch(7, T0 * 2))), _tidy(answer(txn_batch(1000, T0 * 2 + 5))))
    assert same == []
    for other in (
        txn_batch(7, T0 * 2, b"w"),  # another value
        build_batch([Record(0, T0 * 2, None, b"v")]),  # no producer
        txn_batch(7, T0 + 5),  # a timestamp written here
        txn_batch(7, T0 * 2) + txn_batch(7, T0 * 2)[:20],  # a partial batch after it
    ):
        assert differences(_tidy(answer(txn_batch(7, T0 * 2))), _tidy(answer(other))) != []
    assert differences(_tidy(answer(_batch(0, 2))), _tidy(answer(_batch(1, 2)))) != []


def test_empty_topic_and_out_of_range(oracle, new_topic_name):
    name = new_topic_name("empty")
    sides = Sides(oracle, {name: "<topic>"})
    _create(sides, name, partitions=2)
    specials = [(0, EARLIEST), (1, LATEST)]
    steps = [
        ("empty:fetch-v4", FETCH, 4, _fetch_body(name, [(0, 0, 1 << 20), (1, 0, 1 << 20)], version=4)),
        ("empty:fetch-v12", FETCH, 12, _fetch_body(name, [(0, 0, 1 << 20)], version=12)),
        ("empty:fetch-v12-out-of-range", FETCH, 12, _fetch_body(name, [(0, 5, 1 << 20)], version=12)),
        ("empty:fetch-v12-negative", FETCH, 12, _fetch_body(name, [(0, -1, 1 << 20)], version=12)),
        ("empty:list-offsets-v1", LIST_OFFSETS, 1, _list_offsets_body(name, specials, version=1)),
        ("empty:list-offsets-v7-max", LIST_OFFSETS, 7, _list_offsets_body(name, [(0, MAX_TIMESTAMP)], version=7)),
        ("empty:list-offsets-v6-max", LIST_OFFSETS, 6, _list_offsets_body(name, [(0, MAX_TIMESTAMP)], version=6)),
        (
            "empty:list-offsets-v9-tiered",
            LIST_OFFSETS,
            9,
            _list_offsets_body(name, [(0, EARLIEST_LOCAL), (1, LATEST_TIERED)], version=9),
        ),
        ("empty:list-offsets-v11-pending", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, PENDING_UPLOAD)])),
        (
            "empty:list-offsets-v10-pending",
            LIST_OFFSETS,
            10,
            _list_offsets_body(name, [(0, PENDING_UPLOAD)], version=10),
        ),
        ("empty:list-offsets-v11-time", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, T0)])),
    ]
    for version in (13, 16, 18):
        steps.append(
            (
                f"empty:fetch-v{version}",
                FETCH,
                version,
                _per_side(
                    sides, name, lambda tid, v=version: _fetch_body(tid, [(0, 0, 1 << 20), (1, 3, 100)], version=v)
                ),
            )
        )
    found, kafka = _run(sides, steps)
    assert kafka["empty:fetch-v12-out-of-range"]["responses"][0]["partitions"][0]["error_code"] == 1
    _check(found, "empty")


def test_produce_then_fetch_and_list_offsets(oracle, new_topic_name):
    name = new_topic_name("data")
    sides = Sides(oracle, {name: "<topic>"})
    _create(sides, name, partitions=2)
    steps = [
        ("data:produce-v3", PRODUCE, 3, _produce_body(name, [(0, _batch(0, 3))], version=3)),
        ("data:produce-v9-acks-all", PRODUCE, 9, _produce_body(name, [(0, _batch(3, 2))], acks=-1, version=9)),
        (
            "data:produce-v11-two-partitions",
            PRODUCE,
            11,
            _produce_body(name, [(0, _batch(5, 5, size=200)), (1, _batch(0, 1))], version=11),
        ),
        ("data:produce-v12", PRODUCE, 12, _produce_body(name, [(0, _batch(10, 2))], version=12)),
        (
            "data:produce-v13",
            PRODUCE,
            13,
            _per_side(sides, name, lambda tid: _produce_body(tid, [(0, _batch(12, 2))], version=13)),
        ),
        ("data:produce-base-offset-5", PRODUCE, 9, _produce_body(name, [(0, _batch(14, 1, base_offset=5))], version=9)),
        ("data:fetch-v4-all", FETCH, 4, _fetch_body(name, [(0, 0, 1 << 20), (1, 0, 1 << 20)], version=4)),
        ("data:fetch-v12-middle", FETCH, 12, _fetch_body(name, [(0, 4, 1 << 20)], version=12)),
        ("data:fetch-v12-end", FETCH, 12, _fetch_body(name, [(0, 14, 1 << 20)], version=12)),
        ("data:fetch-v12-beyond", FETCH, 12, _fetch_body(name, [(0, 15, 1 << 20)], version=12)),
        # the first batch is larger than each limit: it comes whole all the same (KIP-74)
        ("data:fetch-v12-partition-max-1", FETCH, 12, _fetch_body(name, [(0, 5, 1), (1, 0, 1)], version=12)),
        (
            "data:fetch-v12-max-bytes-1",
            FETCH,
            12,
            _fetch_body(name, [(0, 5, 1 << 20), (1, 0, 1 << 20)], version=12, max_bytes=1),
        ),
        ("data:fetch-v12-partition-max-100", FETCH, 12, _fetch_body(name, [(0, 0, 100)], version=12)),
        (
            "data:fetch-v18",
            FETCH,
            18,
            _per_side(sides, name, lambda tid: _fetch_body(tid, [(0, 3, 1 << 20), (1, 0, 1 << 20)], version=18)),
        ),
        (
            "data:list-offsets-v11",
            LIST_OFFSETS,
            11,
            _list_offsets_body(name, [(0, EARLIEST)]),
        ),
        ("data:list-offsets-v11-latest", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, LATEST)])),
        ("data:list-offsets-v11-max", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, MAX_TIMESTAMP)])),
        ("data:list-offsets-v11-time", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, T0 + 6500)])),
        ("data:list-offsets-v11-time-exact", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, T0 + 3000)])),
        ("data:list-offsets-v11-time-beyond", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, T0 + 10**9)])),
        ("data:list-offsets-v11-time-before", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, 1)])),
        (
            "data:list-offsets-v11-pending",
            LIST_OFFSETS,
            11,
            _list_offsets_body(name, [(0, PENDING_UPLOAD), (1, LATEST_TIERED)]),
        ),
        (
            "data:list-offsets-v1-time",
            LIST_OFFSETS,
            1,
            _list_offsets_body(name, [(0, T0 + 6500), (1, LATEST)], version=1),
        ),
    ]
    found, kafka = _run(sides, steps)
    assert kafka["data:produce-v13"]["responses"][0]["partition_responses"][0]["base_offset"] == 12
    assert kafka["data:list-offsets-v11-time"]["topics"][0]["partitions"][0]["offset"] == 7
    _check(found, "data")


def test_produce_errors(oracle, new_topic_name):
    name = new_topic_name("errors")
    small = new_topic_name("small")
    sides = Sides(oracle, {name: "<topic>", small: "<small>"})
    _create(sides, name)
    _create(sides, small, configs={"max.message.bytes": "1000"})
    corrupt = bytearray(_batch(0, 2))
    corrupt[-1] ^= 0xFF  # a record byte: covered by the CRC
    unknown_id = str(uuid.uuid4())
    steps = [
        ("errors:acks-2", PRODUCE, 9, _produce_body(name, [(0, _batch(0, 1))], acks=2)),
        ("errors:acks-minus-2-v3", PRODUCE, 3, _produce_body(name, [(0, _batch(0, 1))], acks=-2, version=3)),
        ("errors:too-large", PRODUCE, 9, _produce_body(small, [(0, _batch(0, 1, size=2000))])),
        (
            "errors:too-large-v13",
            PRODUCE,
            13,
            _per_side(sides, small, lambda tid: _produce_body(tid, [(0, _batch(0, 1, size=2000))], version=13)),
        ),
        ("errors:corrupt-crc", PRODUCE, 9, _produce_body(name, [(0, bytes(corrupt))])),
        ("errors:unknown-partition", PRODUCE, 9, _produce_body(name, [(7, _batch(0, 1))])),
        ("errors:unknown-topic", PRODUCE, 9, _produce_body(name + "-nope", [(0, _batch(0, 1))])),
        ("errors:unknown-topic-id", PRODUCE, 13, _produce_body(unknown_id, [(0, _batch(0, 1))], version=13)),
        ("errors:two-batches", PRODUCE, 9, _produce_body(name, [(0, _batch(0, 1) + _batch(1, 1))])),
        ("errors:fetch-unknown-partition", FETCH, 12, _fetch_body(name, [(7, 0, 1000)], version=12)),
        ("errors:fetch-unknown-topic", FETCH, 12, _fetch_body(name + "-nope", [(0, 0, 1000)], version=12)),
        ("errors:fetch-unknown-topic-id", FETCH, 13, _fetch_body(unknown_id, [(0, 0, 1000)], version=13)),
        # the zero uuid (which Kavka's codec reads as None) names no topic: found by the fuzzer
        ("errors:fetch-zero-topic-id", FETCH, 15, _fetch_body(str(uuid.UUID(int=0)), [(0, 0, 1000)], version=15)),
        (
            "errors:fetch-unknown-partition-v13",
            FETCH,
            13,
            _per_side(sides, name, lambda tid: _fetch_body(tid, [(7, 0, 1000)], version=13)),
        ),
        (
            "errors:fetch-incremental-unknown-session",
            FETCH,
            12,
            _fetch_body(name, [(0, 0, 1000)], version=12, session_epoch=1),
        ),
        ("errors:list-offsets-unknown-partition", LIST_OFFSETS, 11, _list_offsets_body(name, [(7, LATEST)])),
        ("errors:list-offsets-unknown-topic", LIST_OFFSETS, 11, _list_offsets_body(name + "-nope", [(0, LATEST)])),
        (
            "errors:metadata-v13-unknown-id",
            METADATA,
            13,
            {
                "topics": [{"topic_id": uuid.UUID(unknown_id), "name": None}],
                "allow_auto_topic_creation": False,
                "include_topic_authorized_operations": False,
            },
        ),
        (
            "errors:metadata-v13",
            METADATA,
            13,
            {
                "topics": [{"name": name}],
                "allow_auto_topic_creation": False,
                "include_topic_authorized_operations": False,
            },
        ),
    ]
    found, kafka = _run(sides, steps)
    assert kafka["errors:unknown-topic-id"]["responses"][0]["partition_responses"][0]["error_code"] == 100
    assert kafka["errors:fetch-zero-topic-id"]["responses"][0]["partitions"][0]["error_code"] == 100
    _check(found, "errors")


def _send_acks_0(bootstrap: str, body_bytes: bytes) -> None:
    """A Produce v9 with acks=0 on a raw socket: no response comes; close after sending."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body_bytes)) + body_bytes)


def test_acks_zero(oracle, new_topic_name):
    """acks=0 gets no answer from either; the records land all the same."""
    name = new_topic_name("acks0")
    sides = Sides(oracle, {name: "<topic>"})
    _create(sides, name)
    cls = load_request_schema(PRODUCE, 9)
    buf = io.BytesIO()
    entity_writer(RequestHeader)(
        buf, RequestHeader(request_api_key=i16(0), request_api_version=i16(9), correlation_id=i32(5), client_id="acks0")
    )
    entity_writer(cls)(buf, build_entity(cls, _produce_body(name, [(0, _batch(0, 4))], acks=0)))
    for side in ("kafka", "kavka"):
        _send_acks_0(sides.bootstraps[side], buf.getvalue())

    def latest(side):
        a = call(sides.bootstraps[side], LIST_OFFSETS, 11, _list_offsets_body(name, [(0, LATEST)]))
        return a["topics"][0]["partitions"][0]["offset"] == 4

    for side in ("kafka", "kavka"):
        wait_until(lambda s=side: latest(s), 15)
    found, kafka = _run(sides, [("acks0:fetch", FETCH, 12, _fetch_body(name, [(0, 0, 1 << 20)], version=12))])
    _check(found, "acks0")


def _aborted_transaction(bootstrap: str, topic: str) -> None:
    """committed (2 records), aborted (2), committed (1), with confluent-kafka's transactional producer."""
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{topic}-txn", "linger.ms": 0})
    p.init_transactions(30)
    for values, commit in (([b"c0", b"c1"], True), ([b"a0", b"a1"], False), ([b"c2"], True)):
        p.begin_transaction()
        for v in values:
            p.produce(topic, v, partition=0, timestamp=T0)
        p.flush(30)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)


def test_isolation_levels_with_an_aborted_transaction(oracle, new_topic_name):
    name = new_topic_name("txn")
    sides = Sides(oracle, {name: "<topic>", f"{name}-txn": "<txn>"})
    _create(sides, name)
    for side in ("kafka", "kavka"):
        _aborted_transaction(sides.bootstraps[side], name)
    # Reads start at offset 2 (the first commit marker): Kafka 4.4 answers a read from 0 with the first
    # batch only while its high watermark's position in the segment is not known (docs/compatibility.md).
    steps = []
    for version in (4, 12, 13):
        for isolation, label in ((0, "uncommitted"), (1, "committed")):
            if version >= 13:
                body = _per_side(
                    sides,
                    name,
                    lambda tid, v=version, i=isolation: _fetch_body(tid, [(0, 2, 1 << 20)], version=v, isolation=i),
                )
            else:
                body = _fetch_body(name, [(0, 2, 1 << 20)], version=version, isolation=isolation)
            steps.append((f"txn:fetch-v{version}-{label}", FETCH, version, body))
    steps += [
        (
            "txn:fetch-v12-committed-from-aborted",
            FETCH,
            12,
            _fetch_body(name, [(0, 3, 1 << 20)], version=12, isolation=1),
        ),
        (
            "txn:fetch-v12-committed-after-aborted",
            FETCH,
            12,
            _fetch_body(name, [(0, 6, 1 << 20)], version=12, isolation=1),
        ),
        ("txn:fetch-v12-committed-small", FETCH, 12, _fetch_body(name, [(0, 3, 1)], version=12, isolation=1)),
        ("txn:list-offsets-committed", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, LATEST)], isolation=1)),
        ("txn:list-offsets-max", LIST_OFFSETS, 11, _list_offsets_body(name, [(0, MAX_TIMESTAMP)])),
    ]
    found, kafka = _run(sides, steps)
    committed = kafka["txn:fetch-v12-committed"]["responses"][0]["partitions"][0]
    assert committed["aborted_transactions"] and committed["last_stable_offset"] == 8
    _check(found, "txn")


def test_fetch_sessions(oracle, new_topic_name):
    """KIP-227 sessions step by step on both (session ids differ between clusters: compared as made or
    not): open with epoch 0, incremental fetches naming only what changed, a duplicate epoch, a request
    of the other kind of topic naming (names/ids), forgetting every partition, an unknown session; the
    same keyed by topic id (v13)."""
    name = new_topic_name("sessions")
    sides = Sides(oracle, {name: "<topic>"})
    _create(sides, name, partitions=2)
    ids = {side: sides.topic_id(side, name) for side in ("kafka", "kavka")}
    sids = {"kafka": 0, "kavka": 0}
    for side in ("kafka", "kavka"):
        call(sides.bootstraps[side], PRODUCE, 9, _produce_body(name, [(0, _batch(0, 2))]))

    def body(version, partitions, epoch, forgotten=()):
        def build(side):
            topic = ids[side] if version >= 13 else name
            b = _fetch_body(topic, partitions, version=version, session_epoch=epoch)
            b["session_id"] = sids[side]
            if not partitions:
                b["topics"] = []
            if forgotten:
                key = {"topic_id": uuid.UUID(topic)} if version >= 13 else {"topic": topic}
                b["forgotten_topics_data"] = [{**key, "partitions": list(forgotten)}]
            return b

        return build

    def produce_p1():
        for side in ("kafka", "kavka"):
            call(sides.bootstraps[side], PRODUCE, 9, _produce_body(name, [(1, _batch(0, 1))]))

    found, kafka_answers = {}, {}
    for version in (12, 13):
        other = 13 if version == 12 else 12
        steps = [
            ("open", [(0, 0, 1 << 20), (1, 0, 1 << 20)], 0, (), None),
            ("nothing-new", [(0, 2, 1 << 20)], 1, (), None),
            ("new-records", [], 2, (), produce_p1),
            ("duplicate-epoch", [], 2, (), None),
            ("other-naming", [], 3, (), None),
            ("old-offset-again", [(1, 0, 1 << 20)], 3, (), None),
            ("forget-all", [], 4, (0, 1), None),
            ("closed", [], 5, (), None),
        ]
        for step, partitions, epoch, forgotten, before in steps:
            if before is not None:
                before()
            v = other if step == "other-naming" else version
            kafka, kavka = sides.both(FETCH, v, body(v, partitions, epoch, forgotten))
            if step == "open":
                sids = {"kafka": kafka["session_id"], "kavka": kavka["session_id"]}
            for answer in (kafka, kavka):
                answer["session_id"] = "<session>" if answer["session_id"] else 0
            key = f"sessions:v{version}-{step}"
            kafka_answers[key] = kafka
            lines = differences(kafka, kavka)
            if lines:
                found[key] = lines
        sids = {"kafka": 0, "kavka": 0}
    assert kafka_answers["sessions:v12-open"]["session_id"] == "<session>"
    assert kafka_answers["sessions:v12-nothing-new"]["responses"] == []
    assert kafka_answers["sessions:v13-duplicate-epoch"]["error_code"] == 71
    _check(found, "sessions")
