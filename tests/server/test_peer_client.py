"""``server/peer_client.py`` against real nodes: a Kavka broker process, Apache Kafka's two listeners,
and Kavka's controller listener (a real ``KafkaConnection`` and dispatcher in process, the KRaft
handlers feeding a real Raft core, ``tests/raft/coredriver.py``).

Failures are made with real sockets: a server that reads and never answers (a hung node), a TCP relay
that cuts its connections (a dropped link), a port nobody listens on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from kavka.broker.dispatch import Dispatcher
from kavka.protocol.api import ApiKey
from kavka.raft import wire
from kavka.raft.control_records import decode_leader_change
from kavka.raft.entries import control_parts, is_control
from kavka.raft.messages import (
    NONE,
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    EndQuorumEpoch,
    Entry,
    FetchRequest,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
    VoteRequest,
    VoteResponse,
)
from kavka.server.connection import KafkaConnection
from kavka.server.peer_client import PeerClient, PeerDisconnected, PeerTimeout
from kavka.testing.process import free_port
from tests.broker.harness import BrokerHarness
from tests.raft.coredriver import CoreDriver

API_VERSIONS_V3 = {"client_software_name": "kavka-peer", "client_software_version": "1"}


def _metadata(*topics: str) -> dict:
    return {
        "topics": [{"name": t, "topic_id": None} for t in topics] if topics else None,
        "allow_auto_topic_creation": False,
        "include_topic_authorized_operations": False,
    }


def _address(bootstrap: str) -> tuple[str, int]:
    host, port = bootstrap.rsplit(":", 1)
    return host, int(port)


async def _api_versions_and_pipelined_metadata(host: str, port: int) -> None:
    client = PeerClient(host, port)
    try:
        versions = await client.request(ApiKey.API_VERSIONS, 3, API_VERSIONS_V3, timeout=10)
        assert versions.error_code == 0
        assert {int(k.api_key) for k in versions.api_keys} >= {0, 1, 3, 18}
        names = [f"peer-client-missing-{i}" for i in range(20)]
        answers = await asyncio.gather(*(client.request(ApiKey.METADATA, 12, _metadata(n), timeout=10) for n in names))
        # each answer is the one to its own request (matched by correlation id), on one connection
        assert [a.topics[0].name for a in answers] == names
        assert {int(a.topics[0].error_code) for a in answers} == {3}  # UNKNOWN_TOPIC_OR_PARTITION
        assert client.in_flight == 0
    finally:
        await client.close()


def test_requests_to_a_kavka_broker(broker):
    asyncio.run(_api_versions_and_pipelined_metadata(*_address(broker.bootstrap)))


def test_requests_to_apache_kafka(apache_kafka):
    asyncio.run(_api_versions_and_pipelined_metadata(*_address(apache_kafka.bootstrap)))

    async def controller_listener():
        client = PeerClient("127.0.0.1", apache_kafka.controller_port)
        try:
            versions = await client.request(ApiKey.API_VERSIONS, 3, API_VERSIONS_V3, timeout=10)
            assert {52, 53, 54, 59} <= {int(k.api_key) for k in versions.api_keys}
        finally:
            await client.close()

    asyncio.run(controller_listener())


@contextlib.asynccontextmanager
async def _silent_server(read: bool = True):
    """A node that accepts and never answers; it reads what it is sent unless ``read`` is False (a
    paused node: the connection's buffers fill up)."""
    connections: list[asyncio.StreamWriter] = []
    stopped = asyncio.Event()

    async def handle(reader, writer):
        connections.append(writer)
        if not read:
            writer.transport.pause_reading()
            await stopped.wait()
            return
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        stopped.set()
        server.close()
        for w in connections:
            w.close()


def test_a_request_without_an_answer_times_out_and_drops_the_connection():
    async def scenario():
        async with _silent_server() as (port, connections):
            client = PeerClient("127.0.0.1", port)
            other = asyncio.ensure_future(client.request(ApiKey.API_VERSIONS, 0, {}, timeout=30))
            t0 = time.monotonic()
            with pytest.raises(PeerTimeout, match=rf"API_VERSIONS v3 to 127.0.0.1:{port}: no answer within 0.2 s"):
                await client.request(ApiKey.API_VERSIONS, 3, API_VERSIONS_V3, timeout=0.2)
            assert time.monotonic() - t0 < 5
            # as Kafka's NetworkClient: the connection goes, and what else was in flight fails with it
            assert not client.connected
            with pytest.raises(PeerDisconnected, match="API_VERSIONS v0 to 127.0.0.1"):
                await other
            assert len(connections) == 1
            with pytest.raises(PeerTimeout):
                await client.request(ApiKey.API_VERSIONS, 0, {}, timeout=0.1)
            assert len(connections) == 2  # the next request connected again
            await client.close()

    asyncio.run(scenario())


def test_a_refused_connection_raises_at_once():
    async def scenario():
        port = free_port()
        client = PeerClient("127.0.0.1", port)
        with pytest.raises(PeerDisconnected, match=f"cannot connect to 127.0.0.1:{port}"):
            await client.request(ApiKey.API_VERSIONS, 0, {}, timeout=5)

    asyncio.run(scenario())


def test_a_retry_loop_to_a_refusing_peer_ends_when_cancelled_at_any_moment():
    """A node's loops (registration, heartbeats, the controller channel) retry a peer that refuses them;
    on SIGTERM they are cancelled. Python 3.11's wait_for returned normally (here: raised the refusal)
    when the cancel came just as the connect finished, so such a loop could keep going after cancel()
    and the node never exited. The cancel is tried at every point of the loop's first turns."""

    async def scenario():
        client = PeerClient("127.0.0.1", free_port())

        async def retrying():
            while True:
                with contextlib.suppress(PeerDisconnected):
                    await client.request(ApiKey.API_VERSIONS, 0, {}, timeout=5)

        for turns in range(60):
            task = asyncio.ensure_future(retrying())
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2)
            assert done, f"the loop went on after cancel() ({turns} loop turns in)"
            assert task.cancelled()

    asyncio.run(scenario())


