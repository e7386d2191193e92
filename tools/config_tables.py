"""Print the broker config tables of docs/configuration.md from Kavka's definitions.

    .venv/bin/python tools/config_tables.py > /tmp/tables.md

Three parts: the configs Kavka acts on (type, default, valid values, Kafka's update mode and when a
change takes effect in Kavka), the configs it accepts without acting on them (Kavka's own tuning knobs
and, grouped by feature, every other config of Kafka's catalogue), and Kavka's own configs.
"""

from __future__ import annotations

from collections import defaultdict

from kavka.metadata.configcatalogue import READ_ONLY, _feature, update_mode
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.configeffects import APPLIED_AT_START, NOT_ACTED_ON
from kavka.metadata.configtypes import to_string
from kavka.metadata.kafkabrokerconfigs import KAFKA_BROKER_CONFIGS

# The test that checks a config's effect end to end, where one does.
TESTED_BY = {
    "authorizer.class.name": "tests/security/test_acls_matrix.py",
    "replica.lag.time.max.ms": "tests/cluster/test_replication_faults.py",
    "replica.selector.class": "tests/cluster/test_replication.py",
    "offsets.commit.timeout.ms": "tests/cluster/test_cluster_coordinators.py",
    "auto.create.topics.enable": "tests/clients/test_autocreate.py",
    "auto.leader.rebalance.enable": "tests/controller/test_replication_control.py",
    "leader.imbalance.check.interval.seconds": "tests/cluster/test_elections.py",
    "unclean.leader.election.enable": "tests/controller/test_replication_control.py",
    "connections.max.idle.ms": "tests/server/test_connection_limits.py",
    "quota.window.num": "tests/security/test_quotas_throughput.py",
    "quota.window.size.seconds": "tests/security/test_quotas_throughput.py",
    "controller.quota.window.num": "tests/broker/test_mutation_quotas.py",
    "controller.quota.window.size.seconds": "tests/broker/test_mutation_quotas.py",
    "group.consumer.migration.policy": "tests/clients/test_groups_migration.py",
    "listeners": "tests/clients (every broker subprocess)",
    "log.cleaner.backoff.ms": "tests/clients/test_broker_dynamic_configs.py",
    "log.cleaner.dedupe.buffer.size": "tests/clients/test_broker_dynamic_configs.py",
    "log.cleaner.io.buffer.size": "tests/clients/test_broker_dynamic_configs.py",
    "log.cleaner.io.max.bytes.per.second": "tests/storage/test_storage_cleaner.py",
    "log.dirs": "tests/clients/test_durability.py",
    "log.index.interval.bytes": "tests/clients/test_durability.py",
    "log.message.timestamp.type": "tests/clients/test_admin_configs.py",
    "log.retention.ms": "tests/clients/test_admin_configs.py",
    "log.roll.ms": "tests/clients/test_admin_configs.py",
    "log.retention.bytes": "tests/clients/test_admin_configs.py",
    "log.segment.bytes": "tests/clients/test_durability.py",
    "max.connections": "tests/server/test_connection_limits.py",
    "max.connections.per.ip": "tests/server/test_connection_limits.py",
    "max.connections.per.ip.overrides": "tests/server/test_connection_limits.py",
    "message.max.bytes": "tests/clients/test_broker_dynamic_configs.py",
    "node.id": "tests/clients/test_serve.py",
    "num.partitions": "tests/clients/test_autocreate.py, test_topics.py",
    "process.roles": "tests/clients/test_serve.py",
    "producer.id.expiration.check.interval.ms": "tests/storage/test_storage_producer_expiration.py",
    "producer.id.expiration.ms": "tests/storage/test_storage_producer_expiration.py",
    "queued.max.request.bytes": "tests/server/test_backpressure.py",
    "socket.request.max.bytes": "tests/test_badframes.py",
    "transaction.partition.verification.enable": "tests/clients/test_transactions_verification.py",
}


def _default(name: str) -> str:
    d = BROKER_CONFIGS[name]
    text = None if d.sensitive else to_string(d.default, d.type)
    if text is None:
        return "*(none)*"
    return f"`{text}`" if text else '`""`'


def _effect(name: str) -> str:
    if update_mode(name) == READ_ONLY:
        return "at start"
    return "at start (stored live)" if name in APPLIED_AT_START else "live"


def main() -> None:
    acted = [n for n in BROKER_CONFIGS if n not in NOT_ACTED_ON and n in KAFKA_BROKER_CONFIGS]
    print("| name | type | default | valid values | Kafka's update mode | takes effect | tested by |")
    print("|---|---|---|---|---|---|---|")
    for name in acted:
        d = BROKER_CONFIGS[name]
        kind = d.extra.get("reported_type", d.type).name.lower()
        valid = str(d.validator) if d.validator is not None else ""
        print(
            f"| `{name}` | {kind} | {_default(name)} | {valid} | {update_mode(name)} | {_effect(name)} "
            f"| {TESTED_BY.get(name, '')} |"
        )
    print()
    groups: dict[str, list[str]] = defaultdict(list)
    for name in sorted(NOT_ACTED_ON):
        generated = BROKER_CONFIGS[name].doc.startswith("Kafka's setting for")
        groups[_feature(name) if generated else "(Kavka's design, see above)"].append(name)
    print("| feature | configs accepted, not acted on |")
    print("|---|---|")
    for feature, names in sorted(groups.items()):
        print(f"| {feature} | {', '.join(f'`{n}`' for n in names)} |")
    print()
    kavka_only = [n for n in BROKER_CONFIGS if n not in KAFKA_BROKER_CONFIGS]
    print("Kavka's own (not in Kafka 4.4): " + ", ".join(f"`{n}`" for n in kavka_only) + ".")


if __name__ == "__main__":
    main()
