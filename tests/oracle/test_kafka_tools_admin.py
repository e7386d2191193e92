"""Kafka's admin tools against Apache Kafka and Kavka, after the same records with the same timestamps:
kafka-get-offsets (--time -1/-2/-3 and a timestamp), kafka-delete-records, kafka-log-dirs,
kafka-leader-election, kafka-metadata-quorum describe, and kafka-verifiable-producer/-consumer. The
outputs must match line for line once ports, paths, ids and clocks are normalised;
known.TOOL_DIFFERENCES_ADMIN lists what still differs (docs/compatibility.md says why).
"""

from __future__ import annotations

import json
import re
import uuid

from confluent_kafka import Producer

from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import record
from tests.oracle.oracletools import ToolRun, both

BASE_TS = 1_700_000_000_000
_CLUSTER_ID = (re.compile(r"(ClusterId:\s+)\S+"), r"\1<cluster-id>")
_NUMBER_AFTER = [(re.compile(rf"({name}:\s+)\d+"), rf"\1<{name.lower()}>") for name in ("HighWatermark", "LeaderEpoch")]
_DIRECTORY_ID = (re.compile(r'("directoryId": ")[A-Za-z0-9_-]{22}'), r"\1<directory-id>")
_PORT = (re.compile(r"(127\.0\.0\.1):\d+"), r"\1:<port>")
_TIMESTAMP = (re.compile(r'"timestamp":\d+'), '"timestamp":<ts>')


