"""From one request frame to the response buffers: header, handler lookup, decode, encode.

The server hands each complete frame (without its size prefix) to :meth:`Dispatcher.dispatch` and gets
back either the response buffers (size prefix included), ``None`` for no response, or an awaitable of
either. :class:`CloseConnection` means "close this connection and nothing else", which is what Kafka
does for bytes it cannot parse, an unknown API key, or an unsupported version of any API but
ApiVersions. A body that does not parse (a length past the end of the frame, null where the schema
forbids it, ...) is one such case: one warning line names the peer, the request and the reason, with
no traceback, and the connection closes; no handler ever sees the request.
"""

from __future__ import annotations

import inspect
import logging
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from kavka.broker.cluster_checks import REQUIRED as CLUSTER_CHECKED
from kavka.broker.cluster_checks import refusal as cluster_refusal
from kavka.broker.registry import LISTENER_KINDS, lookup, served
from kavka.broker.request_quotas import after_handler
from kavka.controller.errors import NotControllerError
from kavka.protocol.api import (
    ApiKey,
    ErrorCode,
    ProtocolDecodeError,
    RequestHeader,
    decode_request,
    encode_response,
    is_flexible,
    parse_request_header,
    response_header,
)

log = logging.getLogger(__name__)

_SIZE = struct.Struct(">i")


# Metadata writes: decided by the active controller, committed to the metadata log before the answer;
# in a cluster, a node that is not the active controller forwards them (Kafka 4's ForwardingManager).
CONTROLLER_WRITES = frozenset(
    {
        ApiKey.CREATE_TOPICS,
        ApiKey.DELETE_TOPICS,
        ApiKey.CREATE_PARTITIONS,
        ApiKey.ALTER_CONFIGS,
        ApiKey.INCREMENTAL_ALTER_CONFIGS,
        ApiKey.ALTER_CLIENT_QUOTAS,
        ApiKey.ALTER_USER_SCRAM_CREDENTIALS,
        ApiKey.UPDATE_FEATURES,
        ApiKey.UNREGISTER_BROKER,
        ApiKey.ELECT_LEADERS,
        ApiKey.ALTER_PARTITION_REASSIGNMENTS,
        ApiKey.CREATE_ACLS,
        ApiKey.DELETE_ACLS,
    }
)
CONTROLLER_REQUESTS = CONTROLLER_WRITES | {ApiKey.DESCRIBE_QUORUM}

# Requests whose answer may rest on a coordinator's write to __consumer_offsets / __transaction_state
# (perhaps made while serving another request: a JoinGroup completes when the last member joins). In a
# cluster they are answered once those writes are in their partitions' ISR, as Kafka's coordinator
# runtime answers at commit; a write that cannot be replicated in time closes the connection (the
# client retries, as after a timeout), since the in-memory state already holds it.
COORDINATOR_WRITES = frozenset(
    {
        ApiKey.OFFSET_COMMIT,
        ApiKey.TXN_OFFSET_COMMIT,
        ApiKey.JOIN_GROUP,
        ApiKey.SYNC_GROUP,
        ApiKey.LEAVE_GROUP,
        ApiKey.CONSUMER_GROUP_HEARTBEAT,
        ApiKey.DELETE_GROUPS,
        ApiKey.OFFSET_DELETE,
        ApiKey.INIT_PRODUCER_ID,
        ApiKey.ADD_PARTITIONS_TO_TXN,
        ApiKey.ADD_OFFSETS_TO_TXN,
        ApiKey.END_TXN,
    }
)


class CloseConnection(Exception):
    """Close the connection the request came on; other connections are unaffected."""


@dataclass(slots=True)
class ConnectionInfo:
    peer: Any
    client_software: str | None = None
    # time.monotonic() until which a client quota mutes the connection (KIP-219; broker/byte_rate_quotas.py)
    throttled_until: float = 0.0
    # Who the connection authenticated as, in Kafka's "<type>:<name>" form (the principal ACLs name):
    # "User:ANONYMOUS" on a PLAINTEXT listener or before SASL completes, as in Kafka.
    principal: str = "User:ANONYMOUS"
    # The listener the connection came in on, by its name in `listeners` ("PLAINTEXT", "SASL_SSL", ...).
    listener_name: str | None = None


@dataclass(slots=True)
class RequestContext:
    header: RequestHeader
    conn: ConnectionInfo
    broker: Any
    received_ns: int = field(default_factory=time.monotonic_ns)
    listener: str = "broker"  # the kind of listener the request came on: "broker" or "controller"
    throttle_ms: int = 0  # the request_percentage quota's throttle time for the answer (request_quotas)
    handled_ns: int = 0  # how long the handler took to return (an awaitable's wait not counted)

    @property
    def version(self) -> int:
        return self.header.api_version


