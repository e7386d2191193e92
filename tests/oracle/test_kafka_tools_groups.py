"""Kafka's console producer and consumer with keys and headers, and kafka-consumer-groups (list, describe
with members and state, reset-offsets, delete-offsets, delete), run against Apache Kafka and Kavka
with the same input; their outputs must match line for line once timestamps and member ids are
normalised (known.TOOL_DIFFERENCES_GROUPS lists what still differs: nothing, today).
"""

from __future__ import annotations

import re
import uuid

from confluent_kafka import Consumer

from kavka.testing.process import wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import record
from tests.oracle.oracletools import both

GROUPS = "consumer.group.ConsumerGroupCommand"
_CREATE_TIME = (re.compile(r"CreateTime:\d+"), "CreateTime:<ts>")
_MEMBER = (re.compile(r"\b(\S+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), r"\1-<member>")
_MEMBER_848 = (re.compile(r"(?<=<group848> )[A-Za-z0-9_+/-]{22}(?= )"), "<member-id>")
_COORDINATOR = (re.compile(r"127\.0\.0\.1:\d+ +\(1\)"), "<coordinator> (1)")
_COLUMNS = (re.compile(r" {2,}"), " ")  # table widths follow the widest cell: compare the cells


def _active_member(bootstrap: str, group: str, topic: str, protocol: str = "classic") -> Consumer:
    """A member of ``group`` (client.id "member", the ``protocol`` rebalance protocol) that owns its partitions."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "member",
            "auto.offset.reset": "earliest",
            "group.protocol": protocol,
        }
    )
    consumer.subscribe([topic])
    wait_until(lambda: consumer.poll(0.2) is None and bool(consumer.assignment()), 30, message="assignment")
    return consumer


def test_console_headers_and_consumer_groups(apache_kafka, broker):
    topic, group = f"tools-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    renames = {topic: "<topic>", group: "<group>"}
    found = {}

    def tool(main, args, more=None, **kw):
        return both(apache_kafka, broker, main, args, {**renames, **(more or {})}, **kw)

    tool("TopicCommand", ["--create", "--topic", topic, "--partitions", "1"])
    run = tool(
        "ConsoleProducer",
        ["--topic", topic]
        + [
            arg
            for p in ("parse.key=true", "parse.headers=true", "null.marker=<null>")
            for arg in ("--reader-property", p)
        ],
        stdin="h1:v1,h2:v2\tk1\tval1\nh3:v3\tk2\tval2\nh4:<null>\tk3\t<null>\n",
    )
    assert run.kafka == run.kavka == []
    printing = [f"print.{what}=true" for what in ("key", "headers", "partition", "offset", "timestamp")]
    run = tool(
        "consumer.ConsoleConsumer",
        ["--topic", topic, "--from-beginning", "--max-messages", "3", "--group", group, "--timeout-ms", "30000"]
        + [arg for p in printing for arg in ("--formatter-property", p)],
        subs=[_CREATE_TIME],
    )
    records = [line for line in run.kafka if line.startswith("CreateTime")]
    assert records == [
        "CreateTime:<ts>\tPartition:0\tOffset:0\th1:v1,h2:v2\tk1\tval1",
        "CreateTime:<ts>\tPartition:0\tOffset:1\th3:v3\tk2\tval2",
        "CreateTime:<ts>\tPartition:0\tOffset:2\th4:null\tk3\tnull",
    ]
    found["console-consumer"] = run.one_sided()

    # The group as it stands (Empty, offsets committed at 3), then with one live member.
    subs = [_MEMBER, _COORDINATOR, _COLUMNS, _MEMBER_848]
    run = tool(GROUPS, ["--list", "--state"], subs=subs)
    mine = [[line for line in side if "<group>" in line or "STATE" in line] for side in (run.kafka, run.kavka)]
    assert mine[0] == ["GROUP STATE", "<group> Empty"], run.kafka
    found["list-state"] = ([x for x in mine[0] if x not in mine[1]], [x for x in mine[1] if x not in mine[0]])
    members = [_active_member(target.bootstrap, group, topic) for target in (apache_kafka, broker)]
    try:
        run = tool(GROUPS, ["--describe", "--group", group, "--members", "--verbose"], subs=subs)
        assert any("member-<member> /127.0.0.1 member 1" in line for line in run.kafka), run.kafka
        found["describe-members-verbose"] = run.one_sided()
        run = tool(GROUPS, ["--describe", "--group", group, "--state", "--verbose"], subs=subs)
        assert any("Stable" in line for line in run.kafka), run.kafka
        found["describe-state-verbose"] = run.one_sided()
        # A group with members refuses a reset: both say so the same way.
        run = tool(
            GROUPS, ["--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute"], check=False
        )
        found["reset-active-group"] = run.one_sided()
    finally:
        for member in members:
            member.close()

    # A KIP-848 (consumer protocol) group: members with epochs and target assignments.
    group848 = f"g848-{uuid.uuid4().hex[:8]}"
    members = [_active_member(target.bootstrap, group848, topic, "consumer") for target in (apache_kafka, broker)]
    try:
        run = tool(
            GROUPS, ["--describe", "--group", group848, "--members", "--verbose"], {group848: "<group848>"}, subs=subs
        )
        assert any(line.startswith("<group848> ") and "<topic>:0" in line for line in run.kafka), run.kafka
        found["consumer-protocol describe-members-verbose"] = run.one_sided()
    finally:
        for member in members:
            member.close()

    resets = [
        ["--topic", topic, "--to-earliest", "--dry-run"],
        ["--topic", topic, "--to-offset", "1", "--execute"],
        ["--topic", f"{topic}:0", "--shift-by", "-1", "--execute"],
    ]
    for i, args in enumerate(resets):
        run = tool(GROUPS, ["--reset-offsets", "--group", group, *args], subs=subs)
        assert any(line.split()[-1] == ("0", "1", "0")[i] for line in run.kafka if "<topic>" in line), run.kafka
        found[f"reset-{args[1]}"] = run.one_sided()
    run = tool(GROUPS, ["--delete-offsets", "--group", group, "--topic", topic])
    assert "Request succeeded for deleting offsets from group <group>." in run.kafka
    found["delete-offsets"] = run.one_sided()
    missing = f"nosuch-{uuid.uuid4().hex[:6]}"
    run = tool(GROUPS, ["--delete", "--group", group, "--group", missing], {missing: "<missing>"}, check=False)
    assert any("GroupIdNotFoundException" in line for line in run.kafka), run.kafka
    assert run.codes[0] == run.codes[1]
    found["delete"] = run.one_sided()
    found = {k: v for k, v in found.items() if v != ([], [])}
    record("tools-groups", found)
    assert found == known.TOOL_DIFFERENCES_GROUPS
