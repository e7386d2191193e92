"""Consumer-group requests sent alike to Apache Kafka and Kavka, at old and new versions: the classic
protocol's errors (unknown member id, illegal generation, fenced static members, rebalance in
progress, empty group ids), OffsetCommit/OffsetFetch of unknown topics (by name and by id, v10),
KIP-848 ConsumerGroupHeartbeat errors (static members and regexes too), ListGroups with state and type
filters, and the group APIs Kafka 4.4 serves at newer versions (FindCoordinator v6, DescribeGroups v6,
DeleteGroups v3, ConsumerGroupDescribe v1), with DescribeCluster v2, DescribeLogDirs v5 and
AlterPartitionReassignments v1.

Each scenario runs on both brokers at once, one thread each (a classic group's first join waits
``group.initial.rebalance.delay.ms``, 3 s on both, so the two waits overlap), recording every step's
answer. The answers are then normalised (`oraclediff.normalise`, plus each side's own member ids and
names replaced by tokens, and lists of members and groups sorted by id: the order in which Kafka
lists groups follows its coordinator shards) and compared step by step; known.GROUP_DIFFERENCES holds
the expected lines of every step that differs (docs/compatibility.md, "Groups").
"""

from __future__ import annotations

import io
import re
import socket
import struct
import threading
import uuid
from collections.abc import Callable

from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from kavka.protocol.api import build_entity
from kavka.protocol.extra_schemas import load_request_schema, load_response_schema
from kavka.testing.process import wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences, normalise, record
from tests.oracle.oraclewire import create_topics_body, plain

OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN, HEARTBEAT, LEAVE, SYNC, LIST_GROUPS = 8, 9, 10, 11, 12, 13, 14, 16
DESCRIBE_GROUPS, DELETE_GROUPS, OFFSET_DELETE, CONSUMER_HEARTBEAT, CONSUMER_DESCRIBE = 15, 42, 47, 68, 69
METADATA, CREATE_TOPICS = 3, 19
CLIENT_ID = "kavka-oracle-groups"


class Pending:
    """One request sent on its own connection; :meth:`result` reads its answer (plain Python). For
    requests the broker parks (a JoinGroup waiting for the rest of the group)."""

    def __init__(self, bootstrap: str, api_key: int, version: int, body: dict) -> None:
        req_cls = load_request_schema(api_key, version)
        self.resp_cls = load_response_schema(api_key, version)
        self.flexible = bool(req_cls.__flexible__)
        header_cls = RequestHeaderV2 if self.flexible else RequestHeaderV1
        buf = io.BytesIO()
        header = header_cls(
            request_api_key=i16(api_key), request_api_version=i16(version), correlation_id=i32(7), client_id=CLIENT_ID
        )
        entity_writer(header_cls)(buf, header)
        entity_writer(req_cls)(buf, build_entity(req_cls, body))
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.sock.sendall(struct.pack(">i", len(buf.getvalue())) + buf.getvalue())

    def _recv(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "connection closed"
            out += chunk
        return out

    def result(self) -> dict:
        try:
            payload = self._recv(struct.unpack(">i", self._recv(4))[0])
        finally:
            self.sock.close()
        response, _ = entity_reader(self.resp_cls)(payload, 5 if self.flexible else 4)
        return plain(response)


class Side:
    """One broker's run of a scenario: every step's answer, and the names to normalise them with."""

    def __init__(self, kind: str, bootstrap: str, renames: dict[str, str]) -> None:
        self.kind, self.bootstrap, self.renames = kind, bootstrap, dict(renames)
        self.answers: dict[str, dict] = {}
        self.topic_ids: dict[str, str] = {}

    def call(self, step: str | None, api_key: int, version: int, body: dict) -> dict:
        """Send, wait, record under ``step`` (None: not compared) and return the answer."""
        try:
            answer = Pending(self.bootstrap, api_key, version, body).result()
        except (OSError, AssertionError) as e:
            raise AssertionError(f"step {step} (api {api_key} v{version}) on {self.kind}: {e}") from e
        return self.record(step, answer)

    def send(self, api_key: int, version: int, body: dict) -> Pending:
        return Pending(self.bootstrap, api_key, version, body)

    def record(self, step: str | None, answer: dict) -> dict:
        if step is not None:
            assert step not in self.answers, step
            self.answers[step] = answer
        return answer

    def name(self, value: str, token: str) -> None:
        """Replace ``value`` (a member id this broker made up) by ``token`` in every answer."""
        if value:
            self.renames[value] = token

    def create_topic(self, name: str, partitions: int) -> None:
        [topic] = self.call(None, CREATE_TOPICS, 7, create_topics_body(name, partitions))["topics"]
        assert topic["error_code"] == 0, topic
        self.topic_ids[name] = topic["topic_id"]

    def coordinator_ready(self, group: str) -> None:
        """FindCoordinator until it answers (Kafka answers COORDINATOR_NOT_AVAILABLE while it creates
        __consumer_offsets), then until the group's partition is loaded (DescribeGroups answers)."""
        body = {"key_type": 0, "coordinator_keys": [group]}
        wait_until(lambda: self.call(None, FIND_COORDINATOR, 4, body)["coordinators"][0]["error_code"] == 0, 30)
        body = {"groups": [group], "include_authorized_operations": False}
        wait_until(lambda: self.call(None, DESCRIBE_GROUPS, 5, body)["groups"][0]["error_code"] == 0, 30)

    def group_state(self, group: str) -> str:
        body = {"groups": [group], "include_authorized_operations": False}
        return self.call(None, DESCRIBE_GROUPS, 5, body)["groups"][0]["group_state"]


def _sorted_lists(value):
    """Lists of members or groups sorted by their id (after renaming), so order is not compared."""
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_lists(v) for v in value]
        for key in ("member_id", "group_id", "key"):
            if items and all(isinstance(x, dict) and key in x for x in items):
                return sorted(items, key=lambda x: str(x[key]))
        return items
    return value


