"""Partition leadership moving off a broker, on a three-node Kavka cluster and on a three-node Apache
Kafka 4.4 cluster (the pinned jars), with Kafka's default timeouts on both (broker.session.timeout.ms
9 s, heartbeats every 2 s) and an RF=3 topic of 30 partitions:

- controlled shutdown: SIGTERM to a broker that leads partitions (not the active controller), the time
  until its process exits, and whether every partition already had another leader when it did;
- kill -9 of such a broker: the time until a survivor's Metadata shows a new leader for every partition
  it led (bounded below by the session timeout on both).

Each round creates a new topic (its ISR every live broker) and the broker is restarted after it.

    KAVKA_KAFKA_LIB=$(bash interop/kafka.sh) PYTHONPATH=. .venv/bin/python bench/leader_elections.py --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.kafka_failover import Node, leader_of, start_all
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.cluster.test_elections import partitions
from tests.cluster.test_kraft_cluster import active_controller

TOPIC, PARTITIONS = "bench-elections", 30


class Side:
    """One cluster under test: node ids, a bootstrap, and per node: bootstrap, stop, kill, start."""

    name: str
    ids: list[int]
    controller: Callable[[], int]
    bootstrap_of: Callable[[int], str]
    stop: Callable[[int], None]
    kill: Callable[[int], None]
    start: Callable[[int], None]


def kavka_side(cluster: LocalCluster) -> Side:
    s = Side()
    s.name, s.ids = "Kavka", list(cluster.nodes)
    s.controller = lambda: active_controller(cluster)
    s.bootstrap_of = lambda i: cluster.nodes[i].bootstrap
    s.stop = lambda i: cluster.nodes[i].stop()
    s.kill = lambda i: cluster.nodes[i].kill()
    s.start = lambda i: cluster.nodes[i].start()
    return s


def kafka_side(nodes: list[Node]) -> Side:
    by_id = {n.node_id: n for n in nodes}
    s = Side()
    s.name, s.ids = "Apache Kafka 4.4", list(by_id)
    s.controller = lambda: leader_of(nodes)
    s.bootstrap_of = lambda i: by_id[i].bootstrap
    s.stop = lambda i: by_id[i].stop()
    s.kill = lambda i: by_id[i].kill()
    s.start = lambda i: by_id[i].start()
    return s


def view(side: Side, via: int, topic: str) -> dict:
    try:
        return partitions(side.bootstrap_of(via), topic)
    except (KafkaException, KeyError):
        return {}


def in_sync(side: Side, via: int, topic: str) -> bool:
    parts = view(side, via, topic)
    return len(parts) == PARTITIONS and all(len(isr) == 3 and leader >= 0 for leader, _, isr in parts.values())


def moved_off(side: Side, via: int, topic: str, victim: int) -> bool:
    parts = view(side, via, topic)
    return bool(parts) and all(leader not in (victim, -1) for leader, _, _ in parts.values())


def live(side: Side, via: int) -> set[int]:
    try:
        return set(AdminClient({"bootstrap.servers": side.bootstrap_of(via)}).list_topics(timeout=5).brokers)
    except KafkaException:
        return set()


def run(side: Side, rounds: int) -> None:
    """Each round a new topic (its ISR every live broker, so nothing depends on a restarted follower
    catching up), then one SIGTERM and one kill -9."""
    shutdowns, moved_at_exit, failovers = [], [], []
    for n in range(rounds * 2):
        kind = "sigterm" if n % 2 == 0 else "kill"
        controller = side.controller()
        topic = f"{TOPIC}-{n}"
        admin = AdminClient({"bootstrap.servers": side.bootstrap_of(controller)})
        admin.create_topics([NewTopic(topic, PARTITIONS, 3)])[topic].result(60)
        wait_until(lambda t=topic: in_sync(side, controller, t), timeout=60, interval=0.2, message="in sync")
        victim = next(i for i in side.ids if i != controller)
        t = time.monotonic()
        if kind == "sigterm":
            side.stop(victim)
            shutdowns.append(time.monotonic() - t)
            moved_at_exit.append(moved_off(side, controller, topic, victim))
        else:
            side.kill(victim)
            wait_until(lambda v=victim, tp=topic: moved_off(side, controller, tp, v), timeout=60, interval=0.01)
            failovers.append(time.monotonic() - t)
        side.start(victim)
        wait_until(lambda v=victim: v in live(side, controller), timeout=120, interval=0.2, message="back")
    print(
        f"{side.name}: controlled shutdown (SIGTERM to exit) p50 {statistics.median(shutdowns) * 1000:.0f} ms, "
        f"max {max(shutdowns) * 1000:.0f} ms; leadership already moved at exit in {sum(moved_at_exit)}/"
        f"{len(moved_at_exit)}; kill -9 to new leaders p50 {statistics.median(failovers) * 1000:.0f} ms, "
        f"max {max(failovers) * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=("kavka", "kafka"))
    args = ap.parse_args()
    if args.only != "kafka":
        with tempfile.TemporaryDirectory() as d, LocalCluster(nodes=3, base_dir=d) as cluster:
            side = kavka_side(cluster)
            wait_until(lambda: len(live(side, 1)) == 3, timeout=60, message="three brokers")
            run(side, args.rounds)
    if args.only != "kavka":
        with tempfile.TemporaryDirectory() as d:
            cluster_id = ApacheKafka().cluster_id
            nodes = [Node(Path(d) / f"node-{i}", i, cluster_id) for i in (1, 2, 3)]
            voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
            for n in nodes:
                n.voters = voters
            start_all(nodes)
            try:
                wait_until(lambda: leader_of(nodes) != -1, timeout=60)
                run(kafka_side(nodes), args.rounds)
            finally:
                for n in nodes:
                    if n.is_running():
                        n.kill()


if __name__ == "__main__":
    main()
