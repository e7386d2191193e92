"""Network partitions between the nodes of a test cluster: one network namespace per node.

`NetNamespaces` makes, for a set of node ids, a Linux bridge in the root namespace and one network
namespace per node joined to it by a veth pair::

    root namespace:  bridge kvkbr<K> 10.213.K.1/24   (the test and its clients live here)
                       |-- kvk<K>h<id>  ==veth==  kvk<K>p<id> 10.213.K.<10+id>/24  in netns kvk<K>n<id>

A node started with `command_prefix` (``ip netns exec kvk<K>n<id>``) listens on its own address
(`host`); every node reaches every other over the bridge, and the test client in the root namespace
reaches them all. `cut(a, b)` adds ``ip route add blackhole <b>`` inside a's namespace and the same for
a inside b's: packets between the two are dropped (a local sender gets EINVAL, as ``ip-route(8)``
says; TCP keeps retransmitting an established connection until it gives up), while both still reach
everyone else and the test reaches both. `heal` removes the routes. No iptables is needed.

``K`` (1-254) is taken by creating the bridge: creating an existing link fails, so two runs at once get
two subnets. The bridge's alias records the owner's pid; `sweep_stale` removes the namespaces and
bridge of owners that died without cleaning up (a killed test run), and every `NetNamespaces` calls it
first. `destroy` (also on ``__exit__`` and at interpreter exit) kills what still runs in its namespaces,
then removes them and the bridge; it never raises.

This needs root (CAP_NET_ADMIN) and ``ip``; `unavailable_reason` says why not when it cannot work.
Without them, `ProxyNetwork` is the fallback (`make_network` chooses; under CI=true the fallback is an
error): a fault-injecting TCP proxy (`FaultProxy`) on every KRaft link between two nodes, so a cut
partitions the metadata quorum but not broker-to-broker traffic.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterable

__all__ = [
    "FaultProxy",
    "NetNamespaces",
    "NetworkFaultError",
    "ProxyNetwork",
    "make_network",
    "sweep_stale",
    "unavailable_reason",
]

_ALIAS = "kavka-netfaults pid="


class NetworkFaultError(RuntimeError):
    """An ``ip`` command failed while making or changing the test network."""


def _ip(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NetworkFaultError(f"ip {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def unavailable_reason() -> str | None:
    """None when network namespaces can be made here, else the reason (not root, no ``ip``)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _bridges() -> dict[int, str]:
    """``{K: alias}`` for every kvkbr<K> bridge."""
    found: dict[int, str] = {}
    for line in _ip("-o", "link", "show", "type", "bridge", check=False).splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].startswith("kvkbr"):
            continue
        name = parts[1].rstrip(":").split("@")[0]
        try:
            k = int(name[len("kvkbr") :])
        except ValueError:
            continue
        alias = line.split(" alias ", 1)[1].strip() if " alias " in line else ""
        found[k] = alias
    return found


def _namespaces(k: int) -> list[str]:
    prefix = f"kvk{k}n"
    return [line.split()[0] for line in _ip("netns", "list", check=False).splitlines() if line.startswith(prefix)]


