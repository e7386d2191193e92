"""DescribeConfigs v4 with synonyms and documentation, for a topic and for the broker: every config
name Kafka returns, its value (default), type, source, read-only flag, sensitivity and synonyms.

Documentation is compared for presence only (Kavka writes its own text). Configs that the two test
set-ups set differently on purpose (listeners, ports, data directories, internal topics' replication
factors: `SETUP`) are compared for name, type and flags, not value or source. Config names present on
one side only are compared as sets (known.*_ONLY_*), every other difference as lines (known.*_LINES).
"""

from __future__ import annotations

import re

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
