"""The failover figure of ``bench/cluster_failover.py``, on Apache Kafka 4.4 (the pinned jars): three
combined KRaft nodes with static voters (``controller.quorum.voters``, formatted without
``--standalone``), the active controller killed with kill -9, the time until a survivor's
DescribeQuorum names a new leader (polled every 10 ms); the node is restarted and the cluster settles
before the next kill. Kafka's defaults for every timeout, as in the Kavka run.

    KAVKA_KAFKA_LIB=$(bash interop/kafka.sh) PYTHONPATH=. .venv/bin/python bench/kafka_failover.py --kills 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from kavka.testing.apache_kafka import ApacheKafka, ApacheKafkaError
from kavka.testing.process import wait_until
from tests.cluster.test_kraft_cluster import describe_quorum


class Node(ApacheKafka):
    """One combined node of a static three-voter quorum."""

    def __init__(self, base_dir: Path, node_id: int, cluster_id: str) -> None:
        super().__init__(base_dir, heap="384m")
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.voters = ""

    def properties(self) -> dict[str, str]:
        props = super().properties()
        del props["controller.quorum.bootstrap.servers"]
        props["controller.quorum.voters"] = self.voters
        return props

    def format(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        cmd = self._jvm(
            "kafka.tools.StorageTool",
            ["format", "-t", self.cluster_id, "-c", str(self.config_path)],
            heap="256m",
            log_level="warn",
        )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise ApacheKafkaError(f"format failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait()

    def rss_mib(self) -> float:
        assert self.popen is not None
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    @property
    def controller(self) -> str:
        return f"127.0.0.1:{self.controller_port}"


def start_all(nodes: list[Node]) -> None:
    errors: list[BaseException] = []

    def run(n: Node) -> None:
        try:
            n.start()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def leader_of(nodes: list[Node], skip: int = -1) -> int:
    for n in nodes:
        if n.node_id == skip or not n.is_running():
            continue
        try:
            p = describe_quorum(n.controller)
        except OSError:
            continue
        if p.error_code == 0 and p.leader_id not in (-1, skip):
            return p.leader_id
    return -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cluster_id = ApacheKafka().cluster_id
        nodes = [Node(Path(d) / f"node-{i}", i, cluster_id) for i in (1, 2, 3)]
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
        for n in nodes:
            n.voters = voters
        start_all(nodes)
        try:
            failovers = []
            for _ in range(args.kills):
                old = leader_of(nodes)
                victim = next(n for n in nodes if n.node_id == old)
                victim.kill()
                t = time.monotonic()
                wait_until(lambda o=old: leader_of(nodes, skip=o) != -1, timeout=60, interval=0.01)
                failovers.append(time.monotonic() - t)
                victim.start()
                wait_until(lambda: leader_of(nodes) != -1, timeout=60, interval=0.05)
            failovers.sort()
            print(
                f"Apache Kafka 4.4, failover (kill -9 of the active controller to a new leader), {len(failovers)} "
                f"kills: p50 {statistics.median(failovers) * 1000:.0f} ms, max {failovers[-1] * 1000:.0f} ms, "
                f"min {failovers[0] * 1000:.0f} ms"
            )
            time.sleep(2)
            rss = [n.rss_mib() for n in nodes]
            print("idle RSS per node: " + ", ".join(f"node {n.node_id} {r:.0f} MiB" for n, r in zip(nodes, rss)))
        finally:
            for n in nodes:
                if n.is_running():
                    n.kill()


if __name__ == "__main__":
    main()
