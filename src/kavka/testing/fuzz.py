"""A protocol fuzzer for a running broker: generated and mutated request frames over raw sockets.

Used by ``tests/test_fuzz.py`` (bounded, in CI) and ``bench/fuzz.py`` (long runs). Everything is driven
by one seed, so a run can be replayed.

- :func:`random_request` builds a random but schema-valid request (as a dict for
  :func:`kavka.protocol.api.encode_request_body`) for any API key and version, walking kio's schema.
- :func:`length_fields` finds every length prefix in a valid body (string/bytes/array lengths, compact
  or not, tagged-field counts and sizes), so tests and mutations can overwrite them.
- :class:`FrameSource` prebuilds valid frames for every (API, version) the broker's registry serves and
  hands out mutations of them: bit flips, length-field overwrites (huge, negative, past the end),
  truncations, splices of two frames of any APIs, byte insertions/deletions; some stay valid.
- :class:`Blaster` writes frames down several non-blocking connections without waiting for responses
  (responses are read and dropped), reopening a connection the broker closes and recycling one that
  stops taking bytes (a long-poll Fetch or JoinGroup holds the responses behind it).
- :class:`HealthyClients` runs a confluent-kafka producer (acks=all, idempotent) and a consumer
  beside the fuzzing, recording every error and every value, to check nothing was lost.

Names in generated requests come from a pool that never contains the healthy clients' topic or group,
so a *valid* fuzzed request (which Kafka would accept too) cannot delete or alter their data.
"""

from __future__ import annotations

import errno
import random
import selectors
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kavka.protocol.api import encode_request_body, is_flexible, request_class
from kavka.protocol.decoder import FIXED_SIZES, schema_fields

__all__ = [
    "random_request",
    "length_fields",
    "LengthField",
    "request_frame",
    "FrameSource",
    "Blaster",
    "BlastStats",
    "HealthyClients",
    "served_versions",
]

_NAME_POOL = ("fuzz-a", "fuzz-b", "fuzz.c", "fuzz_d", "", ".", "x" * 250, "bad name", "__consumer_offsets",
              "fuzz-grp", "fuzz-txn", "fuzz-e")


def served_versions() -> list[tuple[int, int]]:
    """Every (API key, version) the broker's registry serves, in key order."""
    import kavka.broker.handlers  # noqa: F401  (registers the handlers)
    from kavka.broker.registry import REGISTRY

    return [(h.api_key, v) for h in sorted(REGISTRY.values(), key=lambda h: h.api_key)
            for v in range(h.min_version, h.max_version + 1)]


# --- random valid requests --------------------------------------------------------------------------

_INT_RANGES = {"int8": 7, "int16": 15, "int32": 31, "int64": 63}


def _random_int(kafka_type: str, rng: random.Random) -> int:
    bits = _INT_RANGES.get(kafka_type, 31)
    lo, hi = -(2 ** bits), 2 ** bits - 1
    r = rng.random()
    if r < 0.5:
        v = rng.randint(-1, 3)
    elif r < 0.8:
        v = rng.randint(0, 1000)
    elif r < 0.9:
        v = rng.choice((lo, hi, -2))
    else:
        v = rng.randint(lo, hi)
    return min(max(v, lo), hi)


def _random_scalar(kafka_type: str, nullable: bool, rng: random.Random, names) -> Any:
    if nullable and rng.random() < 0.15:
        return None
    if kafka_type == "bool":
        return rng.random() < 0.5
    if kafka_type in _INT_RANGES:
        return _random_int(kafka_type, rng)
    if kafka_type in ("timedelta_i32", "timedelta_i64"):
        return rng.choice((0, 1, 100, 30000, -1, 2 ** 31 - 1))
    if kafka_type == "uint16":
        return rng.randint(0, 65535)
    if kafka_type == "float64":
        return rng.uniform(-1e6, 1e6)
    if kafka_type == "uuid":
        return None if rng.random() < 0.5 else uuid.UUID(int=rng.getrandbits(128))
    if kafka_type == "error_code":
        return 0
    if kafka_type == "datetime_i64":
        return rng.randint(0, 2 ** 41)
    if kafka_type == "string":
        r = rng.random()
        if r < 0.7:
            return rng.choice(names)
        if r < 0.85:
            return "".join(rng.choice("abcxyz.-_é€\U0001f600 ") for _ in range(rng.randint(0, 12)))
        return ""
    if kafka_type in ("bytes", "records"):
        return rng.randbytes(rng.choice((0, 1, 8, 40)))
    raise AssertionError(kafka_type)