def test_close_does_not_wait_for_a_peer_that_never_reads():
    """A peer that is paused (SIGSTOP) or cut off reads nothing; what is still unsent to it belongs to
    requests that close() fails, so close() drops it rather than waiting for the peer to read it."""

    async def scenario():
        async with _silent_server(read=False) as (port, _):
            client = PeerClient("127.0.0.1", port)
            big = {"client_software_name": "x" * 30000, "client_software_version": "1"}
            sends = [asyncio.ensure_future(client.request(ApiKey.API_VERSIONS, 3, big, timeout=30)) for _ in range(400)]
            await _until(lambda: client.connected and client.in_flight == len(sends))
            t0 = time.monotonic()
            await asyncio.wait_for(client.close(), 10)
            assert time.monotonic() - t0 < 2
            for send in sends:
                with pytest.raises(PeerDisconnected):
                    await send

    asyncio.run(scenario())


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class _Relay:
    """A TCP relay to ``target`` whose connections can be cut (``cut()``)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.writers: list[asyncio.StreamWriter] = []
        self.accepted = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader, writer):
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src, dst):
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()

    def close(self) -> None:
        self.cut()
        self.server.close()


def test_a_dropped_connection_fails_what_is_in_flight_and_the_next_request_reconnects(broker, create_topic):
    topic = create_topic()

    async def scenario():
        relay = _Relay(_address(broker.bootstrap))
        port = await relay.start()
        client = PeerClient("127.0.0.1", port)
        try:
            await client.request(ApiKey.METADATA, 12, _metadata(topic), timeout=10)
            # a consumer's long poll on an empty partition: in flight until the link is cut
            body = {
                "replica_id": -1,
                "max_wait": 20_000,
                "min_bytes": 1,
                "max_bytes": 1 << 20,
                "isolation_level": 0,
                "session_id": 0,
                "session_epoch": -1,
                "topics": [
                    {
                        "topic": topic,
                        "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}],
                    }
                ],
                "forgotten_topics_data": [],
                "rack_id": "",
            }
            poll = asyncio.ensure_future(client.request(ApiKey.FETCH, 12, body, timeout=30))
            while client.in_flight == 0:
                await asyncio.sleep(0)
            relay.cut()
            t0 = time.monotonic()
            with pytest.raises(
                PeerDisconnected, match=r"FETCH v12 to 127.0.0.1:\d+: connection (closed by the peer|lost: )"
            ):
                await poll
            assert time.monotonic() - t0 < 5
            answer = await client.request(ApiKey.METADATA, 12, _metadata(topic), timeout=10)
            assert answer.topics[0].name == topic and int(answer.topics[0].error_code) == 0
            assert relay.accepted == 2
        finally:
            await client.close()
            relay.close()

    asyncio.run(scenario())


# -- Kavka's controller listener: the KRaft handlers over a real socket ------------------------------


@pytest.fixture
def controller(tmp_path):
    """(harness, driver, serve): a Kavka broker whose Raft driver is a real one-voter core that leads
    epoch 1 with two records; ``serve(kind)`` binds a listener of that kind on a free port."""
    h = BrokerHarness(tmp_path / "data")
    driver = CoreDriver.leader(h.broker.node_id, [b"\x01one", b"\x01two"])
    h.broker.raft_driver = driver
    servers = []

    async def serve(kind: str) -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: KafkaConnection(Dispatcher(h.broker, kind), 1 << 20), "127.0.0.1", 0)
        servers.append(server)
        return server.sockets[0].getsockname()[1]

    yield h, driver, serve
    for s in servers:
        s.close()
    h.close()


def test_kraft_requests_on_kavkas_controller_listener(controller):
    h, driver, serve = controller
    cluster, node = h.broker.cluster_id, h.broker.node_id

    async def exchange(client, msg, *, cluster_id=cluster, dest=node):
        key, version, body = wire.request_for(msg, cluster_id, dest=dest, max_wait_ms=0)
        return wire.decode_response(key, version, await client.request(key, version, body, timeout=10), request=msg)

    async def scenario():
        client = PeerClient("127.0.0.1", await serve("controller"))
        try:
            # a voter in the current epoch: the leader does not grant it, and says who leads
            assert await exchange(client, VoteRequest(node, 1, 0, 0, False)) == VoteResponse(
                NONE, node, 1, False, False
            )
            # an old epoch is fenced, with the leader and epoch of now
            assert await exchange(client, BeginQuorumEpoch(7, 0)) == BeginQuorumEpochResponse(74, node, 1)
            assert await exchange(client, EndQuorumEpoch(7, 0, ())) is None
            # an observer fetching from 0: the LeaderChangeMessage, then the two records, and the high watermark
            got = await exchange(client, FetchRequest(-1, 1, 0, 0, correlation_id=3))
            assert (got.error, got.leader_id, got.leader_epoch, got.high_watermark, got.fetch_offset) == (
                NONE,
                node,
                1,
                3,
                0,
            )
            assert got.entries[1:] == (Entry(1, b"\x01one"), Entry(1, b"\x01two"))
            assert is_control(got.entries[0].data)
            assert decode_leader_change(control_parts(got.entries[0].data)[1]).leader_id == node
            assert await exchange(client, FetchSnapshotRequest(-1, 1, (2, 1))) == FetchSnapshotResponse(
                98, node, 1, None
            )
            # another cluster: refused before the core sees it
            seen = len(driver.received)
            for msg in (VoteRequest(node, 1, 0, 0, False), FetchRequest(-1, 1, 0, 0)):
                with pytest.raises(wire.RaftWireError) as e:
                    await exchange(client, msg, cluster_id="AnotherClusterIdAAAAAA")
                assert e.value.code == wire.INCONSISTENT_CLUSTER_ID
            assert len(driver.received) == seen
            # a Vote meant for another node
            assert (
                await exchange(client, VoteRequest(node, 1, 0, 0, False), dest=node + 5)
            ).error == wire.INVALID_VOTER_KEY
            # the controller listener serves no Metadata: the connection closes, as on Kafka
            with pytest.raises(PeerDisconnected):
                await client.request(ApiKey.METADATA, 12, _metadata(), timeout=10)
        finally:
            await client.close()

    h.run(scenario())


def test_a_snapshot_through_kavkas_controller_listener(controller):
    """A follower behind the leader's log start is told the snapshot id (Fetch), then fetches the
    snapshot whole (FetchSnapshot), as the core hands it out."""
    h, driver, serve = controller
    node = h.broker.node_id
    state = bytes(range(256)) * 40  # 10 KiB
    driver.node.take_snapshot(3, state)
    driver.node.log.delete_before(3)

    async def exchange(client, msg):
        key, version, body = wire.request_for(msg, h.broker.cluster_id, max_wait_ms=0)
        return wire.decode_response(key, version, await client.request(key, version, body, timeout=10), request=msg)

    async def scenario():
        client = PeerClient("127.0.0.1", await serve("controller"))
        try:
            got = await exchange(client, FetchRequest(-1, 1, 0, 0, correlation_id=4))
            assert (got.error, got.snapshot_id, got.entries, got.correlation_id) == (NONE, (3, 1), (), 4)
            snap = await exchange(client, FetchSnapshotRequest(-1, 1, (3, 1), correlation_id=5))
            assert snap == FetchSnapshotResponse(NONE, node, 1, (3, 1, state), 5)
        finally:
            await client.close()

    h.run(scenario())


def test_kraft_apis_are_not_served_on_a_broker_listener(controller):
    h, driver, serve = controller

    async def scenario():
        client = PeerClient("127.0.0.1", await serve("broker"))
        try:
            versions = await client.request(ApiKey.API_VERSIONS, 3, API_VERSIONS_V3, timeout=10)
            assert not {52, 53, 54, 59} & {int(k.api_key) for k in versions.api_keys}
            key, version, body = wire.request_for(VoteRequest(2, 1, 0, 0, False), h.broker.cluster_id)
            with pytest.raises(PeerDisconnected):
                await client.request(key, version, body, timeout=10)
            assert driver.received == []
        finally:
            await client.close()

    h.run(scenario())
