"""One vocabulary for three Kafka clients: produce a list of `Out` records, read back `Rec` records.

Each client's results are normalised so tests can compare them directly:

- `Out`: what to produce (key, value, headers, CreateTime timestamp, optional explicit partition).
- `Delivered`: what the producer was told (partition, offset, timestamp, timestamp type), per record,
  in the order the records were given.
- `Rec`: what a consumer read (partition, offset, key, value, headers, timestamp, timestamp type).

``read_all`` functions read every partition from its log start to the high watermark observed when
reading starts (ListOffsets), so they return exactly what the broker holds, no more and no fewer.
Consumers use manual assignment only (no consumer groups).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
CLIENTS = ("confluent", "kafka-python", "aiokafka")

CREATE_TIME = "CreateTime"
LOG_APPEND_TIME = "LogAppendTime"


@dataclass(frozen=True)
class Out:
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: int | None = None
    partition: int | None = None


@dataclass(frozen=True)
class Delivered:
    partition: int
    offset: int
    timestamp: int | None = None
    timestamp_type: str | None = None


@dataclass(frozen=True)
class Rec:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp: int
    timestamp_type: str

    def content(self) -> tuple:
        """Everything but the position: what a producer decides."""
        return (self.key, self.value, self.headers, self.timestamp, self.timestamp_type)


class ProduceError(Exception):
    def __init__(self, errors: list[tuple[int, object]]):
        super().__init__(f"{len(errors)} record(s) failed; first: #{errors[0][0]}: {errors[0][1]!r}")
        self.errors = errors


def now_ms() -> int:
    return int(time.time() * 1000)


def sample_records(
    partitions: int = 2, bulk: int = 120, base_ts: int | None = None, both_null: bool = True
) -> list[Out]:
    """Edge cases (null/empty keys and values, headers, large values) on partition 0, then ``bulk``
    records round-robin over ``partitions``, half compressible text and half random bytes.

    ``both_null=False`` leaves out the record with a null key *and* a null value, which kafka-python
    and aiokafka refuse
    to send ("Need at least one: key or value")."""
    ts = base_ts if base_ts is not None else now_ms() - 60_000
    special = [
        Out(b"key-0", b"value-0", (("h1", b"v1"), ("h2", b"")), ts),
        Out(None, b"null key", (), ts + 1),
        Out(b"null-value", None, (), ts + 2),
        Out(b"empty-value", b"", (("empty", b""),), ts + 3),
        Out(b"", b"empty key", (), ts + 4),
        Out(None, None, (), ts + 5),
        Out(b"dup-headers", b"x", (("h", b"1"), ("h", b"2"), ("\u00e9t\u00e9", "\u00fcnicode".encode())), ts + 6),
        Out(b"big-text", b"kavka " * 20_000, (), ts + 7),
        Out(b"big-random", os.urandom(50_000), (), ts + 8),
        Out(b"binary-\x00\xff", bytes(range(256)), (("bin", bytes(range(256))),), ts + 9),
    ]
    special = [
        Out(o.key, o.value, o.headers, o.timestamp, 0)
        for o in special
        if both_null or o.key is not None or o.value is not None
    ]
    bulk_records = []
    for i in range(bulk):
        value = (f"record {i} " * 10).encode() if i % 2 == 0 else os.urandom(100)
        bulk_records.append(Out(f"k{i}".encode(), value, (("i", str(i).encode()),), ts + 100 + i, i % partitions))
    return special + bulk_records


def expected_by_partition(records: Sequence[Out]) -> dict[int, list[Out]]:
    by: dict[int, list[Out]] = {}
    for r in records:
        assert r.partition is not None
        by.setdefault(r.partition, []).append(r)
    return by


def assert_read_matches(records: Sequence[Out], got: Sequence[Rec], timestamp_type: str = CREATE_TIME) -> None:
    """``got`` holds exactly ``records``: per partition in produce order, offsets 0.. contiguous."""
    want = expected_by_partition(records)
    got_by: dict[int, list[Rec]] = {}
    for r in got:
        got_by.setdefault(r.partition, []).append(r)
    assert sorted(got_by) == sorted(want), f"partitions read {sorted(got_by)} != produced {sorted(want)}"
    for p, outs in want.items():
        recs = got_by[p]
        assert [r.offset for r in recs] == list(range(len(outs))), f"partition {p}: offsets not 0..{len(outs) - 1}"
        for out, rec in zip(outs, recs, strict=True):
            assert rec.key == out.key, f"p{p} o{rec.offset}: key"
            assert rec.value == out.value, f"p{p} o{rec.offset}: value ({_short(rec.value)} != {_short(out.value)})"
            assert rec.headers == out.headers, f"p{p} o{rec.offset}: headers"
            if out.timestamp is not None and timestamp_type == CREATE_TIME:
                assert rec.timestamp == out.timestamp, f"p{p} o{rec.offset}: timestamp"
            assert rec.timestamp_type == timestamp_type, f"p{p} o{rec.offset}: timestamp type"


def _short(b: bytes | None) -> str:
    if b is None:
        return "None"
    return repr(b[:20]) + (f"...({len(b)} bytes)" if len(b) > 20 else "")


def group_id() -> str:
    return f"kavka-test-{uuid.uuid4().hex[:8]}"


# -- confluent-kafka (librdkafka) -------------------------------------------------------------------

CK_CODEC = {"none": "none", "gzip": "gzip", "snappy": "snappy", "lz4": "lz4", "zstd": "zstd"}


def ck_produce(
    bootstrap: str,
    topic: str,
    records: Iterable[Out],
    *,
    codec: str = "none",
    check: bool = True,
    flush_timeout: float = 60.0,
    **conf: object,
) -> list[Delivered | Exception]:
    from confluent_kafka import KafkaException, Producer

    config = {
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "compression.type": CK_CODEC[codec],
        "message.timeout.ms": 30_000,
        **_ck_conf(conf),
    }
    producer = Producer(config)
    records = list(records)
    results: list[Delivered | Exception | None] = [None] * len(records)

    def on_delivery(i: int):
        def cb(err, msg) -> None:
            if err is not None:
                results[i] = KafkaException(err)
            else:
                ts_type, ts = msg.timestamp()
                results[i] = Delivered(msg.partition(), msg.offset(), ts, _CK_TS_TYPE.get(ts_type))

        return cb

    for i, r in enumerate(records):
        kwargs: dict = {"value": r.value, "key": r.key, "on_delivery": on_delivery(i)}
        if r.headers:
            kwargs["headers"] = list(r.headers)
        if r.timestamp is not None:
            kwargs["timestamp"] = r.timestamp
        if r.partition is not None:
            kwargs["partition"] = r.partition
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(flush_timeout)
    assert left == 0, f"{left} record(s) still undelivered after {flush_timeout}s"
    return _finish(results, check)


_CK_TS_TYPE = {1: CREATE_TIME, 2: LOG_APPEND_TIME}
_CK_CALLBACKS = {"stats_cb", "error_cb", "throttle_cb", "oauth_cb", "on_delivery", "on_commit", "logger"}


def _ck_conf(conf: dict) -> dict:
    """Keyword arguments to librdkafka names: ``linger_ms`` -> ``linger.ms``; callbacks stay as they are."""
    return {k if k in _CK_CALLBACKS else k.replace("_", "."): v for k, v in conf.items()}


def ck_consumer(bootstrap: str, **conf: object):
    from confluent_kafka import Consumer

    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id(),
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            **_ck_conf(conf),
        }
    )


def ck_read_all(
    bootstrap: str, topic: str, partitions: Sequence[int] | int = 1, timeout: float = 30.0, **conf: object
) -> list[Rec]:
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    parts = list(range(partitions)) if isinstance(partitions, int) else list(partitions)
    consumer = ck_consumer(bootstrap, **conf)
    try:
        high = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out: list[Rec] = []
        nxt = {p: 0 for p in parts}
        deadline = time.monotonic() + timeout
        while any(nxt[p] < high[p] for p in parts):
            assert time.monotonic() < deadline, f"read {len(out)} records; positions {nxt}, high watermarks {high}"
            for m in consumer.consume(num_messages=1000, timeout=0.2):
                if m.error() is not None:
                    raise AssertionError(f"consumer error: {m.error()}")
                out.append(ck_rec(m))
                nxt[m.partition()] = m.offset() + 1
        return out
    finally:
        consumer.close()


def ck_rec(m) -> Rec:
    ts_type, ts = m.timestamp()
    return Rec(
        m.partition(), m.offset(), m.key(), m.value(), tuple(m.headers() or ()), ts, _CK_TS_TYPE.get(ts_type, "?")
    )


# -- kafka-python ---------------------------------------------------------------------------------

KP_CODEC = {"none": None, "gzip": "gzip", "snappy": "snappy", "lz4": "lz4", "zstd": "zstd"}


def kp_produce(
    bootstrap: str,
    topic: str,
    records: Iterable[Out],
    *,
    codec: str = "none",
    check: bool = True,
    **conf: object,
) -> list[Delivered | Exception]:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=KP_CODEC[codec], linger_ms=5, **conf)
    try:
        futures = []
        for r in records:
            futures.append(
                producer.send(
                    topic,
                    value=r.value,
                    key=r.key,
                    headers=list(r.headers) or None,
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                )
            )
        producer.flush(timeout=60)
        results: list[Delivered | Exception | None] = []
        for f in futures:
            try:
                md = f.get(timeout=60)
            except Exception as exc:  # noqa: BLE001 - reported per record
                results.append(exc)
            else:
                results.append(Delivered(md.partition, md.offset, md.timestamp))
    finally:
        producer.close(timeout=10)
    return _finish(results, check)


def kp_consumer(bootstrap: str, **conf: object):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        **{
            "bootstrap_servers": bootstrap,
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            **conf,
        }
    )


def kp_read_all(
    bootstrap: str, topic: str, partitions: Sequence[int] | int = 1, timeout: float = 30.0, **conf: object
) -> list[Rec]:
    from kafka import TopicPartition

    parts = list(range(partitions)) if isinstance(partitions, int) else list(partitions)
    consumer = kp_consumer(bootstrap, **conf)
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        high = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Rec] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < high[tp] for tp in tps):
            assert time.monotonic() < deadline, f"read {len(out)} records; high watermarks {high}"
            for _tp, msgs in consumer.poll(timeout_ms=200).items():
                out.extend(kp_rec(m) for m in msgs)
        return out
    finally:
        consumer.close()


def kp_rec(m) -> Rec:
    return Rec(
        m.partition,
        m.offset,
        m.key,
        m.value,
        tuple(m.headers or ()),
        m.timestamp,
        LOG_APPEND_TIME if m.timestamp_type == 1 else CREATE_TIME,
    )


# -- aiokafka -------------------------------------------------------------------------------------

AK_CODEC = KP_CODEC


def ak_produce(
    bootstrap: str,
    topic: str,
    records: Iterable[Out],
    *,
    codec: str = "none",
    check: bool = True,
    **conf: object,
) -> list[Delivered | Exception]:
    return _finish(asyncio.run(_ak_produce(bootstrap, topic, list(records), codec, conf)), check)


async def _ak_produce(bootstrap, topic, records, codec, conf):
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type=AK_CODEC[codec], linger_ms=5, **conf)
    await producer.start()
    try:
        futures = []
        for r in records:
            futures.append(
                await producer.send(
                    topic,
                    value=r.value,
                    key=r.key,
                    partition=r.partition,
                    timestamp_ms=r.timestamp,
                    headers=list(r.headers) or None,
                )
            )
        results = []
        for f in futures:
            try:
                md = await f
            except Exception as exc:  # noqa: BLE001 - reported per record
                results.append(exc)
            else:
                results.append(
                    Delivered(
                        md.partition,
                        md.offset,
                        md.timestamp,
                        LOG_APPEND_TIME if md.timestamp_type == 1 else CREATE_TIME,
                    )
                )
        return results
    finally:
        await producer.stop()


def ak_read_all(
    bootstrap: str, topic: str, partitions: Sequence[int] | int = 1, timeout: float = 30.0, **conf: object
) -> list[Rec]:
    parts = list(range(partitions)) if isinstance(partitions, int) else list(partitions)
    return asyncio.run(_ak_read_all(bootstrap, topic, parts, timeout, conf))


async def _ak_read_all(bootstrap, topic, parts, timeout, conf):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        **{
            "bootstrap_servers": bootstrap,
            "group_id": None,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            **conf,
        }
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        high = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[Rec] = []
        deadline = time.monotonic() + timeout
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= high[tp] for tp in tps):
                return out
            assert time.monotonic() < deadline, f"read {len(out)} records; high watermarks {high}"
            batches = await consumer.getmany(timeout_ms=200)
            for msgs in batches.values():
                out.extend(ak_rec(m) for m in msgs)
    finally:
        await consumer.stop()


def ak_rec(m) -> Rec:
    return Rec(
        m.partition,
        m.offset,
        m.key,
        m.value,
        tuple(m.headers or ()),
        m.timestamp,
        LOG_APPEND_TIME if m.timestamp_type == 1 else CREATE_TIME,
    )


# -- dispatch ---------------------------------------------------------------------------------------

PRODUCE = {"confluent": ck_produce, "kafka-python": kp_produce, "aiokafka": ak_produce}
READ_ALL = {"confluent": ck_read_all, "kafka-python": kp_read_all, "aiokafka": ak_read_all}


def _finish(results: list, check: bool) -> list:
    assert all(r is not None for r in results), "a delivery report is missing"
    if check:
        errors = [(i, r) for i, r in enumerate(results) if isinstance(r, Exception)]
        if errors:
            raise ProduceError(errors)
    return results


def codec_available(client: str, codec: str) -> str | None:
    """None if ``client`` can compress with ``codec`` here, else the reason it cannot."""
    if codec in ("none", "gzip") or client == "confluent":
        return None
    if client == "kafka-python":
        import kafka.codec as kc

        ok = {"snappy": kc.has_snappy, "lz4": kc.has_lz4, "zstd": kc.has_zstd}[codec]()
        package = {"snappy": "python-snappy", "lz4": "lz4", "zstd": "zstandard"}[codec]
    else:
        import aiokafka.codec as ac

        ok = {"snappy": ac.has_snappy, "lz4": ac.has_lz4, "zstd": ac.has_zstd}[codec]()
        package = {"snappy": "cramjam", "lz4": "cramjam", "zstd": "cramjam"}[codec]
    return None if ok else f"{client} needs the {package} package for {codec}"


# -- fault injection --------------------------------------------------------------------------------


class DropResponsesProxy:
    """A TCP proxy in front of a broker that loses chosen responses by cutting the connection.

    Every connection accepted on ``port`` is relayed to ``upstream`` (host, port). Requests are
    parsed as Kafka frames; when the response to the n-th Produce request (counting over all
    connections) comes back and ``should_drop(n)`` is true, the proxy closes both sides instead of
    forwarding it: the broker appended the batch, the client never hears so and retries it.

    The broker must advertise the proxy's address (``advertised.listeners``) so that clients reach
    it through the proxy after bootstrapping.
    """

    def __init__(self, upstream: tuple[str, int], should_drop, port: int | None = None):
        import socket
        import threading

        from kavka.testing.process import free_port

        self.upstream = upstream
        self.should_drop = should_drop
        self.port = port or free_port()
        self.produce_requests = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._closed = False
        self.hold = threading.Event()  # while set, new connections are closed at once (broker "down")
        self.dropped_event = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept_loop(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.hold.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            doomed: set[int] = set()
            threading.Thread(target=self._requests, args=(client, server, doomed), daemon=True).start()
            threading.Thread(target=self._responses, args=(server, client, doomed), daemon=True).start()

    @staticmethod
    def _frames(sock):
        import struct

        buf = b""
        while True:
            try:
                chunk = sock.recv(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 4:
                (size,) = struct.unpack_from(">i", buf)
                if len(buf) < 4 + size:
                    break
                yield buf[: 4 + size]
                buf = buf[4 + size :]

    def _requests(self, client, server, doomed: set[int]) -> None:
        import struct

        for frame in self._frames(client):
            api_key, _version, corr = struct.unpack_from(">hhi", frame, 4)
            if api_key == 0:
                with self._lock:
                    self.produce_requests += 1
                    n = self.produce_requests
                if self.should_drop(n):
                    doomed.add(corr)
            try:
                server.sendall(frame)
            except OSError:
                break
        _close_both(client, server)

    def _responses(self, server, client, doomed: set[int]) -> None:
        import struct

        for frame in self._frames(server):
            (corr,) = struct.unpack_from(">i", frame, 4)
            if corr in doomed:
                with self._lock:
                    self.dropped += 1
                self.dropped_event.set()
                break
            try:
                client.sendall(frame)
            except OSError:
                break
        _close_both(client, server)


def _close_both(a, b) -> None:
    import socket

    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
