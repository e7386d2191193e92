"""SASL inside TLS: a ``SASL_SSL`` listener beside ``PLAINTEXT`` and ``SSL`` on one broker, Kavka and
Apache Kafka configured the same way (the same certificate files, JAAS configs and SCRAM users).

The TLS handshake comes first, then SASL inside it, and the connection's principal is the SASL user's
even when the client also shows a certificate (``listener.name.sasl_ssl.ssl.client.auth=requested``).
Each listener serves its own clients; a wrong password, a broker certificate the client does not trust,
a client certificate the broker does not trust and a SASL client that skips TLS fail with the same
librdkafka errors as on Kafka; librdkafka re-authenticates (KIP-368) inside TLS on both; a per-user
quota throttles a SASL_SSL user's fetches on both, without a disconnect. Each client with each
mechanism over SASL_SSL (and SASL_PLAINTEXT) is in test_sasl_matrix.py.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.certs import Pki, make_pki
from kavka.testing.process import BrokerProcess, free_port, wait_until
from tests.clients.clientlib import PRODUCE, READ_ALL, Out
from tests.needs import require_kafka
from tests.security.conftest import MECHANISMS, PLAIN_JAAS, SCRAM_PASSWORD, SCRAM_USER, running

STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required ;"
CREDENTIALS = {
    "PLAIN": ("alice", "alice-secret"),
    "SCRAM-SHA-256": (SCRAM_USER, SCRAM_PASSWORD),
    "SCRAM-SHA-512": (SCRAM_USER, SCRAM_PASSWORD),
}


@dataclass
class Ports:
    plaintext: int
    ssl: int
    sasl_ssl: int


def _settings(pki: Pki, ports: Ports, *, extra_listener: str = "", extra_map: str = "") -> dict[str, str]:
    """The same server properties for both brokers: three client listeners, PEM key and trust stores,
    SASL on SASL_SSL, and the StandardAuthorizer letting everyone through where no ACL says otherwise
    (the tests add a DENY to see whose principal a connection has)."""
    advertised = (
        f"PLAINTEXT://127.0.0.1:{ports.plaintext},SSL://127.0.0.1:{ports.ssl},SASL_SSL://127.0.0.1:{ports.sasl_ssl}"
    )
    return {
        "listeners": advertised + extra_listener,
        "advertised.listeners": advertised,
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL" + extra_map,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": pki.broker_pem,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki.ca_pem,
        "listener.name.sasl_ssl.ssl.client.auth": "requested",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": MECHANISMS,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
        "listener.name.sasl_ssl.oauthbearer.sasl.jaas.config": (
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;"
        ),
        # KIP-368 for the OAUTHBEARER sessions only (the one test using them): 1.5 s, then re-authenticate
        "listener.name.sasl_ssl.oauthbearer.connections.max.reauth.ms": "1500",
        "connection.failed.authentication.delay.ms": "100",
        "authorizer.class.name": STANDARD_AUTHORIZER,
        "allow.everyone.if.no.acl.found": "true",
        "super.users": "User:admin",
        "num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def kavka(pki, tmp_path_factory):
    ports = Ports(free_port(), free_port(), free_port())
    b = BrokerProcess(tmp_path_factory.mktemp("kavka-sasl-ssl") / "data", port=ports.plaintext)
    b.overrides.update(_settings(pki, ports))
    b.ports = ports
    with running(b, {"bootstrap.servers": b.bootstrap}):
        yield b


@pytest.fixture(scope="module")
def kafka(pki, tmp_path_factory):
    require_kafka()
    k = ApacheKafka(tmp_path_factory.mktemp("kafka-sasl-ssl"))
    ports = Ports(k.port, free_port(), free_port())
    k.overrides.update(
        _settings(
            pki,
            ports,
            extra_listener=f",CONTROLLER://127.0.0.1:{k.controller_port}",
            extra_map=",CONTROLLER:PLAINTEXT",
        )
    )
    k.ports = ports
    with running(k, {"bootstrap.servers": k.bootstrap}):
        yield k


@pytest.fixture(params=["kafka", "kavka"])
def broker(request):
    """The same scenario on Apache Kafka and on Kavka."""
    return request.getfixturevalue(request.param)


def _addr(b, listener: str = "sasl_ssl") -> str:
    return f"127.0.0.1:{getattr(b.ports, listener)}"


def _topic(b, prefix: str = "sasl-ssl") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=20)
    return name


def ck_sasl_ssl(pki: Pki, mechanism: str, *, password: str | None = None, cert: str | None = None) -> dict:
    """librdkafka's settings for SASL_SSL; ``cert`` "client" or "rogue" also shows a client certificate."""
    user, good = CREDENTIALS[mechanism]
    conf: dict = {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": pki.ca_pem,
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password or good,
    }
    if cert is not None:
        conf["ssl.certificate.location"] = getattr(pki, f"{cert}_cert_pem")
        conf["ssl.key.location"] = getattr(pki, f"{cert}_key_pem")
    return conf


RECORDS = [Out(key=b"k%d" % i, value=b"v%d" % i, partition=0) for i in range(10)]


