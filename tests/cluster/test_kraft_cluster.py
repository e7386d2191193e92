"""A KRaft cluster of real ``kavka serve`` processes: three combined nodes, and three controllers with
three brokers. What a user sees: every broker in Metadata from any node, topics created through any
node visible from all, records through every partition leader, the quorum as DescribeQuorum shows
it, and a new active controller after the old one is killed (kill -9), with CreateTopics working."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.clients.adminwire import call

DESCRIBE_QUORUM, METADATA = 55, 3
QUORUM_BODY = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]}


def describe_quorum(bootstrap: str):
    [topic] = call(bootstrap, DESCRIBE_QUORUM, 1, QUORUM_BODY).topics
    [partition] = topic.partitions
    return partition


def broker_ids(bootstrap: str, timeout: float = 5) -> set[int]:
    """The node ids ``bootstrap``'s own Metadata v12 answer (no topics) lists: what that broker says, not
    a client's merged view."""
    assert "," not in bootstrap, f"broker_ids asks one broker, not {bootstrap!r}"
    answer = call(bootstrap, 3, 12, {"topics": [], "allow_auto_topic_creation": False}, timeout=timeout)
    return {b.node_id for b in answer.brokers}


def all_list_every_broker(cluster: LocalCluster) -> bool:
    want = {n.node_id for n in cluster.brokers}
    try:
        return all(broker_ids(n.bootstrap) == want for n in cluster.brokers)
    except Exception:
        return False


@pytest.fixture
def combined(tmp_path):
    cluster = LocalCluster(nodes=3, base_dir=tmp_path)
    with cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed by every node")
        yield cluster


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)


def partitions_on(bootstrap: str, name: str) -> int:
    """How many partitions of ``name`` that very node's Metadata lists (0 when it does not know it):
    a raw request, since a client library may ask another broker it has learnt of."""
    body = {"topics": [{"name": name, "topic_id": None}], "allow_auto_topic_creation": False}
    body |= {"include_topic_authorized_operations": False}
    [topic] = call(bootstrap, METADATA, 12, body).topics
    return len(topic.partitions) if topic.error_code == 0 else 0


def visible_everywhere(cluster: LocalCluster, name: str, partitions: int) -> bool:
    return all(partitions_on(node.bootstrap, name) == partitions for node in cluster.brokers)


