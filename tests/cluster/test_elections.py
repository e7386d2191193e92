"""Leader elections on a real KRaft cluster of three ``kavka serve`` processes with an RF=3 topic, seen as
a user sees them:

- kill -9 of a partition leader: once its session expires, Metadata (confluent-kafka and kafka-python)
  shows a new leader taken from the ISR and the dead broker out of every ISR; restarted, it is back
  in the cluster as a follower (its partitions keep their new leaders);
- Kafka's own ``kafka-reassign-partitions`` (ReassignPartitionsCommand) starts a move onto a dead broker
  (in progress, listed, then cancelled), reorders a partition's replicas, and ``kafka-leader-election``
  (LeaderElectionCommand) moves the leadership to the new preferred replica;
- an out-of-sync replica leads only by an unclean election: at once where the topic allows it
  (``unclean.leader.election.enable`` set dynamically), else when ElectLeaders asks for one;
- a controlled shutdown (SIGTERM) moves leadership before the broker stops: right after it exits,
  with its session still valid, no partition names it as leader or in its ISR; and the automatic
  preferred election moves leadership back to each partition's first replica.

The ISR growing back once a restarted follower catches up is the data path's part (follower
fetching), not checked here.
"""

from __future__ import annotations

import json
import time

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType
from kafka.admin import KafkaAdminClient

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.clients.adminwire import call
from tests.cluster.test_kraft_cluster import active_controller, all_list_every_broker, broker_ids

TOOLS = "org.apache.kafka.tools."
FAST = {"broker.heartbeat.interval.ms": 200, "broker.session.timeout.ms": 1500}
ALTER_REASSIGNMENTS, LIST_REASSIGNMENTS, ELECT_LEADERS = 45, 46, 43
LEADER_NOT_AVAILABLE = 5


def partitions(bootstrap: str, topic: str) -> dict[int, tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """partition -> (leader, replicas, ISR) as confluent-kafka's Metadata shows them."""
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=5)
    return {i: (p.leader, tuple(p.replicas), tuple(p.isrs)) for i, p in md.topics[topic].partitions.items()}