def _bad_request(conn: ConnectionInfo, header: RequestHeader, error: Exception) -> CloseConnection:
    """Log the one line for a request that does not parse, and say to close (Kafka: it logs an
    InvalidRequestException and closes the connection). A warning, so it shows at the default level;
    no traceback: the bytes are the client's fault, not a bug here."""
    message = (
        f"malformed request from {conn.peer} (correlation id {header.correlation_id}, "
        f"client id {header.client_id!r}): {error}"
    )
    log.warning("%s; closing the connection", message)
    return CloseConnection(message)


def api_versions_entries(listener: str = "broker") -> list[dict]:
    """ApiVersions' list for a listener kind: every API served there, by key."""
    return [
        {"api_key": h.api_key, "min_version": h.advertised_min, "max_version": h.max_version} for h in served(listener)
    ]


# Upper bounds (ms) of the request-time histogram buckets; the last bucket is +Inf.
TIME_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000)


class RequestTimes:
    """Kafka's RequestMetrics TotalTimeMs for one API: count, sum and cumulative-bucket histogram."""

    __slots__ = ("count", "sum_ms", "buckets")

    def __init__(self):
        self.count = 0
        self.sum_ms = 0.0
        self.buckets = [0] * (len(TIME_BUCKETS_MS) + 1)

    def observe(self, ms: float) -> None:
        self.count += 1
        self.sum_ms += ms
        i = 0
        for bound in TIME_BUCKETS_MS:
            if ms <= bound:
                break
            i += 1
        self.buckets[i] += 1


