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
- :func:`sessions` groups frames per connection: frames the broker answers (judged with the broker's
  own parsers, :func:`classify`), then one it closes the connection on, as Kafka does for a request it
  cannot parse. :class:`Blaster` plays sessions on many concurrent non-blocking connections, never
  waiting on a response before sending, and counts a session's frames once its connection ended.
- :class:`HealthyClients` runs a confluent-kafka producer (acks=all, idempotent) and a consumer
  beside the fuzzing, recording every error and every value, to check nothing was lost.

Names in generated requests come from a pool that never contains the healthy clients' topic or group
or the internal topics, so a *valid* fuzzed request (which Kafka would accept too) cannot delete or
alter their data.
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
from kavka.protocol.varint import decode_unsigned_varint

__all__ = [
    "random_request",
    "length_fields",
    "LengthField",
    "request_frame",
    "FrameSource",
    "Blaster",
    "BlastStats",
    "Session",
    "sessions",
    "classify",
    "HealthyClients",
    "served_versions",
]

# Not "__consumer_offsets" / "__transaction_state": deleting them is a valid request (Kafka takes it
# too) that would take the healthy consumer's group coordinator with it.
_NAME_POOL = (
    "fuzz-a",
    "fuzz-b",
    "fuzz.c",
    "fuzz_d",
    "",
    ".",
    "x" * 250,
    "bad name",
    "__cluster_metadata",
    "fuzz-grp",
    "fuzz-txn",
    "fuzz-e",
)


def served_versions() -> list[tuple[int, int]]:
    """Every (API key, version) the broker's registry serves and kio has a schema for, in key order
    (ApiVersions v5 has none: its handler decodes it by hand, so the fuzzer cannot build it)."""
    import kavka.broker.handlers  # noqa: F401  (registers the handlers)
    from kavka.broker.registry import REGISTRY

    def known(api_key: int, version: int) -> bool:
        try:
            request_class(api_key, version)
        except Exception:
            return False
        return True

    return [
        (h.api_key, v)
        for h in sorted(REGISTRY.values(), key=lambda h: h.api_key)
        if h.api_key not in _NOT_FUZZED
        for v in range(h.min_version, h.max_version + 1)
        if known(h.api_key, v)
    ]


# A valid UnregisterBroker naming this node (the "values" mutation writes 1 into its one field often)
# takes the node out of the cluster's metadata until it restarts, as on Kafka 4.4, whose broker does not
# register again either: the healthy clients beside the fuzzing would lose their broker. Its body is
# one int32, so leaving it out costs the decoder's checks nothing.
_NOT_FUZZED = frozenset({64})  # UnregisterBroker


# --- random valid requests --------------------------------------------------------------------------

_INT_RANGES = {"int8": 7, "int16": 15, "int32": 31, "int64": 63}


def _random_int(kafka_type: str, rng: random.Random) -> int:
    bits = _INT_RANGES.get(kafka_type, 31)
    lo, hi = -(2**bits), 2**bits - 1
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
        return rng.choice((0, 1, 100, 30000, -1, 2**31 - 1))
    if kafka_type == "uint16":
        return rng.randint(0, 65535)
    if kafka_type == "float64":
        return rng.uniform(-1e6, 1e6)
    if kafka_type == "uuid":
        return None if rng.random() < 0.5 else uuid.UUID(int=rng.getrandbits(128))
    if kafka_type == "error_code":
        return 0
    if kafka_type == "datetime_i64":
        return rng.randint(0, 2**41)
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
            out[f.name] = None if f.nullable and rng.random() < 0.3 else random_request(f.entity, rng, names, depth + 1)
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


def length_fields(cls: type, body: bytes, offset: int = 0) -> list[LengthField]:
    """Every length prefix of a *valid* encoding of ``cls`` in ``body`` from ``offset``."""
    out: list[LengthField] = []
    _walk(cls, body, offset, out, cls.__name__)
    return out


