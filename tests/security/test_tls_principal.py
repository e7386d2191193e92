"""The principal a TLS connection gets, and the TLS settings a broker refuses to start with.

Principal: on an SSL listener, ``User:`` + the client certificate's subject (Java's RFC 2253 form) mapped
by ``ssl.principal.mapping.rules``; User:ANONYMOUS without a certificate; a certificate no rule maps is
an authentication failure (the connection is closed). Until the authorizer reads it, the principal is
checked on the server's own connection records (an in-process broker), over real TLS connections.
"""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import sys

import pytest

from kavka.security.principal_rules import InvalidRule, NoMatchingRule, PrincipalMapper, rfc2253
from kavka.server.tls import java_cipher_to_openssl, subject_dn
from kavka.testing.certs import CLIENT_DN, PASSWORD, make_pki
from kavka.testing.embedded import EmbeddedBroker
from kavka.testing.process import free_port, wait_until


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _start(pki, tmp_path, **extra):
    port = free_port()
    overrides = {
        "listeners": f"PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{port}",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": pki.broker_pem,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki.ca_pem,
        "ssl.client.auth": "requested",
        **extra,
    }
    return EmbeddedBroker(str(tmp_path / "data"), overrides).start(), port


def _api_versions(port: int, *, cert: tuple[str, str] | None, pki) -> tuple[ssl.SSLSocket, bytes]:
    ctx = ssl.create_default_context(cafile=pki.ca_pem)
    if cert is not None:
        ctx.load_cert_chain(*cert)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="127.0.0.1")
    body = struct.pack(">hhih", 18, 0, 1, 1) + b"t"
    s.sendall(struct.pack(">i", len(body)) + body)
    return s, s.recv(4096)


def _principals(broker: EmbeddedBroker) -> list[str]:
    return sorted(c.info.principal for c in list(broker.server._connections) if c.info is not None)


@pytest.mark.parametrize(
    ("rules", "with_cert", "expected"),
    [
        (None, True, f"User:{CLIENT_DN}"),
        ("RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$3/L,DEFAULT", True, "User:client@acme"),
        (None, False, "User:ANONYMOUS"),
    ],
    ids=["default-rule", "mapping-rule", "no-certificate"],
)
def test_principal_from_the_client_certificate(pki, tmp_path, rules, with_cert, expected):
    extra = {"ssl.principal.mapping.rules": rules} if rules else {}
    broker, port = _start(pki, tmp_path, **extra)
    try:
        cert = (pki.client_cert_pem, pki.client_key_pem) if with_cert else None
        s, answer = _api_versions(port, cert=cert, pki=pki)
        with s:
            assert struct.unpack_from(">ii", answer)[1] == 1  # ApiVersions answered
            assert wait_until(lambda: _principals(broker) == [expected], 5, message=lambda: str(_principals(broker)))
            info = next(iter(broker.server._connections)).info
            assert info.listener_name == "SSL"
    finally:
        broker.stop()


def test_mapping_rules_per_listener(pki, tmp_path):
    """``listener.name.<l>.ssl.principal.mapping.rules`` overrides the broker-wide rules, as in Kafka."""
    rules = "RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$3/L,DEFAULT"
    broker, port = _start(pki, tmp_path, **{"listener.name.ssl.ssl.principal.mapping.rules": rules})
    try:
        s, answer = _api_versions(port, cert=(pki.client_cert_pem, pki.client_key_pem), pki=pki)
        with s:
            assert struct.unpack_from(">ii", answer)[1] == 1
            wait_until(lambda: _principals(broker) == ["User:client@acme"], 5, message=lambda: str(_principals(broker)))
    finally:
        broker.stop()


def test_a_certificate_no_rule_maps_is_refused(pki, tmp_path):
    broker, port = _start(pki, tmp_path, **{"ssl.principal.mapping.rules": "RULE:^CN=admin,.*$/admin/"})
    try:
        s, answer = _api_versions(port, cert=(pki.client_cert_pem, pki.client_key_pem), pki=pki)
        s.close()
        assert answer == b""  # closed before any request is answered
        # a client with no certificate is still served
        s, answer = _api_versions(port, cert=None, pki=pki)
        s.close()
        assert len(answer) > 8
    finally:
        broker.stop()


