"""Metadata snapshots both ways between Kavka and Apache Kafka 4.4.

- Kafka reads Kavka's: a Kavka broker gets topics, topic and broker configs and client quotas through
  real clients; the image its metadata log holds is written with ``snapshot_bytes``, and Kafka's
  ``kafka-dump-log --cluster-metadata-decoder`` decodes the file and shows the topics, partitions,
  brokers, configs and quotas the broker answered with. (Kafka's metadata shell, ``kafka-shell``, is not
  published on Maven Central for 4.4.0, so the pinned class path has no ``MetadataShell``.)
- Kafka starts from Kavka's: a Kafka node with a static voter, formatted and given that snapshot as the
  latest of its metadata log, loads it and serves the same topics (ids too), configs and quotas.
- Kavka reads Kafka's: a Kafka node told to snapshot after every batch
  (``metadata.log.max.record.bytes.between.snapshots=1``) writes ``.checkpoint`` files under its data
  dir; ``image_from_snapshot`` reads the latest into an image with the topics, partitions, configs and
  quotas Kafka answers with. The records Kavka does not read are named; the known ones equal, record for
  record, what ``image_to_records`` writes for the image read; and both pack more than 1024 records
  under 8 MiB into one batch.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from confluent_kafka import TopicCollection
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic, ResourceType

from kavka.metadata.image import MetadataDelta, MetadataImage
from kavka.metadata.image_records import image_to_records
from kavka.metadata.records import (
    ClientQuotaRecord,
    ConfigRecord,
    ConfigResourceType,
    FeatureLevelRecord,
    TopicRecord,
    decode_record,
)
from kavka.protocol.batch import CONTROL_BIT
from kavka.protocol.records import iter_batches, iter_records
from kavka.raft.control_records import parse_snapshot_name, read_snapshot_records, snapshot_file_name
from kavka.raft.snapshots import image_from_snapshot, snapshot_bytes
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, wait_until
from tests.needs import require_kafka
from tests.oracle.oraclewire import BROKER, INCREMENTAL_ALTER_CONFIGS, call

DUMP = "org.apache.kafka.tools.DumpLogSegments"
DESCRIBE_CLIENT_QUOTAS, ALTER_CLIENT_QUOTAS = 48, 49
TOPICS = {"orders": (3, {"cleanup.policy": "compact"}), "events": (2, {"retention.ms": "3600000"})}
QUOTAS = [
    ((("user", "alice"),), "producer_byte_rate", 1024.0),
    ((("user", "bob"), ("client-id", "app")), "consumer_byte_rate", 2048.0),
    ((("ip", None),), "connection_creation_rate", 5.0),
]
BROKER_DEFAULT = ("log.retention.ms", "7200000")


@pytest.fixture(scope="module")
def snapshotting_kafka(tmp_path_factory):
    """A Kafka node of its own that writes a snapshot after every committed batch."""
    require_kafka()
    kafka = ApacheKafka(
        tmp_path_factory.mktemp("kafka-snapshots"),
        overrides={"metadata.log.max.record.bytes.between.snapshots": "1", "num.partitions": "1"},
    )
    kafka.start()
    try:
        yield kafka
    finally:
        try:
            kafka.stop()
        finally:
            kafka.cleanup()


def _kafka_uuid(value: uuid.UUID) -> str:
    """A UUID as Kafka prints it (``Uuid.toString``: URL-safe base64, no padding)."""
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode()


def _populate(bootstrap: str) -> None:
    """Topics with configs, a cluster-wide broker config and client quotas, through real clients."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(name, n, 1, config=configs) for name, (n, configs) in TOPICS.items()]
    for f in admin.create_topics(new).values():
        f.result(30)
    # The cluster-wide default (resource name ""), which confluent-kafka's AdminClient cannot name.
    name, value = BROKER_DEFAULT
    resource = {
        "resource_type": BROKER,
        "resource_name": "",
        "configs": [{"name": name, "config_operation": 0, "value": value}],
    }
    answer = call(bootstrap, INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [resource], "validate_only": False})
    assert [r["error_code"] for r in answer["responses"]] == [0], answer
    entries = [
        {
            "entity": [{"entity_type": t, "entity_name": n} for t, n in entity],
            "ops": [{"key": key, "value": value, "remove": False}],
        }
        for entity, key, value in QUOTAS
    ]
    answer = call(bootstrap, ALTER_CLIENT_QUOTAS, 1, {"entries": entries, "validate_only": False})
    assert all(e["error_code"] == 0 for e in answer["entries"]), answer


