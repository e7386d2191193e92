"""The transaction protocol at the wire, sent alike to Apache Kafka and Kavka (issue 13's differential
suite): fenced and stale producers at every version of every transaction API, concurrent
transactions, EndTxn without a transaction, unknown topics, unknown transactional ids, TxnOffsetCommit
with an unknown member or a stale generation, the broker-to-coordinator AddPartitionsToTxn v4+ and
ListTransactions' filters.

Each scenario runs its steps in order against one broker and returns ``{step: answer}``; the two
brokers' answers are compared after producer ids are replaced by their order of appearance
(``<pid0>``, ``<pid1>``). ``oracleknown.TXN_DIFFERENCES`` holds the lines that are expected to differ
(docs/compatibility.md, "Transactions").
"""

from __future__ import annotations

import struct
import time
import uuid

from kavka.protocol.records import Record, build_batch
from kavka.testing.process import create_topic, request_response, wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences, normalise, record
from tests.oracle.oraclefixtures import oracle  # noqa: F401 - the fixture
from tests.oracle.oraclewire import call

PRODUCE, METADATA, FIND_COORDINATOR, INIT_PRODUCER_ID, ADD_PARTITIONS, ADD_OFFSETS, END_TXN = 0, 3, 10, 22, 24, 25, 26
TXN_OFFSET_COMMIT, DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS, CONSUMER_GROUP_HEARTBEAT = 28, 65, 66, 68
NONE, CONCURRENT_TRANSACTIONS = 0, 51


class Side:
    """Raw transaction requests to one broker; every answer kept under its step name."""

    def __init__(self, bootstrap: str):
        self.bs = bootstrap
        self.steps: dict[str, object] = {}

    def send(self, step: str | None, api: int, version: int, body: dict) -> dict:
        answer = call(self.bs, api, version, body)
        if step is not None:
            self.steps[step] = answer
        return answer

    def coordinator(self, key: str, key_type: int = 1) -> None:
        """FindCoordinator until it answers (the first call creates the internal topic)."""
        wait_until(
            lambda: call(self.bs, FIND_COORDINATOR, 3, {"key": key, "key_type": key_type})["error_code"] == NONE,
            60,
            message=f"coordinator for {key}",
        )

    def init(self, step: str | None, txn: str, version: int = 1, pid: int = -1, epoch: int = -1) -> dict:
        body = {"transactional_id": txn, "transaction_timeout": 60_000}
        if version >= 3:
            body.update(producer_id=pid, producer_epoch=epoch)
        return self.send(step, INIT_PRODUCER_ID, version, body)

    def init_until_done(self, txn: str) -> tuple[int, int]:
        """InitProducerId until NONE (it answers CONCURRENT_TRANSACTIONS while it aborts an open one)."""
        answer = wait_until(lambda: (lambda a: a if a["error_code"] == NONE else None)(self.init(None, txn)), 60)
        return answer["producer_id"], answer["producer_epoch"]

    def add_partitions(self, step, txn, pid, epoch, partitions: dict[str, list[int]], version: int = 3) -> dict:
        if version >= 4:
            return self.add_partitions_v4(step, version, [(txn, pid, epoch, False, partitions)])
        body = {
            "v3_and_below_transactional_id": txn,
            "v3_and_below_producer_id": pid,
            "v3_and_below_producer_epoch": epoch,
            "v3_and_below_topics": [{"name": t, "partitions": ps} for t, ps in partitions.items()],
        }
        return self.send(step, ADD_PARTITIONS, version, body)

    def add_partitions_v4(self, step, version, transactions) -> dict:
        body = {
            "transactions": [
                {
                    "transactional_id": txn,
                    "producer_id": pid,
                    "producer_epoch": epoch,
                    "verify_only": verify_only,
                    "topics": [{"name": t, "partitions": ps} for t, ps in partitions.items()],
                }
                for txn, pid, epoch, verify_only, partitions in transactions
            ]
        }
        return self.send(step, ADD_PARTITIONS, version, body)

    def add_offsets(self, step, txn, pid, epoch, group, version: int = 3) -> dict:
        body = {"transactional_id": txn, "producer_id": pid, "producer_epoch": epoch, "group_id": group}
        return self.send(step, ADD_OFFSETS, version, body)

    def end(self, step, txn, pid, epoch, commit: bool, version: int = 3) -> dict:
        body = {"transactional_id": txn, "producer_id": pid, "producer_epoch": epoch, "committed": commit}
        return self.send(step, END_TXN, version, body)

    def txn_offset_commit(
        self, step, txn, pid, epoch, group, topic, version: int = 3, generation: int = -1, member: str = ""
    ) -> dict:
        """One offset for partition 0 of ``topic`` (from v6 ``topic`` is the topic's id)."""
        body = {
            "transactional_id": txn,
            "group_id": group,
            "producer_id": pid,
            "producer_epoch": epoch,
            "topics": [
                {
                    "topic_id" if version >= 6 else "name": topic,
                    "partitions": [{"partition_index": 0, "committed_offset": 1, "committed_metadata": ""}],
                }
            ],
        }
        if version >= 3:
            body.update(generation_id=generation, member_id=member, group_instance_id=None)
        return self.send(step, TXN_OFFSET_COMMIT, version, body)

    def produce(self, step, txn, topic, pid, epoch, seq: int, version: int = 9) -> None:
        batch = build_batch(
            [Record(0, int(time.time() * 1000), None, b"v")],
            producer_id=pid,
            producer_epoch=epoch,
            base_sequence=seq,
            transactional=True,
        )
        body = {
            "transactional_id": txn,
            "acks": -1,
            "timeout": 30_000,
            "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": batch}]}],
        }

        def error() -> int:
            answer = self.send(None, PRODUCE, version, body)
            [part] = answer["responses"][0]["partition_responses"]
            return part["error_code"]

        # a new topic's leader may not be serving yet (Kafka: NOT_LEADER_OR_FOLLOWER; nothing appended)
        code = wait_until(lambda: (lambda c: None if c in (3, 6) else (c,))(error()), 30)[0]
        # only the error (offsets, times and messages of a refused batch are compared elsewhere)
        self.steps[step] = {"error_code": code}


