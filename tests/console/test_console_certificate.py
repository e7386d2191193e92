"""The console's principal from a TLS client certificate: on an SSL listener that asks for certificates
(``ssl.client.auth`` requested or required), a ``console.client.config`` with a key store makes the
console act as ``User:`` + the certificate's subject mapped by the listener's
``ssl.principal.mapping.rules``, the principal the broker gives a real client with the same file.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from kavka.console.clientconfig import ConsoleClientError, console_identity
from kavka.metadata.clientprops import librdkafka_properties
from kavka.metadata.config import BrokerConfig
from kavka.metadata.properties import parse_properties
from kavka.testing.certs import CLIENT_DN, PASSWORD, make_pki
from kavka.testing.embedded import EmbeddedBroker
from kavka.testing.process import wait_until
from tests.console.consolelib import ConsoleEnv, start_console_for

RULES = "RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$3/L,DEFAULT"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _client_file(tmp_path, pki, key_store: str | None) -> str:
    lines = ["security.protocol=SSL", "ssl.truststore.type=PEM", f"ssl.truststore.location={pki.ca_pem}"]
    if key_store == "pem":
        lines += ["ssl.keystore.type=PEM", f"ssl.keystore.location={pki.client_pem}"]
    elif key_store == "pkcs12":
        lines += ["ssl.keystore.type=PKCS12", f"ssl.keystore.location={pki.client_p12}"]
        lines += [f"ssl.keystore.password={PASSWORD}"]
    elif key_store == "librdkafka":
        lines += [f"ssl.certificate.location={pki.client_cert_pem}", f"ssl.key.location={pki.client_key_pem}"]
    path = tmp_path / f"console-{key_store}.properties"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _identity(tmp_path, pki, key_store: str | None, **listener_settings: str):
    props = {
        "listeners": "PLAINTEXT://127.0.0.1:9092,MTLS://10.1.2.3:9093",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,MTLS:SSL",
        "console.client.listener": "MTLS",
        "console.client.config": _client_file(tmp_path, pki, key_store),
        **{f"listener.name.mtls.{k.replace('_', '.')}": v for k, v in listener_settings.items()},
    }
    bound = [("PLAINTEXT", "127.0.0.1", 9092), ("MTLS", "10.1.2.3", 9093)]
    return console_identity(BrokerConfig.from_properties(props), bound)


@pytest.mark.parametrize("key_store", ["pem", "pkcs12", "librdkafka"])
@pytest.mark.parametrize("auth", ["requested", "required"])
def test_the_certificate_subject_is_the_principal(tmp_path, pki, key_store, auth):
    assert _identity(tmp_path, pki, key_store, ssl_client_auth=auth) == (f"User:{CLIENT_DN}", "10.1.2.3")


def test_the_listeners_mapping_rules_apply(tmp_path, pki):
    got = _identity(tmp_path, pki, "pem", ssl_client_auth="required", ssl_principal_mapping_rules=RULES)
    assert got == ("User:client@acme", "10.1.2.3")


def test_without_a_certificate_or_a_request_for_one_the_console_is_anonymous(tmp_path, pki):
    assert _identity(tmp_path, pki, None, ssl_client_auth="requested")[0] == "User:ANONYMOUS"
    assert _identity(tmp_path, pki, "pem", ssl_client_auth="none")[0] == "User:ANONYMOUS"
    assert _identity(tmp_path, pki, "pem")[0] == "User:ANONYMOUS"  # ssl.client.auth defaults to none


def test_a_certificate_the_listener_cannot_take_is_the_reason_given(tmp_path, pki):
    with pytest.raises(ConsoleClientError, match="listener MTLS requires a client certificate"):
        _identity(tmp_path, pki, None, ssl_client_auth="required")
    with pytest.raises(ConsoleClientError, match="no ssl.principal.mapping.rules rule of listener MTLS maps"):
        _identity(tmp_path, pki, "pem", ssl_client_auth="required", ssl_principal_mapping_rules="RULE:^CN=admin,.*$/x/")


def _secured_broker(tmp_path, pki, key_store: str | None) -> EmbeddedBroker:
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": pki.broker_pem,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki.ca_pem,
        "listener.name.ssl.ssl.client.auth": "requested",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{CLIENT_DN}",
        "console.client.listener": "SSL",
        "console.client.config": _client_file(tmp_path, pki, key_store),
    }
    return EmbeddedBroker(str(tmp_path / f"data-{key_store}"), overrides)


def _principals(broker: EmbeddedBroker) -> set[str]:
    return {c.info.principal for c in list(broker.server._connections) if c.info is not None}


def test_the_console_acts_as_the_principal_the_broker_gives_its_certificate(tmp_path, pki):
    with _secured_broker(tmp_path, pki, "pkcs12") as broker:
        env = ConsoleEnv(broker, start_console_for(broker))
        try:
            assert env.get("/api/overview").json()["principal"]["principal"] == f"User:{CLIENT_DN}"
            topic = f"by-certificate-{uuid.uuid4().hex[:8]}"
            r = env.send("POST", "/api/topics", {"name": topic, "partitions": 1})
            assert r.status == 201, r.text  # the certificate's subject is a super user
            # a real client with the console's own file is given the same principal, and may write
            [(_, host, port)] = [b for b in broker.server.bound if b[0] == "SSL"]
            with open(broker.config["console.client.config"], encoding="utf-8") as f:
                conf = librdkafka_properties(parse_properties(f.read()))
            producer = Producer({**conf, "bootstrap.servers": f"{host}:{port}"})
            producer.produce(topic, b"signed")
            assert producer.flush(20) == 0
            wait_until(lambda: f"User:{CLIENT_DN}" in _principals(broker), 10, message=lambda: str(_principals(broker)))
        finally:
            env.run(env.runner.stop())


def test_a_console_without_a_certificate_is_refused_as_anonymous(tmp_path, pki):
    with _secured_broker(tmp_path, pki, None) as broker:
        env = ConsoleEnv(broker, start_console_for(broker))
        try:
            assert env.get("/api/overview").json()["principal"]["principal"] == "User:ANONYMOUS"
            r = env.send("POST", "/api/topics", {"name": f"anonymous-{uuid.uuid4().hex[:8]}", "partitions": 1})
            assert r.status == 403 and "User:ANONYMOUS" in r.json()["error"], r.text
        finally:
            env.run(env.runner.stop())
