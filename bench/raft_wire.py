"""KRaft on the wire: codec cost (``kavka.raft.wire`` + the protocol codecs) and peer-client round trips.

Prints:

- microseconds to turn a Vote request into bytes and back into the core's message (request_for,
  encode, decode, decode_request), and the same for its response;
- microseconds to encode a Fetch answer of 64 entries of 200 bytes (response_for + encode_response:
  the record batches and the kio body) and to decode it back into the core's FetchResponse;
- Vote round trips per second through ``server.peer_client.PeerClient`` to Kavka's controller listener
  (a real KafkaConnection and dispatcher, the Vote handler, a one-voter Raft core), one at a time and
  64 in flight. Client and server share one event loop in this process, so this is the cost of both
  ends on one core.

Run: ``.venv/bin/python bench/raft_wire.py [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import timeit
from pathlib import Path

from benchlib import machine, report
from kavka.broker.broker import Broker
from kavka.broker.dispatch import Dispatcher
from kavka.metadata.config import BrokerConfig
from kavka.protocol.api import decode_request, encode_request_body, encode_response, response_class
from kavka.protocol.decoder import decode_with, entity_decoder
from kavka.raft import wire
from kavka.raft.messages import Entry, FetchRequest, FetchResponse, VoteRequest, VoteResponse
from kavka.raft.node import RaftConfig, RaftNode
from kavka.raft.replicated_log import MemoryReplicatedLog
from kavka.raft.states import MemoryQuorumStateStore
from kavka.server.connection import KafkaConnection
from kavka.server.peer_client import PeerClient

DEPTH = 64  # requests in flight for the pipelined figure
CLUSTER = "MkU3OEVBNTcwNTJENDM2Qg"


def _per_call_us(fn, n: int) -> float:
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6


def codec_figures() -> dict:
    vote = VoteRequest(1, 7, 6, 12345, False)

    def vote_request():
        key, version, body = wire.request_for(vote, CLUSTER, dest=2)
        req = decode_request(key, version, encode_request_body(key, version, body), 0)
        return wire.decode_request(key, version, req, CLUSTER, local_id=2)

    key, version, body = wire.request_for(vote, CLUSTER, dest=2)
    vote_req = decode_request(key, version, encode_request_body(key, version, body), 0)
    vote_cls = response_class(52, 2)

    def vote_response():
        out = wire.response_for(52, 2, VoteResponse(0, 1, 7, True, False), CLUSTER, request=vote_req)
        raw = encode_response(52, 2, 1, out)
        resp = decode_with(entity_decoder(vote_cls), raw, 5)[0]
        return wire.decode_response(52, 2, resp, request=vote)

    entries = tuple(Entry(7, b"\x01" + bytes(199)) for _ in range(64))
    fetch = FetchRequest(2, 7, 1000, 7, 1)
    answer = FetchResponse(0, 1, 7, 1064, entries, 1000, None, 1)
    fetch_cls = response_class(1, 18)

    def fetch_encode():
        return encode_response(1, 18, 1, wire.response_for(1, 18, answer, CLUSTER, timestamp_ms=1))

    raw = fetch_encode()

    def fetch_decode():
        return wire.decode_response(1, 18, decode_with(entity_decoder(fetch_cls), raw, 5)[0], request=fetch)

    assert fetch_decode() == answer
    return {
        "vote_request_round_trip_us": _per_call_us(vote_request, 2000),
        "vote_response_round_trip_us": _per_call_us(vote_response, 2000),
        "fetch_64x200B_encode_us": _per_call_us(fetch_encode, 200),
        "fetch_64x200B_decode_us": _per_call_us(fetch_decode, 200),
        "fetch_64x200B_bytes": len(raw),
    }


class _LeaderDriver:
    """The Raft driver's ``exchange`` over a one-voter core that leads epoch 1."""

    def __init__(self, node_id: int) -> None:
        log, store = MemoryReplicatedLog(), MemoryQuorumStateStore()
        self.node = RaftNode(node_id, [node_id], log, store, RaftConfig(), random.Random(0), 0)
        self.node.tick(10_000)
        self.node.poll(10_000)

    async def exchange(self, sender, message):
        self.node.receive(sender, message, 10_000)
        answers = [m for dest, m in self.node.poll(10_000).messages if dest == sender]
        return answers[0] if answers else None


def peer_figures(tmp: Path) -> dict:
    props = dict(BrokerConfig.serve_defaults())
    props.update({"listeners": "PLAINTEXT://127.0.0.1:9092", "log.dirs": str(tmp / "data")})
    out: dict = {}

    async def run():
        broker = Broker(BrokerConfig.from_properties(props))
        broker.startup()
        broker.raft_driver = _LeaderDriver(broker.node_id)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: KafkaConnection(Dispatcher(broker, "controller"), 1 << 20), "127.0.0.1", 0
        )
        client = PeerClient("127.0.0.1", server.sockets[0].getsockname()[1])
        key, version, body = wire.request_for(VoteRequest(broker.node_id, 1, 0, 0, False), broker.cluster_id)
        await client.request(key, version, body, timeout=10)
        n = 2000
        t0 = time.perf_counter()
        for _ in range(n):
            await client.request(key, version, body, timeout=10)
        out["peer_vote_sequential_per_s"] = n / (time.perf_counter() - t0)
        n, depth = 20000, DEPTH
        sem = asyncio.Semaphore(depth)

        async def one():
            async with sem:
                await client.request(key, version, body, timeout=30)

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        out["peer_vote_64_in_flight_per_s"] = n / (time.perf_counter() - t0)
        await client.close()
        server.close()
        broker.shutdown()

    asyncio.run(run())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out = codec_figures()
    with tempfile.TemporaryDirectory() as tmp:
        out.update(peer_figures(Path(tmp)))
    out["machine"] = machine()
    report(out, args.json)


if __name__ == "__main__":
    main()