def _pids(value, seen: dict[int, str]):
    """Producer ids replaced by ``<pidN>`` in the order each first appears."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "producer_id" and isinstance(v, int) and v >= 0:
                out[k] = seen.setdefault(v, f"<pid{len(seen)}>")
            else:
                out[k] = _pids(v, seen)
        return out
    if isinstance(value, list):
        return [_pids(v, seen) for v in value]
    return value


def _compare(oracle, scenario, name: str, renames: dict[str, str]) -> list[str]:  # noqa: F811
    kafka, kavka = Side(oracle.kafka.bootstrap), Side(oracle.kavka.bootstrap)
    scenario(kafka)
    scenario(kavka)

    def norm(steps):
        return normalise(_pids(steps, {}), renames)

    found = differences(norm(kafka.steps), norm(kavka.steps))
    record(name, found)
    return found


def _names(prefix: str) -> tuple[str, str]:
    """A transactional id and a group id, unique per run."""
    suffix = uuid.uuid4().hex[:8]
    return f"{prefix}-txn-{suffix}", f"{prefix}-group-{suffix}"


def _topic(side: Side, name: str) -> str:
    return create_topic(side.bs, name, partitions=1)


def _topic_id(side: Side, name: str) -> str:
    """The id of topic ``name`` on that broker (Metadata v12)."""
    body = {
        "topics": [{"topic_id": None, "name": name}],
        "allow_auto_topic_creation": False,
        "include_topic_authorized_operations": False,
    }
    [topic] = call(side.bs, METADATA, 12, body)["topics"]
    assert topic["error_code"] == NONE, topic
    return topic["topic_id"]


# --- a fenced producer at every version ------------------------------------------------------------


def test_fenced_producer_every_api_and_version(oracle, new_topic_name):  # noqa: F811
    """A producer fenced by a newer one with the same transactional id: PRODUCER_FENCED from the
    version that introduced it, INVALID_PRODUCER_EPOCH below it (and always on Produce and
    TxnOffsetCommit, where the partition leader answers)."""
    topic = new_topic_name("fenced")
    txn, group = _names("fenced")

    def scenario(s: Side) -> None:
        _topic(s, topic)
        s.coordinator(txn)
        s.coordinator(group, 0)
        pid, epoch = s.init_until_done(txn)
        s.add_partitions("zombie adds a partition", txn, pid, epoch, {topic: [0]})
        s.produce("zombie produces", txn, topic, pid, epoch, 0)
        s.add_offsets("zombie adds offsets", txn, pid, epoch, group)
        # the first TxnOffsetCommit may find the group's partition still loading (Kafka: NOT_COORDINATOR)
        wait_until(
            lambda: (
                s.txn_offset_commit("zombie commits offsets", txn, pid, epoch, group, topic)["topics"][0]["partitions"][
                    0
                ]["error_code"]
                not in (14, 15, 16)
            ),
            30,
        )
        s.init("newer producer while the zombie's transaction is open", txn)
        s.init_until_done(txn)
        for v in range(4):
            s.add_partitions(f"AddPartitionsToTxn v{v}", txn, pid, epoch, {topic: [0]}, version=v)
        for v in (4, 5):
            s.add_partitions_v4(f"AddPartitionsToTxn v{v} verify", v, [(txn, pid, epoch, True, {topic: [0]})])
        for v in range(5):
            s.add_offsets(f"AddOffsetsToTxn v{v}", txn, pid, epoch, group, version=v)
        for v in range(6):
            s.end(f"EndTxn v{v}", txn, pid, epoch, True, version=v)
        for v in (3, 4, 5):
            s.init(f"InitProducerId v{v}", txn, version=v, pid=pid, epoch=epoch)
        for v in range(6):
            s.txn_offset_commit(f"TxnOffsetCommit v{v}", txn, pid, epoch, group, topic, version=v)
        for v in (3, 9, 11):
            s.produce(f"Produce v{v}", txn, topic, pid, epoch, 1, version=v)

    found = _compare(oracle, scenario, "transactions:fenced", {topic: "<topic>", txn: "<txn>", group: "<group>"})
    assert found == known.TXN_DIFFERENCES["fenced"]


# --- the coordinator's errors ------------------------------------------------------------------------


def test_coordinator_errors(oracle, new_topic_name):  # noqa: F811
    """Unknown transactional id and producer id, EndTxn with no transaction, unknown topics and
    partitions, concurrent transactions, a transaction's life seen by DescribeTransactions."""
    topic = new_topic_name("txnerr")
    txn, group = _names("errors")
    never = txn + "-never"

    def scenario(s: Side) -> None:
        _topic(s, topic)
        s.coordinator(txn)
        s.coordinator(never)
        s.add_partitions("AddPartitionsToTxn, id never initialised", never, 1234, 0, {topic: [0]})
        s.end("EndTxn, id never initialised", never, 1234, 0, True)
        s.add_offsets("AddOffsetsToTxn, id never initialised", never, 1234, 0, group)
        s.steps["DescribeTransactions, unknown id"] = {"error_code": _describe_error(s.bs, never)}
        s.send(
            "InitProducerId, timeout above the maximum",
            INIT_PRODUCER_ID,
            1,
            {"transactional_id": txn, "transaction_timeout": 2_000_000_000},
        )
        s.send("InitProducerId, timeout 0", INIT_PRODUCER_ID, 1, {"transactional_id": txn, "transaction_timeout": 0})
        pid, epoch = s.init_until_done(txn)
        s.init("InitProducerId v3, producer id without an epoch", txn, version=3, pid=pid, epoch=-1)
        s.end("EndTxn commit, no transaction", txn, pid, epoch, True)
        s.end("EndTxn abort, no transaction", txn, pid, epoch, False)
        s.add_partitions("AddPartitionsToTxn, other producer id", txn, pid + 1, epoch, {topic: [0]})
        s.add_partitions("AddPartitionsToTxn, newer epoch", txn, pid, epoch + 1, {topic: [0]})
        s.add_partitions("AddPartitionsToTxn, unknown topic", txn, pid, epoch, {topic: [0], topic + "-nope": [0]})
        s.add_partitions("AddPartitionsToTxn, unknown partition", txn, pid, epoch, {topic: [0, 7]})
        s.add_partitions("AddPartitionsToTxn", txn, pid, epoch, {topic: [0]})
        s.add_partitions("AddPartitionsToTxn again", txn, pid, epoch, {topic: [0]})
        s.add_offsets("AddOffsetsToTxn, empty group id", txn, pid, epoch, "")
        _describe(s, "DescribeTransactions, ongoing", txn)
        s.init("InitProducerId, transaction open", txn)
        s.end("EndTxn commit, fenced by the InitProducerId", txn, pid, epoch, True)
        pid2, epoch2 = s.init_until_done(txn)
        s.steps["epoch after the fence"] = {"epoch": epoch2 - epoch, "same id": pid2 == pid}
        s.add_partitions("AddPartitionsToTxn after the fence", txn, pid2, epoch2, {topic: [0]})
        s.end("EndTxn abort", txn, pid2, epoch2, False)
        wait_until(
            lambda: (
                s.end(None, txn, pid2, epoch2, False)["error_code"] == NONE
                and call(s.bs, DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn]})["transaction_states"][0][
                    "transaction_state"
                ]
                == "CompleteAbort"
            ),
            30,
        )
        s.end("EndTxn abort retried after completion", txn, pid2, epoch2, False)
        s.end("EndTxn commit of the aborted transaction", txn, pid2, epoch2, True)
        s.send("ListTransactions v2, pattern", LIST_TRANSACTIONS, 2, _list_filter(f"^{txn}$"))
        s.send("ListTransactions v2, prefix pattern", LIST_TRANSACTIONS, 2, _list_filter(txn[:-3]))
        s.send("ListTransactions v2, bad pattern", LIST_TRANSACTIONS, 2, _list_filter("(["))
        s.send(
            "ListTransactions v1, duration",
            LIST_TRANSACTIONS,
            1,
            {"state_filters": ["CompleteAbort"], "producer_id_filters": [pid2], "duration_filter": 3_600_000},
        )

    renames = {topic: "<topic>", never: "<never>", txn: "<txn>", group: "<group>"}
    found = _compare(oracle, scenario, "transactions:errors", renames)
    assert found == known.TXN_DIFFERENCES["errors"]


