"""``server/connection.py`` framing over a real socket pair, in process: a ``KafkaConnection`` on one
end (the asyncio transport the server uses), a client stream on the other, the broker of
tests/broker/harness.py behind the dispatcher. What a client sees: pipelined responses in request
order, frames split anywhere, and an oversized or negative frame size closing the connection."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from kavka.protocol.api import ApiKey
from kavka.protocol.records import Record, build_batch, iter_records
from kavka.server.connection import KafkaConnection
from tests.broker.harness import BrokerHarness, decode_response, request_frame

_SIZE = struct.Struct(">i")
API_VERSIONS = (ApiKey.API_VERSIONS, 3, {"client_software_name": "t", "client_software_version": "1"})
METADATA = (
    ApiKey.METADATA,
    12,
    {"topics": None, "allow_auto_topic_creation": False, "include_topic_authorized_operations": False},
)


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    harness = BrokerHarness(tmp_path_factory.mktemp("kavka-conn"))
    harness.call(
        ApiKey.CREATE_TOPICS,
        7,
        {
            "topics": [
                {"name": "conn", "num_partitions": 1, "replication_factor": 1, "assignments": [], "configs": []}
            ],
            "timeout_ms": 5000,
            "validate_only": False,
        },
    )
    yield harness
    harness.close()


def framed(api_key, version, body, correlation_id) -> bytes:
    frame = request_frame(api_key, version, body, correlation_id)
    return _SIZE.pack(len(frame)) + frame


def fetch_body(offset: int, max_wait_ms: int) -> dict:
    return {
        "replica_id": -1,
        "max_wait": max_wait_ms,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "topics": [
            {
                "topic": "conn",
                "partitions": [
                    {
                        "partition": 0,
                        "current_leader_epoch": -1,
                        "fetch_offset": offset,
                        "last_fetched_epoch": -1,
                        "log_start_offset": -1,
                        "partition_max_bytes": 1 << 20,
                    }
                ],
            }
        ],
        "forgotten_topics_data": [],
        "rack_id": "",
    }


async def connect(h: BrokerHarness, max_request_size: int = 100 * 1024 * 1024):
    """A KafkaConnection serving one end of a socket pair; the client's reader and writer on the other."""
    server_sock, client_sock = socket.socketpair()
    loop = asyncio.get_running_loop()
    await loop.connect_accepted_socket(lambda: KafkaConnection(h.dispatcher, max_request_size), sock=server_sock)
    return await asyncio.open_connection(sock=client_sock)


async def read_response(reader) -> bytes:
    (size,) = _SIZE.unpack(await reader.readexactly(4))
    return await reader.readexactly(size)


async def wait_for(condition, timeout_s: float = 5.0) -> None:
    """Let the loop run until ``condition()`` holds (the server side handling what was written)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


def test_pipelined_responses_keep_request_order(h):
    async def scenario():
        reader, writer = await connect(h)
        metadata_before = h.dispatcher.request_counts.get(ApiKey.METADATA, 0)
        # a Fetch that parks (nothing to read yet) first, then two requests answered at once behind it
        writer.write(
            framed(ApiKey.FETCH, 12, fetch_body(0, max_wait_ms=10_000), 1)
            + framed(*API_VERSIONS, 2)
            + framed(*METADATA, 3)
        )
        await writer.drain()
        await wait_for(lambda: h.dispatcher.request_counts.get(ApiKey.METADATA, 0) > metadata_before)
        # the produce wakes the parked Fetch; its answer must still come first
        p = await h.acall(
            ApiKey.PRODUCE,
            9,
            {
                "transactional_id": None,
                "acks": 1,
                "timeout_ms": 5000,
                "topic_data": [
                    {
                        "name": "conn",
                        "partition_data": [{"index": 0, "records": build_batch([Record(0, 7, b"k", b"v")])}],
                    }
                ],
            },
        )
        assert p.responses[0].partition_responses[0].error_code == 0
        responses = [await read_response(reader) for _ in range(3)]
        writer.close()
        return responses

    fetched, versions, metadata = h.run(scenario())
    f = decode_response(ApiKey.FETCH, 12, fetched, correlation_id=1)
    assert [(r.key, r.value) for _, r in iter_records(f.responses[0].partitions[0].records)] == [(b"k", b"v")]
    assert decode_response(ApiKey.API_VERSIONS, 3, versions, correlation_id=2).error_code == 0
    assert [t.name for t in decode_response(ApiKey.METADATA, 12, metadata, correlation_id=3).topics] == ["conn"]


def test_frames_split_anywhere_are_reassembled(h):
    async def scenario():
        reader, writer = await connect(h)
        data = framed(*API_VERSIONS, 10) + framed(*METADATA, 11) + framed(*API_VERSIONS, 12)
        for i in range(0, len(data), 3):  # three bytes at a time: sizes and bodies cut mid-way
            writer.write(data[i : i + 3])
            await writer.drain()
        responses = [await read_response(reader) for _ in range(3)]
        writer.close()
        return responses

    a, m, b = h.run(scenario())
    assert decode_response(ApiKey.API_VERSIONS, 3, a, correlation_id=10).error_code == 0
    assert decode_response(ApiKey.METADATA, 12, m, correlation_id=11).brokers[0].node_id == 1
    assert decode_response(ApiKey.API_VERSIONS, 3, b, correlation_id=12).error_code == 0


@pytest.mark.parametrize("size", [1001, -1])
def test_oversized_or_negative_frame_closes_the_connection_after_earlier_responses(h, size):
    async def scenario():
        reader, writer = await connect(h, max_request_size=1000)
        # a request that fits, then a size the broker refuses before reading any of its bytes
        writer.write(framed(*API_VERSIONS, 20) + _SIZE.pack(size) + b"\x00" * 16)
        await writer.drain()
        first = await read_response(reader)
        rest = await reader.read()  # EOF: the broker closed the connection
        writer.close()
        # other connections are unaffected
        reader2, writer2 = await connect(h, max_request_size=1000)
        writer2.write(framed(*API_VERSIONS, 21))
        await writer2.drain()
        second = await read_response(reader2)
        writer2.close()
        return first, rest, second

    first, rest, second = h.run(scenario())
    assert decode_response(ApiKey.API_VERSIONS, 3, first, correlation_id=20).error_code == 0
    assert rest == b""
    assert decode_response(ApiKey.API_VERSIONS, 3, second, correlation_id=21).error_code == 0


def test_a_request_the_broker_cannot_serve_closes_only_its_connection(h):
    async def scenario():
        reader, writer = await connect(h)
        frame = struct.pack(">hhih", 9999, 0, 30, -1)  # unknown API key
        writer.write(_SIZE.pack(len(frame)) + frame + framed(*API_VERSIONS, 31))
        await writer.drain()
        rest = await reader.read()
        writer.close()
        return rest

    assert h.run(scenario()) == b""  # closed, and the request pipelined behind it is not answered
    assert h.call(*API_VERSIONS).error_code == 0