def _cluster_view(bootstrap: str) -> tuple[dict, dict]:
    """What the broker answers: {broker id: (host, port)} and {topic: {partition: (leader, replicas, isr)}}."""
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30)
    brokers = {b.id: (b.host, b.port) for b in md.brokers.values()}
    topics = {
        name: {p.id: (p.leader, list(p.replicas), list(p.isrs)) for p in t.partitions.values()}
        for name, t in md.topics.items()
        if name in TOPICS
    }
    return brokers, topics


def _log_image(log_dir: Path, cluster_id: str | None) -> tuple[MetadataImage, int]:
    """The image a stopped broker's ``__cluster_metadata-0`` holds, and the log's end offset."""
    delta = MetadataDelta(MetadataImage.empty(cluster_id))
    end = 0
    for segment in sorted(log_dir.glob("*.log")):
        for header, record in iter_records(segment.read_bytes()):
            end = record.offset + 1
            if not header.attributes & CONTROL_BIT:
                delta.replay(decode_record(bytes(record.value or b"")))
    return delta.build(), end


def _payloads(out: str) -> dict[str, list[dict]]:
    by_type: dict[str, list[dict]] = {}
    for m in re.finditer(r"payload: (\{.*\})\s*$", out, re.M):
        record = json.loads(m.group(1))
        by_type.setdefault(record["type"], []).append(record["data"])
    return by_type


@dataclass
class KavkaState:
    image: MetadataImage  # what the broker's metadata log holds
    end: int  # the log's end offset
    brokers: dict  # what the broker answered: {id: (host, port)}
    topics: dict  # {topic: {partition: (leader, replicas, isr)}}


@pytest.fixture(scope="module")
def kavka_state(tmp_path_factory) -> Iterator[KavkaState]:
    """A Kavka broker given topics, configs and quotas by real clients, then stopped; its image."""
    broker = BrokerProcess(tmp_path_factory.mktemp("kavka-snapshot") / "data")
    broker.start()
    try:
        _populate(broker.bootstrap)
        brokers, topics = _cluster_view(broker.bootstrap)
        broker.stop()
        image, end = _log_image(broker.data_dir / "__cluster_metadata-0", None)
        yield KavkaState(image, end, brokers, topics)
    finally:
        broker.stop()
        broker.cleanup()


def test_kafka_dump_log_reads_kavkas_snapshot(kavka_state, snapshotting_kafka, tmp_path):
    image, end, brokers, topics = kavka_state.image, kavka_state.end, kavka_state.brokers, kavka_state.topics
    assert set(TOPICS) <= set(image.topics_by_name)

    path = tmp_path / snapshot_file_name(end, 1)
    path.write_bytes(snapshot_bytes(image, end_offset=end, epoch=1, last_timestamp=1_700_000_000_000, now_ms=1))
    done = snapshotting_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", str(path)])
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Exception" not in out and "Error" not in out, out[-3000:]
    assert f"Snapshot end offset: {end}, epoch: 1" in out
    assert 'SnapshotHeader {"version":0,"lastContainedLogTimestamp":1700000000000}' in out
    assert 'SnapshotFooter {"version":0}' in out
    records = _payloads(done.stdout)

    first = re.search(r"payload: (\{.*\})\s*$", done.stdout, re.M)
    assert first is not None and json.loads(first.group(1))["data"]["name"] == "metadata.version"
    shown_brokers = {
        r["brokerId"]: [(e["host"], e["port"]) for e in r["endPoints"]] for r in records["REGISTER_BROKER_RECORD"]
    }
    assert {i: [hp] for i, hp in brokers.items()} == shown_brokers
    ids = {r["name"]: r["topicId"] for r in records["TOPIC_RECORD"]}
    assert {name: ids[name] for name in TOPICS} == {
        name: _kafka_uuid(image.topics_by_name[name].topic_id) for name in TOPICS
    }
    shown_partitions: dict[str, dict] = {}
    by_id = {v: k for k, v in ids.items()}
    for p in records["PARTITION_RECORD"]:
        shown_partitions.setdefault(by_id[p["topicId"]], {})[p["partitionId"]] = (p["leader"], p["replicas"], p["isr"])
    assert {name: shown_partitions[name] for name in TOPICS} == topics
    configs = {(c["resourceType"], c["resourceName"], c["name"]): c["value"] for c in records["CONFIG_RECORD"]}
    for name, (_, topic_configs) in TOPICS.items():
        for key, value in topic_configs.items():
            assert configs[(ConfigResourceType.TOPIC, name, key)] == value
    assert configs[(ConfigResourceType.BROKER, "", BROKER_DEFAULT[0])] == BROKER_DEFAULT[1]
    quotas = {
        (frozenset((e["entityType"], e["entityName"]) for e in q["entity"]), q["key"]): q["value"]
        for q in records["CLIENT_QUOTA_RECORD"]
    }
    assert quotas == {(frozenset(entity), key): value for entity, key, value in QUOTAS}


