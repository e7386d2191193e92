"""Replication figures on a 3-broker local cluster (issue 15), printed, not asserted, for Kavka and for
Apache Kafka 4.4 (the pinned jars) with the same workload and client (confluent-kafka):

- produce throughput, RF=3, 6 partitions, min.insync.replicas=2, 100-byte values: acks=1 and acks=all
  (anchor: Kafka's published 421,823 records/s, 3 replicas, acks=all, Java producer, 2014 hardware);
  each broker's CPU seconds per million records (utime + stime from /proc) during the acks=all run;
- end-to-end latency (acks=all): a record every 2 ms for ``--latency-seconds``, produce call to the
  consumer's poll, p50 / p99;
- failover: kill -9 the leader of partition 0, time until a produce with acks=all to that partition
  succeeds (the producer's own metadata refresh and retries; ``message.timeout.ms`` 30 s), p50 / max
  over ``--kills``; the broker is restarted and the ISR is whole again before the next kill;
- catch-up: a follower killed, ``--catchup-mb`` produced (acks=1) to a one-partition topic, the follower
  restarted; its partition directory grows to the leader's size: MB/s from its restart.

    PYTHONPATH=. .venv/bin/python bench/replication.py --target kavka
    KAVKA_KAFKA_LIB=$(bash interop/kafka.sh) PYTHONPATH=. .venv/bin/python bench/replication.py --target kafka
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.process import wait_until

VALUE = b"x" * 100
TICKS = os.sysconf("SC_CLK_TCK")


class Cluster:
    """Three brokers: ``bootstrap``, ``ids``, ``pid(i)``, ``kill(i)``, ``start(i)``, ``data_dir(i)``."""

    def __init__(self, target: str, base: Path) -> None:
        self.target = target
        if target == "kavka":
            from kavka.testing.cluster import LocalCluster

            self.cluster = LocalCluster(nodes=3, base_dir=base)
            self.cluster.start()
            self.nodes = self.cluster.nodes
        else:
            from bench.kafka_failover import Node, start_all

            from kavka.testing.apache_kafka import ApacheKafka

            cluster_id = ApacheKafka().cluster_id
            nodes = [Node(base / f"node-{i}", i, cluster_id) for i in (1, 2, 3)]
            voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
            for n in nodes:
                n.voters = voters
            start_all(nodes)
            self.nodes = {n.node_id: n for n in nodes}
        wait_until(lambda: len(self.admin().list_topics(timeout=5).brokers) == 3, timeout=90)

    @property
    def ids(self) -> list[int]:
        return sorted(self.nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes.values())

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap})

    def pid(self, i: int) -> int:
        return self.nodes[i].popen.pid

    def kill(self, i: int) -> None:
        self.nodes[i].kill()

    def start(self, i: int) -> None:
        self.nodes[i].start()

    def data_dir(self, i: int) -> Path:
        return Path(self.nodes[i].data_dir)

    def stop(self) -> None:
        if self.target == "kavka":
            self.cluster.stop()
        else:  # at once: one by one, the last would wait for a controlled shutdown no quorum grants
            for n in self.nodes.values():
                n.kill()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def create(cluster: Cluster, name: str, partitions: int) -> None:
    topic = NewTopic(name, partitions, 3, config={"min.insync.replicas": "2"})
    admin = cluster.admin()
    admin.create_topics([topic])[name].result(60)
    wait_until(lambda: isr_whole(cluster, name), timeout=60)


def isr_whole(cluster: Cluster, name: str) -> bool:
    try:
        md = cluster.admin().list_topics(name, timeout=5).topics[name]
    except Exception:
        return False
    return bool(md.partitions) and all(len(p.isrs) == 3 and p.leader >= 0 for p in md.partitions.values())


def leader_of(cluster: Cluster, name: str, partition: int) -> int:
    return cluster.admin().list_topics(name, timeout=5).topics[name].partitions[partition].leader


def throughput(cluster: Cluster, name: str, acks: str, n: int) -> tuple[float, dict[int, float]]:
    producer = Producer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "acks": acks,
            "linger.ms": 5,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    errors = []
    producer.produce(name, VALUE)
    producer.flush(30)
    cpu0 = {i: cpu_seconds(cluster.pid(i)) for i in cluster.ids}
    t0 = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                producer.produce(name, VALUE, on_delivery=lambda e, m: e and errors.append(e))
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(120)
    elapsed = time.perf_counter() - t0
    cpu = {i: (cpu_seconds(cluster.pid(i)) - cpu0[i]) / (n / 1e6) for i in cluster.ids}
    if errors:
        print(f"  {len(errors)} delivery errors, first: {errors[0]}")
    return n / elapsed, cpu


def latency(cluster: Cluster, name: str, seconds: float) -> tuple[float, float]:
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": f"lat-{time.time_ns()}",
            "auto.offset.reset": "latest",
            "fetch.wait.max.ms": 100,
        }
    )
    consumer.subscribe([name])
    wait_until(lambda: consumer.poll(0.1) is None and bool(consumer.assignment()), timeout=60)
    samples: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            m = consumer.poll(0.1)
            if m is not None and not m.error():
                samples.append(time.perf_counter() - float(m.value().decode()))

    reader = threading.Thread(target=consume)
    reader.start()
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "linger.ms": 0})
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        producer.produce(name, repr(time.perf_counter()).encode())
        producer.poll(0)
        time.sleep(0.002)
    producer.flush(30)
    time.sleep(1)  # the last records' polls: a figure, not a synchronisation
    stop.set()
    reader.join()
    consumer.close()
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.99)] * 1000


def failover(cluster: Cluster, name: str, kills: int) -> list[float]:
    times = []
    for _ in range(kills):
        wait_until(lambda: isr_whole(cluster, name), timeout=120)
        victim = leader_of(cluster, name, 0)
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "message.timeout.ms": 30000})
        producer.produce(name, b"warm", partition=0)
        producer.flush(30)
        cluster.kill(victim)
        t0 = time.perf_counter()
        while True:
            result: list = []
            producer.produce(name, b"after", partition=0, on_delivery=lambda e, m: result.append(e))
            producer.flush(35)
            if result and result[0] is None:
                break
        times.append(time.perf_counter() - t0)
        cluster.start(victim)
    wait_until(lambda: isr_whole(cluster, name), timeout=120)
    return times


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.log"))


def catch_up(cluster: Cluster, name: str, megabytes: int) -> float:
    leader = leader_of(cluster, name, 0)
    follower = next(i for i in cluster.ids if i != leader)
    cluster.kill(follower)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "1", "linger.ms": 20})
    value = b"y" * 1000
    for _ in range(megabytes * 1000):
        while True:
            try:
                producer.produce(name, value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(120)
    target = dir_bytes(next(cluster.data_dir(leader).glob(f"{name}-0")))
    t0 = time.perf_counter()
    cluster.start(follower)
    follower_dir = cluster.data_dir(follower)
    wait_until(lambda: any(dir_bytes(d) >= target for d in follower_dir.glob(f"{name}-0")), timeout=600, interval=0.05)
    return target / 1e6 / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=("kavka", "kafka"), default="kavka")
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--catchup-mb", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cluster = Cluster(args.target, Path(d))
        try:
            create(cluster, "tput", 6)
            for acks in ("1", "all"):
                rate, cpu = throughput(cluster, "tput", acks, args.records)
                per_broker = ", ".join(f"broker {i} {s:.1f} s" for i, s in cpu.items())
                print(f"{args.target}: acks={acks} RF=3: {rate:,.0f} records/s; CPU per million records: {per_broker}")
            create(cluster, "lat", 1)
            p50, p99 = latency(cluster, "lat", args.latency_seconds)
            print(f"{args.target}: end-to-end latency acks=all RF=3: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            if args.kills:
                create(cluster, "fail", 1)
                times = sorted(failover(cluster, "fail", args.kills))
                print(
                    f"{args.target}: leader kill -9 to the first acks=all produce, {len(times)} kills: "
                    f"p50 {statistics.median(times) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
                )
            if args.catchup_mb:
                create(cluster, "catchup", 1)
                rate = catch_up(cluster, "catchup", args.catchup_mb)
                print(f"{args.target}: a restarted follower catches up {args.catchup_mb} MB at {rate:.1f} MB/s")
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