def _serve_fails(tmp_path, **overrides) -> str:
    args = [sys.executable, "-m", "kavka", "serve", "--no-console"]
    props = {"listeners": f"SSL://127.0.0.1:{free_port()}", "log.dirs": str(tmp_path / "d"), **overrides}
    for k, v in props.items():
        args += ["--override", f"{k}={v}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("kavka: ") and "warning" not in line]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_bad_tls_settings_stop_the_start_with_one_line(pki, tmp_path):
    assert "a TLS listener needs a key store" in _serve_fails(tmp_path)
    jks = tmp_path / "broker.jks"
    jks.write_bytes(b"\xfe\xed\xfe\xed" + b"\0" * 64)
    line = _serve_fails(tmp_path, **{"ssl.keystore.location": str(jks)})
    assert "JKS key store, which Kavka cannot read" in line and "PKCS12" in line
    line = _serve_fails(
        tmp_path,
        **{"ssl.keystore.type": "PKCS12", "ssl.keystore.location": pki.broker_p12, "ssl.keystore.password": "x"},
    )
    assert "PKCS12" in line
    line = _serve_fails(tmp_path, **{"ssl.keystore.type": "PEM", "ssl.keystore.location": pki.broker_enc_pem})
    assert "ssl.keystore" in line


def test_key_store_forms_all_load(pki, tmp_path):
    """PEM file, encrypted PEM with ssl.key.password, inline PEM, PKCS12, and a PKCS12 file under
    Kafka's default type JKS (Java reads PKCS12 there too) each serve TLS."""
    inline_chain = open(pki.broker_cert_pem).read()
    inline_key = open(pki.broker_key_pem).read()
    forms = [
        {"ssl.keystore.type": "PEM", "ssl.keystore.location": pki.broker_enc_pem, "ssl.key.password": PASSWORD},
        {
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": None,
            "ssl.keystore.certificate.chain": inline_chain,
            "ssl.keystore.key": inline_key,
        },
        {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": pki.broker_p12, "ssl.keystore.password": PASSWORD},
        {"ssl.keystore.type": "JKS", "ssl.keystore.location": pki.broker_p12, "ssl.keystore.password": PASSWORD},
    ]
    for i, form in enumerate(forms):
        extra = {k: v for k, v in form.items() if v is not None}
        sub = tmp_path / str(i)
        port = free_port()
        overrides = {"listeners": f"PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{port}", **extra}
        if "ssl.keystore.location" not in extra:
            overrides["ssl.keystore.location"] = ""
        broker = EmbeddedBroker(str(sub / "data"), {k: v for k, v in overrides.items() if v != ""}).start()
        try:
            s, answer = _api_versions(port, cert=None, pki=pki)
            s.close()
            assert len(answer) > 8, form
        finally:
            broker.stop()


def test_enabled_protocols_and_cipher_suites(pki, tmp_path):
    broker, port = _start(
        pki,
        tmp_path,
        **{
            "ssl.enabled.protocols": "TLSv1.2",
            "ssl.cipher.suites": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        },
    )
    try:
        s, _ = _api_versions(port, cert=None, pki=pki)
        with s:
            assert s.version() == "TLSv1.2"
            assert s.cipher()[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
        ctx = ssl.create_default_context(cafile=pki.ca_pem)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="127.0.0.1")
    finally:
        broker.stop()


# -- ssl.principal.mapping.rules, as Kafka's SslPrincipalMapperTest exercises them ---------------------


def test_mapping_rules():
    rules = PrincipalMapper(
        "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,"
        "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,"
        "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U,"
        "DEFAULT"
    )
    assert rules.name("CN=kafka-server1,OU=ServiceUsers,O=org,C=US") == "kafka-server1"
    assert rules.name("CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Palo Alto,ST=CA,C=US") == "duke@javasoft"
    assert rules.name("OU=JavaSoft,O=Sun Microsystems,C=US,cn=duke") == "DUKE"
    assert rules.name("OU=JavaSoft,O=Sun Microsystems,C=US") == "OU=JavaSoft,O=Sun Microsystems,C=US"
    assert PrincipalMapper("RULE:^CN=(.*),OU=(.*)$/$1\\/$2/").name("CN=a,OU=b") == "a/b"


def test_mapping_rule_errors():
    for bad in ("DEFAULT/L", "RULE:/", "RULE:^CN=(.*?)/", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/LU"):
        with pytest.raises(InvalidRule):
            PrincipalMapper(bad)
    with pytest.raises(NoMatchingRule, match="No rules apply to CN=x"):
        PrincipalMapper("RULE:^OU=(.*)$/$1/").name("CN=x")


def test_subject_dn_is_javas_rfc2253(pki):
    der = ssl.PEM_cert_to_DER_cert(open(pki.client_cert_pem).read())
    assert subject_dn(der) == CLIENT_DN
    assert rfc2253([[("2.5.4.6", "US")], [("2.5.4.3", "a,b")]]) == "CN=a\\,b,C=US"
    assert rfc2253([[("1.2.840.113549.1.9.1", b"\x16\x03a@b")]]) == "1.2.840.113549.1.9.1=#1603614062"


def test_java_cipher_names():
    assert java_cipher_to_openssl("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") == "ECDHE-RSA-AES128-GCM-SHA256"
    assert java_cipher_to_openssl("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256") == "ECDHE-ECDSA-CHACHA20-POLY1305"
    assert java_cipher_to_openssl("TLS_RSA_WITH_AES_256_CBC_SHA") == "AES256-SHA"
    assert java_cipher_to_openssl("SSL_RSA_WITH_RC4_128_MD5") is None


def _handshake_ok(port: int, cafile: str) -> bool:
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="127.0.0.1"):
            return True
    except ssl.SSLError:
        return False


def _alter_broker(bootstrap: str, name: str, value: str) -> None:
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    resource = ConfigResource(
        "BROKER", "1", incremental_configs=[ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)]
    )
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.incremental_alter_configs([resource])[resource].result(10)


def test_key_store_reloaded_through_a_dynamic_listener_config(pki, tmp_path):
    """IncrementalAlterConfigs of listener.name.ssl.ssl.keystore.location (as kafka-configs.sh
    --entity-type brokers --alter does): new connections get the new certificate; a store that does
    not load leaves the listener as it was."""
    other = make_pki(tmp_path / "other")
    broker, port = _start(pki, tmp_path)
    try:
        assert _handshake_ok(port, pki.ca_pem) and not _handshake_ok(port, other.ca_pem)
        _alter_broker(broker.bootstrap, "listener.name.ssl.ssl.keystore.location", str(tmp_path / "missing.pem"))
        _alter_broker(broker.bootstrap, "listener.name.ssl.ssl.truststore.location", pki.ca_pem)  # a later change
        assert _handshake_ok(port, pki.ca_pem)
        _alter_broker(broker.bootstrap, "listener.name.ssl.ssl.keystore.location", other.broker_pem)
        wait_until(lambda: _handshake_ok(port, other.ca_pem), 10, message="the new certificate served")
        assert not _handshake_ok(port, pki.ca_pem)
    finally:
        broker.stop()


def test_sasl_ssl_listener_is_tls_first_and_leaves_the_principal_to_sasl(pki, tmp_path):
    """On SASL_SSL, TLS comes first; ssl.client.auth applies only with the listener prefix (Kafka's
    rule), and the principal is SASL's to set (anonymous until then)."""
    port = free_port()
    broker = EmbeddedBroker(
        str(tmp_path / "data"),
        {
            "listeners": f"PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:{port}",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": pki.broker_pem,
            "ssl.client.auth": "required",  # not for SASL_SSL without the listener prefix
            # Kafka's default mechanism, GSSAPI, is not Kavka's: the broker would refuse to start
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_ssl.plain.sasl.jaas.config": (
                'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="a";'
            ),
        },
    ).start()
    try:
        s, answer = _api_versions(port, cert=(pki.client_cert_pem, pki.client_key_pem), pki=pki)
        with s:
            assert len(answer) > 8
            assert wait_until(lambda: _principals(broker) == ["User:ANONYMOUS"], 5)
        s, answer = _api_versions(port, cert=None, pki=pki)
        with s:
            assert len(answer) > 8
    finally:
        broker.stop()


