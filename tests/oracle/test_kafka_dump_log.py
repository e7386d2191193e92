"""kafka-dump-log (org.apache.kafka.tools.DumpLogSegments) reading Kavka's files from disk beside Kafka's.

The same records (keys, headers, fixed timestamps, one batch each, no producer id) go to a topic on
each broker; the first segment rolls at ``segment.bytes`` (1 MiB, Kafka's least) with an offset and a
time index entry per batch (``index.interval.bytes=1``). The rolled segment's ``.log``, ``.index`` and
``.timeindex`` must be Kafka's byte for byte, and the tool's dumps of them (``--deep-iteration
--print-data-log``, ``--verify-index-only``, ``--index-sanity-check``) must match line for line. The
internal topics' decoders (``--offsets-decoder``, ``--transaction-log-decoder``,
``--cluster-metadata-decoder``) are run over each broker's own partition; known.TOOL_DIFFERENCES_DUMP
lists what differs (docs/compatibility.md says why).
"""

from __future__ import annotations

import json
import re
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kavka.metadata.records import PartitionRecord, TopicRecord, decode_record
from kavka.protocol.batch import CONTROL_BIT
from kavka.protocol.records import iter_records
from kavka.testing.process import wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import record
from tests.oracle.oracletools import both

BASE_TS = 1_700_000_000_000
BIG = 300_000  # three of these and the small records fill most of a 1 MiB segment; the fourth rolls it
_PAYLOAD = (re.compile(r"(payload: x{8})x+"), r"\1...")
_IDS = [(re.compile(rf'"({name})":"?[^,"}}]+"?'), r'"\1":<id>') for name in ("producerId", "topicId")]
_NOW = (re.compile(r"\b(?!17000000000)1[6-9]\d{11}\b"), "<now>")


def _java_hash_partition(name: str, partitions: int = 50) -> int:
    """``Utils.abs(name.hashCode()) % partitions``: the internal topic partition a group or
    transactional id lives in."""
    h = 0
    for ch in name:  # the names here are ASCII: one UTF-16 unit per character
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def _summary(line: str) -> str:
    """A decoded internal-topic record as its schema: batch sequence, key type, value version and the
    value's field names (their values are each cluster's clocks and ids)."""
    m = re.search(r"sequence: (-?\d+) .* key: (\{.*\}) payload: (\{.*\})$", line)
    assert m, line
    key, value = json.loads(m.group(2)), json.loads(re.sub(r"<\w+>", "0", m.group(3)))
    return f"sequence {m.group(1)} key type {key['type']} value v{value['version']} {sorted(value['data'])}"


def _produce(bootstrap: str, topic: str) -> None:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": False, "compression.type": "none"}
    )
    for i in range(4):
        headers = [("h", b"%d" % i)] if i % 2 else None
        producer.produce(topic, key=b"k%d" % i, value=b"v%d" % i, headers=headers, timestamp=BASE_TS + i)
        producer.flush(30)
    for i in range(4):
        producer.produce(topic, key=b"big%d" % i, value=b"x" * BIG, timestamp=BASE_TS + 10 + i)
        producer.flush(30)
    assert producer.flush(30) == 0