def _walk_length(b, p, flexible, legacy_width, kind, nullable, path, out):
    if flexible:
        v, q = decode_unsigned_varint(b, p)
        out.append(LengthField(p, q - p, kind, True, nullable, path))
        return v - 1, q
    v = int.from_bytes(b[p : p + legacy_width], "big", signed=True)
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
        count, q = decode_unsigned_varint(b, p)
        out.append(LengthField(p, q - p, "tag_count", True, False, path + ".<tags>"))
        p = q
        for _ in range(count):
            _, p = decode_unsigned_varint(b, p)
            size, q = decode_unsigned_varint(b, p)
            out.append(LengthField(p, q - p, "tag_size", True, False, path + ".<tag>"))
            p = q + size
    return p


def _encode_uvarint(v: int) -> bytes:
    # not encode_unsigned_varint: a fuzzed length may be past uint32 on purpose (up to 36 bits)
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
    return body[: lf.offset] + enc + body[lf.offset + lf.width :]


# --- frames -------------------------------------------------------------------------------------------

_HDR = struct.Struct(">hhih")


def request_frame(
    api_key: int, version: int, correlation_id: int, body: bytes, client_id: str | None = "fuzz"
) -> bytes:
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
    value_bytes: list[int] = field(default_factory=list)


class FrameSource:
    """Valid frames for every served (API, version), and an endless stream of mutations of them."""

    #: "values" flips bits outside the header and every length prefix: well-formed requests with odd
    #: values, the ones that reach the handlers (weighted up, with "valid", for that reason).
    MUTATIONS = (
        "valid",
        "valid",
        "values",
        "values",
        "values",
        "values",
        "bitflip",
        "length",
        "length",
        "truncate",
        "splice",
        "insert",
        "delete",
        "header",
    )

    def __init__(self, seed: int, per_version: int = 4, names=_NAME_POOL) -> None:
        self.rng = random.Random(seed)
        self.bases: list[_Base] = []
        for api_key, version in served_versions():
            cls = request_class(api_key, version)
            for _ in range(per_version):
                body = encode_request_body(api_key, version, random_request(cls, self.rng, names))
                frame = request_frame(api_key, version, self.rng.randint(0, 2**31 - 1), body)
                self.bases.append(_Base(api_key, version, len(frame) - len(body), frame, length_fields(cls, body)))
        for base in self.bases:
            skip = set()
            for lf in base.lengths:
                skip.update(range(base.header_len + lf.offset, base.header_len + lf.offset + lf.width))
            base.value_bytes = [i for i in range(base.header_len, len(base.frame)) if i not in skip]
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
            value = rng.choice(
                (2**32 - 2, 2**31 - 1, 0x7FFF, left + 1, left + rng.randint(2, 99), -1, -2, -(2**31), 2**34)
            )
            body = overwrite_length(frame[h:], lf, value)
            return _resize(frame[:h] + body)
        if kind == "values":
            if not base.value_bytes:
                return frame
            b = bytearray(frame)
            for _ in range(rng.choice((1, 1, 2, 3))):
                i = rng.choice(base.value_bytes)
                b[i] ^= 1 << rng.randrange(8)
            return bytes(b)
        if kind == "bitflip":
            b = bytearray(frame)
            for _ in range(rng.choice((1, 1, 2, 4, 8))):
                i = rng.randrange(4, len(b))
                b[i] ^= 1 << rng.randrange(8)
            return bytes(b)
        if kind == "truncate":
            return _resize(frame[: rng.randrange(4, len(frame))])
        if kind == "splice":
            other = rng.choice(self.bases).frame
            return _resize(frame[: rng.randrange(4, len(frame) + 1)] + other[rng.randrange(4, len(other)) :])
        if kind == "insert":
            i = rng.randrange(4, len(frame) + 1)
            return _resize(frame[:i] + rng.randbytes(rng.choice((1, 4, 5, 16))) + frame[i:])
        if kind == "delete":
            i = rng.randrange(4, len(frame))
            return _resize(frame[:i] + frame[i + rng.choice((1, 2, 4)) :])
        # header: a body of one API behind the header of another (or another version)
        other = rng.choice(self.bases)
        return _resize(other.frame[: other.header_len] + frame[h:])

    def frames(self, count: int) -> list[bytes]:
        return [self.next() for _ in range(count)]


