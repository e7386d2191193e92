"""The console's cluster view, Kafka's replication metrics and cluster control on a real 3-node
``kavka cluster up`` cluster (one ``kavka serve`` process per node, each with its console).

What a user sees: every node's ``/metrics`` agrees on the active controller and splits the leaders as
the image does; any node's ``/api/cluster`` shows every broker, the controller and each partition's
leader, replicas, ISR and offsets (the leader's, fetched from its console); the replication panel reads
as the guide's; and from one node's console another node is paused, resumed, killed and restarted,
with every console seeing the change. Outside ``cluster up`` the control is refused with the reason.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from kavka.testing.process import wait_until
from tests.cli.test_cluster_cli import ClusterUp
from tests.console.consolelib import http


class Cluster:
    def __init__(self, up: ClusterUp, bootstrap: str):
        self.up = up
        self.bootstrap = bootstrap
        self.consoles = {k + 1: f"http://127.0.0.1:{up.base_port + 200 + k}" for k in range(3)}

    def get(self, node: int, path: str):
        r = http("GET", self.consoles[node] + path)
        assert r.status == 200, r.text
        return r.json()

    def post(self, node: int, path: str, body=None):
        return http("POST", self.consoles[node] + path, body)

    def metrics(self, node: int) -> dict[str, float]:
        r = http("GET", self.consoles[node] + "/metrics")
        assert r.status == 200
        out = {}
        for family in text_string_to_metric_families(r.text):
            for s in family.samples:
                if not s.labels:
                    out[s.name] = s.value
        return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    up = ClusterUp(tmp_path_factory.mktemp("console-cluster"), "--nodes", "3", nodes=3)
    try:
        yield Cluster(up, up.wait_ready())
    finally:
        up.close()


@pytest.fixture(scope="module")
def topic(cluster):
    name = f"rep-{uuid.uuid4().hex[:8]}"
    r = cluster.post(1, "/api/topics", {"name": name, "partitions": 3, "replication_factor": 3})
    assert r.status == 201, r.text
    p = Producer({"bootstrap.servers": cluster.bootstrap})
    for i in range(30):
        p.produce(name, value=b"v%d" % i, partition=i % 3)
    assert p.flush(20) == 0
    return name


def _topic_rows(view: dict, topic: str) -> list[dict]:
    return [p for p in view["partitions"] if p["topic"] == topic]


def test_metrics_name_one_active_controller_and_split_the_leaders(cluster, topic):
    views = {n: cluster.get(n, "/api/cluster") for n in cluster.consoles}
    controller = views[1]["active_controller_id"]
    assert controller in (1, 2, 3) and all(v["active_controller_id"] == controller for v in views.values())
    metrics = {n: cluster.metrics(n) for n in cluster.consoles}
    assert {n: m["kafka_controller_kafkacontroller_activecontrollercount"] for n, m in metrics.items()} == {
        n: (1.0 if n == controller else 0.0) for n in cluster.consoles
    }
    partitions = views[1]["partitions"]
    for n, m in metrics.items():
        # every controller reports the image's counts, as Kafka's ControllerMetadataMetrics
        assert m["kafka_controller_kafkacontroller_globalpartitioncount"] == len(partitions)
        assert m["kafka_controller_kafkacontroller_activebrokercount"] == 3
        assert m["kafka_controller_kafkacontroller_offlinepartitionscount"] == 0
        led = [p for p in partitions if p["leader"] == n]
        assert m["kafka_server_replicamanager_leadercount"] == len(led)
        assert m["kafka_server_replicamanager_underreplicatedpartitions"] == sum(p["under_replicated"] for p in led)
        assert m["kafka_server_replicamanager_isrshrinks_total"] >= 0
    assert {p["leader"] for p in _topic_rows(views[1], topic)} == {1, 2, 3}  # one partition each


def test_any_console_shows_every_partition_with_its_leaders_offsets(cluster, topic):
    for node in cluster.consoles:
        view = cluster.get(node, "/api/cluster")
        assert view["node_id"] == node and view["controllable"]
        assert [(b["node_id"], b["state"], b["process"]) for b in view["brokers"]] == [
            (1, "running", "running"),
            (2, "running", "running"),
            (3, "running", "running"),
        ]
        assert [n["node_id"] for n in view["nodes"] if n["voter"]] == [1, 2, 3]
        rows = _topic_rows(view, topic)
        assert [r["partition"] for r in rows] == [0, 1, 2]
        for r in rows:
            assert sorted(r["replicas"]) == [1, 2, 3] and set(r["isr"]) <= set(r["replicas"])
            assert r["log_end_offset"] == r["high_watermark"] == 10, r  # read on the leader's node
            leader = next(s for s in r["replica_states"] if s["is_leader"])
            assert (leader["node_id"], leader["source"], leader["lag"]) == (r["leader"], "leader", 0)


def test_the_replication_panel_reads_as_the_guide(cluster, topic):
    view = cluster.get(2, "/api/cluster")
    row = _topic_rows(view, topic)[0]
    panel = cluster.get(3, f"/api/cluster/partitions/{topic}/0")
    isr = ",".join(map(str, row["isr"]))
    assert panel["status"] == f"Cluster healthy. Broker {row['leader']} is leader. RF=3, ISR=[{isr}]"
    assert panel["brokers"][0]["title"] == f"Broker {row['leader']} — LEADER"
    assert [(o["offset"], o["replicated"], o["latest"]) for o in panel["brokers"][0]["offsets"]] == [
        (6, True, False),
        (7, True, False),
        (8, True, False),
        (9, True, True),
    ]
    assert [b["role"] for b in panel["brokers"][1:]] == ["Follower", "Follower"]
    missing = http("GET", cluster.consoles[1] + f"/api/cluster/partitions/{topic}/7")
    assert missing.status == 404 and missing.json() == {"error": f"Partition {topic}-7 does not exist."}


def test_the_cluster_and_a_panel_stream_live(cluster, topic):
    url = f"{cluster.consoles[1]}/api/events?channels=cluster,replication:{topic}/1"
    with urllib.request.urlopen(url, timeout=10) as resp:
        for raw in resp:
            if raw.startswith(b"data: "):
                tick = json.loads(raw[6:])
                break
    assert [b["node_id"] for b in tick["cluster"]["brokers"]] == [1, 2, 3]
    panel = tick[f"replication:{topic}/1"]
    assert panel["topic"] == topic and panel["partition"] == 1 and panel["log_end_offset"] == 10
    assert panel["status"].endswith(f"RF=3, ISR=[{','.join(map(str, panel['isr']))}]")


def test_topics_are_created_and_deleted_from_any_nodes_console(cluster):
    controller = cluster.get(1, "/api/cluster")["active_controller_id"]
    for node in cluster.consoles:  # two of them forward to the active controller
        name = f"any-{node}-{uuid.uuid4().hex[:6]}"
        r = cluster.post(node, "/api/topics", {"name": name, "partitions": 2, "replication_factor": 2})
        assert r.status == 201, (node, controller, r.text)
        assert r.json()["partitions"] == 2 and r.json()["replication_factor"] == 2
        dup = cluster.post(node, "/api/topics", {"name": name, "partitions": 2})
        assert dup.status == 409 and dup.json()["error"].startswith("TOPIC_ALREADY_EXISTS")
        assert http("GET", cluster.consoles[node] + f"/api/topics/{name}").status == 200  # in this node's image
        changed = http(
            "PATCH", cluster.consoles[node] + f"/api/topics/{name}/configs", {"set": {"retention.ms": "1234"}}
        )
        assert changed.status == 200, changed.text
        [entry] = [c for c in changed.json()["configs"] if c["name"] == "retention.ms"]
        assert (entry["value"], entry["override"]) == ("1234", True)
        bad = http("PATCH", cluster.consoles[node] + f"/api/topics/{name}/configs", {"set": {"retention.ms": "x"}})
        assert bad.status == 400 and bad.json()["error"].startswith("INVALID_CONFIG"), bad.text
        gone = http("DELETE", cluster.consoles[node] + f"/api/topics/{name}")
        assert gone.status == 200, gone.text
        assert http("GET", cluster.consoles[node] + f"/api/topics/{name}").status == 404


def test_pause_resume_kill_and_restart_a_node_from_another_nodes_console(cluster, topic):
    target, actor, watcher = 3, 1, 2
    pid = cluster.get(actor, "/api/cluster/nodes")["nodes"][target - 1]["pid"]

    def process(node: int) -> str:
        return next(b for b in cluster.get(node, "/api/cluster/nodes")["nodes"] if b["node_id"] == target)["process"]

    r = cluster.post(actor, f"/api/cluster/nodes/{target}/pause")
    assert r.status == 202 and r.json() == {"node_id": target, "action": "pause", "pid": pid, "signal": "SIGSTOP"}
    assert process(watcher) == "paused"
    led = [p["partition"] for p in _topic_rows(cluster.get(watcher, "/api/cluster"), topic) if p["leader"] == target]
    panel = cluster.get(watcher, f"/api/cluster/partitions/{topic}/{led[0]}")
    assert panel["status"].startswith(f"Leader unavailable: broker {target} is paused.")
    assert panel["brokers"][0]["title"] == f"Broker {target} — LEADER (paused)"
    refused = cluster.post(actor, f"/api/cluster/nodes/{actor}/pause")
    assert refused.status == 409 and "Pause it from another node's console" in refused.json()["error"]
    assert cluster.post(actor, f"/api/cluster/nodes/{target}/resume").status == 202
    assert process(watcher) == "running"

    assert cluster.post(actor, f"/api/cluster/nodes/{target}/kill").json()["signal"] == "SIGKILL"
    wait_until(lambda: process(watcher) == "stopped", 10, message="the killed node to be gone")
    again = cluster.post(actor, f"/api/cluster/nodes/{target}/kill")
    assert again.status == 409 and again.json() == {
        "error": f"Node {target} is not running; restart it to start it again."
    }
    # its session expires: the image fences it, and every console says so
    wait_until(
        lambda: cluster.get(watcher, "/api/cluster")["brokers"][target - 1]["state"] == "fenced",
        30,
        message="the killed broker to be fenced",
    )
    assert cluster.metrics(watcher)["kafka_controller_kafkacontroller_fencedbrokercount"] == 1

    r = cluster.post(watcher, f"/api/cluster/nodes/{target}/restart")
    assert r.status == 202 and r.json() == {"node_id": target, "action": "restart", "requested": True}

    def back() -> bool:
        b = cluster.get(actor, "/api/cluster")["brokers"][target - 1]
        return b["state"] == "running" and b["process"] == "running" and b["pid"] not in (None, pid)

    wait_until(back, 60, message=lambda: f"node {target} to be back:\n{cluster.up.output}")
    assert "restarting (requested from a console)" in cluster.up.output
    assert cluster.metrics(watcher)["kafka_controller_kafkacontroller_fencedbrokercount"] == 0


def test_unknown_node_or_action(cluster):
    r = cluster.post(1, "/api/cluster/nodes/9/stop")
    assert r.status == 404 and "Node 9 is not in this cluster" in r.json()["error"]
    r = cluster.post(1, "/api/cluster/nodes/2/explode")
    assert r.status == 400 and r.json()["error"].startswith("Unknown action 'explode'")


def test_a_node_stops_itself_from_its_own_console(cluster):
    node = 2
    pid = cluster.get(1, "/api/cluster/nodes")["nodes"][node - 1]["pid"]
    r = cluster.post(node, f"/api/cluster/nodes/{node}/stop")  # the answer comes before the signal
    assert r.status == 202 and r.json() == {"node_id": node, "action": "stop", "pid": pid, "signal": "SIGTERM"}
    wait_until(
        lambda: cluster.get(1, "/api/cluster/nodes")["nodes"][node - 1]["process"] == "stopped",
        30,
        message="the node to stop itself",
    )
    wait_until(lambda: f"node {node} (broker,controller) exited with code 0" in cluster.up.output, 10)


def test_split_roles_each_node_exports_its_own_kind_of_metrics(tmp_path):
    up = ClusterUp(tmp_path, "--controllers", "1", "--brokers", "2", nodes=3)
    try:
        up.wait_ready()
        split = Cluster(up, "")
        controller, *brokers = (split.metrics(n) for n in (1, 2, 3))
        assert controller["kafka_controller_kafkacontroller_activecontrollercount"] == 1
        assert controller["kafka_controller_kafkacontroller_activebrokercount"] == 2
        assert not any(k.startswith("kafka_server_replicamanager_") for k in controller)
        for m in brokers:  # Kafka registers kafka.controller metrics on controllers only
            assert not any(k.startswith("kafka_controller_") for k in m)
            assert m["kafka_server_replicamanager_leadercount"] == 0
        view = split.get(2, "/api/cluster")
        assert view["active_controller_id"] == 1 and view["voters"] == [1]
        assert [(n["node_id"], n["roles"], n["registered"]) for n in view["nodes"]] == [
            (1, ["controller"], False),
            (2, ["broker"], True),
            (3, ["broker"], True),
        ]
    finally:
        up.close()


def test_control_is_refused_outside_cluster_up(console_env):
    r = console_env.send("POST", "/api/cluster/nodes/1/stop")
    assert r.status == 409
    assert r.json()["error"].startswith("Cluster control needs a cluster started by `kavka cluster up`")
    assert console_env.get("/api/cluster/nodes").status == 409
    view = console_env.get("/api/cluster").json()
    assert not view["controllable"]
    assert [(b["node_id"], b["state"], b["is_controller"]) for b in view["brokers"]] == [(1, "running", True)]