@pytest.mark.parametrize(("algorithm", "connects"), [("https", False), ("", True)])
def test_endpoint_identification_on_links_between_nodes(tmp_path, algorithm, connects):
    """The client side of an inter-broker or controller link checks the peer's certificate against the
    host it dials when ssl.endpoint.identification.algorithm=https (Kafka's default)."""
    import asyncio

    from kavka.metadata.config import BrokerConfig
    from kavka.server.peer_client import PeerClient, PeerDisconnected
    from kavka.server.tls import client_context

    elsewhere = make_pki(tmp_path / "pki", broker_hosts=("broker.example",))
    port = free_port()
    broker = EmbeddedBroker(
        str(tmp_path / "data"),
        {
            "listeners": f"PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{port}",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": elsewhere.broker_pem,
        },
    ).start()
    cfg = BrokerConfig.from_properties(
        {
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": elsewhere.ca_pem,
            "ssl.endpoint.identification.algorithm": algorithm,
        }
    )

    async def ask():
        client = PeerClient("127.0.0.1", port, ssl=client_context(cfg, "SSL"))
        try:
            return await client.request(18, 0, {}, timeout=5)
        finally:
            await client.close()

    try:
        if connects:
            assert asyncio.run(ask()).error_code == 0
        else:
            with pytest.raises(PeerDisconnected, match="SSL handshake failed"):
                asyncio.run(ask())
    finally:
        broker.stop()