def _resize(frame: bytes) -> bytes:
    return struct.pack(">i", len(frame) - 4) + frame[4:]


# --- sending ------------------------------------------------------------------------------------------


def classify(frame: bytes) -> int:
    """What the broker will do with ``frame``, judged with its own parsers: 1 = answers it, 0 = takes it
    without an answer (Produce acks=0), -1 = closes the connection (header, version or body invalid)."""
    from kavka.broker.registry import lookup
    from kavka.protocol.api import ApiKey, ProtocolDecodeError, decode_request, parse_request_header
    from kavka.protocol.produce import decode_produce_request

    body = memoryview(frame)[4:]
    try:
        header, offset = parse_request_header(body)
        handler = lookup(header.api_key, header.api_version)
        if handler is None:
            return 1 if header.api_key == ApiKey.API_VERSIONS else -1
        if handler.raw and header.api_key == ApiKey.PRODUCE:
            req = decode_produce_request(body, offset, header.api_version)
            return 0 if req.acks == 0 else 1
        if handler.raw and header.api_version == 5:  # ApiVersions v5, which its handler decodes itself
            from kavka.broker.handlers.api_versions import ApiVersionsV5Request

            ApiVersionsV5Request(body[offset:])
            return 1
        decode_request(header.api_key, header.api_version, body, offset)
        return 1
    except ProtocolDecodeError:
        return -1


class Session(NamedTuple):
    """Frames for one connection: answered ones (and acks=0 Produces), then at most one the broker
    closes the connection on. ``answers``: responses expected before the close."""

    data: bytes
    frames: int
    answers: int
    ends_bad: bool


def sessions(source: FrameSource, count: int, max_valid: int = 12) -> Iterator[Session]:
    """Group ``count`` frames from ``source`` into sessions (each bad frame ends one)."""
    rng = source.rng
    parts: list[bytes] = []
    answers = 0
    limit = rng.randint(0, max_valid)
    for _ in range(count):
        frame = source.next()
        verdict = classify(frame)
        parts.append(frame)
        if verdict < 0:
            yield Session(b"".join(parts), len(parts), answers, True)
            parts, answers, limit = [], 0, rng.randint(0, max_valid)
            continue
        answers += verdict
        if len(parts) > limit:
            # end it with a frame of an unknown API key: the broker closes at once, even with a
            # long-poll Fetch or a JoinGroup still holding answers (not counted as a fuzz frame)
            yield Session(b"".join(parts) + _CLOSER, len(parts), answers, True)
            parts, answers, limit = [], 0, rng.randint(0, max_valid)
    if parts:
        yield Session(b"".join(parts) + _CLOSER, len(parts), answers, True)


_CLOSER = struct.pack(">ihhih", 10, 32000, 0, 0, -1)


@dataclass
class BlastStats:
    frames: int = 0  # frames the broker read (their connection ended as predicted)
    bytes: int = 0
    connections: int = 0
    closed_as_expected: int = 0  # closed by the broker right after the bad frame, all answers in
    early_closes: int = 0  # closed before every valid frame was answered (a handler refused one)
    stalled: int = 0  # no close/answers within the stall timeout (a long poll): we closed it
    connect_failures: int = 0
    seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass
class _Conn:
    sock: socket.socket
    session: Session
    out: memoryview
    started: float
    inbuf: bytearray = field(default_factory=bytearray)
    answers: int = 0