def kafka_python_view(bootstrap: str, topic: str) -> dict[int, tuple[int, tuple[int, ...]]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    return {p["partition_index"]: (p["leader_id"], tuple(p["isr_nodes"])) for p in described["partitions"]}


def create_rf3(bootstrap: str, name: str, count: int = 3) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # held: the future needs its handle alive
    admin.create_topics([NewTopic(name, count, 3)])[name].result(30)


def fully_replicated(bootstrap: str, name: str, count: int) -> bool:
    try:
        parts = partitions(bootstrap, name)
    except Exception:
        return False
    return len(parts) == count and all(len(isr) == 3 and leader >= 0 for leader, _, isr in parts.values())


def victim_of(cluster: LocalCluster, parts) -> int:
    """A broker that leads a partition and is not the active controller (so the test waits for one
    session expiry, not for a controller election too)."""
    controller = active_controller(cluster)
    return next(leader for leader, _, _ in parts.values() if leader != controller)


def test_a_killed_leader_is_replaced_from_the_isr_and_comes_back_as_a_follower(tmp_path, apache_kafka):
    overrides = {**FAST, "auto.leader.rebalance.enable": "false"}
    with LocalCluster(nodes=3, base_dir=tmp_path / "cluster", overrides=overrides) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        create_rf3(cluster.bootstrap, "rep")
        wait_until(lambda: fully_replicated(cluster.bootstrap, "rep", 3), timeout=30, message="rep in sync on 3")
        before = partitions(cluster.bootstrap, "rep")
        victim = victim_of(cluster, before)
        led = [i for i, (leader, _, _) in before.items() if leader == victim]
        a, b = [i for i in cluster.nodes if i != victim]
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("mv", num_partitions=1, replica_assignment=[[a, b]])])["mv"].result(30)
        cluster.nodes[victim].kill()
        survivor = next(n for i, n in cluster.nodes.items() if i != victim)

        def moved() -> bool:
            now = partitions(survivor.bootstrap, "rep")
            return all(
                now[i][0] not in (victim, -1) and now[i][0] in before[i][2] and victim not in now[i][2] for i in led
            ) and all(victim not in isr for _, _, isr in now.values())

        wait_until(
            moved, timeout=30, message=lambda: f"new leaders from the ISR: {partitions(survivor.bootstrap, 'rep')}"
        )
        after = partitions(survivor.bootstrap, "rep")
        assert all(replicas == before[i][1] for i, (_, replicas, _) in after.items())  # replicas unchanged
        # kafka-python sees the same leaders and ISRs
        wait_until(
            lambda: (
                kafka_python_view(survivor.bootstrap, "rep") == {i: (lead, isr) for i, (lead, _, isr) in after.items()}
            ),
            timeout=15,
            message="kafka-python's view",
        )

        # a move onto the dead broker (started at the wire: the tool refuses a broker that is not live) stays
        # in progress, as it cannot catch up; ListPartitionReassignments shows it, and
        # kafka-reassign-partitions --cancel (which cancels what that lists) restores the replicas
        body = {
            "timeout": 30000,
            "topics": [{"name": "mv", "partitions": [{"partition_index": 0, "replicas": [a, victim]}]}],
        }
        assert call(survivor.bootstrap, ALTER_REASSIGNMENTS, 0, body).responses[0].partitions[0].error_code == 0
        moves = tmp_path / "moves.json"
        moves.write_text(
            json.dumps({"version": 1, "partitions": [{"topic": "mv", "partition": 0, "replicas": [a, victim]}]})
        )
        common = ["--bootstrap-server", survivor.bootstrap, "--reassignment-json-file", str(moves)]
        listed = call(survivor.bootstrap, LIST_REASSIGNMENTS, 0, {"timeout": 30000, "topics": None})
        [moving] = [t for t in listed.topics if t.name == "mv"]
        [p] = moving.partitions
        assert (tuple(p.replicas), tuple(p.adding_replicas), tuple(p.removing_replicas)) == (
            (a, victim, b),
            (victim,),
            (b,),
        )
        done = apache_kafka.run_tool(TOOLS + "reassign.ReassignPartitionsCommand", [*common, "--cancel"])
        assert "Successfully cancelled partition reassignment for: mv-0" in done.stdout, done.stdout
        wait_until(lambda: partitions(survivor.bootstrap, "mv")[0][1] == (a, b), timeout=15, message="mv back on a, b")

        # restarted: back in the cluster, as a follower of partitions that keep their new leaders
        cluster.nodes[victim].start()
        wait_until(lambda: victim in broker_ids(survivor.bootstrap), timeout=30, message="the victim unfenced")
        back = partitions(survivor.bootstrap, "rep")
        assert {i: leader for i, (leader, _, _) in back.items()} == {i: leader for i, (leader, _, _) in after.items()}
        assert all(victim in replicas for _, replicas, _ in back.values())

        # kafka-reassign-partitions: make the second in-sync replica of a partition its first one
        index, (leader, replicas, isr) = next((i, v) for i, v in back.items() if v[0] != victim)
        other = next(r for r in isr if r != leader)
        target = [other, leader, *[r for r in replicas if r not in (other, leader)]]
        plan = tmp_path / "plan.json"
        plan.write_text(
            json.dumps({"version": 1, "partitions": [{"topic": "rep", "partition": index, "replicas": target}]})
        )
        common = ["--bootstrap-server", survivor.bootstrap, "--reassignment-json-file", str(plan)]
        done = apache_kafka.run_tool(TOOLS + "reassign.ReassignPartitionsCommand", [*common, "--execute"])
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        assert f"Successfully started partition reassignment for rep-{index}" in done.stdout, done.stdout
        wait_until(
            lambda: partitions(survivor.bootstrap, "rep")[index][1] == tuple(target), timeout=15, message="reordered"
        )
        assert partitions(survivor.bootstrap, "rep")[index][0] == leader  # a new order alone moves no leader

        # kafka-leader-election: the preferred replica (the new first one, in sync) takes over
        args = ["--bootstrap-server", survivor.bootstrap, "--election-type", "preferred"]
        done = apache_kafka.run_tool(
            TOOLS + "LeaderElectionCommand", [*args, "--topic", "rep", "--partition", str(index)]
        )
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        assert f"Successfully completed leader election (PREFERRED) for partitions rep-{index}" in done.stdout
        wait_until(lambda: partitions(survivor.bootstrap, "rep")[index][0] == other, timeout=15, message="elected")