def run_both(oracle, scenario: Callable[[Side], None], renames: dict[str, str]) -> tuple[Side, Side]:
    """``scenario`` on Kafka and on Kavka at once, one thread each; both sides when both finished."""
    kafka = Side("kafka", oracle.kafka.bootstrap, {**renames, f":{oracle.kafka.port}": ":<port>"})
    kavka = Side("kavka", oracle.kavka.bootstrap, {**renames, f":{oracle.kavka.port}": ":<port>"})
    errors: dict[str, BaseException] = {}

    def run(side: Side) -> None:
        try:
            scenario(side)
        except BaseException as e:  # re-raised below, in the test's thread
            errors[side.kind] = e

    threads = [threading.Thread(target=run, args=(side,), daemon=True) for side in (kafka, kavka)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for kind, e in errors.items():
        raise AssertionError(f"the scenario failed on {kind}: {e!r}") from e
    assert not any(t.is_alive() for t in threads), "a scenario did not finish in 120 s"
    return kafka, kavka


def compared(kafka: Side, kavka: Side, mask: Callable[[object], object] = lambda v: v) -> dict[str, list[str]]:
    """The differences of every step that differs: {step: lines}, after ``mask`` of both answers."""
    found: dict[str, list[str]] = {}
    for step in list(kafka.answers) + [s for s in kavka.answers if s not in kafka.answers]:
        if step not in kavka.answers:
            found[step] = ["kafka only"]
            continue
        if step not in kafka.answers:
            found[step] = ["kavka only"]
            continue
        a = mask(_sorted_lists(normalise(kafka.answers[step], kafka.renames)))
        b = mask(_sorted_lists(normalise(kavka.answers[step], kavka.renames)))
        lines = differences(a, b)
        if lines:
            found[step] = lines
    return found


def expected(prefixes: set[str]) -> dict[str, list[str]]:
    """The known differences of the steps whose names start with one of ``prefixes`` (before ':')."""
    return {step: lines for step, lines in known.GROUP_DIFFERENCES.items() if step.split(":")[0] in prefixes}


def codes(side: Side, step: str) -> list[int]:
    """Every error code in one recorded answer (to show a scenario really met the errors it names)."""
    out: list[int] = []

    def walk(v) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "error_code":
                    out.append(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(side.answers[step])
    return out


# --- request bodies ---------------------------------------------------------------------------------


def join(group: str, member: str, instance: str | None = None, *, session: int = 30000, ptype: str = "consumer"):
    return {
        "group_id": group,
        "session_timeout": session,
        "rebalance_timeout": 30000,
        "member_id": member,
        "group_instance_id": instance,
        "protocol_type": ptype,
        "protocols": [{"name": "range", "metadata": b"\x00\x01meta"}],
        "reason": None,
    }


def heartbeat(group: str, generation: int, member: str, instance: str | None = None):
    return {"group_id": group, "generation_id": generation, "member_id": member, "group_instance_id": instance}


def sync(group: str, generation: int, member: str, instance: str | None = None, assignments=()):
    return {
        "group_id": group,
        "generation_id": generation,
        "member_id": member,
        "group_instance_id": instance,
        "protocol_type": "consumer",
        "protocol_name": "range",
        "assignments": [{"member_id": m, "assignment": a} for m, a in assignments],
    }


def leave(group: str, member: str, instance: str | None = None):
    return {
        "group_id": group,
        "member_id": member,
        "members": [{"member_id": member, "group_instance_id": instance, "reason": None}],
    }


def commit(side: Side, version: int, group: str, generation: int, member: str, instance=None, topics=None):
    """OffsetCommit of ``topics`` ({topic: {partition: offset}}), by name (or by id from v10)."""
    entries = []
    for topic, parts in (topics or {}).items():
        entry: dict = {"name": topic} if version < 10 else {"topic_id": side.topic_ids.get(topic, topic)}
        entry["partitions"] = [
            {
                "partition_index": p,
                "committed_offset": o,
                "committed_leader_epoch": -1,
                "committed_metadata": "md",
                "commit_timestamp": -1,
            }
            for p, o in parts.items()
        ]
        entries.append(entry)
    return {
        "group_id": group,
        "generation_id_or_member_epoch": generation,
        "member_id": member,
        "group_instance_id": instance,
        "retention_time": -1,
        "topics": entries,
    }


def fetch(side: Side, version: int, group: str, topics, member: str | None = None, epoch: int = -1):
    """OffsetFetch of ``topics`` ({topic: [partitions]}, None for all), in the version's form."""
    if version < 8:
        return {
            "group_id": group,
            "topics": None if topics is None else [{"name": t, "partition_indexes": ps} for t, ps in topics.items()],
            "require_stable": False,
        }
    key = "name" if version < 10 else "topic_id"
    named = None
    if topics is not None:
        named = [
            {key: t if key == "name" else side.topic_ids.get(t, t), "partition_indexes": ps} for t, ps in topics.items()
        ]
    return {
        "groups": [{"group_id": group, "member_id": member, "member_epoch": epoch, "topics": named}],
        "require_stable": False,
    }


# --- the classic protocol ---------------------------------------------------------------------------


def test_classic_group_errors(oracle, new_topic_name):
    """JoinGroup, SyncGroup, Heartbeat, LeaveGroup and OffsetCommit from members the group does not
    know, of an old generation, fenced by a newer static member, and during a rebalance, at old and
    new versions; then OffsetFetch (v1, v7, v9, v10) of what was committed and of unknown topics."""
    group, topic, missing = new_topic_name("cls"), new_topic_name("clst"), new_topic_name("nosuch")
    unknown_id = str(uuid.uuid4())

    def scenario(s: Side) -> None:
        s.create_topic(topic, 2)
        s.topic_ids[missing] = unknown_id
        s.coordinator_ready(group)
        # a group id that is empty
        s.call("empty-group-id:join", JOIN, 9, join("", "m"))
        s.call("empty-group-id:heartbeat", HEARTBEAT, 4, heartbeat("", 1, "m"))
        s.call("empty-group-id:sync", SYNC, 5, sync("", 1, "m"))
        s.call("empty-group-id:leave", LEAVE, 5, leave("", "m"))
        s.call("empty-group-id:commit", OFFSET_COMMIT, 9, commit(s, 9, "", 1, "m", topics={topic: {0: 1}}))
        # nothing in the group yet
        for v in (0, 4):
            s.call(f"no-group:heartbeat-v{v}", HEARTBEAT, v, heartbeat(group, 1, "m"))
        s.call("no-group:sync", SYNC, 5, sync(group, 1, "m"))
        s.call("no-group:leave-v0", LEAVE, 0, leave(group, "m"))
        s.call("no-group:leave-v5", LEAVE, 5, leave(group, "m"))
        for v in (2, 8, 9):
            s.call(f"no-group:commit-v{v}", OFFSET_COMMIT, v, commit(s, v, group, 1, "m", topics={topic: {0: 1}}))
        s.call("no-group:join-bad-session-timeout", JOIN, 9, join(group, "", "i1", session=1))
        # the first member, static (group.instance.id i1): waits group.initial.rebalance.delay.ms
        first = s.call("first:join", JOIN, 9, join(group, "", "i1"))
        m1 = first["member_id"]
        s.name(m1, "<m1>")
        s.call("first:sync", SYNC, 5, sync(group, 1, m1, "i1", [(m1, b"\x00\x00assigned")]))
        s.call("first:heartbeat", HEARTBEAT, 4, heartbeat(group, 1, m1, "i1"))
        for v in (0, 4):
            s.call(f"unknown-member:heartbeat-v{v}", HEARTBEAT, v, heartbeat(group, 1, "nobody"))
            s.call(f"illegal-generation:heartbeat-v{v}", HEARTBEAT, v, heartbeat(group, 7, m1, "i1" if v else None))
        for v in (0, 5):
            s.call(f"unknown-member:sync-v{v}", SYNC, v, sync(group, 1, "nobody"))
            s.call(f"illegal-generation:sync-v{v}", SYNC, v, sync(group, 7, m1, "i1" if v else None))
        s.call("unknown-member:leave-v0", LEAVE, 0, leave(group, "nobody"))
        s.call("unknown-member:leave-v5", LEAVE, 5, leave(group, "nobody"))
        s.call("other-protocol-type:join", JOIN, 9, join(group, "", ptype="other"))
        for v in (0, 5, 9):
            s.call(f"unknown-member:join-v{v}", JOIN, v, join(group, "nobody"))
        s.call("fenced:join-wrong-member-id", JOIN, 9, join(group, "wrong", "i1"))
        for v in (2, 7, 8, 9, 10):
            offsets = {topic: {0: 10 + v}}
            s.call(f"unknown-member:commit-v{v}", OFFSET_COMMIT, v, commit(s, v, group, 1, "nobody", topics=offsets))
            s.call(f"illegal-generation:commit-v{v}", OFFSET_COMMIT, v, commit(s, v, group, 7, m1, topics=offsets))
            s.call(f"member:commit-v{v}", OFFSET_COMMIT, v, commit(s, v, group, 1, m1, "i1", topics=offsets))
            both_topics = {topic: {1: 5, 9: 5}, missing: {0: 5}}
            s.call(f"unknown-topic:commit-v{v}", OFFSET_COMMIT, v, commit(s, v, group, 1, m1, "i1", topics=both_topics))
        for v in (1, 7, 9, 10):
            s.call(f"fetch:v{v}", OFFSET_FETCH, v, fetch(s, v, group, {topic: [0, 1, 9], missing: [0]}))
            if v >= 2:  # a null topic list (every topic) is v2+
                s.call(f"fetch-all:v{v}", OFFSET_FETCH, v, fetch(s, v, group, None))
        # the same static member again with no member id: a new member id, and the old one is fenced
        again = s.call("fenced:join", JOIN, 9, join(group, "", "i1"))
        m1b = again["member_id"]
        s.name(m1b, "<m1b>")
        s.call("fenced:heartbeat", HEARTBEAT, 4, heartbeat(group, 1, m1, "i1"))
        s.call("fenced:sync", SYNC, 5, sync(group, 1, m1, "i1"))
        s.call("fenced:commit", OFFSET_COMMIT, 9, commit(s, 9, group, 1, m1, "i1", topics={topic: {0: 1}}))
        s.call("fenced:leave", LEAVE, 5, leave(group, m1, "i1"))
        # a second member joins: the group rebalances until the first one joins again
        second = s.call("second:join-member-id-required", JOIN, 9, join(group, ""))
        m2 = second["member_id"]
        s.name(m2, "<m2>")
        parked = s.send(JOIN, 9, join(group, m2))
        wait_until(lambda: s.group_state(group) == "PreparingRebalance", 30)
        s.call("rebalance:heartbeat", HEARTBEAT, 4, heartbeat(group, 1, m1b, "i1"))
        s.call("rebalance:heartbeat-v0", HEARTBEAT, 0, heartbeat(group, 1, m1b))
        s.call("rebalance:sync", SYNC, 5, sync(group, 1, m1b, "i1"))
        s.call("rebalance:commit", OFFSET_COMMIT, 9, commit(s, 9, group, 1, m1b, "i1", topics={topic: {0: 2}}))
        s.call("rebalance:rejoin", JOIN, 9, join(group, m1b, "i1"))
        s.record("rebalance:joined", parked.result())
        s.call("completing:heartbeat", HEARTBEAT, 4, heartbeat(group, 2, m2))
        s.call("completing:commit", OFFSET_COMMIT, 9, commit(s, 9, group, 2, m2, topics={topic: {0: 3}}))
        s.call("completing:describe-v5", DESCRIBE_GROUPS, 5, {"groups": [group], "include_authorized_operations": True})
        s.call("completing:sync", SYNC, 5, sync(group, 2, m1b, "i1", [(m1b, b"a"), (m2, b"b")]))
        s.call("stable:sync-second", SYNC, 5, sync(group, 2, m2))
        s.call("stable:leave-second", LEAVE, 3, leave(group, m2))
        s.call("stable:describe-v6", DESCRIBE_GROUPS, 6, {"groups": [group], "include_authorized_operations": True})
        s.call(
            "stable:consumer-group-describe-v0",
            CONSUMER_DESCRIBE,
            0,
            {"group_ids": [group], "include_authorized_operations": False},
        )
        s.call(
            "stable:consumer-group-describe-v1",
            CONSUMER_DESCRIBE,
            1,
            {"group_ids": [group], "include_authorized_operations": False},
        )
        for v in (2, 3):
            s.call(f"stable:delete-v{v}", DELETE_GROUPS, v, {"groups_names": [group]})

    kafka, kavka = run_both(
        oracle, scenario, {group: "<group>", topic: "<topic>", missing: "<missing>", unknown_id: "<unknown-id>"}
    )
    found = compared(kafka, kavka)
    record("classic", found)
    assert found == expected(_CLASSIC_PREFIXES)
    # Not vacuous: Kafka met each error the steps name.
    assert 25 in codes(kafka, "unknown-member:heartbeat-v4") and 22 in codes(kafka, "illegal-generation:commit-v9")
    assert 82 in codes(kafka, "fenced:heartbeat") and 27 in codes(kafka, "rebalance:heartbeat")
    assert 24 in codes(kafka, "empty-group-id:join") and 100 in codes(kafka, "unknown-topic:commit-v10")


_CLASSIC_PREFIXES = {
    "empty-group-id",
    "no-group",
    "first",
    "unknown-member",
    "illegal-generation",
    "other-protocol-type",
    "member",
    "unknown-topic",
    "fetch",
    "fetch-all",
    "fenced",
    "second",
    "rebalance",
    "completing",
    "stable",
}


# --- KIP-848 consumer groups ------------------------------------------------------------------------


def consumer_heartbeat(group: str, member: str, epoch: int, topics=None, *, assignor=None, timeout=30000, owned=None):
    return {
        "group_id": group,
        "member_id": member,
        "member_epoch": epoch,
        "instance_id": None,
        "rack_id": None,
        "rebalance_timeout": timeout,
        "subscribed_topic_names": topics,
        "server_assignor": assignor,
        "topic_partitions": owned,
    }


_EPOCHS = re.compile(r"(epoch|coordinator) \(\d+\)")
_EPOCH_FIELDS = {"member_epoch", "group_epoch", "assignment_epoch", "assignment", "target_assignment"}
_MOVING_STATES = {"Assigning", "Reconciling", "Stable"}


def epochs_masked(value):
    """KIP-848 epochs and assignments replaced by "<epoch>" (in messages too). Kafka 4.4 starts a group
    at epoch 1 (KAFKA-20268) and computes target assignments in the background, at most once a
    second (KIP-1263), so whether an answer carries the new assignment yet depends on timing there;
    Kavka starts at 0 and assigns at once (docs/compatibility.md, "Groups")."""
    if isinstance(value, dict):
        return {k: _masked_field(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [epochs_masked(v) for v in value]
    if isinstance(value, str):
        return _EPOCHS.sub(r"\1 (<n>)", value)
    return value


def _masked_field(key: str, value):
    if key in _EPOCH_FIELDS and value is not None:
        return "<epoch>"
    if key == "group_state" and value in _MOVING_STATES:  # the same timing decides Assigning/Reconciling
        return "<moving>"
    return epochs_masked(value)


_CONSUMER_PREFIXES = {"cg-invalid", "cg-join", "cg-errors", "cg-offsets", "cg-describe", "cg-static", "cg-leave"}


def test_consumer_group_heartbeat_errors(oracle, new_topic_name):
    """ConsumerGroupHeartbeat (v0, v1) refusals: a member the group does not know, a fenced member
    epoch, an assignor the broker does not have, missing or bad fields; the member's commits and
    fetches with a stale epoch or an unknown member id; the classic APIs and DescribeGroups on a
    consumer group; ConsumerGroupDescribe v0/v1 and DeleteGroups v2/v3 of it."""
    group, topic = new_topic_name("cg"), new_topic_name("cgt")
    member, stranger, other = uuid.uuid4().hex[:22], uuid.uuid4().hex[:22], uuid.uuid4().hex[:22]

    def scenario(s: Side) -> None:
        s.create_topic(topic, 2)
        s.coordinator_ready(group)
        s.call("cg-invalid:empty-group-id", CONSUMER_HEARTBEAT, 1, consumer_heartbeat("", member, 0, [topic]))
        s.call("cg-invalid:empty-member-id-v1", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, "", 0, [topic]))
        s.call("cg-invalid:no-subscription", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, 0, owned=[]))
        s.call(
            "cg-invalid:no-rebalance-timeout",
            CONSUMER_HEARTBEAT,
            1,
            consumer_heartbeat(group, member, 0, [topic], timeout=-1),
        )
        s.call("cg-invalid:negative-epoch", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, -3, [topic]))
        s.call(
            "cg-invalid:unknown-assignor",
            CONSUMER_HEARTBEAT,
            1,
            consumer_heartbeat(group, member, 0, [topic], assignor="nope", owned=[]),
        )
        joined = s.call("cg-join:first", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, 0, [topic], owned=[]))
        epoch = joined["member_epoch"]
        again = s.call("cg-join:again", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, epoch, owned=None))
        # Kafka may have answered the join before its (background) assignment was ready: the member's
        # epoch is the one of its latest heartbeat, which the later steps use
        epoch = again["member_epoch"]
        s.call("cg-errors:unknown-member", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, stranger, 3))
        s.call("cg-errors:fenced-epoch", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, epoch + 10))
        s.call("cg-errors:fenced-epoch-v0", CONSUMER_HEARTBEAT, 0, consumer_heartbeat(group, member, epoch + 10))
        s.call("cg-errors:classic-join", JOIN, 9, join(group, "", ptype="other"))
        s.call("cg-errors:classic-heartbeat", HEARTBEAT, 4, heartbeat(group, epoch, member))
        s.call("cg-errors:classic-sync", SYNC, 5, sync(group, epoch, member))
        offsets = {topic: {0: 7}}
        s.call("cg-offsets:commit", OFFSET_COMMIT, 9, commit(s, 9, group, epoch, member, topics=offsets))
        s.call("cg-offsets:commit-v10", OFFSET_COMMIT, 10, commit(s, 10, group, epoch, member, topics={topic: {1: 8}}))
        s.call("cg-offsets:commit-stale", OFFSET_COMMIT, 9, commit(s, 9, group, epoch + 10, member, topics=offsets))
        s.call(
            "cg-offsets:commit-unknown-member", OFFSET_COMMIT, 9, commit(s, 9, group, epoch, stranger, topics=offsets)
        )
        s.call("cg-offsets:commit-v8", OFFSET_COMMIT, 8, commit(s, 8, group, epoch, member, topics=offsets))
        s.call("cg-offsets:commit-admin", OFFSET_COMMIT, 9, commit(s, 9, group, -1, "", topics=offsets))
        s.call("cg-offsets:fetch", OFFSET_FETCH, 9, fetch(s, 9, group, {topic: [0, 1]}, member, epoch))
        s.call("cg-offsets:fetch-v10", OFFSET_FETCH, 10, fetch(s, 10, group, None, member, epoch))
        s.call("cg-offsets:fetch-stale", OFFSET_FETCH, 9, fetch(s, 9, group, {topic: [0]}, member, epoch + 10))
        s.call("cg-offsets:fetch-unknown-member", OFFSET_FETCH, 9, fetch(s, 9, group, {topic: [0]}, stranger, epoch))
        s.call("cg-offsets:fetch-no-member", OFFSET_FETCH, 9, fetch(s, 9, group, {topic: [0]}))
        subscribed = {"group_id": group, "topics": [{"name": topic, "partitions": [{"partition_index": 0}]}]}
        s.call("cg-offsets:delete-subscribed", OFFSET_DELETE, 0, subscribed)
        ids = {"groups": [group], "include_authorized_operations": False}
        s.call("cg-describe:describe-groups-v5", DESCRIBE_GROUPS, 5, ids)
        s.call("cg-describe:describe-groups-v6", DESCRIBE_GROUPS, 6, ids)
        for v in (0, 1):
            body = {"group_ids": [group], "include_authorized_operations": True}
            s.call(f"cg-describe:consumer-group-describe-v{v}", CONSUMER_DESCRIBE, v, body)
        for v in (2, 3):
            s.call(f"cg-describe:delete-non-empty-v{v}", DELETE_GROUPS, v, {"groups_names": [group]})
        # static members (KIP-848): an instance id in use, then released by its member's leave (epoch -2)
        static = consumer_heartbeat(group, other, 0, [topic], owned=[]) | {"instance_id": "s1"}
        s.call("cg-static:join", CONSUMER_HEARTBEAT, 1, static)
        s.call("cg-static:instance-in-use", CONSUMER_HEARTBEAT, 1, static | {"member_id": stranger})
        s.call("cg-static:leave", CONSUMER_HEARTBEAT, 1, static | {"member_epoch": -2, "subscribed_topic_names": None})
        s.call("cg-static:fenced-by-replacement", CONSUMER_HEARTBEAT, 1, static | {"member_id": stranger})
        s.call(
            "cg-static:old-member",
            CONSUMER_HEARTBEAT,
            1,
            static | {"member_epoch": 1, "subscribed_topic_names": None, "topic_partitions": None},
        )
        s.call(
            "cg-static:bad-regex",
            CONSUMER_HEARTBEAT,
            1,
            consumer_heartbeat(group, uuid.uuid4().hex[:22], 0, owned=[]) | {"subscribed_topic_regex": "[unclosed"},
        )
        # a classic LeaveGroup removes a consumer-protocol member too (Kafka 4.4)
        s.call("cg-leave:classic-leave", LEAVE, 5, leave(group, member))
        s.call("cg-leave:leave", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, -1))
        s.call("cg-leave:after-leave", CONSUMER_HEARTBEAT, 1, consumer_heartbeat(group, member, epoch))
        fresh = s.call(
            "cg-leave:new-member-v0", CONSUMER_HEARTBEAT, 0, consumer_heartbeat(group, "", 0, [topic], owned=[])
        )
        s.name(fresh["member_id"], "<generated>")  # v0: the coordinator makes the member id up

    kafka, kavka = run_both(oracle, scenario, {group: "<group>", topic: "<topic>"})
    found = compared(kafka, kavka, epochs_masked)
    record("consumer", found)
    assert found == expected(_CONSUMER_PREFIXES)
    # Not vacuous: Kafka met each error the steps name.
    assert 25 in codes(kafka, "cg-errors:unknown-member") and 110 in codes(kafka, "cg-errors:fenced-epoch")
    assert 113 in codes(kafka, "cg-offsets:commit-stale") and 0 in codes(kafka, "cg-join:first")


