"""``kavka topics``: create, list, describe, alter, delete against a real broker, with exit codes."""

from __future__ import annotations

from kavka.testing.process import wait_until


def test_create_list_describe_delete(kavka, topic_name):
    r = kavka(f"topics create {topic_name} --partitions 3 --replication-factor 1")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"Created topic {topic_name}."

    r = kavka("topics list")
    assert r.exit_code == 0
    assert topic_name in r.stdout.splitlines()  # one name per line, nothing else on it

    r = kavka(f"topics describe {topic_name}")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"Topic: {topic_name}\tTopicId: ")
    assert "PartitionCount: 3\tReplicationFactor: 1" in lines[0]
    assert lines[1].split() == ["PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START-OFFSET", "LOG-END-OFFSET"]
    rows = [line.split() for line in lines[3:] if line.strip()]
    assert rows == [[str(p), "1", "1", "1", "0", "0"] for p in range(3)]

    r = kavka(f"topics delete {topic_name}")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"Deleted topic {topic_name}."
    wait_until(lambda: topic_name not in kavka("topics list").stdout.splitlines(), 15, message="topic gone")


def test_create_existing_topic_fails_with_one_line(kavka, create_topic):
    name = create_topic()
    r = kavka(f"topics create {name}")
    assert r.exit_code == 1
    assert r.stderr.strip() == f"Error: Topic '{name}' already exists."
    assert "Traceback" not in r.output
    assert kavka(f"topics create {name} --if-not-exists").exit_code == 0


def test_invalid_topic_name_is_refused(kavka):
    r = kavka(["topics", "create", "bad name!"])
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and "bad name!" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_describe_and_delete_missing_topic(kavka, new_topic_name):
    missing = new_topic_name("missing")
    r = kavka(f"topics describe {missing}")
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: Topic '{missing}' does not exist."
    r = kavka(f"topics delete {missing}")
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: Topic '{missing}' does not exist."
    assert kavka(f"topics delete {missing} --if-exists").exit_code == 0


def test_describe_shows_end_offsets_and_config_overrides(kavka, create_topic):
    name = create_topic(partitions=1, configs={"retention.ms": "123456"})
    r = kavka(f"produce {name}", input="a\nb\nc\n")
    assert r.exit_code == 0, r.output
    r = kavka(f"topics describe {name}")
    assert r.exit_code == 0, r.output
    assert "Configs: retention.ms=123456" in r.stdout.splitlines()[0]
    assert r.stdout.splitlines()[3].split() == ["0", "1", "1", "1", "0", "3"]


def test_alter_partitions_up_and_refusal_down(kavka, create_topic):
    name = create_topic(partitions=1)
    r = kavka(f"topics alter {name} --partitions 3")
    assert r.exit_code == 0, r.output
    wait_until(
        lambda: "PartitionCount: 3" in kavka(f"topics describe {name} --no-offsets").stdout, 15, message="3 partitions"
    )
    r = kavka(f"topics alter {name} --partitions 2")
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1


def test_alter_configs_through_topics(kavka, create_topic):
    name = create_topic()
    r = kavka(f"topics alter {name} --config retention.ms=5000")
    assert r.exit_code == 0, r.output
    assert f"Completed updating config for topic {name}." in r.stdout
    assert "Configs: retention.ms=5000" in kavka(f"topics describe {name}").stdout


def test_create_with_configs_and_default_partitions(kavka, topic_name):
    r = kavka(f"topics create {topic_name} --config cleanup.policy=compact --config retention.ms=1000")
    assert r.exit_code == 0, r.output
    head = kavka(f"topics describe {topic_name}").stdout.splitlines()[0]
    assert "PartitionCount: 1" in head  # the session broker runs with num.partitions=1
    assert "cleanup.policy=compact" in head and "retention.ms=1000" in head
