"""Kafka's own decoder reads the broker records Kavka's controller writes: a Kavka broker registers
itself, then a second broker registers, is unfenced by a heartbeat, takes the lead of a partition and
asks to shut down (its leadership moving to node 1), all through raw requests; ``kafka-dump-log
--cluster-metadata-decoder`` (Kafka 4.4's DumpLogSegments) on the metadata log prints each record with
the fields and versions Kafka's controller would have written."""

from __future__ import annotations

import json
import re
import uuid

from kavka.controller.features import SUPPORTED_FEATURES
from tests.broker.test_lifecycle import controller_node
from tests.clients import adminwire

DUMP = "org.apache.kafka.tools.DumpLogSegments"
CREATE_TOPICS, REGISTER, HEARTBEAT = 19, 62, 63


def _records(stdout: str) -> list[dict]:
    return [json.loads(m.group(1)) for m in re.finditer(r"payload: (\{.*\})\s*$", stdout, re.M)]


def test_kafka_decodes_the_broker_records(broker_factory, apache_kafka):
    b, controller = controller_node(broker_factory)
    cluster_id = adminwire.call(b.bootstrap, 60, 0, {"include_cluster_authorized_operations": False}).cluster_id
    directory = uuid.UUID(int=5 << 64)
    registered = adminwire.call(
        controller,
        REGISTER,
        4,
        {
            "broker_id": 2,
            "cluster_id": cluster_id,
            "incarnation_id": uuid.uuid4(),
            "listeners": [{"name": "PLAINTEXT", "host": "h2", "port": 9093, "security_protocol": 0}],
            "features": [
                {"name": n, "min_supported_version": lo, "max_supported_version": hi}
                for n, (lo, hi) in SUPPORTED_FEATURES.items()
            ],
            "rack": "rack-b",
            "log_dirs": [directory],
        },
    )
    epoch = registered.broker_epoch
    assert registered.error_code == 0 and epoch > 0

    def heartbeat(**flags):
        body = {"broker_id": 2, "broker_epoch": epoch, "current_metadata_offset": 2**40, "want_fence": False}
        return adminwire.call(controller, HEARTBEAT, 1, {**body, "want_shut_down": False, **flags})

    assert heartbeat().is_fenced is False
    topic = {"name": "led-by-2", "num_partitions": -1, "replication_factor": -1, "configs": []}
    topic["assignments"] = [{"partition_index": 0, "broker_ids": [2, 1]}]
    created = adminwire.call(b.bootstrap, CREATE_TOPICS, 7, {"topics": [topic], "timeout": 30000})
    assert created.topics[0].error_code == 0
    shutdown = heartbeat(want_shut_down=True)
    assert (shutdown.is_fenced, shutdown.should_shut_down) == (False, False)
    b.stop()

    segment = next((b.data_dir / "__cluster_metadata-0").glob("*.log"))
    done = apache_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", str(segment)])
    assert done.returncode == 0 and "Exception" not in done.stdout + done.stderr, done.stdout[-3000:]
    records = _records(done.stdout)
    registrations = [r for r in records if r["type"] == "REGISTER_BROKER_RECORD"]
    changes = [(r["version"], r["data"]) for r in records if r["type"] == "BROKER_REGISTRATION_CHANGE_RECORD"]

    # (node 1 registers itself through its own controller listener, before or after broker 2)
    [own_record] = [r for r in registrations if r["data"]["brokerId"] == 1]
    [other_record] = [r for r in registrations if r["data"]["brokerId"] == 2]
    own, other = own_record["data"], other_record["data"]
    assert own["fenced"] is True  # registered fenced, then unfenced by its heartbeat
    assert [c for c in changes if c[1]["brokerId"] == 1][0] == (
        0,
        {"brokerId": 1, "brokerEpoch": own["brokerEpoch"], "fenced": -1},
    )
    assert other_record["version"] == 3
    assert (other["brokerId"], other["brokerEpoch"], other["fenced"], other["rack"]) == (2, epoch, True, "rack-b")
    assert other["logDirs"] == ["AAAAAAAAAAUAAAAAAAAAAA"]  # Kafka's base64 form of the directory id
    # (node 1's own controlled shutdown at the stop adds its fencing record last: broker 2's are these)
    assert [c for c in changes if c[1]["brokerId"] == 2] == [
        (0, {"brokerId": 2, "brokerEpoch": epoch, "fenced": -1}),
        (1, {"brokerId": 2, "brokerEpoch": epoch, "inControlledShutdown": 1}),
    ]
    # broker 2's controlled shutdown moved its leadership to node 1 and took it out of the ISR, in a
    # PartitionChangeRecord Kafka reads as its own (v0: no directories, no ELR)
    moved = [(r["version"], r["data"]) for r in records if r["type"] == "PARTITION_CHANGE_RECORD"]
    assert moved[0][0] == 0
    assert {k: moved[0][1].get(k) for k in ("partitionId", "leader", "isr")} == {
        "partitionId": 0,
        "leader": 1,
        "isr": [1],
    }
