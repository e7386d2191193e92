"""DescribeConfigs v4 with synonyms and documentation, for a topic and for the broker: every config
name Kafka returns, its value (default), type, source, read-only flag, sensitivity and synonyms.

Documentation is compared for presence only (Kavka writes its own text). Configs that the two test
set-ups set differently on purpose (listeners, ports, data directories, internal topics' replication
factors: `SETUP`) are compared for name, type and flags, not value or source. Config names present on
one side only are compared as sets (known.*_ONLY_*), every other difference as lines (known.*_LINES).
"""

from __future__ import annotations

import functools
import re
from concurrent.futures import ThreadPoolExecutor

from kavka.testing.apache_kafka import ApacheKafka
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences, record
from tests.oracle.oraclewire import BROKER, CREATE_TOPICS, DESCRIBE_CONFIGS, TOPIC

SETUP = set(ApacheKafka(base_dir="/nonexistent").properties()) | {"num.partitions", "broker.id", "log.dir"}
_ONLY = re.compile(r"^results\[[^\]]+\]\.configs\[([^\]]+)\]: (kafka|kavka) only$")


def _normalise(answer: dict) -> dict:
    for result in answer["results"]:
        for entry in result["configs"]:
            if entry.get("documentation"):
                entry["documentation"] = "<doc>"
            if entry["name"] in SETUP:
                entry["value"] = entry["config_source"] = entry["synonyms"] = "<set-up>"
    return answer


def _describe(oracle, resource_type: int, name: str, renames: dict[str, str] | None = None):
    body = {
        "resources": [{"resource_type": resource_type, "resource_name": name, "configuration_keys": None}],
        "include_synonyms": True,
        "include_documentation": True,
    }
    kafka, kavka = oracle.both(DESCRIBE_CONFIGS, 4, body, renames)
    lines = differences(_normalise(kafka), _normalise(kavka))
    only = {"kafka": set(), "kavka": set()}
    rest = []
    for line in lines:
        m = _ONLY.match(line)
        if m:
            only[m.group(2)].add(m.group(1))
        else:
            rest.append(line)
    return kafka, only, rest


def test_topic_configs(oracle, new_topic_name):
    name = new_topic_name("dc")
    body = {
        "topics": [
            {
                "name": name,
                "num_partitions": 1,
                "replication_factor": 1,
                "assignments": [],
                "configs": [
                    {"name": "cleanup.policy", "value": "compact"},
                    {"name": "retention.ms", "value": "3600000"},
                ],
            }
        ],
        "timeout": 30000,
        "validate_only": False,
    }
    oracle.both(CREATE_TOPICS, 7, body)
    kafka, only, rest = _describe(oracle, TOPIC, name, {name: "<topic>"})
    record("topic", rest)
    assert len(kafka["results"][0]["configs"]) > 30  # not vacuous: Kafka lists every topic config
    assert only["kafka"] == known.KAFKA_ONLY_TOPIC_CONFIGS
    assert only["kavka"] == known.KAVKA_ONLY_TOPIC_CONFIGS
    assert sorted(rest) == sorted(known.TOPIC_CONFIG_LINES)


def test_broker_configs(oracle):
    kafka, only, rest = _describe(oracle, BROKER, "1")
    record("broker", rest)
    assert len(kafka["results"][0]["configs"]) > 200
    assert only["kafka"] == known.KAFKA_ONLY_BROKER_CONFIGS
    assert only["kavka"] == known.KAVKA_ONLY_BROKER_CONFIGS
    assert sorted(rest) == sorted(known.BROKER_CONFIG_LINES)


def test_unknown_topic_and_bad_broker_ids(oracle, new_topic_name):
    missing = new_topic_name("none")
    body = {
        "resources": [
            {"resource_type": TOPIC, "resource_name": missing, "configuration_keys": None},
            {"resource_type": BROKER, "resource_name": "not-a-number", "configuration_keys": None},
            {"resource_type": BROKER, "resource_name": "7", "configuration_keys": None},
            {"resource_type": TOPIC, "resource_name": "", "configuration_keys": None},
        ],
        "include_synonyms": False,
        "include_documentation": False,
    }
    assert sorted(oracle.diff(DESCRIBE_CONFIGS, 4, body, {missing: "<topic>"})) == sorted(
        known.DESCRIBE_CONFIGS_ERROR_LINES
    )


CONFIG_COMMAND = "org.apache.kafka.tools.ConfigCommand"


def _config_command(apache_kafka, broker, args: list[str]) -> tuple[list[str], list[str]]:
    """kafka-configs with ``args`` against Kafka and Kavka at once: (kafka lines, kavka lines) of stdout,
    or of the exception's cause when the tool fails; configs the set-ups set differently are dropped."""

    def run(bootstrap: str) -> list[str]:
        done = apache_kafka.run_tool(CONFIG_COMMAND, ["--bootstrap-server", bootstrap, *args])
        if done.returncode:
            return [f"exit {done.returncode}: " + done.stderr.strip().splitlines()[-1]]
        lines = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
        return [line for line in lines if line.strip().split("=", 1)[0] not in SETUP]

    with ThreadPoolExecutor(2) as pool:
        kafka, kavka = pool.map(run, (apache_kafka.bootstrap, broker.bootstrap))
    return kafka, kavka


def test_config_command_on_brokers(apache_kafka, broker):
    """kafka-configs --entity-type brokers (Kafka's ConfigCommand) prints the same on both brokers: a
    config of a feature Kavka lacks set on broker 1 (issue 13), a cluster-wide default (described with
    --entity-default --all: the dynamic defaults only), every broker config with --all, and a read-only
    config refused."""
    tool = functools.partial(_config_command, apache_kafka, broker)
    broker_1, default = (
        ["--entity-type", "brokers", "--entity-name", "1"],
        ["--entity-type", "brokers", "--entity-default"],
    )
    found = {}
    try:
        add = "sasl.kerberos.min.time.before.relogin=60001,log.cleaner.threads=2"
        kafka, kavka = tool(["--alter", *broker_1, "--add-config", add])
        assert kafka == kavka == ["Completed updating config for broker 1."]
        kafka, kavka = tool(["--alter", *default, "--add-config", "log.retention.ms=3600000"])
        assert kafka == kavka == ["Completed updating default config for brokers in the cluster."]
        kafka, kavka = tool(["--describe", *broker_1, "--all"])
        assert (
            len(kafka) > 300
            and (
                "  sasl.kerberos.min.time.before.relogin=60001 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:"
                "sasl.kerberos.min.time.before.relogin=60001, DEFAULT_CONFIG:sasl.kerberos.min.time.before.relogin=60000}"
            )
            in kafka
        )
        found["describe-broker-all"] = ([x for x in kafka if x not in kavka], [x for x in kavka if x not in kafka])
        kafka, kavka = tool(["--describe", *default, "--all"])
        found["describe-default"] = ([x for x in kafka if x not in kavka], [x for x in kavka if x not in kafka])
        kafka, kavka = tool(["--alter", *broker_1, "--add-config", "advertised.listeners=PLAINTEXT://h:1"])
        assert kafka == kavka
        assert kafka[0].endswith(
            "InvalidRequestException: Cannot update these configs dynamically: [advertised.listeners]"
        )
    finally:
        tool(["--alter", *broker_1, "--delete-config", "sasl.kerberos.min.time.before.relogin,log.cleaner.threads"])
        tool(["--alter", *default, "--delete-config", "log.retention.ms"])
    record("config-command", found)
    assert found == known.CONFIG_COMMAND_DIFFERENCES
