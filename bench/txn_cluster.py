#!/usr/bin/env python3
"""Transactions on a 3-node Kavka cluster: what markers and verification across brokers cost.

One confluent-kafka transactional producer runs back-to-back transactions for ``--seconds``: begin,
one record of ``--size`` bytes to each of 3 partitions, flush, commit. Two topics, in turn:

- ``local``: the 3 partitions are led by the transactional id's coordinator broker (markers written
  in process, verification a local read),
- ``spread``: one partition led by each broker (two of them get their markers with WriteTxnMarkers,
  and verify the first batch of each transaction with AddPartitionsToTxn sent to the coordinator).

Printed: transactions/s, and the latency p50/p99 of ``commit_transaction()`` (EndTxn; the markers follow
it) and of the whole transaction (begin to commit returned, which includes the verification of each
partition's first batch), with librdkafka's default (Nagle's algorithm on: a small request behind an
unacknowledged one waits for the delayed ACK, ~40 ms, which the remote verification exposes) and with
``socket.nagle.disable=true``.

    PYTHONPATH=. .venv/bin/python bench/txn_cluster.py --seconds 10

Not a test: it prints figures. The internal topics have one replica (partitions do not replicate yet).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from benchlib import machine
from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.cluster.test_cluster_transactions import INTERNAL, TRANSACTION, find_coordinator, leaders
from tests.cluster.test_kraft_cluster import all_list_every_broker


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(cluster: LocalCluster, topic: str, txn_id: str, seconds: float, size: int, nagle_off: bool) -> dict:
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "transactional.id": txn_id,
            "linger.ms": 0,
            "socket.nagle.disable": nagle_off,
        }
    )
    producer.init_transactions(60)
    value = b"x" * size
    commits: list[float] = []
    whole: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        producer.begin_transaction()
        for p in range(3):
            producer.produce(topic, value=value, partition=p)
        producer.flush(30)
        t1 = time.monotonic()
        producer.commit_transaction(30)
        t2 = time.monotonic()
        commits.append(t2 - t1)
        whole.append(t2 - t0)
    return {
        "txns": len(whole),
        "txn_per_s": len(whole) / sum(whole),
        "commit_p50_ms": 1000 * statistics.median(commits),
        "commit_p99_ms": 1000 * percentile(commits, 0.99),
        "txn_p50_ms": 1000 * statistics.median(whole),
        "txn_p99_ms": 1000 * percentile(whole, 0.99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--coordinator", type=int, default=None, help="the node id to coordinate the transactions")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench-txn-cluster-") as tmp:
        with LocalCluster(nodes=3, base_dir=tmp, overrides=INTERNAL) as cluster:
            wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
            first = cluster.brokers[0].bootstrap
            wait_until(lambda: find_coordinator(first, "probe", TRANSACTION).error_code == 0, timeout=30)
            while True:  # a transactional id coordinated by --coordinator (any broker when not given)
                txn_id = f"bench-{uuid.uuid4().hex[:8]}"
                coordinator = find_coordinator(first, txn_id, TRANSACTION).node_id
                if args.coordinator in (None, coordinator):
                    break
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            topics = {
                "local": NewTopic("bench-local", 3, replica_assignment=[[coordinator]] * 3),
                "spread": NewTopic("bench-spread", 3, 1),
            }
            for f in admin.create_topics(list(topics.values())).values():
                f.result(30)
            for nagle_off in (False, True):
                for kind, t in topics.items():
                    wait_until(lambda: len(leaders(cluster.bootstrap, t.topic)) == 3, timeout=30)
                    led = sorted(leaders(cluster.bootstrap, t.topic).values())
                    r = run(cluster, t.topic, txn_id, args.seconds, args.size, nagle_off)
                    print(
                        f"{kind:6s} socket.nagle.disable={str(nagle_off).lower():5s} leaders {led} (coordinator "
                        f"{coordinator}): {r['txns']} txns, {r['txn_per_s']:.0f} txn/s; commit p50 "
                        f"{r['commit_p50_ms']:.1f} ms p99 {r['commit_p99_ms']:.1f} ms; transaction p50 "
                        f"{r['txn_p50_ms']:.1f} ms p99 {r['txn_p99_ms']:.1f} ms"
                    )


if __name__ == "__main__":
    main()