def test_three_combined_nodes_list_each_other_and_share_topics(combined):
    quorum = describe_quorum(controller_endpoint(combined.nodes[active_controller(combined)]))
    assert quorum.leader_id in combined.nodes and quorum.leader_epoch >= 1
    # created through a node, whichever is the active controller, and seen from every node
    create_topic(combined.brokers[2].bootstrap, "orders", 6)
    wait_until(lambda: visible_everywhere(combined, "orders", 6), timeout=30, message="orders on every node")

    # each partition has a leader among the three, and they are spread over the brokers
    # (a client may ask any broker, and each applies the metadata log on its own time, as on Kafka)
    def leaders():
        md = AdminClient({"bootstrap.servers": combined.bootstrap}).list_topics("orders", timeout=5)
        return {p.leader for p in md.topics["orders"].partitions.values()}

    wait_until(lambda: leaders() == {1, 2, 3}, timeout=30, message=lambda: f"leaders on 1-3, not {leaders()}")
    # records go to every partition's leader and come back; the idempotent producer's id comes from a
    # block the controller handed that broker (AllocateProducerIds); a topic is auto-created on first use
    producer = Producer({"bootstrap.servers": combined.bootstrap, "acks": "all", "enable.idempotence": True})
    errors = []
    for i in range(60):
        producer.produce("orders", key=str(i).encode(), value=b"v%d" % i, partition=i % 6)
    producer.produce("auto-created", value=b"first", on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(30) == 0
    assert errors == [None]
    wait_until(lambda: visible_everywhere(combined, "auto-created", 1), timeout=30, message="auto-created everywhere")
    consumer = Consumer(
        {"bootstrap.servers": combined.bootstrap, "group.id": f"g-{uuid.uuid4()}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(["orders"])
    seen = set()
    wait_until(lambda: _poll_into(consumer, seen) >= 60, timeout=60, message="60 records back")
    consumer.close()
    assert seen == {b"v%d" % i for i in range(60)}


def _poll_into(consumer, seen: set) -> int:
    msg = consumer.poll(0.5)
    if msg is not None and msg.error() is None:
        seen.add(msg.value())
    return len(seen)


def controller_endpoint(node) -> str:
    return f"127.0.0.1:{node.controller_port}"


def active_controller(cluster: LocalCluster) -> int:
    for node in cluster.nodes.values():
        if node.controller_port is None or not node.is_running():
            continue
        try:
            p = describe_quorum(controller_endpoint(node))
        except OSError:
            continue
        if p.error_code == 0:
            return p.leader_id
    return -1


def test_killing_the_active_controller_elects_another_and_create_topics_works(combined):
    old = active_controller(combined)
    assert old in combined.nodes
    combined.nodes[old].kill()
    survivors = [n for i, n in combined.nodes.items() if i != old]
    wait_until(lambda: active_controller(combined) not in (-1, old), timeout=30, message="a new active controller")
    create_topic(survivors[0].bootstrap, "after-failover", 2)
    wait_until(
        lambda: all(partitions_on(n.bootstrap, "after-failover") == 2 for n in survivors),
        timeout=30,
        message="the new topic on both survivors",
    )
    # the killed node comes back, catches up, and sees what was created while it was down
    combined.nodes[old].start()
    back = combined.nodes[old]
    wait_until(
        lambda: partitions_on(back.bootstrap, "after-failover") == 2,
        timeout=30,
        message="the restarted node catching up",
    )


def test_describe_quorum_shows_every_voter_caught_up(combined):
    leader_id = active_controller(combined)
    leader = combined.nodes[leader_id]

    def caught_up():
        p = describe_quorum(controller_endpoint(leader))
        voters = {v.replica_id: v for v in p.current_voters}
        return set(voters) == {1, 2, 3} and all(v.log_end_offset == p.high_watermark for v in voters.values())

    wait_until(caught_up, timeout=30, message="every voter at the high watermark")


def test_kafka_metadata_quorum_with_bootstrap_controller(combined, apache_kafka):
    """KIP-919: ``kafka-metadata-quorum --bootstrap-controller`` talks to the controllers alone
    (DescribeCluster with endpoint type CONTROLLER, then DescribeQuorum at the active controller). From
    any node's CONTROLLER listener it prints the quorum, as it does against Apache Kafka's controller;
    a broker listener refuses the controller endpoint type with Kafka's error."""
    tool = "org.apache.kafka.tools.MetadataQuorumCommand"
    theirs = apache_kafka.run_tool(
        tool, ["--bootstrap-controller", f"{apache_kafka.host}:{apache_kafka.controller_port}", "describe", "--status"]
    )
    assert theirs.returncode == 0, theirs.stderr
    leader = active_controller(combined)
    for node in combined.nodes.values():
        ours = apache_kafka.run_tool(
            tool, ["--bootstrap-controller", controller_endpoint(node), "describe", "--status"]
        )
        assert ours.returncode == 0, ours.stderr
        assert f"LeaderId:               {leader}\n" in ours.stdout, ours.stdout
        assert [line.split(":")[0] for line in ours.stdout.splitlines()] == [
            line.split(":")[0] for line in theirs.stdout.splitlines()
        ]
    node = next(iter(combined.nodes.values()))
    wrong = apache_kafka.run_tool(tool, ["--bootstrap-controller", node.bootstrap, "describe", "--status"])
    assert wrong.returncode != 0
    assert "sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER" in wrong.stderr