def _describe_error(bootstrap: str, txn: str) -> int:
    """DescribeTransactions v0 of one id, by hand: the entry's error code. (kio cannot read the answer
    for an unknown id: its start time is -1, which kio refuses as a timestamp.)"""
    name = txn.encode()
    client = b"oracle"
    request = (
        struct.pack(">hhih", DESCRIBE_TRANSACTIONS, 0, 7, len(client))
        + client
        + b"\x00"  # header tags
        + bytes([2, len(name) + 1])  # compact array of one compact string (short names only)
        + name
        + b"\x00"  # body tags
    )
    host, port = bootstrap.rsplit(":", 1)
    payload = request_response(host, int(port), request, 30)
    # correlation id, header tags, throttle time, array length, then the entry's error code
    assert struct.unpack_from(">i", payload)[0] == 7 and payload[9] == 2, payload
    return struct.unpack_from(">h", payload, 10)[0]


def _list_filter(pattern: str) -> dict:
    return {"state_filters": [], "producer_id_filters": [], "duration_filter": -1, "transactional_id_pattern": pattern}


# --- TxnOffsetCommit and the group ---------------------------------------------------------------------


def test_txn_offset_commit_group_errors(oracle, new_topic_name):  # noqa: F811
    """TxnOffsetCommit against a consumer group (KIP-848, joined by ConsumerGroupHeartbeat): the right
    member, an unknown member, a stale member epoch, and offsets sent without AddOffsetsToTxn."""
    topic = new_topic_name("txngroup")
    txn, group = _names("groupcheck")

    def scenario(s: Side) -> None:
        _topic(s, topic)
        s.coordinator(txn)
        s.coordinator(group, 0)
        member = uuid.uuid4().hex[:22]
        joined = wait_until(
            lambda: (lambda a: a if a["error_code"] == NONE else None)(
                call(
                    s.bs,
                    CONSUMER_GROUP_HEARTBEAT,
                    0,
                    {
                        "group_id": group,
                        "member_id": member,
                        "member_epoch": 0,
                        "rebalance_timeout": 30_000,
                        "subscribed_topic_names": [topic],
                        "server_assignor": None,
                        "topic_partitions": [],
                    },
                )
            ),
            30,
        )
        member_epoch = joined["member_epoch"]
        pid, epoch = s.init_until_done(txn)
        s.txn_offset_commit("TxnOffsetCommit v3 before AddOffsetsToTxn", txn, pid, epoch, group, topic)
        s.txn_offset_commit("TxnOffsetCommit v4 before AddOffsetsToTxn", txn, pid, epoch, group, topic, version=4)
        s.add_offsets("AddOffsetsToTxn", txn, pid, epoch, group)
        s.txn_offset_commit(
            "TxnOffsetCommit v3, unknown member", txn, pid, epoch, group, topic, generation=member_epoch, member="x"
        )
        s.txn_offset_commit(
            "TxnOffsetCommit v3, stale member epoch",
            txn,
            pid,
            epoch,
            group,
            topic,
            generation=member_epoch + 5,
            member=member,
        )
        s.txn_offset_commit(
            "TxnOffsetCommit v3, member", txn, pid, epoch, group, topic, generation=member_epoch, member=member
        )
        s.txn_offset_commit("TxnOffsetCommit v2, no member", txn, pid, epoch, group, topic, version=2)
        s.end("EndTxn abort", txn, pid, epoch, False)

    renames = {topic: "<topic>", txn: "<txn>", group: "<group>"}
    found = _compare(oracle, scenario, "transactions:group", renames)
    assert found == known.TXN_DIFFERENCES["group"]


