"""A local KRaft cluster of ``kavka serve`` processes for tests: combined nodes, or separate controllers
and brokers, each with its own ports and data dir under one directory.

``LocalCluster(nodes=3)`` gives three combined nodes (ids 1-3, all voters); ``LocalCluster(controllers=3,
brokers=3)`` gives voters 1-3 (``process.roles=controller``) and brokers 4-6. Every node gets the same
``cluster.id``, ``controller.quorum.voters`` naming the voters' CONTROLLER listeners, and its own
``PLAINTEXT`` (brokers) and ``CONTROLLER`` (voters) ports, and the internal topics replicated as
``kavka cluster up`` does (`BrokerConfig.cluster_defaults`: three replicas, or every broker if fewer). ``start()`` spawns them all and waits until
each broker answers ApiVersions; ``wait_until_brokers(n)`` waits for the cluster itself (every broker
registered and listed in Metadata).

``network=`` puts each node on its own address: an object with ``host(node_id)`` (the address the node
listens on) and ``command_prefix(node_id)`` (what runs its command there), such as
`kavka.testing.netfaults.NetNamespaces` (a network namespace per node, for partitions). Without it
every node is on 127.0.0.1. `ClusterNode.pause` / `resume` send SIGSTOP / SIGCONT.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from kavka.metadata.config import BrokerConfig
from kavka.metadata.ids import new_cluster_id
from kavka.testing.process import BrokerProcess, free_port

__all__ = ["LocalCluster", "ClusterNode", "NodeNetwork"]


class NodeNetwork(Protocol):
    """Where each node lives. A network may also define ``voters(node_id, hosts, controller_ports)``
    returning that node's own ``controller.quorum.voters`` (`kavka.testing.netfaults.ProxyNetwork` routes
    each node's KRaft links through proxies that way)."""

    def host(self, node_id: int) -> str: ...

    def command_prefix(self, node_id: int) -> list[str]: ...


class ClusterNode(BrokerProcess):
    """One node; ``controller_port`` is its CONTROLLER listener (None for a broker-only node). A
    controller-only node has no client listener: ``bootstrap`` is its CONTROLLER endpoint."""

    def __init__(
        self,
        node_id: int,
        roles: str,
        controller_port: int | None,
        *,
        host: str = "127.0.0.1",
        command_prefix: list[str] | None = None,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.node_id = node_id
        self.roles = roles
        self.controller_port = controller_port
        self.host = host
        self.command_prefix = list(command_prefix or [])
        self.paused = False

    def command(self) -> list[str]:
        return [*self.command_prefix, *super().command()]

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets but answers nothing (a long GC pause, a hung VM)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.is_running():
            os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> int:
        self.paused = False
        return super().kill()

    def stop(self, timeout: float | None = None) -> int:
        if self.paused:  # a stopped process never sees SIGTERM
            self.resume()
        return super().stop(timeout)

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles


class LocalCluster:
    def __init__(
        self,
        nodes: int = 0,
        *,
        controllers: int = 0,
        brokers: int = 0,
        base_dir: str | Path | None = None,
        overrides: Mapping[str, object] | None = None,
        ready_timeout: float = 60.0,
        network: NodeNetwork | None = None,
        node_overrides: Mapping[int, Mapping[str, object]] | None = None,
    ) -> None:
        """``overrides`` apply to every node, ``node_overrides[id]`` to one (a rack, say) after them."""
        if nodes and (controllers or brokers):
            raise ValueError("give either nodes (combined) or controllers and brokers")
        if not nodes and not (controllers and brokers):
            raise ValueError("a cluster needs nodes, or controllers and brokers")
        self.base_dir = Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp(prefix="kavka-cluster-"))
        self.cluster_id = new_cluster_id()
        specs: list[tuple[int, str]] = []
        if nodes:
            specs = [(i, "broker,controller") for i in range(1, nodes + 1)]
        else:
            specs = [(i, "controller") for i in range(1, controllers + 1)]
            specs += [(controllers + i, "broker") for i in range(1, brokers + 1)]
        self.network = network
        hosts = {i: network.host(i) if network is not None else "127.0.0.1" for i, _ in specs}
        controller_ports = {i: free_port() for i, roles in specs if "controller" in roles}
        voters = ",".join(f"{i}@{hosts[i]}:{p}" for i, p in controller_ports.items())
        voters_of = getattr(network, "voters", None)
        self.nodes: dict[int, ClusterNode] = {}
        for node_id, roles in specs:
            port = free_port()
            listeners = []
            if "broker" in roles:
                listeners.append(f"PLAINTEXT://{hosts[node_id]}:{port}")
            if node_id in controller_ports:
                listeners.append(f"CONTROLLER://{hosts[node_id]}:{controller_ports[node_id]}")
            settings = {
                "node.id": node_id,
                "process.roles": roles,
                "listeners": ",".join(listeners),
                "controller.listener.names": "CONTROLLER",
                "controller.quorum.voters": voters_of(node_id, hosts, controller_ports) if voters_of else voters,
                "cluster.id": self.cluster_id,
                **BrokerConfig.cluster_defaults(sum(1 for _, r in specs if "broker" in r)),
                **(overrides or {}),
                **((node_overrides or {}).get(node_id) or {}),
            }
            self.nodes[node_id] = ClusterNode(
                node_id,
                roles,
                controller_ports.get(node_id),
                data_dir=self.base_dir / f"node-{node_id}",
                port=port if "broker" in roles else controller_ports[node_id],
                overrides=settings,
                ready_timeout=ready_timeout,
                host=hosts[node_id],
                command_prefix=network.command_prefix(node_id) if network is not None else None,
            )

    @property
    def brokers(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if n.is_broker]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.brokers)

    def start(self) -> LocalCluster:
        for node in self.nodes.values():
            node.start(wait=False)
        for node in self.nodes.values():
            node.wait_ready()
        return self

    def stop(self) -> None:
        """SIGTERM to every node at once (one by one, the last ones would wait for a controlled
        shutdown no quorum can grant), then wait for each."""
        running = [n for n in self.nodes.values() if n.is_running()]
        for node in running:
            assert node.popen is not None
            node.popen.send_signal(signal.SIGTERM)
        for node in running:
            node.stop()

    def cleanup(self) -> None:
        for node in self.nodes.values():
            node.cleanup()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()