class Dispatcher:
    """Dispatches the frames of one listener kind: ``"broker"`` (clients and brokers) or
    ``"controller"`` (the KRaft quorum, brokers' registrations, admin requests to a controller), each
    with Kafka's API set for it (``kavka.broker.registry``)."""

    def __init__(self, broker, listener: str = "broker"):
        if listener not in LISTENER_KINDS:
            raise ValueError(f"listener kind must be one of {LISTENER_KINDS}, not {listener!r}")
        self.broker = broker
        self.listener = listener
        self.request_counts: dict[int, int] = {}
        self.request_times: dict[int, RequestTimes] = {}

    def dispatch(self, conn: ConnectionInfo, frame: bytearray):
        try:
            header, body_offset = parse_request_header(frame)
        except ProtocolDecodeError as e:
            raise CloseConnection(f"bad request header: {e}") from None
        handler = lookup(header.api_key, header.api_version, self.listener)
        if handler is None:
            if header.api_key == ApiKey.API_VERSIONS:
                # KIP-511: answer an unknown ApiVersions version in v0 form so the client can retry.
                body = encode_response(
                    ApiKey.API_VERSIONS,
                    0,
                    header.correlation_id,
                    {
                        "error_code": ErrorCode.unsupported_version,
                        "api_keys": api_versions_entries(self.listener),
                    },
                )
                return [_SIZE.pack(len(body)), body]
            raise CloseConnection(f"unsupported request: api key {header.api_key} version {header.api_version}")
        self.request_counts[header.api_key] = self.request_counts.get(header.api_key, 0) + 1
        if handler.raw:
            request = memoryview(frame)[body_offset:]
        else:
            try:
                request = decode_request(header.api_key, header.api_version, frame, body_offset)
            except ProtocolDecodeError as e:
                raise _bad_request(conn, header, e) from None
        ctx = RequestContext(header, conn, self.broker, listener=self.listener)
        if header.api_key in CLUSTER_CHECKED:  # authorized on the cluster, before any forwarding
            refused = cluster_refusal(ctx, request)
            if refused is not None:
                out = self._encode(ctx, refused)
                self._observe(ctx)
                return out
        if header.api_key in CONTROLLER_REQUESTS and self.broker.cluster_mode:
            return self._finish(ctx, self._controller_write(ctx, handler, request))
        try:
            result = handler.func(ctx, request)
        except ProtocolDecodeError as e:  # a raw handler (Produce) decoding its own body
            raise _bad_request(conn, header, e) from None
        ctx.handled_ns = time.monotonic_ns() - ctx.received_ns
        ctx.throttle_ms = after_handler(ctx)
        if header.api_key in COORDINATOR_WRITES and self.broker.cluster_mode:
            return self._finish(ctx, self._coordinator_write(ctx, result))
        kind = type(result)  # most answers are ready (a dict or encoded buffers): skip isawaitable for them
        if kind is not dict and kind is not list and result is not None and inspect.isawaitable(result):
            return self._finish(ctx, result)
        out = self._encode(ctx, result)
        self._observe(ctx)
        return out

    async def _controller_write(self, ctx: RequestContext, handler, request):
        """A metadata write in a cluster: the active controller's handler answers once what it appended
        is committed; any other node sends a request of its broker listener on to the active controller
        (Kafka 4's forwarding) and relays the answer. The CONTROLLER listener never forwards (Kafka's
        ControllerApis answers NOT_CONTROLLER, its Raft client DescribeQuorum NOT_LEADER_OR_FOLLOWER):
        what reaches it was sent to the quorum's leader, so a node that is not the active controller
        answers DescribeQuorum itself and closes the connection on a write, and the sender looks for
        the leader again. Forwarding there could loop: a restarted quorum leader believes itself the
        leader until it hears of the new one (Resigned), so its own broker's writes come to its
        CONTROLLER listener, and forwarded from there they went back to itself, on the same connection,
        stuck for the request timeout with the broker's registration queued behind them (fault-run seed
        180)."""
        broker = self.broker
        h = ctx.header
        try:
            if broker.controller is None:
                if self.listener == "controller":
                    if h.api_key == ApiKey.DESCRIBE_QUORUM:
                        return handler.func(ctx, request)
                    raise NotControllerError("this node is not the active controller")
                # The controller sees the forwarding node, not the client: a handler may answer here
                # first when the client may not make the request (kavka.broker.handlers.acls).
                refuse = getattr(handler.func, "refuse_before_forwarding", None)
                refused = refuse(ctx, request) if refuse is not None else None
                if refused is not None:
                    return refused
                split = getattr(handler.func, "split_before_forwarding", None)
                if split is not None and broker.authz.enabled:
                    # the part the client may do goes on; the answer merges the refusals back in
                    allowed, merge = split(ctx, request)
                    answer = await broker.forward(h.api_key, h.api_version, allowed) if allowed is not None else None
                    return merge(answer)
                return await broker.forward(h.api_key, h.api_version, request)
            result = handler.func(ctx, request)
            if inspect.isawaitable(result):
                result = await result
            if broker.metadata_pending():
                result = await broker.committed(result)
            return result
        except (NotControllerError, OSError, TimeoutError) as e:
            # No active controller answered, or this one lost its leadership before the commit (the write
            # may not survive): close, as a lost connection, so the client refreshes and retries.
            message = f"api key {h.api_key} from {ctx.conn.peer}: {e}"
            log.info("controller write not done, closing the connection: %s", message)
            raise CloseConnection(message) from None

    async def _coordinator_write(self, ctx: RequestContext, result):
        """The answer once every coordinator write made so far is replicated (see COORDINATOR_WRITES)."""
        if inspect.isawaitable(result):
            result = await result
        rm = self.broker.replica_manager
        timeout = self.broker.config["offsets.commit.timeout.ms"] / 1000
        for p, offset in rm.unreplicated_internal_writes():
            if not await rm.until_high_watermark(p, offset, timeout):
                message = f"api key {ctx.header.api_key} from {ctx.conn.peer}: {p.topic}-{p.index} not replicated"
                log.info("coordinator write not replicated, closing the connection: %s", message)
                raise CloseConnection(message)
        return result

    async def _finish(self, ctx: RequestContext, awaitable):
        out = self._encode(ctx, await awaitable)
        self._observe(ctx)
        return out

    def _observe(self, ctx: RequestContext) -> None:
        key = ctx.header.api_key
        times = self.request_times.get(key)
        if times is None:
            times = self.request_times[key] = RequestTimes()
        times.observe((time.monotonic_ns() - ctx.received_ns) / 1e6)

    @staticmethod
    def _encode(ctx: RequestContext, result):
        if result is None:
            return None
        if ctx.throttle_ms and type(result) is dict and "throttle_time" in result:
            result["throttle_time"] = max(result["throttle_time"], ctx.throttle_ms)
        h = ctx.header
        if isinstance(result, list):
            head = response_header(h.correlation_id, is_flexible(h.api_key, h.api_version))
            size = len(head) + sum(len(b) for b in result)
            return [_SIZE.pack(size) + head, *result]
        try:
            body = encode_response(h.api_key, h.api_version, h.correlation_id, result)
        except Exception as e:  # a handler bug: say which response, the stack shows where
            e.add_note(f"encoding the response to api key {h.api_key} v{h.api_version}")
            raise
        return [_SIZE.pack(len(body)) + body]
