"""Kafka's own tools with ``--command-config`` on a SASL listener, Apache Kafka and Kavka side by side:
kafka-configs adds, describes and deletes a user's SCRAM credential (AlterUserScramCredentials /
DescribeUserScramCredentials), and the console producer and consumer log in with it (the Java client's
SCRAM-SHA-256); ``kavka configs`` does the same. The Java client with each mechanism over each transport
is in test_sasl_matrix.py."""

from __future__ import annotations

import uuid

import pytest

from kavka.testing.apache_kafka import ApacheKafka

CONFIG = "org.apache.kafka.tools.ConfigCommand"
PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"


@pytest.fixture(scope="module")
def tools(kafka_sasl) -> ApacheKafka:
    """Kafka's jars, to run its tools (no node of its own: kafka_sasl skips when they are missing)."""
    return ApacheKafka()


def _properties(path, mechanism: str, user: str, password: str) -> str:
    module = "plain.PlainLoginModule" if mechanism == "PLAIN" else "scram.ScramLoginModule"
    path.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism={mechanism}\n"
        f"sasl.jaas.config=org.apache.kafka.common.security.{module} required "
        f'username="{user}" password="{password}";\n'
    )
    return str(path)


def test_kafka_configs_and_console_clients_with_scram(tools, sasl_broker, tmp_path):
    admin = _properties(tmp_path / "admin.properties", "PLAIN", "admin", "admin-secret")
    user = f"tool-{uuid.uuid4().hex[:6]}"
    base = ["--bootstrap-server", sasl_broker.bootstrap, "--command-config", admin]

    def configs(*args: str) -> list[str]:
        done = tools.run_tool(CONFIG, [*base, *args])
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()

    add = ["--alter", "--entity-type", "users", "--entity-name", user, "--add-config"]
    assert configs(*add, "SCRAM-SHA-256=[iterations=8192,password=tool-secret]") == [
        f"Completed updating config for user {user}."
    ]
    assert configs("--describe", "--entity-type", "users", "--entity-name", user) == [
        f"SCRAM credential configs for user-principal '{user}' are SCRAM-SHA-256=iterations=8192"
    ]

    client = _properties(tmp_path / "client.properties", "SCRAM-SHA-256", user, "tool-secret")
    topic = f"sasl-tools-{uuid.uuid4().hex[:6]}"
    produced = tools.run_tool(
        PRODUCER,
        ["--bootstrap-server", sasl_broker.bootstrap, "--topic", topic, "--command-config", client],
        stdin="over SCRAM\n",
    )
    assert produced.returncode == 0, produced.stderr
    consumed = tools.run_tool(
        CONSUMER,
        [
            "--bootstrap-server", sasl_broker.bootstrap, "--topic", topic, "--from-beginning",
            "--max-messages", "1", "--timeout-ms", "20000", "--command-config", client,
        ],
    )  # fmt: skip
    assert consumed.stdout.strip().splitlines() == ["over SCRAM"], consumed.stderr

    assert configs("--alter", "--entity-type", "users", "--entity-name", user, "--delete-config", "SCRAM-SHA-256") == [
        f"Completed updating config for user {user}."
    ]
    assert configs("--describe", "--entity-type", "users", "--entity-name", user) == []


def test_kavka_configs_manages_scram_users(kavka_sasl, tmp_path):
    """``kavka configs`` with a --command-config (Java-style sasl.jaas.config) adds, describes and deletes
    a SCRAM credential, with kafka-configs' lines; the credential then logs in."""
    import subprocess
    import sys

    from confluent_kafka.admin import AdminClient

    from tests.security.conftest import client_conf

    admin = _properties(tmp_path / "admin.properties", "PLAIN", "admin", "admin-secret")
    user = f"cli-{uuid.uuid4().hex[:6]}"

    def kavka(*args: str) -> list[str]:
        cmd = [sys.executable, "-m", "kavka", "configs", *args, "-b", kavka_sasl.bootstrap, "--command-config", admin]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()

    who = ["--entity-type", "users", "--entity-name", user]
    assert kavka("alter", *who, "--add-config", "SCRAM-SHA-512=[iterations=5000,password=cli-secret]") == [
        f"Completed updating config for user {user}."
    ]
    assert kavka("describe", *who) == [
        f"SCRAM credential configs for user-principal '{user}' are SCRAM-SHA-512=iterations=5000"
    ]
    login = AdminClient(client_conf(kavka_sasl.bootstrap, "SCRAM-SHA-512", user, "cli-secret"))
    assert login.list_topics(timeout=10).brokers
    assert kavka("alter", *who, "--delete-config", "SCRAM-SHA-512") == [f"Completed updating config for user {user}."]
    assert kavka("describe", *who) == []


def test_kavka_configs_takes_kafka_configs_spelling(kavka_sasl, tmp_path):
    """The command line of kafka-configs.sh, ``--alter`` / ``--describe`` as options, works as written
    (``kavka configs --alter --add-config 'SCRAM-SHA-256=[password=...]' --entity-type users``); giving
    both is refused in one line."""
    import subprocess
    import sys

    from confluent_kafka.admin import AdminClient

    from tests.security.conftest import client_conf

    admin = _properties(tmp_path / "admin.properties", "PLAIN", "admin", "admin-secret")
    user = f"cli-{uuid.uuid4().hex[:6]}"
    connect = ["--bootstrap-server", kavka_sasl.bootstrap, "--command-config", admin]

    def kavka(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "kavka", "configs", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    who = ["--entity-type", "users", "--entity-name", user]
    done = kavka(*connect, "--alter", "--add-config", "SCRAM-SHA-256=[password=cli-secret]", *who)
    assert (done.returncode, done.stdout.splitlines()) == (0, [f"Completed updating config for user {user}."])
    done = kavka("--describe", *who, *connect)
    assert (done.returncode, done.stdout.splitlines()) == (
        0,
        [f"SCRAM credential configs for user-principal '{user}' are SCRAM-SHA-256=iterations=4096"],
    )
    login = AdminClient(client_conf(kavka_sasl.bootstrap, "SCRAM-SHA-256", user, "cli-secret"))
    assert login.list_topics(timeout=10).brokers
    both = kavka("--alter", "--describe", *who, *connect)
    assert both.returncode == 2 and both.stderr.strip().splitlines()[-1] == "Error: give one of --alter and --describe"