def test_controlled_shutdown_moves_leadership_before_the_broker_stops_and_the_rebalance_brings_it_back(tmp_path):
    # the default 9 s session: a leadership that moved within 3 s of the exit moved by the controlled
    # shutdown, not by a session expiry; the imbalance check every second
    overrides = {"broker.heartbeat.interval.ms": 200, "leader.imbalance.check.interval.seconds": 1}
    with LocalCluster(nodes=3, base_dir=tmp_path, overrides=overrides) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        create_rf3(cluster.bootstrap, "cs")
        wait_until(lambda: fully_replicated(cluster.bootstrap, "cs", 3), timeout=30, message="cs in sync on 3")
        before = partitions(cluster.bootstrap, "cs")
        victim = victim_of(cluster, before)
        node = cluster.nodes[victim]
        controller = cluster.nodes[active_controller(cluster)]
        started = time.monotonic()
        assert node.stop() == 0  # SIGTERM, and its exit
        assert time.monotonic() - started < 6, "the controlled shutdown took too long"

        def moved_away() -> bool:
            now = partitions(controller.bootstrap, "cs")
            return all(leader not in (victim, -1) and victim not in isr for leader, _, isr in now.values())

        wait_until(moved_away, timeout=3, message=lambda: f"leadership moved: {partitions(controller.bootstrap, 'cs')}")

        # a partition whose first replica is in sync but does not lead is rebalanced back to it (the
        # replicas reordered through AlterPartitionReassignments at the wire: the order changes, not the
        # leader, until the imbalance check)
        index, (leader, replicas, isr) = next(iter(partitions(controller.bootstrap, "cs").items()))
        other = next(r for r in isr if r != leader)
        target = [other, *[r for r in replicas if r != other]]
        body = {
            "timeout": 30000,
            "topics": [{"name": "cs", "partitions": [{"partition_index": index, "replicas": target}]}],
        }
        answer = call(controller.bootstrap, ALTER_REASSIGNMENTS, 0, body)
        assert answer.responses[0].partitions[0].error_code == 0
        wait_until(
            lambda: partitions(controller.bootstrap, "cs")[index][0] == other,
            timeout=15,
            message="the automatic preferred election",
        )


def test_an_out_of_sync_replica_leads_only_by_an_unclean_election(tmp_path):
    """A controller and two brokers; two RF=2 topics on both brokers. Broker 3 dies (out of the ISRs),
    then broker 2, the last ISR member. Broker 3 comes back: where the topic allows unclean elections
    (set dynamically) it leads, with an ISR of itself (the records only broker 2 had are lost);
    elsewhere the partition stays leaderless (LEADER_NOT_AVAILABLE) until an unclean ElectLeaders asks
    for one. Broker 2 back is a follower."""
    with LocalCluster(controllers=1, brokers=2, base_dir=tmp_path, overrides=FAST) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="both brokers listed")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        topics = [NewTopic(name, num_partitions=1, replica_assignment=[[2, 3]]) for name in ("allowed", "strict")]
        for f in admin.create_topics(topics).values():
            f.result(30)
        resource = ConfigResource(ResourceType.TOPIC, "allowed")
        resource.add_incremental_config(
            ConfigEntry("unclean.leader.election.enable", "true", incremental_operation=AlterConfigOpType.SET)
        )
        admin.incremental_alter_configs([resource])[resource].result(30)

        def state(name: str, node: int):
            body = {"topics": [{"name": name, "topic_id": None}], "allow_auto_topic_creation": False}
            body |= {"include_topic_authorized_operations": False}
            [topic] = call(cluster.nodes[node].bootstrap, 3, 12, body).topics
            [p] = topic.partitions
            return p.error_code, p.leader_id, tuple(p.isr_nodes)

        wait_until(lambda: state("strict", 2) == (0, 2, (2, 3)), timeout=30, message="strict in sync")
        cluster.nodes[3].kill()
        wait_until(lambda: state("strict", 2) == (0, 2, (2,)), timeout=30, message="3 out of the ISR")
        cluster.nodes[2].kill()
        cluster.nodes[3].start()
        wait_until(lambda: state("allowed", 3) == (0, 3, (3,)), timeout=30, message="3 leads where unclean is allowed")
        wait_until(lambda: state("strict", 3) == (LEADER_NOT_AVAILABLE, -1, (2,)), timeout=30, message="offline")
        body = {"election_type": 1, "timeout": 30000, "topic_partitions": [{"topic": "strict", "partitions": [0]}]}
        [result] = call(cluster.nodes[3].bootstrap, ELECT_LEADERS, 1, body).replica_election_results
        assert result.partition_result[0].error_code == 0
        wait_until(lambda: state("strict", 3) == (0, 3, (3,)), timeout=30, message="the unclean election by request")
        cluster.nodes[2].start()
        wait_until(lambda: all_list_every_broker(cluster), timeout=30, message="broker 2 back")
        wait_until(
            lambda: state("strict", 2)[1] == 3 and state("allowed", 2)[1] == 3, timeout=30, message="2 a follower"
        )