def random_request(cls: type, rng: random.Random, names=_NAME_POOL, depth: int = 0) -> dict:
    """A random, schema-valid value of kio entity ``cls`` as a dict (tagged fields set at random)."""
    out: dict[str, Any] = {}
    for f in schema_fields(cls):
        if f.tag is not None and rng.random() < 0.6:
            continue  # leave at its default (not written)
        if f.kind in ("array_entity", "array_prim"):
            if f.nullable and rng.random() < 0.15:
                out[f.name] = None
                continue
            n = rng.choice((0, 1, 1, 2, 3)) if depth < 3 else 0
            if f.kind == "array_entity":
                out[f.name] = [random_request(f.entity, rng, names, depth + 1) for _ in range(n)]
            else:
                out[f.name] = [_random_scalar(f.kafka_type, False, rng, names) for _ in range(n)]
        elif f.kind == "entity":
            out[f.name] = None if f.nullable and rng.random() < 0.3 else random_request(
                f.entity, rng, names, depth + 1)
        else:
            out[f.name] = _random_scalar(f.kafka_type, f.nullable, rng, names)
    return out


# --- length fields of a valid body ----------------------------------------------------------------


class LengthField(NamedTuple):
    """A length prefix in a body: where, how many bytes, and what it counts.

    ``kind``: "string" / "bytes" / "array" (``compact`` says UVARINT n+1 rather than INT16/INT32),
    "tag_count" or "tag_size" (always UVARINT). ``nullable``: a null here is valid.
    """

    offset: int
    width: int
    kind: str
    compact: bool
    nullable: bool
    path: str


