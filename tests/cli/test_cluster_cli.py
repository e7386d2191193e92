"""``kavka cluster up`` and ``kavka cluster status``, as a user sees them: real ``kavka`` processes, the
config files and data dirs they leave, confluent-kafka's view of the brokers, Ctrl-C (SIGINT) and
SIGTERM stopping every node, a node that does not come up named with its log, and ``status`` printing
what Kafka's own ``kafka-metadata-quorum describe`` prints, for Kavka and for Kafka itself.

The multi-node tests (3 combined nodes; 3 controllers + 3 brokers) need the KRaft runtime that joins
the nodes into one quorum; each process is a cluster of its own until it lands.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.cli.cluster import _Node, _write_configs, node_properties, plan_nodes
from kavka.cli.main import main
from kavka.metadata.config import BrokerConfig
from kavka.testing.process import BrokerProcess, create_topic, wait_until

METADATA_QUORUM_TOOL = "org.apache.kafka.tools.MetadataQuorumCommand"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(nodes: int) -> int:
    """A --base-port whose broker, controller and console ports for ``nodes`` nodes are all free now."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 40000)
        if all(_free(base + off + k) for off in (0, 100, 200) for k in range(nodes)):
            return base
    raise RuntimeError("no free port range")


class ClusterUp:
    """A ``kavka cluster up`` process; its output goes to a file read by the test."""

    def __init__(self, tmp_path: Path, *args: str, nodes: int) -> None:
        self.dir = tmp_path / "cluster"
        self.base_port = free_base_port(nodes)
        self.out_path = tmp_path / "cluster-up.out"
        cmd = [
            sys.executable,
            "-m",
            "kavka",
            "cluster",
            "up",
            "--dir",
            str(self.dir),
            "--base-port",
            str(self.base_port),
        ]
        with open(self.out_path, "wb") as out:
            self.popen = subprocess.Popen([*cmd, *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90.0) -> str:
        """Until it prints its ready banner; return the bootstrap servers it printed."""
        wait_until(
            lambda: "Press Ctrl-C" in self.output or self.popen.poll() is not None,
            timeout,
            message=lambda: f"cluster up to be ready:\n{self.output}",
        )
        assert self.popen.poll() is None, self.output
        return re.search(r"^bootstrap servers: (\S+)$", self.output, re.M).group(1)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60.0) -> int:
        self.popen.send_signal(sig)
        return self.popen.wait(timeout)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.stop(signal.SIGTERM)


@pytest.fixture
def cluster_up(tmp_path):
    started: list[ClusterUp] = []

    def start(*args: str, nodes: int) -> ClusterUp:
        c = ClusterUp(tmp_path, *args, nodes=nodes)
        started.append(c)
        return c

    yield start
    for c in started:
        c.close()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_config_files_for_separate_roles(tmp_path):
    specs = plan_nodes(None, 3, 2, 30000, console=False)
    assert [(s.node_id, s.roles) for s in specs] == [
        (1, ("controller",)),
        (2, ("controller",)),
        (3, ("controller",)),
        (4, ("broker",)),
        (5, ("broker",)),
    ]
    props = node_properties(specs[3], specs, tmp_path / "data")
    assert props["process.roles"] == "broker" and props["node.id"] == "4"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:30003"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:30100,2@127.0.0.1:30101,3@127.0.0.1:30102"
    assert props["offsets.topic.replication.factor"] == "2"
    controller = node_properties(specs[0], specs, tmp_path / "data")
    assert controller["listeners"] == "CONTROLLER://127.0.0.1:30100" and "console.listener" not in controller
    # every node's config passes Kafka's KRaft rules
    for spec in specs:
        BrokerConfig.from_properties(node_properties(spec, specs, tmp_path / "d"), kraft=True)

    nodes = [_Node(s, tmp_path / f"node-{s.node_id}") for s in specs]
    cluster_id = _write_configs(nodes, specs)
    for n in nodes:
        meta = (n.data / "meta.properties").read_text()
        assert f"cluster.id={cluster_id}\n" in meta and f"node.id={n.spec.node_id}\n" in meta
        snapshot = n.data / "__cluster_metadata-0" / "00000000000000000000-0000000000.checkpoint"
        assert snapshot.is_file() == n.spec.is_controller
    assert _write_configs(nodes, specs) == cluster_id  # the same dir again: the same cluster


def test_options_that_do_not_go_together():
    r = CliRunner().invoke(main, ["cluster", "up", "--nodes", "3", "--brokers", "2"])
    assert r.exit_code == 2 and "--nodes (combined) or --controllers and --brokers" in r.output
    r = CliRunner().invoke(main, ["cluster", "up", "--controllers", "3"])
    assert r.exit_code == 2 and "--controllers and --brokers go together" in r.output


