"""BrokerRegistration, BrokerHeartbeat and AllocateProducerIds answered by Kafka 4.4's controller and by
Kavka's, step by step: the same raw requests from a pretend broker 17 (registering, heartbeating behind
and then caught up, a duplicate process, the same process again, a stale epoch, a controlled
shutdown, a producer id block), the answers compared with the broker epoch normalised. Both answer on
their CONTROLLER listener (Kavka's: a node that is its quorum's only voter). Broker 17 is unregistered
afterwards on Kafka, so the session's brokers are as they were."""

from __future__ import annotations

import uuid

from tests.broker.test_lifecycle import controller_node
from tests.oracle.oraclefixtures import oracle  # noqa: F401  (the fixture)
from tests.oracle.oraclewire import API_VERSIONS, DESCRIBE_CLUSTER, call

REGISTER, HEARTBEAT, UNREGISTER, ALLOCATE = 62, 63, 64, 67
BROKER = 17
CAUGHT_UP = 2**40  # a metadata offset beyond any registration record


def _scenario(bootstrap: str, controller: str) -> list[tuple[str, dict]]:
    cluster_id = call(bootstrap, DESCRIBE_CLUSTER, 0, {"include_cluster_authorized_operations": False})["cluster_id"]
    versions = call(bootstrap, API_VERSIONS, 4, {"client_software_name": "t", "client_software_version": "1"})
    features = [
        {"name": f["name"], "min_supported_version": f["min_version"], "max_supported_version": f["max_version"]}
        for f in versions["supported_features"]
    ]
    finalized_mv = next(
        f["max_version_level"] for f in versions["finalized_features"] if f["name"] == "metadata.version"
    )
    too_old = [
        {**f, "max_supported_version": finalized_mv - 1} if f["name"] == "metadata.version" else f for f in features
    ]
    first, second = uuid.uuid4(), uuid.uuid4()

    def register(incarnation, **changes):
        body = {
            "broker_id": BROKER,
            "cluster_id": cluster_id,
            "incarnation_id": incarnation,
            "listeners": [{"name": "PLAINTEXT", "host": "localhost", "port": 19092, "security_protocol": 0}],
            "features": features,
            "rack": None,
            "is_migrating_zk_broker": False,
            "log_dirs": [uuid.UUID(int=17 << 64)],
            "previous_broker_epoch": -1,
        }
        return call(controller, REGISTER, 4, {**body, **changes})

    def heartbeat(epoch, offset, **flags):
        body = {"broker_id": BROKER, "broker_epoch": epoch, "current_metadata_offset": offset}
        body |= {"want_fence": False, "want_shut_down": False, "offline_log_dirs": [], **flags}
        return call(controller, HEARTBEAT, 1, body)

    steps: list[tuple[str, dict]] = []
    steps.append(("wrong cluster id", register(first, cluster_id="AAAAAAAAAAAAAAAAAAAAAA")))
    steps.append(
        ("no metadata.version", register(first, features=[f for f in features if f["name"] != "metadata.version"]))
    )
    steps.append(("no log dirs", register(first, log_dirs=[])))
    steps.append(("metadata.version below the finalized one", register(first, features=too_old)))
    steps.append(("heartbeat before registering", heartbeat(0, 0)))
    registered = register(first)
    epoch = registered["broker_epoch"]
    steps.append(("register", registered))
    try:
        steps.append(("stale epoch", heartbeat(epoch + 1, CAUGHT_UP)))
        steps.append(("behind", heartbeat(epoch, 0)))
        steps.append(("another process, same id", register(second)))
        steps.append(("the same process again", register(first)))
        steps.append(("caught up", heartbeat(epoch, CAUGHT_UP)))
        steps.append(
            (
                "producer ids, stale epoch",
                call(controller, ALLOCATE, 0, {"broker_id": BROKER, "broker_epoch": epoch - 1}),
            )
        )
        block = call(controller, ALLOCATE, 0, {"broker_id": BROKER, "broker_epoch": epoch})
        steps.append(("producer ids", {**block, "producer_id_start": block["producer_id_start"] >= 0}))
        steps.append(("shut down", heartbeat(epoch, CAUGHT_UP, want_shut_down=True)))
        steps.append(("shut down again", heartbeat(epoch, CAUGHT_UP, want_shut_down=True)))
    finally:
        gone = call(controller, UNREGISTER, 0, {"broker_id": BROKER})
    steps.append(("unregister", gone))
    for _, answer in steps:
        if answer.get("broker_epoch") == epoch and epoch >= 0:
            answer["broker_epoch"] = "<epoch>"
    return steps


def test_broker_lifecycle_requests_answered_as_kafka(oracle, broker_factory):  # noqa: F811
    kafka = _scenario(oracle.kafka.bootstrap, f"{oracle.kafka.host}:{oracle.kafka.controller_port}")
    node, controller = controller_node(broker_factory)
    kavka = _scenario(node.bootstrap, controller)
    assert dict(kafka)["register"]["error_code"] == 0
    assert kavka == kafka