def _latest_snapshot_with_everything(log_dir: Path, cluster_id: str):
    """(file, image, skipped reasons) of the newest snapshot holding every topic and quota, or None."""
    for path in sorted(log_dir.glob("*.checkpoint"), key=lambda p: parse_snapshot_name(p.name) or (0, 0))[::-1]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # Kafka deletes snapshots that fall behind its retention
            continue
        skipped: list[str] = []
        image = image_from_snapshot(data, cluster_id, on_unknown=skipped.append)
        if set(TOPICS) <= set(image.topics_by_name) and len(image.client_quotas) == len(QUOTAS):
            return data, image, skipped
        return None
    return None


def test_kavka_reads_kafkas_snapshot(snapshotting_kafka):
    kafka = snapshotting_kafka
    _populate(kafka.bootstrap)
    brokers, topics = _cluster_view(kafka.bootstrap)
    log_dir = kafka.data_dir / "__cluster_metadata-0"
    found = wait_until(
        lambda: _latest_snapshot_with_everything(log_dir, kafka.cluster_id), 30, message="a snapshot of every change"
    )
    data, image, skipped = found

    assert image.metadata_version >= 25
    for name, partitions in topics.items():
        t = image.topics_by_name[name]
        assert {p: (v.leader, list(v.replicas), list(v.isr)) for p, v in t.partitions.items()} == partitions
        assert t.configs == TOPICS[name][1]
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for name, future in admin.describe_topics(TopicCollection(list(TOPICS))).items():
        topic_id = future.result(30).topic_id  # signed halves; its str() is base64 with "/", not Kafka's "_"
        high, low = topic_id.get_most_significant_bits(), topic_id.get_least_significant_bits()
        assert uuid.UUID(int=(high % 2**64) << 64 | low % 2**64) == image.topics_by_name[name].topic_id
    assert image.broker_configs()[BROKER_DEFAULT[0]] == BROKER_DEFAULT[1]
    assert {e: dict(v) for e, v in image.client_quotas.items()} == {
        tuple(sorted(entity)): {key: value} for entity, key, value in QUOTAS
    }

    # What Kavka cannot read in Kafka 4.4's snapshot, named: the controller's registration and the
    # broker's registration at version 4 (KIP-1066's cordoned log dirs). So the image has no brokers.
    kinds = sorted({re.sub(r"^snapshot record \d+ skipped: ", "", s) for s in skipped})
    assert kinds == [
        "RegisterBrokerRecord version 4: Kavka reads versions 0 to 3",
        "RegisterControllerRecord (api key 27, version 0): a record type Kavka does not read",
    ]
    assert brokers and not image.brokers

    # Every record Kavka writes for features, topics, configs and quotas is one Kafka wrote.
    kafka_records = []
    for value in read_snapshot_records(data):
        try:
            kafka_records.append(decode_record(value))
        except ValueError:
            continue
    same_kinds = (FeatureLevelRecord, TopicRecord, ConfigRecord, ClientQuotaRecord)

    def comparable(records):
        return sorted(
            repr(r if not isinstance(r, ClientQuotaRecord) else (sorted(map(repr, r.entity)), r.key, r.value))
            for r in records
            if isinstance(r, same_kinds)
        )

    assert comparable(image_to_records(image)) == comparable(kafka_records)


