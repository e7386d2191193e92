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
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable

__all__ = ["NetNamespaces", "NetworkFaultError", "sweep_stale", "unavailable_reason"]

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


class NetNamespaces:
    """One namespace per node id on a private bridge; see the module docstring."""

    def __init__(self, node_ids: Iterable[int]) -> None:
        self.node_ids = sorted(set(node_ids))
        if any(not 1 <= i <= 200 for i in self.node_ids):
            raise ValueError("node ids must be 1-200 to get an address")
        self.k: int | None = None
        self.cuts: set[frozenset[int]] = set()

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

    def cut(self, a: int, b: int) -> None:
        """Drop every packet between nodes ``a`` and ``b`` (both directions); idempotent."""
        if a == b:
            raise ValueError("a node cannot be cut from itself")
        pair = frozenset((a, b))
        if pair in self.cuts:
            return
        _ip("-n", self.namespace(a), "route", "add", "blackhole", f"{self.host(b)}/32")
        _ip("-n", self.namespace(b), "route", "add", "blackhole", f"{self.host(a)}/32")
        self.cuts.add(pair)

    def heal(self, a: int, b: int) -> None:
        pair = frozenset((a, b))
        if pair not in self.cuts:
            return
        _ip("-n", self.namespace(a), "route", "del", "blackhole", f"{self.host(b)}/32", check=False)
        _ip("-n", self.namespace(b), "route", "del", "blackhole", f"{self.host(a)}/32", check=False)
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