def test_one_node_up_serves_clients_and_its_console_and_ctrl_c_stops_it(cluster_up):
    c = cluster_up("--nodes", "1", nodes=1)
    bootstrap = c.wait_ready()
    assert bootstrap == f"127.0.0.1:{c.base_port}"
    console = re.search(r"console (http://\S+),", c.output).group(1)
    assert console == f"http://127.0.0.1:{c.base_port + 200}"
    with urllib.request.urlopen(console + "/", timeout=30) as page:
        assert page.status == 200
    admin = AdminClient({"bootstrap.servers": bootstrap})
    assert sorted(admin.list_topics(timeout=30).brokers) == [1]
    create_topic(bootstrap, "orders", partitions=2)
    config = (c.dir / "node-1" / "server.properties").read_text()
    assert (
        "process.roles=broker,controller\n" in config
        and f"controller.quorum.voters=1@127.0.0.1:{c.base_port + 100}\n" in config
    )

    assert c.stop(signal.SIGINT) == 0
    assert _refused(c.base_port)
    assert "Kavka shutting down" in (c.dir / "node-1" / "kavka.log").read_text()
    assert c.output.endswith(f"Stopped 1 node; data kept in {c.dir}\n")


def test_a_controller_and_a_broker(cluster_up):
    c = cluster_up("--controllers", "1", "--brokers", "1", "--no-console", nodes=2)
    bootstrap = c.wait_ready()
    assert bootstrap == f"127.0.0.1:{c.base_port + 1}"  # node 2, the broker
    assert _brokers_of(bootstrap) == [2]
    assert "  node 1 (controller), controller 127.0.0.1:" in c.output
    assert "process.roles=controller\n" in (c.dir / "node-1" / "server.properties").read_text()
    assert c.stop(signal.SIGINT) == 0
    assert _refused(c.base_port + 1) and _refused(c.base_port + 100)


def test_sigterm_stops_it_and_up_again_restarts_the_same_cluster(cluster_up, tmp_path):
    first = cluster_up("--nodes", "1", "--no-console", nodes=1)
    first.wait_ready()
    cluster_id = re.search(r"Kavka cluster (\S+):", first.output).group(1)
    create_topic(f"127.0.0.1:{first.base_port}", "kept", partitions=1)
    assert first.stop(signal.SIGTERM) == 0
    assert _refused(first.base_port)

    again = ClusterUp(tmp_path, "--nodes", "1", "--no-console", nodes=1)  # same --dir
    try:
        bootstrap = again.wait_ready()
        assert f"Kavka cluster {cluster_id}:" in again.output
        assert "kept" in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    finally:
        again.close()


