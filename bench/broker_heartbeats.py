#!/usr/bin/env python3
"""Broker registration and heartbeat figures for Kavka's controller (issue 14, brokers in the cluster).

1. **core**: ``QuorumController.broker_heartbeat`` in process over an in-memory metadata log, with
   ``--brokers`` registered and unfenced brokers heartbeating in turn (no records written: the steady
   state); heartbeats handled per second, and the cost of one with a 10,000-partition image when a
   broker asks to shut down (the leadership scan).
2. **wire**: a Kavka node subprocess as the active controller, reached on its CONTROLLER listener (where
   Kafka serves these requests); ``--brokers`` BrokerLifecycleManagers (asyncio, one connection per
   request through a thread, as the lifecycle test's ``send``) register,
   catch up and are unfenced; time from start to all unfenced, then heartbeats answered per second
   while they heartbeat every ``--interval-ms``.

    PYTHONPATH=. .venv/bin/python bench/broker_heartbeats.py
    PYTHONPATH=. .venv/bin/python bench/broker_heartbeats.py --brokers 50 --interval-ms 100 --json hb.json

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import socket
import struct
import tempfile
import time
import uuid
from pathlib import Path

from kio.index import load_request_schema, load_response_schema
from kio.schema.request_header.v2.header import RequestHeader
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from benchlib import machine, report
from kavka.broker.lifecycle import BrokerLifecycleManager
from kavka.controller import CreatableTopic, QuorumController
from kavka.controller.brokers import BrokerHeartbeatRequest, BrokerRegistrationRequest
from kavka.controller.features import SUPPORTED_FEATURES
from kavka.metadata.config import BrokerConfig
from kavka.metadata.records import BrokerEndpoint, BrokerFeature
from kavka.protocol.api import build_entity
from kavka.raft.local import InMemoryMetadataLogStore, LocalMetadataQuorum
from kavka.testing.process import BrokerProcess, free_port
from tests.broker.test_lifecycle import controller_node_settings


def call(bootstrap: str, api_key: int, version: int, body: dict):
    """One flexible-version request on a fresh connection; the decoded response."""
    buf = io.BytesIO()
    header = RequestHeader(
        request_api_key=i16(api_key), request_api_version=i16(version), correlation_id=i32(1), client_id="bench"
    )
    entity_writer(RequestHeader)(buf, header)
    request_cls = load_request_schema(api_key, version)
    entity_writer(request_cls)(buf, build_entity(request_cls, body))
    frame = buf.getvalue()
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack_from(">i", data)[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            data += chunk
    response, _ = entity_reader(load_response_schema(api_key, version))(data[4:], 5)
    return response


FEATURES = tuple(BrokerFeature(n, lo, hi) for n, (lo, hi) in SUPPORTED_FEATURES.items())


def core(brokers: int, rounds: int) -> dict:
    quorum = LocalMetadataQuorum(InMemoryMetadataLogStore(), "bench-cluster-id-00000")
    c = QuorumController(quorum, BrokerConfig.for_serve({}), rng=random.Random(0))
    c.bootstrap()
    epochs = {}
    for b in range(1, brokers + 1):
        request = BrokerRegistrationRequest(
            b,
            "bench-cluster-id-00000",
            uuid.uuid4(),
            (BrokerEndpoint("PLAINTEXT", "h", 9000 + b, 0),),
            FEATURES,
            log_dirs=(uuid.UUID(int=(b + 1) << 64),),
        )
        epochs[b], _ = c.broker_registration(request)
        c.broker_heartbeat(BrokerHeartbeatRequest(b, epochs[b], quorum.end_offset))
    beats = [BrokerHeartbeatRequest(b, e, quorum.end_offset) for b, e in epochs.items()]
    start = time.perf_counter()
    for _ in range(rounds):
        for request in beats:
            c.broker_heartbeat(request)
    elapsed = time.perf_counter() - start
    for batch in range(10):
        c.create_topics([CreatableTopic(f"t{batch}-{i}", 100, 1) for i in range(10)])
    assert sum(t.num_partitions for t in c.image.topics_by_name.values()) == 10_000
    shutdown = BrokerHeartbeatRequest(1, epochs[1], quorum.end_offset, want_shut_down=True)
    t0 = time.perf_counter()
    c.broker_heartbeat(shutdown)
    return {
        "core_heartbeats_per_s": rounds * len(beats) / elapsed,
        "core_shutdown_beat_10k_partitions_ms": (time.perf_counter() - t0) * 1000,
    }


async def wire(bootstrap: str, cluster_id: str, brokers: int, interval_ms: int, seconds: float) -> dict:
    answered = 0

    async def send(api_key: int, version: int, body: dict):
        nonlocal answered
        response = await asyncio.to_thread(call, bootstrap, api_key, version, body)
        answered += 1
        return response

    managers = [
        BrokerLifecycleManager(
            send,
            node_id=100 + i,
            cluster_id=cluster_id,
            listeners=[("PLAINTEXT", "localhost", 20000 + i, 0)],
            features=SUPPORTED_FEATURES,
            log_dirs=[uuid.uuid4()],
            metadata_offset=lambda: 2**40,
            heartbeat_interval_ms=interval_ms,
        )
        for i in range(brokers)
    ]
    t0 = time.perf_counter()
    for m in managers:
        m.start()
    await asyncio.wait_for(asyncio.gather(*(m.unfenced.wait() for m in managers)), 60)
    joined = time.perf_counter() - t0
    before = answered
    await asyncio.sleep(seconds)  # measuring a rate over a fixed window
    rate = (answered - before) / seconds
    for m in managers:
        await m.close()
    return {"wire_all_unfenced_ms": joined * 1000, "wire_heartbeats_per_s": rate}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brokers", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2000)
    p.add_argument("--interval-ms", type=int, default=100)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    out: dict = {"brokers": args.brokers}
    out.update(core(args.brokers, args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        # Kafka serves BrokerRegistration and BrokerHeartbeat on a controller listener only
        port, controller_port = free_port(), free_port()
        settings = controller_node_settings(port, controller_port)
        broker = BrokerProcess(Path(tmp) / "data", port=port, overrides=settings)
        broker.start()
        try:
            cluster_id = call(broker.bootstrap, 60, 1, {"include_cluster_authorized_operations": False}).cluster_id
            controller = f"127.0.0.1:{controller_port}"
            out.update(asyncio.run(wire(controller, cluster_id, args.brokers, args.interval_ms, args.seconds)))
        finally:
            broker.stop()
    out["machine"] = machine()
    report(out, args.json)


if __name__ == "__main__":
    main()
