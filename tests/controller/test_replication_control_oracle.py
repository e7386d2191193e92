"""AlterPartition, ElectLeaders and a controlled shutdown that moves a leadership, answered by Kafka 4.4's
controller and by Kavka's, step by step. A pretend broker 17 registers and catches up (unfenced), a
topic is created on replicas [17, 1] so that 17 leads it, and 17 sends AlterPartition as that leader:
each of Kafka's refusals in turn (stale broker epoch, unknown topic id and partition, a leader epoch
ahead of and behind the controller's, an ISR with a non-replica, without the leader, with a member at
another broker epoch, a leader recovery state going back to RECOVERING, a stale partition epoch), a
shrink and an expansion. A second topic's replicas are reordered and a preferred election moves its
leadership; a move onto 17 (which never fetches) stays in progress, is listed and cancelled. Then 17
asks to shut down:
its leadership moves to broker 1 and it leaves the ISR, which Metadata shows. The answers are compared
with ids normalised; 17 is unregistered and the topic deleted afterwards on Kafka."""

from __future__ import annotations

import uuid

from kavka.testing.process import wait_until
from tests.broker.test_lifecycle import controller_node
from tests.oracle.oraclefixtures import oracle  # noqa: F401  (the fixture)
from tests.oracle.oraclewire import API_VERSIONS, DESCRIBE_CLUSTER, call

REGISTER, HEARTBEAT, UNREGISTER, ALTER_PARTITION = 62, 63, 64, 56
CREATE_TOPICS, DELETE_TOPICS, ELECT_LEADERS, METADATA = 19, 20, 43, 3
ALTER_REASSIGNMENTS, LIST_REASSIGNMENTS = 45, 46
BROKER = 17
CAUGHT_UP = 2**40


def _register(bootstrap: str, controller: str) -> int:
    cluster_id = call(bootstrap, DESCRIBE_CLUSTER, 0, {"include_cluster_authorized_operations": False})["cluster_id"]
    versions = call(bootstrap, API_VERSIONS, 4, {"client_software_name": "t", "client_software_version": "1"})
    features = [
        {"name": f["name"], "min_supported_version": f["min_version"], "max_supported_version": f["max_version"]}
        for f in versions["supported_features"]
    ]
    body = {
        "broker_id": BROKER,
        "cluster_id": cluster_id,
        "incarnation_id": uuid.uuid4(),
        "listeners": [{"name": "PLAINTEXT", "host": "localhost", "port": 19092, "security_protocol": 0}],
        "features": features,
        "rack": None,
        "is_migrating_zk_broker": False,
        "log_dirs": [uuid.UUID(int=17 << 64)],
        "previous_broker_epoch": -1,
    }
    answer = call(controller, REGISTER, 4, body)
    assert answer["error_code"] == 0, answer
    return answer["broker_epoch"]


def _heartbeat(controller: str, epoch: int, **flags) -> dict:
    body = {"broker_id": BROKER, "broker_epoch": epoch, "current_metadata_offset": CAUGHT_UP}
    return call(
        controller, HEARTBEAT, 1, body | {"want_fence": False, "want_shut_down": False, "offline_log_dirs": []} | flags
    )


def _partition(bootstrap: str, name: str) -> dict:
    body = {"topics": [{"name": name, "topic_id": None}], "allow_auto_topic_creation": False}
    body |= {"include_topic_authorized_operations": False}
    [topic] = call(bootstrap, METADATA, 12, body)["topics"]
    [p] = topic["partitions"]
    return {k: p[k] for k in ("error_code", "leader_id", "leader_epoch", "replica_nodes", "isr_nodes")}


def _create(bootstrap: str, name: str, replicas: list[int]) -> uuid.UUID:
    topic = {"name": name, "num_partitions": -1, "replication_factor": -1, "configs": []}
    topic["assignments"] = [{"partition_index": 0, "broker_ids": replicas}]
    created = call(bootstrap, CREATE_TOPICS, 7, {"topics": [topic], "timeout": 30000, "validate_only": False})
    [t] = created["topics"]
    assert t["error_code"] == 0, t
    return t["topic_id"]


def _reassign(bootstrap: str, name: str, replicas: list[int] | None, version: int = 0) -> dict:
    body = {"timeout": 30000, "topics": [{"name": name, "partitions": [{"partition_index": 0, "replicas": replicas}]}]}
    if version >= 1:
        body["allow_replication_factor_change"] = False
    answer = call(bootstrap, ALTER_REASSIGNMENTS, version, body)
    for t in answer["responses"]:
        t["name"] = "<topic>"
    return answer


def _listed(bootstrap: str, name: str) -> dict:
    answer = call(
        bootstrap, LIST_REASSIGNMENTS, 0, {"timeout": 30000, "topics": [{"name": name, "partition_indexes": [0]}]}
    )
    for t in answer["topics"]:
        t["name"] = "<topic>"
    return answer


