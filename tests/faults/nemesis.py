"""The nemesis: carries out a fault schedule (`tests.faults.schedule`) on a `LocalCluster`, and heals.

`Nemesis.run` starts each fault at its time (seconds after ``run`` was called), holds it for its
duration and undoes it (restart, SIGCONT, heal the network), logging one line per step. A fault whose
target cannot be found (no leader known for the partition) is logged and skipped. `heal_all` undoes
everything still in force: every node running and resumed, every network link up. Waiting for a
fault's time is pacing, not synchronisation: a stop event with a timeout, so `stop` ends it at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from confluent_kafka.admin import AdminClient

from kavka.testing.cluster import ClusterNode, LocalCluster
from kavka.testing.netfaults import NetNamespaces, ProxyNetwork
from tests.clients.adminwire import call
from tests.faults.schedule import NETWORK_KINDS, Fault

__all__ = ["Nemesis", "leader_of"]

ALTER_PARTITION_REASSIGNMENTS = 45


def leader_of(bootstrap: str, topic: str, partition: int) -> tuple[int, list[int]]:
    """(leader, replicas) of a partition as Metadata shows it; leader -1 when none is known."""
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic=topic, timeout=5)
    t = md.topics.get(topic)
    if t is None or partition not in t.partitions:
        return -1, []
    p = t.partitions[partition]
    return p.leader, list(p.replicas)


class Nemesis:
    def __init__(
        self,
        cluster: LocalCluster,
        network: NetNamespaces | ProxyNetwork | None,
        topic: str,
        log: Callable[[str], None] = print,
    ) -> None:
        self.cluster = cluster
        self.network = network
        self.topic = topic
        self.log = log
        self._stop = threading.Event()
        self.applied: list[tuple[str, list[int]]] = []  # (kind, the nodes it hit), in order

    def stop(self) -> None:
        self._stop.set()

    def run(self, schedule: list[Fault]) -> None:
        t0 = time.monotonic()
        for fault in schedule:
            if self._stop.wait(max(0.0, t0 + fault.at - time.monotonic())):
                return
            undo = self._apply(fault)
            if undo is None:
                continue
            self._stop.wait(fault.duration)
            undo()
        self._stop.wait(0)

    # -- faults ----------------------------------------------------------------------------------

    def _apply(self, fault: Fault) -> Callable[[], None] | None:
        if fault.kind in NETWORK_KINDS and self.network is None:
            raise RuntimeError(f"{fault.kind} needs the network namespaces (run with network faults on)")
        nodes = [self.cluster.nodes[i] for i in fault.nodes]
        if fault.partition is not None:
            leader, replicas = leader_of(self.cluster.bootstrap, self.topic, fault.partition)
            if leader not in self.cluster.nodes:
                self.log(f"nemesis: {fault.describe()}: no leader known, skipped")
                return None
            nodes = [self.cluster.nodes[leader]]
        self.log(f"nemesis: {fault.describe()} -> node(s) {[n.node_id for n in nodes]}")
        self.applied.append((fault.kind, [n.node_id for n in nodes]))
        if fault.kind in ("kill", "kill-leader"):
            for node in nodes:
                node.kill()
            return lambda: self._restart(nodes)
        if fault.kind == "pause":
            for node in nodes:
                node.pause()
            return lambda: self._resume(nodes)
        if fault.kind == "partition":
            assert self.network is not None
            a, b = fault.nodes
            self.network.cut(a, b)
            return lambda: self._heal_network()
        if fault.kind == "isolate":
            assert self.network is not None
            self.network.isolate(fault.nodes[0])
            return lambda: self._heal_network()
        if fault.kind == "shutdown-kill-leader":
            [node] = nodes
            assert node.popen is not None
            node.popen.terminate()  # SIGTERM: the controlled shutdown begins
            self._stop.wait(fault.delay)
            node.kill()
            return lambda: self._restart(nodes)
        if fault.kind == "reassign-kill-leader":
            [node] = nodes
            self._reassign(fault.partition or 0, replicas)
            self._stop.wait(fault.delay)
            node.kill()
            return lambda: self._restart(nodes)
        raise ValueError(f"unknown fault kind {fault.kind}")

    def _reassign(self, partition: int, replicas: list[int]) -> None:
        """Move one replica to a node outside the set (rotate the set when every node holds one)."""
        outside = [i for i in self.cluster.nodes if i not in replicas]
        target = [*replicas[1:], outside[0]] if outside else [*replicas[1:], replicas[0]]
        body = {
            "timeout_ms": 10000,
            "topics": [{"name": self.topic, "partitions": [{"partition_index": partition, "replicas": target}]}],
        }
        try:
            answer = call(self.cluster.bootstrap.split(",")[0], ALTER_PARTITION_REASSIGNMENTS, 0, body)
            self.log(f"nemesis: reassign {self.topic}-{partition} {replicas} -> {target}: {answer.error_code}")
        except OSError as exc:
            self.log(f"nemesis: reassign {self.topic}-{partition} failed: {exc!r}")

    def _restart(self, nodes: list[ClusterNode]) -> None:
        for node in nodes:
            if not node.is_running():
                node.start(wait=False)
        for node in nodes:
            node.wait_ready()
        self.log(f"nemesis: restarted {[n.node_id for n in nodes]}")

    def _resume(self, nodes: list[ClusterNode]) -> None:
        for node in nodes:
            node.resume()
        self.log(f"nemesis: resumed {[n.node_id for n in nodes]}")

    def _heal_network(self) -> None:
        assert self.network is not None
        self.network.heal_all()
        self.log("nemesis: network healed")

    def heal_all(self) -> None:
        if self.network is not None:
            self.network.heal_all()
        for node in self.cluster.nodes.values():
            if node.paused:
                node.resume()
        self._restart([n for n in self.cluster.nodes.values() if not n.is_running()])