# --- transaction version 2 (KIP-890 part 2) ------------------------------------------------------------


def _describe(s: Side, step: str, txn: str) -> None:
    answer = s.send(step, DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn]})
    for state in answer["transaction_states"]:
        start = state["transaction_start_time"]
        state["transaction_start_time"] = start if isinstance(start, int) and start < 0 else "<time>"
        state["topics"].sort(key=lambda t: t["topic"])  # Kafka lists them in hash order


def _completed(s: Side, txn: str, state: str) -> None:
    wait_until(
        lambda: (
            call(s.bs, DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": [txn]})["transaction_states"][0][
                "transaction_state"
            ]
            == state
        ),
        30,
        message=f"{txn} {state}",
    )


def test_transaction_version_2(oracle, new_topic_name):  # noqa: F811
    """What a client of transaction version 2 (the Java client 4.x on a broker that finalizes it) relies
    on: TxnOffsetCommit v5 adds the offsets partition itself, EndTxn v5 bumps the epoch and says so,
    its retry is recognised by the bump, and the old epoch is fenced everywhere after it. TxnOffsetCommit
    v6 (topic ids, KIP-1319) alike: by id, an unknown id, a generation of a group that does not exist."""
    topic = new_topic_name("tv2")
    txn, group = _names("tv2")
    unknown_id = str(uuid.uuid4())

    def scenario(s: Side) -> None:
        _topic(s, topic)
        s.coordinator(txn)
        s.coordinator(group, 0)
        pid, e = s.init_until_done(txn)
        s.add_partitions("AddPartitionsToTxn v3", txn, pid, e, {topic: [0]})
        s.produce("Produce v11", txn, topic, pid, e, 0, version=11)
        wait_until(
            lambda: (
                s.txn_offset_commit("TxnOffsetCommit v5, no AddOffsetsToTxn", txn, pid, e, group, topic, version=5)[
                    "topics"
                ][0]["partitions"][0]["error_code"]
                not in (14, 15, 16)
            ),
            30,
        )
        _describe(s, "DescribeTransactions, ongoing", txn)
        s.end("EndTxn v5 commit", txn, pid, e, True, version=5)
        _completed(s, txn, "CompleteCommit")
        _describe(s, "DescribeTransactions, committed", txn)
        s.end("EndTxn v5 commit retried", txn, pid, e, True, version=5)
        s.end("EndTxn v5 abort after the commit, old epoch", txn, pid, e, False, version=5)
        s.end("EndTxn v5 commit again, new epoch, nothing open", txn, pid, e + 1, True, version=5)
        s.add_partitions("AddPartitionsToTxn v3, old epoch", txn, pid, e, {topic: [0]})
        s.produce("Produce v11, old epoch", txn, topic, pid, e, 1, version=11)
        s.txn_offset_commit("TxnOffsetCommit v5, old epoch", txn, pid, e, group, topic, version=5)
        s.txn_offset_commit("TxnOffsetCommit v5, new epoch", txn, pid, e + 1, group, topic, version=5)
        tid = _topic_id(s, topic)
        s.txn_offset_commit("TxnOffsetCommit v6, by topic id", txn, pid, e + 1, group, tid, version=6)
        s.txn_offset_commit("TxnOffsetCommit v6, unknown topic id", txn, pid, e + 1, group, unknown_id, version=6)
        for v in (5, 6):
            s.txn_offset_commit(
                f"TxnOffsetCommit v{v}, generation of a group that does not exist",
                txn,
                pid,
                e + 1,
                group + "-none",
                tid if v == 6 else topic,
                version=v,
                generation=1,
            )
        s.end("EndTxn v5 abort", txn, pid, e + 1, False, version=5)
        _completed(s, txn, "CompleteAbort")
        s.end("EndTxn v3 abort retried by a version 1 client", txn, pid, e + 2, False)
        s.end("EndTxn v3 abort, old epoch", txn, pid, e + 1, False)
        s.init("InitProducerId v5 after two transactions", txn, version=5, pid=pid, epoch=e + 2)
        fresh = txn + "-fresh"
        s.coordinator(fresh)
        pid2, e2 = s.init_until_done(fresh)
        s.end("EndTxn v5, no transaction", fresh, pid2, e2, True, version=5)

    renames = {topic: "<topic>", txn: "<txn>", group: "<group>"}
    found = _compare(oracle, scenario, "transactions:tv2", renames)
    assert found == known.TXN_DIFFERENCES["tv2"]


