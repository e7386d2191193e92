"""``kavka configs`` for client quotas: the same lines as Kafka's ``kafka-configs.sh``, against Apache
Kafka and against Kavka (the command talks to any Kafka broker)."""

from __future__ import annotations

import shlex
import uuid

from click.testing import CliRunner

from kavka.cli.main import main
from kavka.cli.quotas import java_double

TOOL = "org.apache.kafka.tools.ConfigCommand"


def _kavka(bootstrap: str, command: str):
    args = [*shlex.split(command), "--bootstrap-server", bootstrap]
    return CliRunner().invoke(main, args, catch_exceptions=False, prog_name="kavka")


def _lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.strip())


def test_java_double():
    assert [java_double(v) for v in (1024.0, 0.5, 50.0, 10485760.0, 1e7, 0.0001, 123456789.0)] == [
        "1024.0",
        "0.5",
        "50.0",
        "1.048576E7",
        "1.0E7",
        "1.0E-4",
        "1.23456789E8",
    ]


def test_configs_for_quotas_as_kafka_configs(apache_kafka, broker):
    tag = uuid.uuid4().hex[:8]
    user, client = f"qu-{tag}", f"qc-{tag}"
    alters = [
        (
            f"--user {user} --add-config producer_byte_rate=1024",
            f"--entity-type users --entity-name {user} --add-config producer_byte_rate=1024",
        ),
        (
            f"--user {user} --client {client} --add-config consumer_byte_rate=20971520,request_percentage=50",
            f"--entity-type users --entity-name {user} --entity-type clients --entity-name {client} "
            "--add-config consumer_byte_rate=20971520,request_percentage=50",
        ),
        (
            f"--entity-type clients --entity-name {client} --add-config controller_mutation_rate=2.5",
            f"--entity-type clients --entity-name {client} --add-config controller_mutation_rate=2.5",
        ),
    ]
    describes = [
        (f"--user {user}", f"--entity-type users --entity-name {user}"),
        (
            f"--user {user} --client {client}",
            f"--entity-type users --entity-name {user} --entity-type clients --entity-name {client}",
        ),
        (f"--entity-type clients --entity-name {client}", f"--entity-type clients --entity-name {client}"),
        (f"--user {user} --entity-type clients", f"--entity-type users --entity-name {user} --entity-type clients"),
    ]
    # kavka configs alters both brokers; its confirmation is kafka-configs' (checked for one alter)
    for bootstrap in (apache_kafka.bootstrap, broker.bootstrap):
        for ours, _ in alters:
            result = _kavka(bootstrap, f"configs alter {ours}")
            assert result.exit_code == 0, result.output
    ours, theirs = alters[0]
    kafka_tool = apache_kafka.run_tool(
        TOOL, ["--bootstrap-server", apache_kafka.bootstrap, "--alter", *shlex.split(theirs)]
    )
    assert _lines(_kavka(broker.bootstrap, f"configs alter {ours}").output) == _lines(kafka_tool.stdout)
    # describe: kavka configs prints what kafka-configs prints, and the same on both brokers
    for ours, theirs in describes:
        on_kafka = _kavka(apache_kafka.bootstrap, f"configs describe {ours}")
        on_kavka = _kavka(broker.bootstrap, f"configs describe {ours}")
        kafka_tool = apache_kafka.run_tool(
            TOOL, ["--bootstrap-server", apache_kafka.bootstrap, "--describe", *shlex.split(theirs)]
        )
        assert _lines(on_kafka.output) == _lines(on_kavka.output) == _lines(kafka_tool.stdout), ours
        assert on_kavka.output.strip(), ours
    shown = _kavka(broker.bootstrap, f"configs describe --user {user} --client {client}").output
    assert shown.strip() == (
        f"Quota configs for user-principal '{user}', client-id '{client}' are "
        "consumer_byte_rate=2.097152E7, request_percentage=50.0"
    ) or shown.strip() == (
        f"Quota configs for user-principal '{user}', client-id '{client}' are "
        "request_percentage=50.0, consumer_byte_rate=2.097152E7"
    )
    # deleting a key, and Kafka's error for a bad value
    assert _kavka(broker.bootstrap, f"configs alter --user {user} --delete-config producer_byte_rate").exit_code == 0
    assert _kavka(broker.bootstrap, f"configs describe --user {user}").output == ""
    bad = CliRunner().invoke(
        main,
        [
            "configs",
            "alter",
            "--user",
            user,
            "--add-config",
            "producer_byte_rate=1.5",
            "--bootstrap-server",
            broker.bootstrap,
        ],
    )
    assert bad.exit_code == 1 and "producer_byte_rate cannot be a fractional value." in bad.output


def test_default_entities_as_kafka_configs(apache_kafka, broker):
    """--client-defaults / --entity-type clients --entity-default: Kafka's `<default>` entity. A quota far
    above any use, removed at the end (the session brokers serve other tests)."""
    theirs = ["--describe", "--entity-type", "clients", "--entity-default"]
    try:
        for bootstrap in (apache_kafka.bootstrap, broker.bootstrap):
            done = _kavka(bootstrap, "configs alter --client-defaults --add-config request_percentage=1000000")
            assert done.output.strip() == "Completed updating default config for clients in the cluster."
        kafka_tool = apache_kafka.run_tool(TOOL, ["--bootstrap-server", apache_kafka.bootstrap, *theirs])
        on_kavka = _kavka(broker.bootstrap, "configs describe --entity-type clients --entity-default")
        assert (
            _lines(on_kavka.output)
            == _lines(kafka_tool.stdout)
            == ["Quota configs for the default client-id are request_percentage=1000000.0"]
        )
    finally:
        for bootstrap in (apache_kafka.bootstrap, broker.bootstrap):
            _kavka(bootstrap, "configs alter --client-defaults --delete-config request_percentage")
    assert _kavka(broker.bootstrap, "configs describe --client-defaults").output == ""