def test_kafka_and_kavka_pack_a_snapshot_alike(snapshotting_kafka):
    """More than 1024 records under 8 MiB: Kafka's snapshot holds them in one data batch, and so does
    the snapshot Kavka writes of the image it reads from Kafka's."""
    kafka = snapshotting_kafka
    # 1100 custom configs of broker 1 (Kafka keeps names it does not know): 1100 records, no log dirs
    configs = [{"name": f"custom.{i:04d}", "config_operation": 0, "value": "v"} for i in range(1100)]
    resource = {"resource_type": BROKER, "resource_name": "1", "configs": configs}
    answer = call(kafka.bootstrap, INCREMENTAL_ALTER_CONFIGS, 1, {"resources": [resource], "validate_only": False})
    assert [r["error_code"] for r in answer["responses"]] == [0], answer
    log_dir = kafka.data_dir / "__cluster_metadata-0"

    def wide_snapshot():
        for path in sorted(log_dir.glob("*.checkpoint"), key=lambda p: parse_snapshot_name(p.name) or (0, 0))[::-1]:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            skipped: list[str] = []
            image = image_from_snapshot(data, kafka.cluster_id, on_unknown=skipped.append)
            return (data, image, skipped) if len(image.broker_configs(1)) == 1100 else None
        return None

    data, image, skipped = wait_until(wide_snapshot, 30, message="a snapshot with 1100 broker configs")
    kafka_batches = [len(records) for _, header, records in iter_batches(data) if not header.attributes & CONTROL_BIT]
    assert len(kafka_batches) == 1 and kafka_batches[0] >= 1100
    kavka = snapshot_bytes(image, end_offset=1, epoch=1, last_timestamp=0, now_ms=0)
    kavka_batches = [len(records) for _, header, records in iter_batches(kavka) if not header.attributes & CONTROL_BIT]
    assert kavka_batches == [kafka_batches[0] - len(skipped)]


class StaticVoterKafka(ApacheKafka):
    """A Kafka node whose quorum is one static voter (``controller.quorum.voters``, ``kraft.version``
    0), as Kavka's is: its voter set comes from the configuration, not from control records in the
    snapshot, so it can start from a snapshot Kavka wrote. (A node formatted ``--standalone`` keeps
    its voter set in KRaftVoters records, which Kavka's snapshots do not carry: it finds no voters.)"""

    def properties(self) -> dict[str, str]:
        props = super().properties()
        del props["controller.quorum.bootstrap.servers"]
        props["controller.quorum.voters"] = f"{self.node_id}@{self.host}:{self.controller_port}"
        return props

    def format(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        done = self.run_tool("kafka.tools.StorageTool", ["format", "-t", self.cluster_id, "-c", str(self.config_path)])
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_kafka_starts_from_kavkas_snapshot(kavka_state, tmp_path):
    """The strongest reading: a Kafka node, formatted and never started, given Kavka's snapshot as the
    latest in its metadata log, loads it at start and serves Kavka's topics (same ids, partitions,
    configs) and quotas. The broker registration is left out: it belongs to the Kavka process, and
    Kafka's own broker 1 registers itself."""
    require_kafka()
    kafka = StaticVoterKafka(tmp_path / "kafka")
    kafka.format()
    image = replace(kavka_state.image, brokers={})
    log_dir = kafka.data_dir / "__cluster_metadata-0"
    log_dir.mkdir(parents=True, exist_ok=True)
    data = snapshot_bytes(image, end_offset=kavka_state.end, epoch=1, last_timestamp=0, now_ms=0)
    (log_dir / snapshot_file_name(kavka_state.end, 1)).write_bytes(data)
    try:
        kafka.start()
        assert f"with a snapshot at offset {kavka_state.end}" in kafka.log_path.read_text()
        assert _cluster_view(kafka.bootstrap)[1] == kavka_state.topics
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
        for name, future in admin.describe_topics(TopicCollection(list(TOPICS))).items():
            topic_id = future.result(30).topic_id
            high, low = topic_id.get_most_significant_bits(), topic_id.get_least_significant_bits()
            assert uuid.UUID(int=(high % 2**64) << 64 | low % 2**64) == image.topics_by_name[name].topic_id
        resources = [ConfigResource("topic", name) for name in TOPICS] + [ConfigResource("broker", "1")]
        shown = {
            (r.restype, r.name): {c.name: (c.value, c.source) for c in f.result(30).values()}
            for r, f in admin.describe_configs(resources).items()
        }
        for name, (_, configs) in TOPICS.items():
            for key, value in configs.items():
                assert shown[(ResourceType.TOPIC, name)][key] == (value, ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        key, value = BROKER_DEFAULT
        assert shown[(ResourceType.BROKER, "1")][key] == (value, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
        quotas = call(kafka.bootstrap, DESCRIBE_CLIENT_QUOTAS, 1, {"components": [], "strict": False})
        described = {
            (frozenset((e["entity_type"], e["entity_name"]) for e in entry["entity"]), v["key"]): v["value"]
            for entry in quotas["entries"]
            for v in entry["values"]
        }
        assert described == {(frozenset(entity), key): value for entity, key, value in QUOTAS}
    finally:
        try:
            kafka.stop()
        finally:
            kafka.cleanup()