def test_produce_v12_adds_the_partition(oracle, new_topic_name):  # noqa: F811
    """Produce v12 (transaction version 2) adds its partition to the transaction: no AddPartitionsToTxn,
    the transaction begins with the first batch; a late batch of the old epoch is fenced after EndTxn v5.
    (Kavka's Produce v12 is dataver's part of issue 13; this checks the coordinator side of it.)"""
    topic = new_topic_name("p12")
    txn, _group = _names("p12")

    def scenario(s: Side) -> None:
        _topic(s, topic)
        s.coordinator(txn)
        pid, e = s.init_until_done(txn)
        s.produce("Produce v12, first batch", txn, topic, pid, e, 0, version=12)
        _describe(s, "DescribeTransactions, begun by the batch", txn)
        s.produce("Produce v12, second batch", txn, topic, pid, e, 1, version=12)
        s.end("EndTxn v5 commit", txn, pid, e, True, version=5)
        _completed(s, txn, "CompleteCommit")
        s.produce("Produce v12, late batch of the old epoch", txn, topic, pid, e, 2, version=12)
        s.produce("Produce v12, next transaction", txn, topic, pid, e + 1, 0, version=12)
        s.produce("Produce v12, sequence gap", txn, topic, pid, e + 1, 5, version=12)
        s.end("EndTxn v5 abort", txn, pid, e + 1, False, version=5)
        s.produce("Produce v12, unknown producer id", txn, topic, pid + 1000, 0, 0, version=12)
        s.produce("Produce v11, new epoch, not added", txn, topic, pid, e + 2, 0, version=11)

    found = _compare(oracle, scenario, "transactions:produce v12", {topic: "<topic>", txn: "<txn>"})
    assert found == known.TXN_DIFFERENCES["produce v12"]