def _produce(bootstrap: str, topic: str) -> None:
    """Ten records, five per partition, one batch each, timestamps BASE_TS + i seconds."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": False})
    for i in range(10):
        producer.produce(topic, partition=i % 2, key=b"k%d" % i, value=b"v%d" % i, timestamp=BASE_TS + i * 1000)
        producer.flush(30)
    assert producer.flush(30) == 0


def test_offsets_delete_records_log_dirs_and_elections(apache_kafka, broker, tmp_path):
    topic = f"tools-{uuid.uuid4().hex[:8]}"
    renames = {topic: "<topic>"}
    found = {}

    def tool(main, args, **kw):
        return both(apache_kafka, broker, main, args, renames, **kw)

    # retention.ms=-1: the records' timestamps are years old, and time retention would delete them
    # whenever each broker's retention check comes round.
    tool("TopicCommand", ["--create", "--topic", topic, "--partitions", "2", "--config", "retention.ms=-1"])
    for target in (apache_kafka, broker):
        _produce(target.bootstrap, topic)
    expected = {
        "-1": ["<topic>:0:5", "<topic>:1:5"],  # latest
        "-2": ["<topic>:0:0", "<topic>:1:0"],  # earliest
        "-3": ["<topic>:0:4", "<topic>:1:4"],  # the record with the largest timestamp
        str(BASE_TS + 4500): ["<topic>:0:3", "<topic>:1:2"],  # the first record at or after the time
    }
    for time, lines in expected.items():
        run = tool("GetOffsetShell", ["--topic", topic, "--time", time])
        assert run.kafka == lines
        found[f"get-offsets {time}"] = run.one_sided()

    # One partition trimmed to offset 2, one asked beyond its end: low watermark and error, in the
    # order of an unordered map (so compared sorted).
    plan = tmp_path / "delete.json"
    partitions = [{"topic": topic, "partition": 0, "offset": 2}, {"topic": topic, "partition": 1, "offset": 99}]
    plan.write_text(json.dumps({"version": 1, "partitions": partitions}))
    run = tool("DeleteRecordsCommand", ["--offset-json-file", str(plan)])
    assert "partition: <topic>-0\tlow_watermark: 2" in run.kafka, run.kafka
    assert any(line.startswith("partition: <topic>-1\terror: ") for line in run.kafka), run.kafka
    found["delete-records"] = run.one_sided()
    run = tool("GetOffsetShell", ["--topic", topic, "--time", "-2"])
    assert run.kafka == ["<topic>:0:2", "<topic>:1:0"]
    found["get-offsets after delete"] = run.one_sided()

    run = tool("LogDirsCommand", ["--describe", "--topic-list", topic])
    # One JSON line; the partitions come in the order of a hash map, so they are compared sorted.
    described = []
    for side in (run.kafka, run.kavka):
        answer = json.loads(side[-1])
        for dir_ in answer["brokers"][0]["logDirs"]:
            dir_["partitions"].sort(key=lambda p: p["partition"])
        described.append(answer)
    assert [p["partition"] for p in described[0]["brokers"][0]["logDirs"][0]["partitions"]] == [
        "<topic>-0",
        "<topic>-1",
    ]
    found["log-dirs"] = ([], []) if described[0] == described[1] else (run.kafka, run.kavka)
    found["log-dirs header"] = ToolRun(run.kafka[:-1], run.kavka[:-1]).one_sided()

    run = tool("LeaderElectionCommand", ["--election-type", "preferred", "--topic", topic, "--partition", "0"])
    assert run.kafka == ["Valid replica already elected for partitions <topic>-0"]
    found["leader-election preferred"] = run.one_sided()
    run = tool("LeaderElectionCommand", ["--election-type", "unclean", "--all-topic-partitions"])
    found["leader-election unclean all"] = run.one_sided()
    record("tools-admin", found := {k: v for k, v in found.items() if v != ([], [])})
    assert found == known.TOOL_DIFFERENCES_ADMIN


def test_metadata_quorum(apache_kafka, broker):
    found = {}
    subs = [_CLUSTER_ID, *_NUMBER_AFTER, _DIRECTORY_ID, _PORT, (re.compile(r"(?<=:) {2,}"), " ")]
    run = both(apache_kafka, broker, "MetadataQuorumCommand", ["describe", "--status"], subs=subs)
    assert run.kafka[:3] == ["ClusterId: <cluster-id>", "LeaderId: 1", "LeaderEpoch: <leaderepoch>"]
    found["status"] = run.one_sided()
    # NodeId DirectoryId LogEndOffset Lag LastFetchTimestamp LastCaughtUpTimestamp Status: keep what
    # two clusters share (the clocks and the metadata log's length are their own).
    run = both(apache_kafka, broker, "MetadataQuorumCommand", ["describe", "--replication"])
    zero = "AAAAAAAAAAAAAAAAAAAAAA"  # Uuid.ZERO_UUID: no directory id
    rows = [
        [cells[0], "<none>" if cells[1] == zero else "<directory-id>", cells[3], cells[6]]
        for cells in ([c.strip() for c in line.split("\t")] for line in (run.kafka[1], run.kavka[1]))
    ]
    assert rows[0] == ["1", "<directory-id>", "0", "Leader"], run.kafka
    found["replication"] = ([], []) if rows[0] == rows[1] else (["\t".join(rows[0])], ["\t".join(rows[1])])
    record("tools-quorum", found := {k: v for k, v in found.items() if v != ([], [])})
    assert found == known.TOOL_DIFFERENCES_QUORUM


def test_verifiable_producer_and_consumer(apache_kafka, broker):
    topic, group = f"tools-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    renames = {topic: "<topic>", group: "<group>"}
    both(apache_kafka, broker, "TopicCommand", ["--create", "--topic", topic, "--partitions", "1"], renames)
    run = both(
        apache_kafka, broker, "VerifiableProducer", ["--topic", topic, "--max-messages", "20", "--acks", "-1"], renames
    )
    for lines in (run.kafka, run.kavka):
        events = [json.loads(line) for line in lines]
        acked = [(e["partition"], e["offset"], e["value"]) for e in events if e["name"] == "producer_send_success"]
        assert acked == [(0, i, str(i)) for i in range(20)]
        assert events[-1]["sent"] == events[-1]["acked"] == 20
    run = both(
        apache_kafka,
        broker,
        "VerifiableConsumer",
        ["--topic", topic, "--group-id", group, "--max-messages", "20", "--reset-policy", "earliest"],
        renames,
        subs=[_TIMESTAMP],
    )
    assert (
        '{"timestamp":<ts>,"name":"records_consumed","count":20,"partitions":[{"topic":"<topic>","partition":0,'
        '"count":20,"minOffset":0,"maxOffset":19}]}' in run.kafka
    ), run.kafka
    assert run.kafka == run.kavka
