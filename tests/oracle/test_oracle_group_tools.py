"""The Java consumer and kafka-consumer-groups against Kafka and Kavka, now that Kavka serves the group
APIs at Kafka 4.4's versions (OffsetCommit/OffsetFetch v10 with topic ids, DescribeGroups v6,
ConsumerGroupDescribe v1, DeleteGroups v3, FindCoordinator v6): the console consumer reads a topic in
a group with ``group.protocol=consumer`` (KIP-848) and with ``classic``, then ConsumerGroupCommand
lists, describes (offsets and state) and deletes both groups. Outputs are compared line by line, by
columns (their widths follow the names). Each side runs in its own thread, so the JVMs overlap.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Producer

TOOLS = "org.apache.kafka.tools."


def test_java_consumer_and_consumer_groups_command(apache_kafka, broker):
    topic = f"gtools-{uuid.uuid4().hex[:8]}"
    groups = {"consumer": f"gk848-{uuid.uuid4().hex[:8]}", "classic": f"gcls-{uuid.uuid4().hex[:8]}"}
    renames = {topic: "<topic>", groups["consumer"]: "<consumer-group>", groups["classic"]: "<classic-group>"}

    def tool(bootstrap: str, main: str, args: list[str]) -> list[str]:
        done = apache_kafka.run_tool(TOOLS + main, ["--bootstrap-server", bootstrap, *args])
        assert done.returncode == 0, f"{main} {args} against {bootstrap}: exit {done.returncode}\n{done.stderr[-3000:]}"
        text = done.stdout
        for old, new in {**renames, bootstrap: "<bootstrap>"}.items():
            text = text.replace(old, new)
        return [line.split() for line in text.splitlines() if line.strip()]

    def scenario(bootstrap: str) -> dict[str, list[list[str]]]:
        out: dict[str, list[list[str]]] = {}
        tool(bootstrap, "TopicCommand", ["--create", "--topic", topic, "--partitions", "2"])
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(6):
            producer.produce(topic, key=f"k{i}", value=f"v{i}", partition=i % 2)
        assert producer.flush(30) == 0
        for protocol, group in groups.items():
            args = [
                "--topic",
                topic,
                "--from-beginning",
                "--max-messages",
                "6",
                "--group",
                group,
                "--timeout-ms",
                "30000",
            ]
            lines = tool(
                bootstrap, "consumer.ConsoleConsumer", [*args, "--command-property", f"group.protocol={protocol}"]
            )
            out[f"consume-{protocol}"] = sorted(line for line in lines if line[0].startswith("v"))
        command = "consumer.group.ConsumerGroupCommand"
        both = ["--group", groups["consumer"], "--group", groups["classic"]]
        out["list"] = sorted(line for line in tool(bootstrap, command, ["--list"]) if line[0].startswith("<"))
        out["describe"] = tool(bootstrap, command, ["--describe", *both])
        out["describe-state"] = tool(bootstrap, command, ["--describe", "--state", *both])
        out["delete"] = tool(bootstrap, command, ["--delete", *both])
        return out

    with ThreadPoolExecutor(2) as pool:
        kafka, kavka = pool.map(scenario, (apache_kafka.bootstrap, broker.bootstrap))
    assert kafka["consume-consumer"] == kafka["consume-classic"] == [[f"v{i}"] for i in range(6)]
    assert kafka["list"] == [["<classic-group>"], ["<consumer-group>"]]
    assert ["<consumer-group>", "<topic>", "1", "3", "3", "0", "-", "-", "-"] in kafka["describe"]
    [deleted] = kafka["delete"]  # the tool prints the groups in its own (hash) order
    assert deleted[:5] == ["Deletion", "of", "requested", "consumer", "groups"] and deleted[-2:] == [
        "was",
        "successful.",
    ]
    assert sorted(w.strip("(',)") for w in deleted[5:-2]) == ["<classic-group>", "<consumer-group>"]
    assert kafka == kavka
