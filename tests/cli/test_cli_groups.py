"""``kavka groups``: list, describe (state, assignor, members, offsets, lag), reset-offsets in every mode,
delete, and ``--output json``, against the broker's real group coordinator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kavka.testing.process import wait_until

# the records of `consumed_group` carry these timestamps: BASE_MS + i seconds for record i
BASE_MS = int(datetime(2024, 1, 31, 12, 0, tzinfo=UTC).timestamp() * 1000)


def _produce(bootstrap: str, topic: str, values_by_partition: dict[int, list[str]]) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for partition, values in values_by_partition.items():
        for i, v in enumerate(values):
            p.produce(topic, v.encode(), partition=partition, timestamp=BASE_MS + i * 1000)
    assert p.flush(30) == 0


@pytest.fixture
def consumed_group(kavka, bootstrap, create_topic, new_topic_name):
    """A topic with 5 records in partition 0 (timestamps BASE_MS + i s), and a group that consumed 3 of
    them with ``kavka consume`` then left (Empty)."""
    name = create_topic(partitions=1)
    group = new_topic_name("group")
    _produce(bootstrap, name, {0: [f"v{i}" for i in range(5)]})
    r = kavka(f"consume {name} --group {group} --from-beginning --max-messages 3 --timeout-ms 20000")
    assert r.exit_code == 0 and r.stdout.splitlines() == ["v0", "v1", "v2"], r.output
    return name, group


@pytest.fixture
def committed_group(bootstrap, create_topic, new_topic_name):
    """As `consumed_group`, but committed by an ``assign()`` consumer: no rebalance to wait for."""
    from confluent_kafka import Consumer, TopicPartition

    name = create_topic(partitions=1)
    group = new_topic_name("group")
    _produce(bootstrap, name, {0: [f"v{i}" for i in range(5)]})
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(name, 0, 3)], asynchronous=False)
    finally:
        c.close()
    return name, group


def _table(stdout: str, first: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [first])
    return [line.split() for line in lines[start + 2 :] if line.strip()]


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _current(kavka, group: str) -> list[int | None]:
    return [o["current_offset"] for o in _json(kavka(f"groups describe {group} --output json"))[0]["offsets"]]


def test_list_and_describe_an_empty_group(kavka, consumed_group):
    topic, group = consumed_group
    r = kavka("groups list")
    assert r.exit_code == 0, r.output
    assert group in r.stdout.splitlines()
    assert [group, "Empty"] in _table(kavka("groups list --state").stdout, "GROUP")
    listed = {g["group"]: g for g in _json(kavka("groups list --output json"))}
    assert listed[group] == {"group": group, "state": "Empty", "type": "classic", "simple": False}

    r = kavka(f"groups describe {group}")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == (
        f"Consumer group '{group}': state Empty, assignor none, 0 member(s), total lag 2"
    )
    assert f"Consumer group '{group}' has no active members." in r.stdout
    assert _table(r.stdout, "GROUP") == [[group, topic, "0", "3", "5", "2", "-", "-", "-"]]
    r = kavka(f"groups describe {group} --state")
    assert _table(r.stdout, "GROUP")[0][-3:] == ["none", "Empty", "0"]

    [doc] = _json(kavka(f"groups describe {group} --output json"))
    assert set(doc.pop("coordinator")) == {"id", "host", "port"}
    assert doc == {
        "group": group,
        "state": "Empty",
        "type": "classic",
        "protocol": None,
        "members": [],
        "offsets": [
            {
                "topic": topic,
                "partition": 0,
                "current_offset": 3,
                "log_end_offset": 5,
                "lag": 2,
                "member_id": None,
                "client_id": None,
                "host": None,
            }
        ],
        "total_lag": 2,
    }


def test_describe_an_active_group_then_refuse_to_reset_or_delete_it(kavka, bootstrap, create_topic, new_topic_name):
    """Three members on two partitions (one idle), committed offsets 2 of 5 and 5 of 5."""
    from confluent_kafka import Consumer, TopicPartition

    topic = create_topic(partitions=2)
    group = new_topic_name("active")
    _produce(bootstrap, topic, {p: [f"{p}-{i}" for i in range(5)] for p in range(2)})
    assigned: dict[str, set[int]] = {}
    consumers = {}
    for name in ("cli-a", "cli-b", "cli-c"):
        c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": name,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500,
            }
        )
        c.subscribe([topic], on_assign=lambda c, ps, name=name: assigned.__setitem__(name, {p.partition for p in ps}))
        consumers[name] = c
    try:

        def stable() -> bool:
            for c in consumers.values():
                c.poll(0.05)
            return len(assigned) == 3 and sorted(p for ps in assigned.values() for p in ps) == [0, 1]

        wait_until(stable, 40, interval=0, message=lambda: f"a stable group, assignments {assigned}")
        owner = {p: name for name, ps in assigned.items() for p in ps}
        [idle] = [name for name, ps in assigned.items() if not ps]
        consumers[owner[0]].commit(offsets=[TopicPartition(topic, 0, 2)], asynchronous=False)
        consumers[owner[1]].commit(offsets=[TopicPartition(topic, 1, 5)], asynchronous=False)

        listed = {g["group"]: g["state"] for g in _json(kavka("groups list --output json"))}
        assert listed[group] == "Stable"

        r = kavka(f"groups describe {group}")
        assert r.exit_code == 0, r.output
        assert r.stdout.splitlines()[0] == (
            f"Consumer group '{group}': state Stable, assignor range, 3 member(s), total lag 3"
        )
        rows = _table(r.stdout, "GROUP")
        assert [(row[1:6], row[7:]) for row in rows] == [
            ([topic, "0", "2", "5", "3"], ["/127.0.0.1", owner[0]]),
            ([topic, "1", "5", "5", "0"], ["/127.0.0.1", owner[1]]),
            (["-", "-", "-", "-", "-"], ["/127.0.0.1", idle]),
        ]

        r = kavka(f"groups describe {group} --members")
        got = {row[3]: (row[4], row[5] if len(row) > 5 else None) for row in _table(r.stdout, "GROUP")}
        assert got == {owner[0]: ("1", f"{topic}(0)"), owner[1]: ("1", f"{topic}(1)"), idle: ("0", "-")}
        r = kavka(f"groups describe {group} --state")
        assert _table(r.stdout, "GROUP")[0][-3:] == ["range", "Stable", "3"]

        [doc] = _json(kavka(f"groups describe {group} --output json"))
        assert (doc["state"], doc["type"], doc["protocol"], doc["total_lag"]) == ("Stable", "classic", "range", 3)
        members = {m["client_id"]: m for m in doc["members"]}
        assert sorted(members) == ["cli-a", "cli-b", "cli-c"]
        assert {name: [a["partition"] for a in m["assignment"]] for name, m in members.items()} == {
            owner[0]: [0],
            owner[1]: [1],
            idle: [],
        }
        assert all(
            m["host"] == "/127.0.0.1" and m["member_id"].startswith(m["client_id"] + "-") for m in members.values()
        )
        assert [
            (o["partition"], o["current_offset"], o["log_end_offset"], o["lag"], o["client_id"], o["member_id"])
            for o in doc["offsets"]
        ] == [
            (0, 2, 5, 3, owner[0], members[owner[0]]["member_id"]),
            (1, 5, 5, 0, owner[1], members[owner[1]]["member_id"]),
        ]

        refusal = (
            f"Error: Assignments can only be reset if the group '{group}' is inactive, but the current state is Stable."
        )
        for mode in ("--dry-run", "--execute", "--execute --output json"):
            r = kavka(f"groups reset-offsets {group} --topic {topic} --to-earliest {mode}")
            assert (r.exit_code, r.stdout, r.stderr.strip()) == (1, "", refusal), mode
        assert _current(kavka, group) == [2, 5]

        r = kavka(f"groups delete {group}")
        assert r.exit_code == 1
        assert r.stderr.splitlines() == [
            "Error: Deletion of some consumer groups failed:",
            f"* Group '{group}' could not be deleted due to: The group is not empty.",
        ]
        r = kavka(f"groups delete {group} --output json")
        assert r.exit_code == 1 and json.loads(r.stdout) == {
            "deleted": [],
            "failed": {group: "The group is not empty."},
        }
    finally:
        for c in consumers.values():
            c.close()  # LeaveGroup: the group is Empty at once
    r = kavka(f"groups reset-offsets {group} --topic {topic} --to-earliest --execute")
    assert r.exit_code == 0, r.output
    assert _current(kavka, group) == [0, 0]


def test_reset_offsets_dry_run_then_execute(kavka, committed_group):
    topic, group = committed_group
    r = kavka(f"groups reset-offsets {group} --topic {topic} --to-earliest")
    assert r.exit_code == 0, r.output
    assert _table(r.stdout, "GROUP") == [[group, topic, "0", "0"]]
    assert "dry run: nothing committed" in r.stderr
    r = kavka(f"groups reset-offsets {group} --topic {topic} --to-latest --dry-run")
    assert (r.exit_code, _table(r.stdout, "GROUP")) == (0, [[group, topic, "0", "5"]])
    assert _current(kavka, group) == [3]  # the dry runs changed nothing

    r = kavka(f"groups reset-offsets {group} --topic {topic}:0 --shift-by -1 --execute")
    assert r.exit_code == 0, r.output
    assert _table(r.stdout, "GROUP") == [[group, topic, "0", "2"]]
    assert "dry run" not in r.stderr
    assert _table(kavka(f"groups describe {group}").stdout, "GROUP")[0][3:6] == ["2", "5", "3"]

    r = kavka(f"groups reset-offsets {group} --all-topics --to-offset 99 --execute")  # clamped to the end
    assert _table(r.stdout, "GROUP") == [[group, topic, "0", "5"]]
    assert _current(kavka, group) == [5]


# mode -> the offset planned from a committed offset of 3 in a log of 5 records (offsets 0..4)
MODES = {
    "--to-earliest": 0,
    "--to-latest": 5,
    "--to-offset 1": 1,
    "--to-offset -7": 0,  # clamped to the log start
    "--shift-by 1": 4,
    "--shift-by -2": 1,
    "--shift-by 10": 5,  # clamped to the log end
    "--to-current": 3,
    "--to-datetime 2024-01-31T12:00:01.500Z": 2,  # the first record at or after: v2 at +2 s
    "--to-datetime 2024-01-31T13:00:03+01:00": 3,  # another zone: 12:00:03Z, v3
    "--to-datetime 2030-01-01T00:00:00Z": 5,  # after every record: the log end
}


def test_reset_offsets_every_mode_dry_run_and_execute(kavka, committed_group):
    topic, group = committed_group
    for mode, planned in MODES.items():
        doc = _json(kavka(f"groups reset-offsets {group} --topic {topic} {mode} --dry-run --output json"))
        assert doc == {
            "group": group,
            "executed": False,
            "partitions": [{"topic": topic, "partition": 0, "previous_offset": 3, "new_offset": planned}],
        }, mode
        assert _current(kavka, group) == [3], mode
        doc = _json(kavka(f"groups reset-offsets {group} --topic {topic} {mode} --execute --output json"))
        assert (doc["executed"], doc["partitions"][0]["new_offset"]) == (True, planned), mode
        assert _current(kavka, group) == [planned], mode
        r = kavka(f"groups reset-offsets {group} --topic {topic} --to-offset 3 --execute")
        assert (r.exit_code, _table(r.stdout, "GROUP")) == (0, [[group, topic, "0", "3"]]), r.output


def test_reset_offsets_of_a_partition_without_a_commit(kavka, committed_group, create_topic):
    _, group = committed_group
    other = create_topic(partitions=2)
    r = kavka(f"groups reset-offsets {group} --topic {other} --shift-by 1")
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        f"Error: Cannot shift offset for partition {other}-0 since there is no current committed offset."
    )
    r = kavka(f"groups reset-offsets {group} --topic {other}:1 --to-earliest --execute")
    assert r.exit_code == 0, r.output
    assert _table(r.stdout, "GROUP") == [[group, other, "1", "0"]]
    offsets = _json(kavka(f"groups describe {group} --output json"))[0]["offsets"]
    assert [(o["partition"], o["current_offset"]) for o in offsets if o["topic"] == other] == [(1, 0)]


def test_delete_group(kavka, committed_group, new_topic_name):
    _, group = committed_group
    missing = new_topic_name("nogroup")
    r = kavka(f"groups delete {missing} --output json")
    assert (r.exit_code, json.loads(r.stdout)) == (
        1,
        {"deleted": [], "failed": {missing: "The group id does not exist."}},
    )
    r = kavka(f"groups delete {group}")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"Deletion of requested consumer groups ('{group}') was successful."
    assert group not in kavka("groups list").stdout.splitlines()
    r = kavka(f"groups describe {group}")
    assert (r.exit_code, r.stderr.strip()) == (1, f"Error: Consumer group '{group}' does not exist.")


def test_describe_missing_group(kavka, new_topic_name):
    group = new_topic_name("nogroup")
    r = kavka(f"groups describe {group}")
    assert r.exit_code == 1
    assert r.stderr.strip() == f"Error: Consumer group '{group}' does not exist."
    r = kavka(f"groups describe {group} --output json")
    assert (r.exit_code, json.loads(r.stdout)) == (1, [])