def _remove(k: int) -> None:
    """Kill what runs in subnet K's namespaces (processes the tests started there), delete them and the
    bridge. Errors are ignored: this is cleanup."""
    for ns in _namespaces(k):
        for pid in _ip("netns", "pids", ns, check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        _ip("netns", "del", ns, check=False)
    # a deleted namespace's interfaces go asynchronously; deleting the outer ends here removes both
    # ends of each pair at once, so the next network may reuse the names immediately
    for line in _ip("-o", "link", "show", check=False).splitlines():
        parts = line.split()
        name = parts[1].rstrip(":").split("@")[0] if len(parts) > 1 else ""
        if name.startswith(f"kvk{k}h"):
            _ip("link", "del", name, check=False)
    _ip("link", "del", f"kvkbr{k}", check=False)


def sweep_stale() -> list[int]:
    """Remove the test networks whose owner process is gone; return their subnet numbers."""
    if unavailable_reason() is not None:
        return []
    swept = []
    for k, alias in _bridges().items():
        if not alias.startswith(_ALIAS):
            continue
        try:
            owner = int(alias[len(_ALIAS) :])
        except ValueError:
            continue
        if not _pid_alive(owner):
            _remove(k)
            swept.append(k)
    return swept


class _Links:
    """Which pairs of nodes are cut, and the operations built on `_cut` / `_heal` of one pair."""

    def __init__(self, node_ids: Iterable[int]) -> None:
        self.node_ids = sorted(set(node_ids))
        self.cuts: set[frozenset[int]] = set()

    def _cut(self, a: int, b: int) -> None:
        raise NotImplementedError

    def _heal(self, a: int, b: int) -> None:
        raise NotImplementedError

    def cut(self, a: int, b: int) -> None:
        """Drop everything between nodes ``a`` and ``b`` (both directions); idempotent."""
        if a == b:
            raise ValueError("a node cannot be cut from itself")
        pair = frozenset((a, b))
        if pair not in self.cuts:
            self._cut(a, b)
            self.cuts.add(pair)

    def heal(self, a: int, b: int) -> None:
        pair = frozenset((a, b))
        if pair in self.cuts:
            self._heal(a, b)
            self.cuts.discard(pair)

    def heal_all(self) -> None:
        for pair in list(self.cuts):
            a, b = sorted(pair)
            self.heal(a, b)

    def partition(self, *groups: Iterable[int]) -> None:
        """Cut every pair of nodes that are in different groups (nodes in no group keep every link)."""
        sets = [set(g) for g in groups]
        for i, left in enumerate(sets):
            for right in sets[i + 1 :]:
                for a in left:
                    for b in right:
                        self.cut(a, b)

    def isolate(self, node_id: int) -> None:
        """Cut ``node_id`` from every other node (the test client still reaches it)."""
        self.partition([node_id], [i for i in self.node_ids if i != node_id])


class NetNamespaces(_Links):
    """One namespace per node id on a private bridge; see the module docstring."""

    def __init__(self, node_ids: Iterable[int]) -> None:
        super().__init__(node_ids)
        if any(not 1 <= i <= 200 for i in self.node_ids):
            raise ValueError("node ids must be 1-200 to get an address")
        self.k: int | None = None

    # -- addresses -------------------------------------------------------------------------------

    @property
    def gateway(self) -> str:
        return f"10.213.{self._k}.1"

    def host(self, node_id: int) -> str:
        return f"10.213.{self._k}.{10 + node_id}"

    def namespace(self, node_id: int) -> str:
        return f"kvk{self._k}n{node_id}"

    def command_prefix(self, node_id: int) -> list[str]:
        """Prepend to a command to run it inside the node's namespace (``ip netns exec`` execs the
        command in place, so the child's pid is the command's)."""
        return ["ip", "netns", "exec", self.namespace(node_id)]

    @property
    def _k(self) -> int:
        if self.k is None:
            raise NetworkFaultError("the test network is not created yet (call create())")
        return self.k

    # -- life ------------------------------------------------------------------------------------

    def create(self) -> NetNamespaces:
        reason = unavailable_reason()
        if reason is not None:
            raise NetworkFaultError(f"cannot make network namespaces: {reason}")
        sweep_stale()
        for k in range(1, 255):
            proc = subprocess.run(["ip", "link", "add", f"kvkbr{k}", "type", "bridge"], capture_output=True)
            if proc.returncode == 0:
                self.k = k
                break
        else:
            raise NetworkFaultError("no free test subnet: 254 kvkbr bridges exist")
        atexit.register(self.destroy)
        try:
            _ip("link", "set", "dev", f"kvkbr{k}", "alias", f"{_ALIAS}{os.getpid()}")
            _ip("addr", "add", f"{self.gateway}/24", "dev", f"kvkbr{k}")
            _ip("link", "set", f"kvkbr{k}", "up")
            for node_id in self.node_ids:
                self._add_node(node_id)
        except BaseException:
            self.destroy()
            raise
        return self

    def _add_node(self, node_id: int) -> None:
        ns, k = self.namespace(node_id), self._k
        outside, inside = f"kvk{k}h{node_id}", f"kvk{k}p{node_id}"
        _ip("netns", "add", ns)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", ns)
        _ip("link", "set", outside, "master", f"kvkbr{k}")
        _ip("link", "set", outside, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", f"{self.host(node_id)}/24", "dev", inside)
        _ip("-n", ns, "link", "set", inside, "up")
        _ip("-n", ns, "route", "add", "default", "via", self.gateway)

    def destroy(self) -> None:
        if self.k is None:
            return
        _remove(self.k)
        self.k = None
        self.cuts.clear()
        atexit.unregister(self.destroy)

    def __enter__(self) -> NetNamespaces:
        return self.create()

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    # -- faults ----------------------------------------------------------------------------------

    def _cut(self, a: int, b: int) -> None:
        _ip("-n", self.namespace(a), "route", "add", "blackhole", f"{self.host(b)}/32")
        _ip("-n", self.namespace(b), "route", "add", "blackhole", f"{self.host(a)}/32")

    def _heal(self, a: int, b: int) -> None:
        _ip("-n", self.namespace(a), "route", "del", "blackhole", f"{self.host(b)}/32", check=False)
        _ip("-n", self.namespace(b), "route", "del", "blackhole", f"{self.host(a)}/32", check=False)


# -- the fallback without root: fault-injecting TCP proxies -------------------------------------------


class FaultProxy:
    """A TCP proxy from a port on 127.0.0.1 to ``target``, whose link can be cut.

    While cut, bytes in either direction are read and dropped (the peers see a silent network, not a
    reset) and new connections are accepted but never forwarded; after `heal` the connections that lost
    bytes are closed (their streams are broken) and new ones are forwarded again. One thread runs a
    selector over the listener and every connection and is the only one to touch them; `close` stops it.
    """

    def __init__(self, target: tuple[str, int], listen_port: int = 0) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._peers: dict[socket.socket, socket.socket | None] = {}
        self._tainted: set[socket.socket] = set()
        self.is_cut = False
        self._heal_pending = False
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self.is_cut = True

    def heal(self) -> None:
        self._heal_pending = True
        self.is_cut = False

    def close(self) -> None:
        self._closed = True
        self._thread.join(5)

    def _loop(self) -> None:
        try:
            while not self._closed:
                if self._heal_pending:
                    self._heal_pending = False
                    for sock in list(self._tainted):
                        self._drop(sock)
                for key, _ in self._selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        self._accept()
                    elif sock in self._peers:
                        self._forward(sock)
        finally:
            for sock in list(self._peers):
                self._drop(sock)
            self._selector.close()
            self._listener.close()

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        peer = self._peers.get(sock)
        if self.is_cut or peer is None:
            self._tainted.add(sock)
            return
        try:
            peer.sendall(data)  # blocking socket: a slow reader slows this proxy, as a network would
        except OSError:
            self._drop(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        upstream = None
        if not self.is_cut:
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                return
            self._peers[upstream] = client
            self._selector.register(upstream, selectors.EVENT_READ)
        else:
            self._tainted.add(client)  # accepted and never answered: a silent network
        self._peers[client] = upstream
        self._selector.register(client, selectors.EVENT_READ)

    def _drop(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._peers.pop(s, None)
            self._tainted.discard(s)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(s)
            s.close()


class ProxyNetwork(_Links):
    """The fallback when namespaces cannot be made (not root): every node on 127.0.0.1, and each node
    reaches each other voter's CONTROLLER listener through its own `FaultProxy` (one per direction, named
    in that node's ``controller.quorum.voters``), so `cut(a, b)` silences the KRaft links between a and b.

    Broker-to-broker and client traffic is not proxied (every node dials the same advertised endpoint,
    so a proxy could not tell which peer a connection comes from): a cut here partitions the metadata
    quorum (elections, fencing, metadata propagation), not replication. Use `NetNamespaces` for that.
    """

    def __init__(self, node_ids: Iterable[int]) -> None:
        super().__init__(node_ids)
        self.proxies: dict[tuple[int, int], FaultProxy] = {}

    def create(self) -> ProxyNetwork:
        return self

    def host(self, node_id: int) -> str:
        return "127.0.0.1"

    def command_prefix(self, node_id: int) -> list[str]:
        return []

    def voters(self, node_id: int, hosts: dict[int, str], controller_ports: dict[int, int]) -> str:
        """``controller.quorum.voters`` for ``node_id``: itself directly, every other voter through the
        proxy for that direction (made here, once)."""
        entries = []
        for voter, port in sorted(controller_ports.items()):
            if voter == node_id:
                entries.append(f"{voter}@{hosts[voter]}:{port}")
                continue
            proxy = self.proxies.get((node_id, voter))
            if proxy is None:
                proxy = self.proxies[(node_id, voter)] = FaultProxy((hosts[voter], port))
            entries.append(f"{voter}@127.0.0.1:{proxy.port}")
        return ",".join(entries)

    def _cut(self, a: int, b: int) -> None:
        for key in ((a, b), (b, a)):
            if key in self.proxies:
                self.proxies[key].cut()

    def _heal(self, a: int, b: int) -> None:
        for key in ((a, b), (b, a)):
            if key in self.proxies:
                self.proxies[key].heal()

    def destroy(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()
        self.proxies.clear()
        self.cuts.clear()

    def __enter__(self) -> ProxyNetwork:
        return self.create()

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


def make_network(node_ids: Iterable[int]) -> NetNamespaces | ProxyNetwork:
    """Namespaces when they can be made; else the proxies, except under CI=true, where that is an error
    (CI runs as root and must test the real partitions)."""
    reason = unavailable_reason()
    if reason is None:
        return NetNamespaces(node_ids).create()
    if os.environ.get("CI", "").lower() == "true":
        raise NetworkFaultError(f"CI=true but network namespaces cannot be made: {reason}")
    return ProxyNetwork(node_ids).create()