class Blaster:
    """Play sessions on up to ``parallel`` concurrent non-blocking connections, one session each.

    A session's connection ends when the broker closes it (expected after its bad frame), or when all
    its answers arrived (a session with no bad frame; we close it), or after ``stall_seconds`` without
    that (a long-poll Fetch or JoinGroup holding answers; we close it). :meth:`run` raises
    ``ConnectionRefusedError`` when the broker stops accepting connections (it died).
    """

    def __init__(self, host: str, port: int, parallel: int = 32, stall_seconds: float = 0.5) -> None:
        self.addr = (host, port)
        self.parallel = parallel
        self.stall = stall_seconds
        self.sel = selectors.DefaultSelector()
        self.stats = BlastStats()
        self.active: dict[socket.socket, _Conn] = {}
        self.refused_in_row = 0

    def _open(self, session: Session) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(self.addr)
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.stats.connect_failures += 1
            raise ConnectionRefusedError(f"broker at {self.addr}: {errno.errorcode.get(err, err)}")
        c = _Conn(s, session, memoryview(session.data), time.monotonic())
        self.active[s] = c
        self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        self.stats.connections += 1

    def _finish(self, c: _Conn, how: str) -> None:
        self.sel.unregister(c.sock)
        del self.active[c.sock]
        c.sock.close()
        st = self.stats
        if how == "eof":
            if c.answers >= c.session.answers and c.session.ends_bad:
                st.closed_as_expected += 1
            else:
                st.early_closes += 1
        elif how == "stall":
            st.stalled += 1
        st.frames += c.session.frames
        st.bytes += len(c.session.data)

    def _refused(self, c: _Conn) -> None:
        """A connection was refused: close it; more than 20 in a row (no answer between) means the
        broker is gone, and the blast stops with ConnectionRefusedError."""
        self.refused_in_row += 1
        self._finish(c, "refused")
        if self.refused_in_row > 20:
            raise ConnectionRefusedError(f"broker at {self.addr} refuses connections") from None

    def run(self, session_iter, deadline: float | None = None) -> BlastStats:
        start = time.monotonic()
        it = iter(session_iter)
        more = True
        self.refused_in_row = 0
        while True:
            while more and len(self.active) < self.parallel:
                nxt = next(it, None)
                if nxt is None:
                    more = False
                    break
                self._open(nxt)
            if not self.active:
                break
            now = time.monotonic()
            if deadline is not None and now > deadline:
                for c in list(self.active.values()):
                    self._finish(c, "stall")
                break
            for key, events in self.sel.select(timeout=0.05):
                c = key.data
                if c.sock not in self.active:
                    continue
                if events & selectors.EVENT_WRITE:
                    if c.out:
                        try:
                            n = c.sock.send(c.out)
                            c.out = c.out[n:]
                        except BlockingIOError:
                            pass
                        except ConnectionRefusedError:
                            self._refused(c)
                            continue
                        except OSError:
                            self._finish(c, "eof")
                            continue
                    if not c.out:
                        self.sel.modify(c.sock, selectors.EVENT_READ, c)
                if events & selectors.EVENT_READ:
                    try:
                        data = c.sock.recv(1 << 18)
                    except BlockingIOError:
                        continue
                    except ConnectionRefusedError:
                        self._refused(c)
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._finish(c, "eof")
                        continue
                    self.refused_in_row = 0
                    c.inbuf += data
                    while len(c.inbuf) >= 4:
                        size = int.from_bytes(c.inbuf[:4], "big")
                        if len(c.inbuf) < 4 + size:
                            break
                        del c.inbuf[: 4 + size]
                        c.answers += 1
                    if not c.session.ends_bad and not c.out and c.answers >= c.session.answers:
                        self._finish(c, "done")
            for c in list(self.active.values()):
                if now - c.started > self.stall:
                    self._finish(c, "stall")
        self.stats.seconds += time.monotonic() - start
        return self.stats

    def close(self) -> None:
        for c in list(self.active.values()):
            self._finish(c, "stall")
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
        self._threads = [
            threading.Thread(target=self._produce, daemon=True),
            threading.Thread(target=self._consume, daemon=True),
        ]

    def start(self) -> HealthyClients:
        for t in self._threads:
            t.start()
        return self

    def _produce(self) -> None:
        from confluent_kafka import Producer

        p = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "error_cb": lambda e: self.errors.append(f"producer: {e}"),
            }
        )

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

        c = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "error_cb": lambda e: self.errors.append(f"consumer: {e}"),
            }
        )
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