def _scenario(bootstrap: str, controller: str) -> list[tuple[str, object]]:
    epoch = _register(bootstrap, controller)
    name = f"ap-{uuid.uuid4().hex[:8]}"
    reordered, moving = f"re-{uuid.uuid4().hex[:8]}", f"mv-{uuid.uuid4().hex[:8]}"
    steps: list[tuple[str, object]] = []
    try:
        assert not _heartbeat(controller, epoch)["is_fenced"]
        topic_id = _create(bootstrap, name, [BROKER, 1])
        wait_until(lambda: _partition(bootstrap, name)["leader_id"] == BROKER, timeout=30, message="17 leads")

        def alter(
            isr, leader_epoch=0, partition_epoch=0, broker_epoch=epoch, tid=topic_id, index=0, epochs=None, recovery=0
        ):
            members = [{"broker_id": b, "broker_epoch": (epochs or {}).get(b, -1)} for b in isr]
            data = {
                "partition_index": index,
                "leader_epoch": leader_epoch,
                "new_isr_with_epochs": members,
                "leader_recovery_state": recovery,
                "partition_epoch": partition_epoch,
            }
            body = {
                "broker_id": BROKER,
                "broker_epoch": broker_epoch,
                "topics": [{"topic_id": tid, "partitions": [data]}],
            }
            answer = call(controller, ALTER_PARTITION, 3, body)
            for topic in answer["topics"]:
                topic["topic_id"] = "<topic-id>" if topic["topic_id"] == topic_id else "<another-id>"
            return answer

        steps.append(("stale broker epoch", alter([BROKER], broker_epoch=epoch + 1)))
        steps.append(("unknown topic id", alter([BROKER], tid=uuid.uuid4())))
        steps.append(("unknown partition", alter([BROKER], index=5)))
        steps.append(("leader epoch ahead", alter([BROKER], leader_epoch=1)))
        steps.append(("partition epoch ahead", alter([BROKER], partition_epoch=1)))
        steps.append(("leader epoch behind", alter([BROKER], leader_epoch=-1)))
        steps.append(("not a replica", alter([BROKER, 99])))
        steps.append(("without the leader", alter([1])))
        steps.append(("a member at another broker epoch", alter([BROKER, 1], epochs={1: 123456789})))
        steps.append(("recovering, with a follower", alter([BROKER, 1], recovery=1)))
        steps.append(("recovered to recovering", alter([BROKER], recovery=1)))
        steps.append(("shrink", alter([BROKER])))
        steps.append(("stale partition epoch", alter([BROKER, 1])))
        steps.append(("expand", alter([BROKER, 1], partition_epoch=1)))
        elect = {"election_type": 0, "topic_partitions": [{"topic": name, "partitions": [0]}], "timeout": 30000}
        steps.append(("preferred election, not needed", call(bootstrap, ELECT_LEADERS, 2, elect)))

        # a second topic led by 17: its replicas reordered (done at once: both in sync, the leader stays),
        # then a preferred election moves the leadership to the new first replica
        _create(bootstrap, reordered, [BROKER, 1])
        wait_until(lambda: _partition(bootstrap, reordered)["leader_id"] == BROKER, timeout=30, message="17 leads")
        steps.append(("reorder", _reassign(bootstrap, reordered, [1, BROKER])))
        wait_until(lambda: _partition(bootstrap, reordered)["replica_nodes"] == [1, BROKER], timeout=30)
        steps.append(("reordered", _partition(bootstrap, reordered)))
        steps.append(("reordered, nothing listed", _listed(bootstrap, reordered)))
        elect2 = {**elect, "topic_partitions": [{"topic": reordered, "partitions": [0]}]}
        steps.append(("preferred election", call(bootstrap, ELECT_LEADERS, 2, elect2)))
        wait_until(lambda: _partition(bootstrap, reordered)["leader_id"] == 1, timeout=30, message="1 leads")
        steps.append(("elected", _partition(bootstrap, reordered)))

        # a move onto 17, which never fetches: in progress, listed, then cancelled
        _create(bootstrap, moving, [1])
        steps.append(("another replication factor (v1)", _reassign(bootstrap, moving, [1, BROKER], version=1)))
        steps.append(("move", _reassign(bootstrap, moving, [1, BROKER])))
        steps.append(("moving, listed", _listed(bootstrap, moving)))
        wait_until(lambda: _partition(bootstrap, moving)["replica_nodes"] == [1, BROKER], timeout=30)
        steps.append(("moving", _partition(bootstrap, moving)))
        steps.append(("cancel", _reassign(bootstrap, moving, None)))
        steps.append(("cancelled, nothing listed", _listed(bootstrap, moving)))
        steps.append(("cancel again", _reassign(bootstrap, moving, None)))
        reply = _heartbeat(controller, epoch, want_shut_down=True)
        steps.append(("enter controlled shutdown", {k: reply[k] for k in ("error_code", "is_fenced")}))
        wait_until(lambda: _partition(bootstrap, name)["leader_id"] == 1, timeout=30, message="broker 1 leads")
        steps.append(("leadership moved", _partition(bootstrap, name)))
        steps.append(("preferred election, 17 shutting down", call(bootstrap, ELECT_LEADERS, 2, elect)))
    finally:
        call(controller, UNREGISTER, 0, {"broker_id": BROKER})
        gone = [{"name": n, "topic_id": None} for n in (name, reordered, moving)]
        call(bootstrap, DELETE_TOPICS, 6, {"topics": gone, "timeout": 30000})
    for _, answer in steps:
        if isinstance(answer, dict):
            for result in answer.get("replica_election_results", ()):
                result["topic"] = "<topic>"
    return steps


def test_alter_partition_and_leadership_moves_answered_as_kafka(oracle, broker_factory):  # noqa: F811
    kafka = _scenario(oracle.kafka.bootstrap, f"{oracle.kafka.host}:{oracle.kafka.controller_port}")
    node, controller = controller_node(broker_factory)
    kavka = _scenario(node.bootstrap, controller)
    assert dict(kafka)["shrink"]["topics"][0]["partitions"][0]["error_code"] == 0
    for (step, want), (_, got) in zip(kafka, kavka, strict=True):
        assert got == want, step
