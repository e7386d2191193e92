"""kafka-transactions (list, describe, describe-producers, find-hanging, abort) against Apache Kafka and
Kavka, each holding the same open transaction (a confluent-kafka transactional producer that begins,
sends three records with fixed timestamps and does not commit). After the abort, kafka-dump-log reads
each broker's partition files (segments, producer snapshot, transaction index): the same records must
give the same dump. known.TOOL_DIFFERENCES_TXN lists what still differs.
"""

from __future__ import annotations

import re
import uuid

from confluent_kafka import Producer

from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import record
from tests.oracle.oracletools import both

BASE_TS = 1_700_000_000_000
TXN = "TransactionsCommand"
_COLUMNS = (re.compile(r" *\t *"), "\t")  # tab-separated tables padded to the widest cell
# Clocks and the ids each cluster hands out (the producer id is whatever each broker allocated).
_CLOCKS = [
    (re.compile(r"\b(?!17000000000)1[6-9]\d{11}\b"), "<now>"),
]


def _open_transaction(bootstrap: str, topic: str, txn_id: str) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 600000})
    producer.init_transactions(60)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, key=b"k%d" % i, value=b"v%d" % i, timestamp=BASE_TS + i)
    assert producer.flush(30) == 0
    return producer


def _table(lines: list[str]) -> list[dict[str, str]]:
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]


def test_transactions_tool_and_dump_log(apache_kafka, broker):
    topic, txn_id = f"tools-{uuid.uuid4().hex[:8]}", f"tx-{uuid.uuid4().hex[:8]}"
    renames = {topic: "<topic>", txn_id: "<txn>"}
    found = {}

    def tool(args, **kw):
        return both(apache_kafka, broker, TXN, args, renames, subs=[_COLUMNS, *_CLOCKS], **kw)

    both(apache_kafka, broker, "TopicCommand", ["--create", "--topic", topic, "--config", "retention.ms=-1"], renames)
    producers = [_open_transaction(target.bootstrap, topic, txn_id) for target in (apache_kafka, broker)]
    run = tool(["list"])
    rows = [[r for r in _table(side) if r["TransactionalId"] == "<txn>"] for side in (run.kafka, run.kavka)]
    assert [(r["Coordinator"], r["TransactionState"]) for r in rows[0]] == [("1", "Ongoing")], run.kafka
    pids = [r[0]["ProducerId"] for r in rows]
    found["list"] = (
        ([], []) if _strip(rows[0], "ProducerId") == _strip(rows[1], "ProducerId") else (run.kafka, run.kavka)
    )

    run = tool(["describe", "--transactional-id", txn_id])
    described = [_strip(_table(side), "ProducerId", "TransactionDurationMs") for side in (run.kafka, run.kavka)]
    assert described[0] == [
        {
            "CoordinatorId": "1",
            "TransactionalId": "<txn>",
            "ProducerEpoch": "0",
            "TransactionState": "Ongoing",
            "TransactionTimeoutMs": "600000",
            "CurrentTransactionStartTimeMs": "<now>",
            "TopicPartitions": "<topic>-0",
        }
    ], run.kafka
    found["describe"] = ([], []) if described[0] == described[1] else (run.kafka, run.kavka)

    run = tool(["describe-producers", "--topic", topic, "--partition", "0"])
    producers_seen = [_strip(_table(side), "ProducerId") for side in (run.kafka, run.kavka)]
    assert producers_seen[0][0]["CurrentTransactionStartOffset"] == "0", run.kafka
    assert producers_seen[0][0]["LastSequence"] == "2", run.kafka
    found["describe-producers"] = ([], []) if producers_seen[0] == producers_seen[1] else (run.kafka, run.kavka)

    run = tool(["find-hanging", "--broker-id", "1"])
    found["find-hanging"] = run.one_sided()

    # The partition leader writes the abort marker; the coordinator still holds the transaction.
    run = tool(["abort", "--topic", topic, "--partition", "0", "--start-offset", "0"])
    assert run.kafka == []
    found["abort"] = run.one_sided()
    run = tool(["describe-producers", "--topic", topic, "--partition", "0"])
    after = [_strip(_table(side), "ProducerId") for side in (run.kafka, run.kavka)]
    assert after[0][0]["CurrentTransactionStartOffset"] == "None", run.kafka
    found["describe-producers after abort"] = ([], []) if after[0] == after[1] else (run.kafka, run.kavka)
    del producers  # their transactions stay open on the coordinators until the timeout: nothing waits for it

    # kafka-dump-log over each broker's partition directory: every segment, index, snapshot and txn index.
    dirs = [target.data_dir / f"{topic}-0" for target in (apache_kafka, broker)]
    files = [sorted(p for p in d.iterdir() if p.name[0].isdigit()) for d in dirs]
    assert [p.name for p in files[0]] == [p.name for p in files[1]]
    names = sorted({p.suffix for p in files[0]})
    assert names == [".index", ".log", ".snapshot", ".timeindex", ".txnindex"], files[0]
    active = max(p.stem for p in files[0])
    chosen = [
        [str(p) for p in side if not (p.stem == active and p.suffix in (".index", ".timeindex"))] for side in files
    ]
    pid_subs = [(re.compile(rf"\bproducerId: {pid}\b"), "producerId: <pid>") for pid in pids]
    marker = (re.compile(r"CreateTime: (?!17000000000)\d{13}"), "CreateTime: <now>")
    crc = (
        re.compile(r"crc: \d+(?= isvalid: true\n(?:\| offset: \d+ CreateTime: <now>[^\n]*endTxnMarker))"),
        "crc: <crc>",
    )
    # A batch's CRC covers its producer id: when the two brokers handed out different ids (how many
    # producers the session made before this test), the data batches' CRCs differ with them.
    pid_crc = [(re.compile(r"(producerId: <pid> [^\n]* crc: )\d+"), r"\1<crc>")] if len(set(pids)) > 1 else []
    run = both(
        apache_kafka,
        broker,
        "DumpLogSegments",
        ["--deep-iteration", "--print-data-log", "--files"],
        {**renames, **{str(d): "<dir>" for d in dirs}},
        bootstrap=False,
        subs=[marker, crc, *pid_subs, *pid_crc],
        side_args=([",".join(chosen[0])], [",".join(chosen[1])]),
    )
    assert (
        "| offset: 3 CreateTime: <now> keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: ABORT "
        "coordinatorEpoch: 0" in run.kafka
    ), run.kafka
    assert any(line.startswith("version: 0 producerId: <pid> firstOffset: 0 lastOffset: 3") for line in run.kafka)
    found["dump-log"] = run.one_sided()
    record("tools-txn", found := {k: v for k, v in found.items() if v != ([], [])})
    assert found == known.TOOL_DIFFERENCES_TXN


def _strip(rows: list[dict[str, str]], *columns: str) -> list[dict[str, str]]:
    """The rows without the columns that legitimately differ between two clusters."""
    return [{k: v for k, v in row.items() if k not in columns} for row in rows]
