"""The nemesis's leader faults on a real cluster, with no workload: each finds the partition's leader
when it starts and does what its name says (kill -9; SIGTERM then kill -9 during the controlled
shutdown; a reassignment then kill -9), and the node is running again once the fault is undone."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.cluster.test_kraft_cluster import all_list_every_broker
from tests.faults.nemesis import Nemesis, leader_of
from tests.faults.run import CLUSTER_OVERRIDES
from tests.faults.schedule import Fault


def test_leader_faults_hit_the_leader_of_the_partition_and_bring_it_back(tmp_path):
    lines: list[str] = []
    with LocalCluster(nodes=3, base_dir=tmp_path, overrides=CLUSTER_OVERRIDES) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_until(lambda: len(admin.list_topics(timeout=5).brokers) == 3, 60, message="three brokers")
        admin.create_topics([NewTopic("n", 1, 3)])["n"].result(30)
        nemesis = Nemesis(cluster, None, "n", log=lines.append)
        for kind in ("kill-leader", "shutdown-kill-leader", "reassign-kill-leader"):
            wait_until(lambda: leader_of(cluster.bootstrap, "n", 0)[0] > 0, 30, message="a leader")
            starts = {i: n.starts for i, n in cluster.nodes.items()}
            fault = Fault(at=0, kind=kind, duration=0, partition=0, delay=0.2)
            # None when no leader was known at that moment (logged, nothing done): try again
            undo = wait_until(lambda: nemesis._apply(fault), 30, message=f"{kind} applied")
            assert nemesis.applied[-1][0] == kind
            [leader] = nemesis.applied[-1][1]
            assert not cluster.nodes[leader].is_running(), f"{kind}: node {leader} still running"
            undo()
            assert cluster.nodes[leader].is_running() and cluster.nodes[leader].starts == starts[leader] + 1
            # the next fault starts on a whole cluster: the restarted node registered again
            wait_until(lambda: all_list_every_broker(cluster), 60, message="every broker back")
        assert any(line.startswith("nemesis: reassign n-0") for line in lines), lines