def _commit_and_transact(bootstrap: str, topic: str, group: str, txn_id: str) -> None:
    """One committed offset for ``group`` and one committed transaction ``txn_id``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})

    def committed() -> bool:
        try:
            consumer.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False)
        except KafkaException as exc:  # the offsets topic's first use: its coordinator is still loading
            if exc.args[0].code() not in (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS):
                raise
            return False
        return True

    wait_until(committed, 60, message=f"offset commit for {group}")
    consumer.close()
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    producer.init_transactions(60)
    producer.begin_transaction()
    producer.produce(topic, key=b"t", value=b"t", timestamp=BASE_TS + 100)
    producer.commit_transaction(60)


def test_dump_log_reads_kavka_segments_as_kafkas(apache_kafka, broker):
    topic = f"dump-{uuid.uuid4().hex[:8]}"
    configs = ["segment.bytes=1048576", "index.interval.bytes=1", "retention.ms=-1", "segment.ms=9223372036854775807"]
    both(
        apache_kafka,
        broker,
        "TopicCommand",
        ["--create", "--topic", topic, "--partitions", "1", *(a for c in configs for a in ("--config", c))],
        {topic: "<topic>"},
    )
    for target in (apache_kafka, broker):
        _produce(target.bootstrap, topic)
    dirs = [target.data_dir / f"{topic}-0" for target in (apache_kafka, broker)]
    first = "00000000000000000000"
    rolled = [sorted(p.name for p in d.iterdir() if p.name[0].isdigit()) for d in dirs]
    assert rolled[0] == rolled[1]
    assert f"{first}.log" in rolled[0] and "00000000000000000007.log" in rolled[0], rolled[0]
    found = {}
    for suffix in (".log", ".index", ".timeindex"):
        kafka_bytes, kavka_bytes = ((d / (first + suffix)).read_bytes() for d in dirs)
        assert kafka_bytes, suffix
        if kafka_bytes != kavka_bytes:
            found[f"bytes {suffix}"] = ([f"{len(kafka_bytes)} bytes"], [f"{len(kavka_bytes)} bytes"])

    def dump(options: list[str], names: list[str], renames=None, subs=()):
        paths = [",".join(str(d / name) for name in names) for d in dirs]
        return both(
            apache_kafka,
            broker,
            "DumpLogSegments",
            [*options, "--files"],
            {**(renames or {}), **{str(d): "<dir>" for d in dirs}, topic: "<topic>"},
            bootstrap=False,
            subs=[_PAYLOAD, *subs],
            side_args=([paths[0]], [paths[1]]),
        )

    segment = [f"{first}.log", f"{first}.index", f"{first}.timeindex", "00000000000000000007.log"]
    run = dump(["--deep-iteration", "--print-data-log"], segment)
    assert (
        "| offset: 1 CreateTime: 1700000000001 keySize: 2 valueSize: 2 sequence: -1 headerKeys: [h] key: k1 "
        "payload: v1" in run.kafka
    ), run.kafka[:12]
    assert any(line.startswith("timestamp: 1700000000012 offset: 6") for line in run.kafka), run.kafka
    found["deep-iteration"] = run.one_sided()
    run = dump(["--verify-index-only"], segment[:3])
    found["verify-index-only"] = run.one_sided()
    run = dump(["--index-sanity-check"], segment[1:3])
    assert any("passed sanity check" in line for line in run.kafka), run.kafka
    found["index-sanity-check"] = run.one_sided()

    # The internal topics, each broker's own files: an offset commit, a committed transaction.
    group, txn_id = f"g-{uuid.uuid4().hex[:8]}", f"tx-{uuid.uuid4().hex[:8]}"
    for target in (apache_kafka, broker):
        _commit_and_transact(target.bootstrap, topic, group, txn_id)
    names = {group: "<group>", txn_id: "<txn>"}
    for flag, internal, key in (
        ("--offsets-decoder", "__consumer_offsets", group),
        ("--transaction-log-decoder", "__transaction_state", txn_id),
    ):
        dirs = [target.data_dir / f"{internal}-{_java_hash_partition(key)}" for target in (apache_kafka, broker)]
        run = dump([flag], [f"{first}.log"], names, subs=[_NOW, *_IDS])
        mine = [sorted({_summary(x) for x in side if names[key] in x}) for side in (run.kafka, run.kavka)]
        assert mine[0], run.kafka
        found[flag] = ([x for x in mine[0] if x not in mine[1]], [x for x in mine[1] if x not in mine[0]])

    # __cluster_metadata: Kafka's decoder on each broker's metadata log; every record it cannot
    # decode is one "Error at ..." line.
    dirs = [target.data_dir / "__cluster_metadata-0" for target in (apache_kafka, broker)]
    run = dump(["--cluster-metadata-decoder"], [f"{first}.log"])
    errors = [sum("Failed to deserialize" in line for line in side) for side in (run.kafka, run.kavka)]
    assert errors[0] == 0 and any('"type":"TOPIC_RECORD"' in line for line in run.kafka), run.kafka[:20]
    assert any('"type":"TOPIC_RECORD","version":0,"data":{"name":"<topic>"' in line for line in run.kavka), run.kavka
    found["cluster-metadata-decoder"] = ([], []) if errors[1] == 0 else ([], ["records Kafka cannot decode"])
    # And the other way: Kavka's codec reads the records of Kafka's own metadata log that it models.
    decoded = []
    for header, rec in iter_records((dirs[0] / f"{first}.log").read_bytes()):
        api_key = rec.value[1] if rec.value and not header.attributes & CONTROL_BIT else None
        if api_key in (TopicRecord.API_KEY, PartitionRecord.API_KEY) and rec.value[2] <= 2:
            decoded.append(decode_record(rec.value))
    ours = [r for r in decoded if isinstance(r, TopicRecord) and r.name == topic]
    assert len(ours) == 1
    assert [
        (r.partition_id, r.replicas, r.leader)
        for r in decoded
        if getattr(r, "topic_id", None) == ours[0].topic_id and isinstance(r, PartitionRecord)
    ] == [(0, (1,), 1)]
    record("tools-dump", found := {k: v for k, v in found.items() if v != ([], [])})
    assert found == known.TOOL_DIFFERENCES_DUMP