def test_each_listener_serves_its_own_clients_and_endpoints(kavka, pki):
    """PLAINTEXT, SSL and SASL_SSL on one broker: a client of each sees the broker at its own listener's
    port in Metadata, and a record written through one is read through the others."""
    topic = _topic(kavka)
    confs = {
        "plaintext": {},
        "ssl": {"security.protocol": "SSL", "ssl.ca.location": pki.ca_pem},
        "sasl_ssl": ck_sasl_ssl(pki, "SCRAM-SHA-512"),
    }
    for listener, conf in confs.items():
        md = AdminClient({"bootstrap.servers": _addr(kavka, listener), **conf}).list_topics(timeout=10)
        assert [(b.host, b.port) for b in md.brokers.values()] == [("127.0.0.1", getattr(kavka.ports, listener))]
    written = PRODUCE["confluent"](
        _addr(kavka, "ssl"), topic, RECORDS[:3], security_protocol="SSL", ssl_ca_location=pki.ca_pem
    )
    assert len(written) == 3
    for listener in ("plaintext", "sasl_ssl"):
        conf = {k.replace(".", "_"): v for k, v in confs[listener].items()}
        got = READ_ALL["confluent"](_addr(kavka, listener), topic, 1, **conf)
        assert [r.value for r in got] == [b"v0", b"v1", b"v2"]


def _ck_outcome(bootstrap: str, conf: dict) -> tuple[bool, list[tuple[str, str]]]:
    """Whether librdkafka's admin client could list topics, and the errors it saw: (code name, the part
    of the message after the broker's address, which names the port)."""
    seen: list[tuple[str, str]] = []

    def record(e: KafkaError) -> None:
        text = e.str().split(": ", 1)[-1] if "127.0.0.1:" in e.str() else e.str()
        if (e.name(), text) not in seen:
            seen.append((e.name(), text))

    admin = AdminClient({"bootstrap.servers": bootstrap, "error_cb": record, **conf})
    try:
        admin.list_topics(timeout=2)
        return True, seen
    except KafkaException as e:
        record(e.args[0])
        return False, seen


CASES = {
    "wrong-password-plain": ("sasl_ssl", {"mechanism": "PLAIN", "password": "wrong"}),
    "wrong-password-scram": ("sasl_ssl", {"mechanism": "SCRAM-SHA-512", "password": "wrong"}),
    "untrusted-broker-cert": ("sasl_ssl", {"mechanism": "PLAIN", "trust": False}),
    "sasl-ssl-client-on-ssl-port": ("ssl", {"mechanism": "PLAIN"}),
    "sasl-plaintext-client-on-sasl-ssl-port": ("sasl_ssl", {"mechanism": "PLAIN", "tls": False}),
}


def _case_conf(pki: Pki, spec: dict) -> dict:
    conf = ck_sasl_ssl(pki, spec["mechanism"], password=spec.get("password"), cert=spec.get("cert"))
    if spec.get("trust", True) is False:
        del conf["ssl.ca.location"]
    if spec.get("tls", True) is False:
        conf["security.protocol"] = "SASL_PLAINTEXT"
        del conf["ssl.ca.location"]
    return conf


@pytest.mark.parametrize("case", list(CASES))
def test_failures_match_kafka(kavka, kafka, pki, case):
    listener, spec = CASES[case]
    conf = _case_conf(pki, spec)
    theirs = _ck_outcome(_addr(kafka, listener), conf)
    ours = _ck_outcome(_addr(kavka, listener), conf)
    assert theirs[0] is False
    assert ours[0] is False
    assert [name for name, _ in ours[1]] == [name for name, _ in theirs[1]], (ours, theirs)
    if case.startswith("wrong-password"):  # the broker's own message reaches the client
        assert ours[1] == theirs[1]
    # the broker goes on serving everyone else
    assert _ck_outcome(_addr(kavka), ck_sasl_ssl(pki, "PLAIN"))[0] is True


def test_a_client_certificate_from_another_ca_on_a_requested_listener(kavka, kafka, pki):
    """A known difference (docs/compatibility.md, "TLS"): Kafka's CertificateRequest names the CAs it
    trusts, so librdkafka, holding a certificate from another CA, sends none and logs in; Python's ssl
    module cannot send that list, librdkafka sends its certificate anyway and Kavka refuses the
    handshake (as Kafka would refuse that certificate). Either way no untrusted certificate is accepted."""
    conf = ck_sasl_ssl(pki, "PLAIN", cert="rogue")
    assert _ck_outcome(_addr(kafka), conf)[0] is True
    assert _ck_outcome(_addr(kavka), conf)[0] is False
    assert _ck_outcome(_addr(kavka), ck_sasl_ssl(pki, "PLAIN", cert="client"))[0] is True


