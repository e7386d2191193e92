"""Brokers with SASL listeners: a Kavka broker whose one listener is SASL_PLAINTEXT, and an Apache Kafka
node configured the same way on a second listener, for the SASL tests of this package.

Both have users ``admin``/``admin-secret`` and ``alice``/``alice-secret`` for PLAIN (the listener's
JAAS config), ``scram-user``/``scram-secret`` for SCRAM-SHA-256 and SCRAM-SHA-512 (created with
AlterUserScramCredentials), and accept unsecured OAUTHBEARER tokens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, free_port
from tests.needs import require_kafka

PLAIN_JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";'
)
OAUTH_JAAS = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;"
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required ;"
MECHANISMS = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER"
SCRAM_USER, SCRAM_PASSWORD = "scram-user", "scram-secret"
REAUTH_MS = 2000


def sasl_overrides(listener: str, *, reauth: bool = True) -> dict[str, str]:
    """``listener``'s SASL settings (all four mechanisms, the JAAS configs above); with ``reauth`` its
    SCRAM-SHA-512 sessions end after REAUTH_MS (KIP-368)."""
    lst = listener.lower()
    settings = {
        f"listener.name.{lst}.sasl.enabled.mechanisms": MECHANISMS,
        f"listener.name.{lst}.plain.sasl.jaas.config": PLAIN_JAAS,
        f"listener.name.{lst}.oauthbearer.sasl.jaas.config": OAUTH_JAAS,
        f"listener.name.{lst}.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        f"listener.name.{lst}.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        "connection.failed.authentication.delay.ms": "100",
    }
    if reauth:  # KIP-368: SCRAM-SHA-512 sessions last REAUTH_MS, the other mechanisms' have no end
        settings[f"listener.name.{lst}.scram-sha-512.connections.max.reauth.ms"] = str(REAUTH_MS)
    return settings


def client_conf(bootstrap: str, mechanism: str = "PLAIN", user: str = "alice", password: str = "alice-secret"):
    """confluent-kafka settings for a SASL_PLAINTEXT client."""
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism}
    if mechanism == "OAUTHBEARER":
        conf.update({"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": f"principal={user}"})
    else:
        conf.update({"sasl.username": user, "sasl.password": password})
    return conf


@contextlib.contextmanager
def running(process, scram_admin: dict | None = None):
    """``process`` (a BrokerProcess or ApacheKafka) started, with the SCRAM user added through an admin
    client of ``scram_admin`` when given; stopped and its files removed afterwards, whatever happened."""
    process.start()
    try:
        if scram_admin is not None:
            add_scram_user(AdminClient(scram_admin))
        yield process
    finally:
        try:
            process.stop()
        finally:
            process.cleanup()


def add_scram_user(admin: AdminClient) -> None:
    # one mechanism per request: Kafka refuses a user named twice in one request
    for m in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
        upsert = UserScramCredentialUpsertion(SCRAM_USER, ScramCredentialInfo(m, 4096), SCRAM_PASSWORD.encode())
        for future in admin.alter_user_scram_credentials([upsert]).values():
            future.result()


@dataclass(frozen=True)
class SaslBroker:
    kind: str
    host: str
    port: int  # the SASL_PLAINTEXT listener
    log_path: Path  # the node's log (stdout and stderr)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


@pytest.fixture(scope="package")
def kavka_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    port = free_port()
    overrides = {"listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}", **sasl_overrides("SASL_PLAINTEXT")}
    b = BrokerProcess(tmp_path_factory.mktemp("kavka-sasl") / "data", port=port, overrides=overrides)
    with running(b, client_conf(b.bootstrap)):
        yield SaslBroker("kavka", b.host, port, b.log_path)


@pytest.fixture(scope="package")
def kafka_sasl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    """Apache Kafka with a SASL_PLAINTEXT listener beside its PLAINTEXT one (inter-broker stays PLAINTEXT)."""
    require_kafka()
    kafka = ApacheKafka(tmp_path_factory.mktemp("kafka-sasl"))
    sasl_port = free_port()
    h = kafka.host
    kafka.overrides.update(
        {
            "listeners": f"PLAINTEXT://{h}:{kafka.port},CONTROLLER://{h}:{kafka.controller_port},"
            f"SASL_PLAINTEXT://{h}:{sasl_port}",
            "advertised.listeners": f"PLAINTEXT://{h}:{kafka.port},SASL_PLAINTEXT://{h}:{sasl_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            **sasl_overrides("SASL_PLAINTEXT"),
        }
    )
    with running(kafka, {"bootstrap.servers": kafka.bootstrap}):
        yield SaslBroker("kafka", h, sasl_port, kafka.log_path)


@pytest.fixture(params=["kafka", "kavka"])
def sasl_broker(request: pytest.FixtureRequest) -> SaslBroker:
    """The same scenario on Apache Kafka and on Kavka, both configured as above."""
    return request.getfixturevalue(f"{request.param}_sasl")
