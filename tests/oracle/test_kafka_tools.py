"""Kafka's own command-line tools, run by their main classes from the pinned jars, against Kafka and
against Kavka: kafka-topics (create, describe, alter, delete), kafka-configs (describe --all, alter),
the console producer and consumer, and kafka-consumer-groups --describe. Their output is compared
line by line after normalising names and ids; known.TOOL_DIFFERENCES lists the lines seen on one side
only. Each tool run starts a JVM (about a second), so both sides run at once and the runs are few.
"""

from __future__ import annotations

import uuid

import pytest

from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import record
from tests.oracle.oracletools import both


def _both(apache_kafka, broker, main: str, args: list[str], renames: dict[str, str], stdin: str | None = None):
    """Run one tool against each broker at once; return (kafka lines, kavka lines), normalised."""
    run = both(apache_kafka, broker, main, args, renames, stdin=stdin)
    return run.kafka, run.kavka


def _one_sided(kafka: list[str], kavka: list[str]) -> tuple[list[str], list[str]]:
    return [x for x in kafka if x not in kavka], [x for x in kavka if x not in kafka]


@pytest.fixture
def tools(apache_kafka, broker):
    def call(main, args, renames, stdin=None):
        return _both(apache_kafka, broker, main, args, renames, stdin)

    return call


def test_kafka_topics_and_configs(tools):
    topic = f"tools-{uuid.uuid4().hex[:8]}"
    renames = {topic: "<topic>"}
    found = {}
    kafka, kavka = tools(
        "TopicCommand",
        ["--create", "--topic", topic, "--partitions", "2", "--config", "cleanup.policy=compact"],
        renames,
    )
    assert kafka == kavka == ["Created topic <topic>."]
    kafka, kavka = tools("TopicCommand", ["--alter", "--topic", topic, "--partitions", "3"], renames)
    assert kafka == kavka
    kafka, kavka = tools("TopicCommand", ["--describe", "--topic", topic], renames)
    assert len(kafka) == 4 and "PartitionCount: 3" in kafka[0]  # header and three partitions
    found["topics-describe"] = _one_sided(kafka, kavka)
    kafka, kavka = tools(
        "ConfigCommand",
        [
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            topic,
            "--add-config",
            "retention.ms=3600000,segment.bytes=1048576",
        ],
        renames,
    )
    assert kafka == kavka == ["Completed updating config for topic <topic>."]
    kafka, kavka = tools(
        "ConfigCommand", ["--describe", "--entity-type", "topics", "--entity-name", topic, "--all"], renames
    )
    assert "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}" in kafka
    one_sided = known.KAFKA_ONLY_TOPIC_CONFIGS | known.KAVKA_ONLY_TOPIC_CONFIGS
    keep = [line for line in kafka + kavka if line.strip().split("=", 1)[0] not in one_sided]
    found["configs-describe-all"] = _one_sided([x for x in kafka if x in keep], [x for x in kavka if x in keep])
    kafka, kavka = tools("TopicCommand", ["--delete", "--topic", topic], renames)
    assert kafka == kavka == []
    record("tools", found)
    assert found == known.TOOL_DIFFERENCES_TOPICS


def test_console_producer_consumer_and_groups(tools):
    topic, group = f"tools-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    renames = {topic: "<topic>", group: "<group>"}
    tools("TopicCommand", ["--create", "--topic", topic, "--partitions", "3"], renames)
    kafka, kavka = tools(
        "ConsoleProducer",
        ["--topic", topic, "--reader-property", "parse.key=true", "--reader-property", "key.separator=:"],
        renames,
        stdin="a:1\nb:2\nc:3\nd:4\n",
    )
    assert kafka == kavka
    kafka, kavka = tools(
        "consumer.ConsoleConsumer",
        [
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            "4",
            "--group",
            group,
            "--formatter-property",
            "print.key=true",
            "--formatter-property",
            "print.partition=true",
            "--timeout-ms",
            "30000",
        ],
        renames,
    )
    records = sorted(line for line in kafka if "\t" in line)
    assert len(records) == 4  # each record with its partition: the default partitioner places keys alike
    assert records == sorted(line for line in kavka if "\t" in line)
    assert [x for x in kafka if "\t" not in x] == [x for x in kavka if "\t" not in x]
    kafka, kavka = tools("consumer.group.ConsumerGroupCommand", ["--describe", "--group", group], renames)
    assert any("<topic>" in line for line in kafka)
    assert [line.split() for line in kafka] == [line.split() for line in kavka]  # columns, not their widths