def _uvarint(b: bytes, p: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        x = b[p]
        p += 1
        value |= (x & 0x7F) << shift
        if x < 0x80:
            return value, p
        shift += 7


def length_fields(cls: type, body: bytes, offset: int = 0) -> list[LengthField]:
    """Every length prefix of a *valid* encoding of ``cls`` in ``body`` from ``offset``."""
    out: list[LengthField] = []
    _walk(cls, body, offset, out, cls.__name__)
    return out


def _walk_length(b, p, flexible, legacy_width, kind, nullable, path, out):
    if flexible:
        v, q = _uvarint(b, p)
        out.append(LengthField(p, q - p, kind, True, nullable, path))
        return v - 1, q
    v = int.from_bytes(b[p:p + legacy_width], "big", signed=True)
    out.append(LengthField(p, legacy_width, kind, False, nullable, path))
    return v, p + legacy_width


def _walk_prim(kafka_type, b, p, flexible, nullable, path, out):
    if kafka_type in FIXED_SIZES:
        return p + FIXED_SIZES[kafka_type]
    kind = "string" if kafka_type == "string" else "bytes"
    n, p = _walk_length(b, p, flexible, 2 if kind == "string" else 4, kind, nullable, path, out)
    return p + max(n, 0)


def _walk(cls, b, p, out, path):
    flexible = bool(cls.__flexible__)
    for f in schema_fields(cls):
        if f.tag is not None:
            continue
        fp = f"{path}.{f.name}"
        if f.kind in ("fixed", "var"):
            p = _walk_prim(f.kafka_type, b, p, flexible, f.nullable, fp, out)
        elif f.kind == "entity":
            if f.nullable:
                p += 1
                if b[p - 1] >= 128:
                    continue
            p = _walk(f.entity, b, p, out, fp)
        else:
            n, p = _walk_length(b, p, flexible, 4, "array", f.nullable, fp, out)
            for _ in range(max(n, 0)):
                if f.kind == "array_entity":
                    p = _walk(f.entity, b, p, out, fp + "[]")
                else:
                    p = _walk_prim(f.kafka_type, b, p, flexible, False, fp + "[]", out)
    if flexible:
        count, q = _uvarint(b, p)
        out.append(LengthField(p, q - p, "tag_count", True, False, path + ".<tags>"))
        p = q
        for _ in range(count):
            _, p = _uvarint(b, p)
            size, q = _uvarint(b, p)
            out.append(LengthField(p, q - p, "tag_size", True, False, path + ".<tag>"))
            p = q + size
    return p


def _encode_uvarint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def overwrite_length(body: bytes, lf: LengthField, value: int) -> bytes:
    """``body`` with the length at ``lf`` replaced by ``value`` (the n of the field, -1 = null)."""
    if lf.compact:
        raw = value + 1 if lf.kind in ("string", "bytes", "array") else value
        enc = _encode_uvarint(raw & 0xFFFFFFFFF)
    else:
        enc = (value & ((1 << (8 * lf.width)) - 1)).to_bytes(lf.width, "big")  # wraps, as a bit pattern
    return body[:lf.offset] + enc + body[lf.offset + lf.width:]


# --- frames -------------------------------------------------------------------------------------------

_HDR = struct.Struct(">hhih")


def request_frame(api_key: int, version: int, correlation_id: int, body: bytes,
                  client_id: str | None = "fuzz") -> bytes:
    """Size prefix + request header (v1, or v2 when flexible) + ``body``."""
    cid = None if client_id is None else client_id.encode()
    head = _HDR.pack(api_key, version, correlation_id, -1 if cid is None else len(cid)) + (cid or b"")
    if is_flexible(api_key, version):
        head += b"\x00"
    payload = head + body
    return struct.pack(">i", len(payload)) + payload


@dataclass
class _Base:
    api_key: int
    version: int
    header_len: int  # bytes before the body, size prefix included
    frame: bytes
    lengths: list[LengthField]


class FrameSource:
    """Valid frames for every served (API, version), and an endless stream of mutations of them."""

    MUTATIONS = ("valid", "bitflip", "length", "length", "truncate", "splice", "insert", "delete", "header")

    def __init__(self, seed: int, per_version: int = 4, names=_NAME_POOL) -> None:
        self.rng = random.Random(seed)
        self.bases: list[_Base] = []
        for api_key, version in served_versions():
            cls = request_class(api_key, version)
            for _ in range(per_version):
                body = encode_request_body(api_key, version, random_request(cls, self.rng, names))
                frame = request_frame(api_key, version, self.rng.randint(0, 2 ** 31 - 1), body)
                self.bases.append(_Base(api_key, version, len(frame) - len(body), frame,
                                        length_fields(cls, body)))
        self.counts: dict[str, int] = {m: 0 for m in self.MUTATIONS}

    def __iter__(self) -> Iterator[bytes]:
        while True:
            yield self.next()

    def next(self) -> bytes:
        rng = self.rng
        base = rng.choice(self.bases)
        kind = rng.choice(self.MUTATIONS)
        self.counts[kind] += 1
        frame = base.frame
        h = base.header_len
        if kind == "valid":
            return frame
        if kind == "length":
            if not base.lengths:
                return frame
            lf = rng.choice(base.lengths)
            left = len(frame) - h - lf.offset - lf.width
            value = rng.choice((2 ** 32 - 2, 2 ** 31 - 1, 0x7FFF, left + 1, left + rng.randint(2, 99),
                                -1, -2, -(2 ** 31), 2 ** 34))
            body = overwrite_length(frame[h:], lf, value)
            return _resize(frame[:h] + body)
        if kind == "bitflip":
            b = bytearray(frame)
            for _ in range(rng.choice((1, 1, 2, 4, 8))):
                i = rng.randrange(4, len(b))
                b[i] ^= 1 << rng.randrange(8)
            return bytes(b)
        if kind == "truncate":
            return _resize(frame[:rng.randrange(4, len(frame))])
        if kind == "splice":
            other = rng.choice(self.bases).frame
            return _resize(frame[:rng.randrange(4, len(frame) + 1)] + other[rng.randrange(4, len(other)):])
        if kind == "insert":
            i = rng.randrange(4, len(frame) + 1)
            return _resize(frame[:i] + rng.randbytes(rng.choice((1, 4, 5, 16))) + frame[i:])
        if kind == "delete":
            i = rng.randrange(4, len(frame))
            return _resize(frame[:i] + frame[i + rng.choice((1, 2, 4)):])
        # header: a body of one API behind the header of another (or another version)
        other = rng.choice(self.bases)
        return _resize(other.frame[:other.header_len] + frame[h:])

    def frames(self, count: int) -> list[bytes]:
        return [self.next() for _ in range(count)]


def _resize(frame: bytes) -> bytes:
    return struct.pack(">i", len(frame) - 4) + frame[4:]


# --- sending ------------------------------------------------------------------------------------------


@dataclass
class BlastStats:
    frames: int = 0
    bytes: int = 0
    closed_by_broker: int = 0
    recycled: int = 0
    connect_failures: int = 0
    seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass
class _Conn:
    sock: socket.socket
    out: bytearray = field(default_factory=bytearray)
    last_progress: float = 0.0


class Blaster:
    """Write frames down ``connections`` non-blocking sockets; never wait for a response.

    A connection the broker closes is reopened; one that takes no bytes for ``stall_seconds`` (its
    responses are held behind a long poll) is closed and reopened. :meth:`send` raises
    ``ConnectionRefusedError`` when the broker no longer accepts connections (it died).
    """

    def __init__(self, host: str, port: int, connections: int = 4, stall_seconds: float = 0.5,
                 window: int = 32) -> None:
        self.addr = (host, port)
        self.n = connections
        self.stall = stall_seconds
        self.window = window  # frames queued per connection before it is flushed
        self.sel = selectors.DefaultSelector()
        self.conns: list[_Conn] = []
        self.stats = BlastStats()
        for _ in range(connections):
            self.conns.append(self._open())

    def _open(self) -> _Conn:
        for attempt in range(50):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                s.connect(self.addr)
            except OSError:
                s.close()
                self.stats.connect_failures += 1
                if attempt == 49:
                    raise ConnectionRefusedError(f"broker at {self.addr} refuses connections") from None
                time.sleep(0.02)
                continue
            s.setblocking(False)
            c = _Conn(s, last_progress=time.monotonic())
            self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
            return c
        raise AssertionError

    def _reopen(self, c: _Conn) -> None:
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        i = self.conns.index(c)
        self.conns[i] = self._open()

    def send(self, frames, deadline: float | None = None) -> BlastStats:
        """Send every frame of ``frames`` (an iterable of complete frames); returns the totals."""
        start = time.monotonic()
        it = iter(frames)
        exhausted = False
        rr = 0
        while True:
            # fill queues
            if not exhausted:
                for _ in range(self.n):
                    c = self.conns[rr % self.n]
                    rr += 1
                    if len(c.out) < 65536:
                        for _ in range(self.window):
                            f = next(it, None)
                            if f is None:
                                exhausted = True
                                break
                            c.out += f
                            self.stats.frames += 1
                            self.stats.bytes += len(f)
                    if exhausted:
                        break
            if exhausted and not any(c.out for c in self.conns):
                break
            if deadline is not None and time.monotonic() > deadline:
                break
            now = time.monotonic()
            for key, events in self.sel.select(timeout=0.05):
                c = key.data
                if c not in self.conns:
                    continue
                if events & selectors.EVENT_READ:
                    try:
                        data = c.sock.recv(1 << 20)
                    except (ConnectionResetError, BrokenPipeError):
                        data = b""
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        self.stats.closed_by_broker += 1
                        c.out.clear()  # what it had queued is dropped with it, as a client would see
                        self._reopen(c)
                        continue
                if events & selectors.EVENT_WRITE and c.out:
                    try:
                        sent = c.sock.send(c.out)
                    except BlockingIOError:
                        sent = 0
                    except (ConnectionResetError, BrokenPipeError, OSError) as e:
                        if isinstance(e, OSError) and e.errno not in (errno.EPIPE, errno.ECONNRESET,
                                                                       errno.ENOTCONN):
                            raise
                        self.stats.closed_by_broker += 1
                        c.out.clear()
                        self._reopen(c)
                        continue
                    if sent:
                        del c.out[:sent]
                        c.last_progress = now
            for c in list(self.conns):
                if c.out and now - c.last_progress > self.stall:
                    self.stats.recycled += 1
                    c.out.clear()
                    self._reopen(c)
                elif not c.out:
                    c.last_progress = now
        self.stats.seconds += time.monotonic() - start
        return self.stats

    def close(self) -> None:
        for c in self.conns:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        self.sel.close()


# --- healthy clients --------------------------------------------------------------------------------


class HealthyClients:
    """A confluent-kafka producer (acks=all, idempotent) and a consumer on ``topic``, in threads.

    Every error the clients report is kept in ``errors``. After :meth:`stop`, ``acked`` holds the
    values the producer was told are written, ``consumed`` what the consumer read, in order.
    """

    def __init__(self, bootstrap: str, topic: str, group: str, interval: float = 0.002) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.interval = interval
        self.errors: list[str] = []
        self.acked: list[bytes] = []
        self.consumed: list[bytes] = []
        self._stop = threading.Event()
        self._producer_done = threading.Event()
        self._threads = [threading.Thread(target=self._produce, daemon=True),
                         threading.Thread(target=self._consume, daemon=True)]

    def start(self) -> HealthyClients:
        for t in self._threads:
            t.start()
        return self

    def _produce(self) -> None:
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True,
                      "linger.ms": 5, "error_cb": lambda e: self.errors.append(f"producer: {e}")})

        def done(err, msg):
            if err is not None:
                self.errors.append(f"delivery: {err}")
            else:
                self.acked.append(msg.value())

        i = 0
        while not self._stop.is_set():
            p.produce(self.topic, value=b"v%08d" % i, partition=0, on_delivery=done)
            i += 1
            p.poll(self.interval)
        if p.flush(30) != 0:
            self.errors.append("producer: messages left unflushed")
        self._producer_done.set()

    def _consume(self) -> None:
        from confluent_kafka import Consumer

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                      "auto.offset.reset": "earliest", "enable.auto.commit": True,
                      "error_cb": lambda e: self.errors.append(f"consumer: {e}")})
        c.subscribe([self.topic])
        try:
            idle_after_stop = 0
            while True:
                msg = c.poll(0.1)
                if msg is None:
                    if self._producer_done.is_set():
                        idle_after_stop += 1
                        if len(self.consumed) >= len(self.acked) or idle_after_stop > 200:
                            break
                    continue
                if msg.error():
                    self.errors.append(f"consume: {msg.error()}")
                    continue
                self.consumed.append(msg.value())
        finally:
            c.close()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
