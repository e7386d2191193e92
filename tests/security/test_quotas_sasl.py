"""Quotas per authenticated user, and the CLI's ``--command-config`` on a SASL listener, on Apache Kafka
and on Kavka configured the same way (a SASL_PLAINTEXT listener with PLAIN and SCRAM beside PLAINTEXT):
what Kavka's tools do on a secured broker, and what a per-user quota does once a connection has a
principal. Precedence between user, client-id and default entities: ``test_quotas_users``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from confluent_kafka import Producer

from kavka.cli.main import main
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, free_port, wait_until
from kavka.testing.process import create_topic as create_on
from tests.needs import require_kafka

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"


def _sasl_overrides(host: str, plaintext: int, controller: int | None, sasl: int) -> dict[str, str]:
    users = " ".join(f'user_{u}="{p}"' for u, p in USERS.items())
    controller_listener = f",CONTROLLER://{host}:{controller}" if controller else ""
    return {
        "listeners": f"PLAINTEXT://{host}:{plaintext}{controller_listener},SASL_PLAINTEXT://{host}:{sasl}",
        "advertised.listeners": f"PLAINTEXT://{host}:{plaintext},SASL_PLAINTEXT://{host}:{sasl}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": f"{PLAIN} required {users};",
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": f"{SCRAM} required;",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": f"{SCRAM} required;",
        "num.partitions": "1",
    }


@pytest.fixture(scope="module")
def sasl_kafka_broker(tmp_path_factory) -> Iterator[tuple[ApacheKafka, str]]:
    """Apache Kafka with the SASL_PLAINTEXT listener: (the broker, the listener's host:port)."""
    require_kafka()
    kafka = ApacheKafka(tmp_path_factory.mktemp("sasl-kafka"))
    sasl_port = free_port()
    kafka.overrides.update(_sasl_overrides(kafka.host, kafka.port, kafka.controller_port, sasl_port))
    kafka.start()
    try:
        yield kafka, f"{kafka.host}:{sasl_port}"
    finally:
        try:
            kafka.stop()
        finally:
            kafka.cleanup()


@pytest.fixture(scope="module")
def sasl_kavka_broker(tmp_path_factory) -> Iterator[tuple[BrokerProcess, str]]:
    """Kavka configured as ``sasl_kafka_broker``."""
    kavka = BrokerProcess(tmp_path_factory.mktemp("sasl-kavka") / "data")
    sasl_port = free_port()
    kavka.overrides.update(_sasl_overrides(kavka.host, kavka.port, None, sasl_port))
    kavka.start()
    try:
        yield kavka, f"{kavka.host}:{sasl_port}"
    finally:
        kavka.stop()
        kavka.cleanup()


@pytest.fixture(params=["kafka", "kavka"])
def sasl_kafka(request) -> tuple[ApacheKafka | BrokerProcess, str]:
    """The same scenario on Apache Kafka and on Kavka: (the broker, its SASL_PLAINTEXT host:port)."""
    return request.getfixturevalue(f"sasl_{request.param}_broker")


def _props(tmp_path, user: str, password: str, mechanism: str = "PLAIN") -> str:
    path = tmp_path / f"{user}-{uuid.uuid4().hex[:4]}.properties"
    module = PLAIN if mechanism == "PLAIN" else SCRAM
    path.write_text(
        f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism={mechanism}\n"
        f'sasl.jaas.config={module} required username="{user}" password="{password}";\n'
    )
    return str(path)


def _kavka(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="kavka")


def test_cli_command_config_on_a_sasl_listener(sasl_kafka, tmp_path):
    _, sasl = sasl_kafka
    good = _props(tmp_path, "alice", USERS["alice"])
    # the first command after the broker's start: a JVM on a loaded machine may take a while to answer
    listed = _kavka("topics", "list", "-b", sasl, "--command-config", good, "--timeout", "30")
    assert listed.exit_code == 0, listed.output
    # the quota commands send their own requests: SASL PLAIN through kavka.cli.wire
    altered = _kavka(
        "configs",
        "alter",
        "--user",
        "alice",
        "--add-config",
        "request_percentage=200",
        "-b",
        sasl,
        "--command-config",
        good,
    )
    assert altered.output.strip() == "Completed updating config for user alice.", altered.output
    # the broker answers DescribeClientQuotas from its metadata, which follows the controller a moment later
    wanted = "Quota configs for user-principal 'alice' are request_percentage=200.0"
    wait_until(
        lambda: (
            _kavka("configs", "describe", "--user", "alice", "-b", sasl, "--command-config", good).output.strip()
            == wanted
        ),
        timeout=30,
        message="the quota described",
    )
    bad = _props(tmp_path, "alice", "wrong")
    refused = _kavka("configs", "describe", "--user", "alice", "-b", sasl, "--command-config", bad)
    assert refused.exit_code == 1 and "Authentication failed" in refused.output, refused.output
    no_file = _kavka("configs", "describe", "--user", "alice", "-b", sasl)  # a SASL port without credentials
    assert no_file.exit_code == 1, no_file.output


def test_producer_byte_rate_per_user(sasl_kafka, tmp_path):
    """A quota on user alice throttles her clients (whatever their client id) and not bob's."""
    kafka, sasl = sasl_kafka
    topic = f"per-user-{uuid.uuid4().hex[:6]}"
    create_on(kafka.bootstrap, topic)
    admin = _props(tmp_path, "bob", USERS["bob"])
    assert (
        _kavka(
            "configs",
            "alter",
            "--user",
            "alice",
            "--add-config",
            "producer_byte_rate=10000",
            "-b",
            sasl,
            "--command-config",
            admin,
        ).exit_code
        == 0
    )

    def throttle_seen(user: str) -> int:
        """The largest throttle time a producer authenticated as ``user`` is told, sending 200 kB."""
        seen = [0]
        conf = {
            "bootstrap.servers": sasl,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": user,
            "sasl.password": USERS[user],
            "client.id": f"any-{uuid.uuid4().hex[:4]}",
            "statistics.interval.ms": 100,
            "throttle_cb": lambda event: seen.__setitem__(0, max(seen[0], event.throttle_time * 1000)),
        }
        p = Producer(conf)
        for _ in range(20):
            p.produce(topic, b"x" * 10_000)
        assert p.flush(30) == 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (user != "alice" or not seen[0]):
            p.poll(0.1)
        return seen[0]

    assert throttle_seen("alice") > 0
    assert throttle_seen("bob") == 0


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_quota_commands_authenticate_with_scram(sasl_kafka, tmp_path, mechanism):
    from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    kafka, sasl = sasl_kafka
    user = f"carol{mechanism[-3:]}"
    kind = ScramMechanism.SCRAM_SHA_256 if mechanism.endswith("256") else ScramMechanism.SCRAM_SHA_512
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(kind, 4096), b"carol-secret")
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(30)
    good = _props(tmp_path, user, "carol-secret", mechanism)
    # the credential reaches the broker's SCRAM cache through the metadata log: retry until it is there
    deadline = time.monotonic() + 15
    while True:
        done = _kavka(
            "configs",
            "alter",
            "--user",
            user,
            "--add-config",
            "consumer_byte_rate=5000",
            "-b",
            sasl,
            "--command-config",
            good,
        )
        if done.exit_code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert done.output.strip() == f"Completed updating config for user {user}.", done.output
    bad = _kavka(
        "configs", "describe", "--user", user, "-b", sasl, "--command-config", _props(tmp_path, user, "nope", mechanism)
    )
    assert bad.exit_code == 1 and "Authentication failed" in bad.output, bad.output
    # the first command after the broker's start: a JVM on a loaded machine may take a while to answer
    listed = _kavka("topics", "list", "-b", sasl, "--command-config", good, "--timeout", "30")
    assert listed.exit_code == 0, listed.output
