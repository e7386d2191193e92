"""Figures of a local KRaft cluster (issue 14), printed, not asserted:

- failover: kill -9 the active controller of a 3-node combined cluster, time until a survivor reports
  a new leader (DescribeQuorum on its CONTROLLER listener, polled every 10 ms); the killed node is
  restarted and the cluster settles before the next kill. p50 and max over ``--kills``.
- topic visibility: CreateTopics through one node until the topic is in Metadata on every broker.
- idle RSS of each node after the runs (VmRSS).

    .venv/bin/python bench/cluster_failover.py --kills 20

Timeouts are Kafka's defaults (controller.quorum.fetch.timeout.ms 2000, election timeout 1000), so a
failover is bounded below by the fetch timeout, as on Kafka.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.cluster.test_kraft_cluster import (
    active_controller,
    all_list_every_broker,
    controller_endpoint,
    describe_quorum,
    visible_everywhere,
)


def leader_seen_by(node) -> int:
    try:
        p = describe_quorum(controller_endpoint(node))
    except OSError:
        return -1
    return p.leader_id if p.error_code == 0 else -1


def survivors_leader(cluster: LocalCluster, old: int) -> int:
    for i, node in cluster.nodes.items():
        if i != old:
            leader = leader_seen_by(node)
            if leader not in (-1, old):
                return leader
    return -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--topics", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, LocalCluster(nodes=3, base_dir=d) as cluster:
        t0 = time.monotonic()
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, interval=0.01)
        print(f"3 combined nodes: every broker listed {time.monotonic() - t0:.2f} s after the processes were ready")
        failovers = []
        for _ in range(args.kills):
            old = active_controller(cluster)
            cluster.nodes[old].kill()
            t = time.monotonic()
            wait_until(lambda: survivors_leader(cluster, old) != -1, timeout=60, interval=0.01)
            failovers.append(time.monotonic() - t)
            cluster.nodes[old].start()
            wait_until(lambda: all_list_every_broker(cluster), timeout=60, interval=0.02)
        failovers.sort()
        print(
            f"failover (kill -9 of the active controller to a new leader), {len(failovers)} kills: "
            f"p50 {statistics.median(failovers) * 1000:.0f} ms, max {failovers[-1] * 1000:.0f} ms, "
            f"min {failovers[0] * 1000:.0f} ms"
        )
        visible = []
        admin = AdminClient({"bootstrap.servers": cluster.brokers[0].bootstrap})
        for i in range(args.topics):
            name = f"bench-{i}"
            t = time.monotonic()
            admin.create_topics([NewTopic(name, 3, 1)])[name].result(30)
            wait_until(lambda n=name: visible_everywhere(cluster, n, 3), timeout=30, interval=0.005)
            visible.append(time.monotonic() - t)
        visible.sort()
        print(
            f"CreateTopics to visible on all 3 brokers, {len(visible)} topics: "
            f"p50 {statistics.median(visible) * 1000:.0f} ms, max {visible[-1] * 1000:.0f} ms"
        )
        time.sleep(2)  # idle: let the last heartbeats and fetches settle before reading memory
        rss = [n.memory_kib() / 1024 for n in cluster.nodes.values()]
        print("idle RSS per node: " + ", ".join(f"node {i} {r:.1f} MiB" for i, r in zip(cluster.nodes, rss)))


if __name__ == "__main__":
    main()
