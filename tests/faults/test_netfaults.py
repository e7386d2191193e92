"""Network partitions (`kavka.testing.netfaults`) on real processes.

Namespaces: a cut pair cannot reach each other but both reach the third node and the test; the
namespaces and the bridge are gone after the test, and those of a test run that died are swept. Without
root they cannot be made: those tests skip, except under CI=true, where they fail. The proxy fallback: a
cut proxy drops bytes silently both ways and heals. With either, an isolated active controller loses the
quorum to the other two nodes and rejoins after the heal.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from kavka.testing.cluster import LocalCluster
from kavka.testing.netfaults import FaultProxy, NetNamespaces, ProxyNetwork, sweep_stale, unavailable_reason
from kavka.testing.process import wait_until
from tests.clients.adminwire import call
from tests.cluster.test_kraft_cluster import QUORUM_BODY, all_list_every_broker
from tests.needs import unavailable

FAST = {"broker.heartbeat.interval.ms": 200, "broker.session.timeout.ms": 1500}


def require_namespaces() -> None:
    reason = unavailable_reason()
    if reason is not None:
        unavailable(f"network namespaces cannot be made: {reason}")


@pytest.fixture
def namespaces():
    require_namespaces()
    with NetNamespaces([1, 2, 3]) as net:
        k = net.k
        yield net
    # destroyed: no namespace of this network left, nor its bridge
    assert not [ns for ns in _netns() if ns.startswith(f"kvk{k}n")]
    assert subprocess.run(["ip", "link", "show", f"kvkbr{k}"], capture_output=True).returncode != 0


def _netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def quorum_leader(bootstrap: str) -> int:
    """The quorum leader as DescribeQuorum (forwarded to the active controller) names it. A short
    timeout: a request forwarded to a controller just cut off must not hold the wait for 15 s."""
    [topic] = call(bootstrap, 55, 1, QUORUM_BODY, timeout=2).topics
    [partition] = topic.partitions
    return partition.leader_id


def connects(net: NetNamespaces, source: int, host: str, port: int) -> bool:
    """Whether a TCP connect from inside node ``source``'s namespace to host:port succeeds in 1 s."""
    code = f"import socket; socket.create_connection(({host!r}, {port}), timeout=1).close()"
    proc = subprocess.run([*net.command_prefix(source), sys.executable, "-c", code], capture_output=True)
    return proc.returncode == 0


def test_a_cut_pair_cannot_connect_but_both_reach_the_rest(namespaces):
    net = namespaces
    # a listener in node 3's namespace, reached from 1 and 2 and from the root namespace
    listener = subprocess.Popen(
        [
            *net.command_prefix(3),
            sys.executable,
            "-c",
            f"import socket,time; s=socket.create_server(({net.host(3)!r}, 9999)); print('up', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline().strip() == b"up"
        assert connects(net, 1, net.host(3), 9999) and connects(net, 2, net.host(3), 9999)
        net.cut(1, 3)
        assert not connects(net, 1, net.host(3), 9999)
        assert connects(net, 2, net.host(3), 9999)
        socket.create_connection((net.host(3), 9999), timeout=1).close()  # the test still reaches it
        net.heal_all()
        assert connects(net, 1, net.host(3), 9999)
    finally:
        listener.kill()
        listener.wait()


@pytest.fixture(params=["namespaces", "proxies"])
def any_network(request):
    if request.param == "namespaces":
        yield request.getfixturevalue("namespaces")
    else:
        with ProxyNetwork([1, 2, 3]) as net:
            yield net


def test_an_isolated_active_controller_loses_the_quorum_and_rejoins_after_the_heal(any_network, tmp_path):
    net = any_network
    with LocalCluster(nodes=3, base_dir=tmp_path, overrides=FAST, network=net) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        first = quorum_leader(cluster.nodes[1].bootstrap)
        others = [n for i, n in cluster.nodes.items() if i != first]
        net.isolate(first)

        def new_leader() -> bool:
            return all(quorum_leader(n.bootstrap) not in (first, -1) for n in others)

        wait_until(new_leader, timeout=30, message="the other two electing a new active controller")
        net.heal_all()
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed after the heal")


def test_the_network_of_a_dead_test_run_is_swept():
    require_namespaces()
    net = NetNamespaces([1]).create()
    k = net.k
    # pretend the owner died: a pid that has exited
    dead = subprocess.Popen(["true"])
    dead.wait()
    subprocess.run(["ip", "link", "set", "dev", f"kvkbr{k}", "alias", f"kavka-netfaults pid={dead.pid}"], check=True)
    assert k in sweep_stale()
    assert f"kvk{k}n1" not in _netns()
    net.k = None  # already gone


def test_a_cut_proxy_drops_bytes_both_ways_silently_and_heals():
    server = socket.create_server(("127.0.0.1", 0))
    echoes: list[socket.socket] = []

    def echo() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            echoes.append(conn)
            threading.Thread(
                target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(100), b"")], daemon=True
            ).start()

    threading.Thread(target=echo, daemon=True).start()
    proxy = FaultProxy(server.getsockname())
    try:
        before = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        before.sendall(b"ping")
        assert before.recv(100) == b"ping"
        proxy.cut()
        before.sendall(b"lost")
        during = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)  # accepted, never answered
        during.sendall(b"lost too")
        for sock in (before, during):
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(100)
        proxy.heal()
        before.settimeout(5)
        assert before.recv(100) == b""  # its stream lost bytes: closed at the heal
        after = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        after.sendall(b"back")
        assert after.recv(100) == b"back"
    finally:
        proxy.close()
        server.close()