def test_the_principal_is_the_sasl_user_not_the_certificate(broker, pki):
    """alice shows a trusted client certificate (CN=client) and logs in as alice: a DENY for User:alice
    refuses her writes; the SCRAM user, with the same certificate, writes."""
    topic = _topic(broker, "deny-alice")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    deny = AclBinding(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "*", AclOperation.WRITE,
        AclPermissionType.DENY,
    )  # fmt: skip
    # an ALLOW for the SCRAM user: a topic with ACLs is closed to everyone they do not name
    allow = AclBinding(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{SCRAM_USER}", "*", AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )  # fmt: skip
    for f in admin.create_acls([deny, allow]).values():
        f.result(timeout=20)
    try:
        outcomes = {}
        for mechanism in ("PLAIN", "SCRAM-SHA-256"):
            errors: list[KafkaError] = []
            p = Producer(
                {
                    **ck_sasl_ssl(pki, mechanism, cert="client"),
                    "on_delivery": lambda e, m, errors=errors: errors.append(e),
                    "bootstrap.servers": _addr(broker),
                    "message.timeout.ms": 10000,
                }
            )
            p.produce(topic, b"x")
            assert p.flush(20) == 0
            outcomes[mechanism] = errors[0].name() if errors[0] is not None else None
        assert outcomes == {"PLAIN": "TOPIC_AUTHORIZATION_FAILED", "SCRAM-SHA-256": None}
    finally:
        gone = AclBindingFilter(
            ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None, None, AclOperation.ANY,
            AclPermissionType.ANY,
        )  # fmt: skip
        admin.delete_acls([gone])[gone].result(timeout=20)


def test_librdkafka_reauthenticates_inside_tls(broker, pki):
    """KIP-368 over TLS: with 1.5 s sessions, a producer writing for 4 s re-authenticates on its open
    connections (more than one SaslAuthenticate, and librdkafka counts no new connection) and every record is delivered, on Kafka and Kavka."""
    topic = _topic(broker, "reauth")
    stats: list[dict] = []
    errors: list[str] = []
    producer = Producer(
        {
            "bootstrap.servers": _addr(broker),
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": pki.ca_pem,
            "sasl.mechanism": "OAUTHBEARER",
            "enable.sasl.oauthbearer.unsecure.jwt": True,
            "sasl.oauthbearer.config": "principal=dana",
            "statistics.interval.ms": 500,
            "stats_cb": lambda text: stats.append(json.loads(text)),
            "error_cb": lambda e: errors.append(e.str()),
        }
    )
    delivered: list[object] = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        producer.produce(topic, b"x", on_delivery=lambda e, m: delivered.append(e))
        producer.poll(0.1)
    assert producer.flush(20) == 0
    assert delivered and all(e is None for e in delivered) and not errors
    seen = len(stats)  # one more statistics report, after the last delivery (stats_cb runs from poll)
    wait_until(lambda: producer.poll(0.1) >= 0 and len(stats) > seen, timeout=5, message="a statistics report")
    brokers = [b for b in stats[-1]["brokers"].values() if b["nodeid"] >= 0]
    assert brokers and all(b["connects"] == 1 for b in brokers), brokers
    # the session was renewed on the open connection: more than one SaslAuthenticate on it
    assert max(b["req"].get("SaslAuthenticate", 0) for b in brokers) >= 2


def test_a_user_quota_throttles_a_consumer_inside_tls(broker, pki):
    """A consumer_byte_rate for alice, who logs in with PLAIN over SASL_SSL: her fetches are throttled
    (the answers' throttle time, the connection muted), she reads on without being disconnected, and
    reads less than the topic holds while the quota holds her back, on Kafka and Kavka."""
    from click.testing import CliRunner

    from kavka.cli.main import main

    topic = _topic(broker, "quota")
    value = b"q" * 10_000
    # one record a batch: the first fetches stay small, under the quota
    PRODUCE["confluent"](broker.bootstrap, topic, [Out(key=None, value=value, partition=0)] * 100, batch_size=1)
    quota = ["configs", "alter", "--user", "alice", "-b", broker.bootstrap]
    done = CliRunner().invoke(main, [*quota, "--add-config", "consumer_byte_rate=20000"])
    assert done.exit_code == 0, done.output
    try:
        stats: list[dict] = []
        errors: list[str] = []
        throttled: list[float] = []
        consumer = Consumer(
            {
                **ck_sasl_ssl(pki, "PLAIN"),
                "bootstrap.servers": _addr(broker),
                "group.id": f"quota-{uuid.uuid4().hex[:6]}",
                "statistics.interval.ms": 500,
                "stats_cb": lambda text: stats.append(json.loads(text)),
                "error_cb": lambda e: errors.append(e.str()),
                "throttle_cb": lambda event: throttled.append(event.throttle_time),
                "max.partition.fetch.bytes": 50_000,
            }
        )
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        read = 0
        deadline = time.monotonic() + 4
        try:
            while time.monotonic() < deadline:
                m = consumer.poll(0.2)
                if m is not None and m.error() is None:
                    read += len(m.value())
        finally:
            consumer.close()
        assert 0 < read < len(value) * 100 and not errors, (read, errors)
        brokers = [b for b in stats[-1]["brokers"].values() if b["nodeid"] >= 0]
        assert all(b["connects"] == 1 for b in brokers), brokers
        assert throttled and max(throttled) > 0
    finally:
        CliRunner().invoke(main, [*quota, "--delete-config", "consumer_byte_rate"])