def test_a_node_that_ignores_sigterm_is_killed_after_the_grace(cluster_up):
    c = cluster_up("--nodes", "1", "--no-console", "--grace", "1", nodes=1)
    c.wait_ready()
    (node,) = [int(p) for p in Path(f"/proc/{c.popen.pid}/task/{c.popen.pid}/children").read_text().split()]
    os.kill(node, signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    assert c.stop(signal.SIGINT) == 0
    assert "node 1 (broker,controller) did not stop within 1 s: killed" in c.output
    assert not Path(f"/proc/{node}").exists()


def test_nodes_do_not_outlive_a_killed_cluster_up(cluster_up):
    c = cluster_up("--nodes", "1", "--no-console", nodes=1)
    c.wait_ready()
    (node,) = [int(p) for p in Path(f"/proc/{c.popen.pid}/task/{c.popen.pid}/children").read_text().split()]
    c.popen.kill()  # SIGKILL: cluster up cannot stop anything itself
    c.popen.wait(10)
    try:
        wait_until(lambda: _refused(c.base_port), 30, message="the orphaned node to stop")
    finally:
        if Path(f"/proc/{node}").exists():  # the test failed: do not leave the node running
            os.kill(node, signal.SIGKILL)


def test_a_node_that_does_not_come_up_is_named_with_its_log(tmp_path):
    """node 1's data dir belongs to another node id: it refuses to start, and up says so."""
    data = tmp_path / "cluster" / "node-1" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("version=1\ncluster.id=abcdefghijklmnopqrstuv\nnode.id=7\n")
    c = ClusterUp(tmp_path, "--nodes", "1", "--no-console", "--timeout", "60", nodes=1)
    try:
        assert c.popen.wait(90) == 1
    finally:
        c.close()
    out = c.output
    assert "Error: node 1 (broker,controller) exited with code 1; the end of" in out
    assert "node.id 7" in out or "node id 7" in out  # the node's own one-line refusal, from its log


def _kafka_status(apache_kafka, bootstrap: str) -> str:
    done = apache_kafka.run_tool(METADATA_QUORUM_TOOL, ["--bootstrap-server", bootstrap, "describe", "--status"])
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _kafka_replication(apache_kafka, bootstrap: str) -> str:
    done = apache_kafka.run_tool(METADATA_QUORUM_TOOL, ["--bootstrap-server", bootstrap, "describe", "--replication"])
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _no_times(text: str) -> str:
    """Timestamps (13 digits) and the high watermark / offsets, which move between two calls."""
    text = re.sub(r"\b1\d{12}\b", "T", text)
    return re.sub(r"(HighWatermark:\s+)\d+", r"\1N", text)


@pytest.mark.parametrize("target", ["kavka", "kafka"])
def test_status_prints_what_kafka_metadata_quorum_prints(target, apache_kafka, tmp_path):
    if target == "kafka":
        bootstrap, broker = apache_kafka.bootstrap, None
    else:
        broker = BrokerProcess(tmp_path / "data")
        broker.start()
        bootstrap = broker.bootstrap
    try:
        ours = CliRunner().invoke(main, ["cluster", "status", "--bootstrap-server", bootstrap], catch_exceptions=False)
        assert ours.exit_code == 0, ours.output
        status, replication, brokers = ours.output.split("\n\n", 2)
        assert _no_times(status + "\n") == _no_times(_kafka_status(apache_kafka, bootstrap))
        theirs = _kafka_replication(apache_kafka, bootstrap)
        assert re.sub(r"\d+", "N", replication + "\n") == re.sub(r"\d+", "N", theirs)
        assert brokers.startswith("Brokers (1):\nNodeId\tHost")
    finally:
        if broker is not None:
            broker.stop()
            broker.cleanup()


def test_status_of_nothing_is_one_line():
    port = free_base_port(1)
    r = CliRunner().invoke(main, ["cluster", "status", "--bootstrap-server", f"127.0.0.1:{port}"])
    assert r.exit_code == 1
    assert r.output.startswith(f"Error: cannot reach 127.0.0.1:{port}: ") and r.output.count("\n") == 1


# --- with the KRaft runtime (several processes, one quorum) ---------------------------------------


def _brokers_of(bootstrap: str) -> list[int]:
    return sorted(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).brokers)


def test_three_combined_nodes_are_one_cluster(cluster_up):
    c = cluster_up("--nodes", "3", "--no-console", "--timeout", "60", nodes=3)
    bootstrap = c.wait_ready(120)
    ports = [c.base_port + k for k in range(3)]
    assert bootstrap == ",".join(f"127.0.0.1:{p}" for p in ports)
    for port in ports:
        assert _brokers_of(f"127.0.0.1:{port}") == [1, 2, 3]
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{ports[0]}"})
    admin.create_topics([NewTopic("everywhere", 3, 3)])["everywhere"].result(30)
    wait_until(
        lambda: (
            "everywhere" in AdminClient({"bootstrap.servers": f"127.0.0.1:{ports[2]}"}).list_topics(timeout=10).topics
        ),
        30,
        message="the topic created on node 1 to be visible on node 3",
    )
    status = CliRunner().invoke(main, ["cluster", "status", "--bootstrap-server", f"127.0.0.1:{ports[1]}"])
    assert status.exit_code == 0, status.output
    assert re.search(r"^CurrentVoters:\s+\[\{\"id\": 1.*\"id\": 2.*\"id\": 3", status.output, re.M)
    assert "Brokers (3):" in status.output
    assert c.stop(signal.SIGINT) == 0
    assert all(_refused(p) for p in ports)


def test_three_controllers_and_three_brokers(cluster_up):
    c = cluster_up("--controllers", "3", "--brokers", "3", "--no-console", "--timeout", "60", nodes=6)
    bootstrap = c.wait_ready(120)
    assert _brokers_of(bootstrap) == [4, 5, 6]
    status = CliRunner().invoke(main, ["cluster", "status", "--bootstrap-server", bootstrap.split(",")[0]])
    assert status.exit_code == 0, status.output
    assert re.search(r"^CurrentObservers:\s+\[\{\"id\": 4", status.output, re.M)
    assert c.stop(signal.SIGTERM) == 0
    assert all(_refused(c.base_port + k) for k in range(6))