# --- the versions Kafka 4.4 added -----------------------------------------------------------------------


_VERSION_PREFIXES = {"find", "describe", "delete", "admin"}


def test_group_and_admin_api_versions(oracle, new_topic_name):
    """FindCoordinator v0–v6 (share keys from v6), DescribeGroups v0–v6 and ConsumerGroupDescribe
    v0–v1 of groups that do not exist or are classic, DeleteGroups v0–v3, DescribeCluster v2 with
    fenced brokers, DescribeLogDirs v5 and AlterPartitionReassignments v1."""
    classic, unknown, topic = new_topic_name("vg"), new_topic_name("vu"), new_topic_name("vt")

    def scenario(s: Side) -> None:
        s.create_topic(topic, 1)
        s.coordinator_ready(classic)
        for v in range(7):
            body: dict = {"key": classic, "key_type": 0}
            if v >= 4:
                body = {"key_type": 0, "coordinator_keys": [classic, unknown]}
            s.call(f"find:group-v{v}", FIND_COORDINATOR, v, body)
        s.call("find:unknown-key-type-v3", FIND_COORDINATOR, 3, {"key": "x", "key_type": 5})
        s.call("find:unknown-key-type-v4", FIND_COORDINATOR, 4, {"key_type": 5, "coordinator_keys": ["x"]})
        s.call("find:share-key-v5", FIND_COORDINATOR, 5, {"key_type": 2, "coordinator_keys": [f"g:{'A' * 22}:0"]})
        share = {"key_type": 2, "coordinator_keys": [f"g:{'A' * 22}:0"]}
        if s.kind == "kafka":  # Kafka creates __share_group_state on the first lookup, then answers
            wait_until(lambda: s.call(None, FIND_COORDINATOR, 6, share)["coordinators"][0]["error_code"] == 0, 30)
        s.call("find:share-key-v6", FIND_COORDINATOR, 6, share)
        bad_share_keys = [" :AAAAAAAAAAAAAAAAAAAAAA:0", "g:AAAAAAAAAAAAAAAAAAAAAA:x", "a:b:c:d", "g:AAAA:1", "g"]
        s.call("find:bad-share-keys-v6", FIND_COORDINATOR, 6, {"key_type": 2, "coordinator_keys": bad_share_keys})
        # an Empty classic group: offsets committed with no generation (as an admin or assign() does)
        s.call("describe:commit", OFFSET_COMMIT, 9, commit(s, 9, classic, -1, "", topics={topic: {0: 1}}))
        for step, v, body in (
            ("v0", 0, {}),
            ("v4-empty", 4, {"states_filter": ["Empty"]}),
            ("v5-classic-empty", 5, {"states_filter": ["empty"], "types_filter": ["Classic"]}),
            ("v5-consumer", 5, {"states_filter": [], "types_filter": ["consumer"]}),
        ):
            listed = s.call(None, LIST_GROUPS, v, body)  # only this test's group: the brokers are shared
            listed["groups"] = [g for g in listed["groups"] if g["group_id"] == classic]
            s.record(f"describe:list-groups-{step}", listed)
        for v in range(7):
            body = {"groups": [classic, unknown, ""]}
            if v >= 3:
                body["include_authorized_operations"] = True
            s.call(f"describe:describe-groups-v{v}", DESCRIBE_GROUPS, v, body)
        for v in (0, 1):
            body = {"group_ids": [classic, unknown, ""], "include_authorized_operations": False}
            s.call(f"describe:consumer-group-describe-v{v}", CONSUMER_DESCRIBE, v, body)

        def offset_delete(group: str, topics: dict[str, list[int]]) -> dict:
            named = [{"name": t, "partitions": [{"partition_index": p} for p in ps]} for t, ps in topics.items()]
            return {"group_id": group, "topics": named}

        s.call("delete:offsets", OFFSET_DELETE, 0, offset_delete(classic, {topic: [0, 5], unknown: [0]}))
        s.call("delete:offsets-unknown-group", OFFSET_DELETE, 0, offset_delete(unknown, {topic: [0]}))
        s.call("delete:offsets-empty-group-id", OFFSET_DELETE, 0, offset_delete("", {topic: [0]}))
        for v in range(4):
            s.call(f"delete:v{v}", DELETE_GROUPS, v, {"groups_names": [unknown, ""]})
        s.call("delete:empty-group-v3", DELETE_GROUPS, 3, {"groups_names": [classic]})
        s.call("delete:deleted-group-v3", DELETE_GROUPS, 3, {"groups_names": [classic]})
        for fenced in (False, True):
            body = {"include_cluster_authorized_operations": True, "endpoint_type": 1, "include_fenced_brokers": fenced}
            s.call(f"admin:describe-cluster-v2-fenced-{fenced}", 60, 2, body)
        answer = s.call("admin:describe-log-dirs-v5", 35, 5, {"topics": [{"topic": topic, "partitions": [0]}]})
        for result in answer["results"]:  # the free space of the disk both write to changes all the time
            result["total_bytes"] = result["usable_bytes"] = "<bytes>" if result["total_bytes"] > 0 else -1
        for allow in (True, False):
            body = {
                "timeout": 30000,
                "allow_replication_factor_change": allow,
                "topics": [
                    {
                        "name": topic,
                        "partitions": [
                            {"partition_index": 0, "replicas": [1]},
                            {"partition_index": 0, "replicas": [1, 2]},
                        ],
                    },
                    {"name": unknown, "partitions": [{"partition_index": 0, "replicas": [1]}]},
                ],
            }
            s.call(f"admin:alter-partition-reassignments-v1-{allow}", 45, 1, body)

    renames = {classic: "<classic>", unknown: "<unknown>", topic: "<topic>"}
    kafka, kavka = run_both(oracle, scenario, renames)
    for side in (kafka, kavka):
        side.renames[str(oracle.kafka.data_dir if side is kafka else oracle.kavka.data_dir)] = "<log.dirs>"
    found = compared(kafka, kavka)
    record("versions", found)
    assert found == expected(_VERSION_PREFIXES)
    # Not vacuous: v6 describes the unknown group as not found, v5 as Dead with no error.
    assert sorted(codes(kafka, "describe:describe-groups-v6")) == [0, 69, 69]
    assert sorted(codes(kafka, "describe:describe-groups-v5")) == [0, 0, 0]
    assert 69 in codes(kafka, "delete:deleted-group-v3")
