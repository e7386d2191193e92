"""TLS listeners as clients see them: confluent-kafka, kafka-python, aiokafka, kcat and Kafka's own
Java console tools produce and consume over SSL, with and without a client certificate; an untrusted
certificate, a client that does not trust the broker, a plaintext client on a TLS port and a TLS client
on a plaintext port fail as they do against Apache Kafka configured with the same files (tlsenv).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
import time
import uuid

import pytest

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.certs import make_pki
from kavka.testing.process import BrokerProcess, free_port, wait_until
from tests.clients.clientlib import PRODUCE, READ_ALL, Out
from tests.needs import require_kafka
from tests.security.tlsenv import TlsPorts, ck_ssl, java_ssl_properties, tls_settings

KCAT = shutil.which("kcat") or shutil.which("kafkacat")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def kavka_tls(pki, tmp_path_factory):
    ports = TlsPorts.free()
    b = BrokerProcess(
        tmp_path_factory.mktemp("kavka-tls") / "data", port=ports.plaintext, overrides=tls_settings(pki, ports)
    )
    b.start()
    b.ports = ports
    try:
        yield b
    finally:
        b.stop()
        b.cleanup()


@pytest.fixture(scope="module")
def kafka_tls(pki, tmp_path_factory):
    require_kafka()
    kafka = ApacheKafka(tmp_path_factory.mktemp("kafka-tls"))
    ports = TlsPorts(kafka.port, free_port(), free_port())
    settings = tls_settings(
        pki,
        ports,
        extra_listeners=f",CONTROLLER://127.0.0.1:{kafka.controller_port}",
        extra_map=",CONTROLLER:PLAINTEXT",
    )
    kafka.overrides.update(settings)
    kafka.ports = ports
    kafka.start()
    try:
        yield kafka
    finally:
        try:
            kafka.stop()
        finally:
            kafka.cleanup()


def _addr(broker, listener: str) -> str:
    return f"127.0.0.1:{getattr(broker.ports, listener)}"


def _topic() -> str:
    return f"tls-{uuid.uuid4().hex[:8]}"


RECORDS = [Out(key=b"k%d" % i, value=b"v%d" % i, partition=0) for i in range(20)]


def _client_conf(client: str, pki, *, client_cert: bool) -> dict:
    if client == "confluent":
        return {k.replace(".", "_"): v for k, v in ck_ssl(pki, client_cert=client_cert).items()}
    conf: dict = {"security_protocol": "SSL", "ssl_cafile": pki.ca_pem}
    if client == "aiokafka":
        ctx = ssl.create_default_context(cafile=pki.ca_pem)
        if client_cert:
            ctx.load_cert_chain(pki.client_cert_pem, pki.client_key_pem)
        return {"security_protocol": "SSL", "ssl_context": ctx}
    if client_cert:
        conf.update(ssl_certfile=pki.client_cert_pem, ssl_keyfile=pki.client_key_pem)
    return conf


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
@pytest.mark.parametrize("listener", ["ssl", "mtls"])
def test_clients_produce_and_consume_over_tls(kavka_tls, pki, client, listener):
    topic = _topic()
    conf = _client_conf(client, pki, client_cert=listener == "mtls")
    bootstrap = _addr(kavka_tls, listener)
    delivered = PRODUCE[client](bootstrap, topic, RECORDS, **conf)
    assert [d.offset for d in delivered] == list(range(20))
    got = READ_ALL[client](bootstrap, topic, 1, **conf)
    assert [(r.key, r.value) for r in got] == [(r.key, r.value) for r in RECORDS]


def test_metadata_answers_with_the_listener_the_client_came_in_on(kavka_tls, pki):
    """A client bootstrapped on the TLS port is sent to the TLS port (Kafka answers Metadata with the
    endpoints of the request's listener), so every later connection is TLS too."""
    from confluent_kafka.admin import AdminClient

    for listener in ("plaintext", "ssl"):
        conf = {"bootstrap.servers": _addr(kavka_tls, listener)}
        if listener == "ssl":
            conf.update(ck_ssl(pki))
        md = AdminClient(conf).list_topics(timeout=10)
        assert [(b.host, b.port) for b in md.brokers.values()] == [("127.0.0.1", getattr(kavka_tls.ports, listener))]


@pytest.mark.skipif(KCAT is None, reason="kcat is not installed (apt-get install kcat; .ci/run does)")
def test_kcat_over_tls(kavka_tls, pki):
    topic = _topic()
    ssl_args = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={pki.ca_pem}"]
    mtls_args = ssl_args + [
        "-X",
        f"ssl.certificate.location={pki.client_cert_pem}",
        "-X",
        f"ssl.key.location={pki.client_key_pem}",
    ]
    lines = [f"line {i}" for i in range(10)]
    subprocess.run(
        [KCAT, "-b", _addr(kavka_tls, "ssl"), *ssl_args, "-t", topic, "-P", "-p", "0"],
        input=("\n".join(lines) + "\n").encode(),
        check=True,
        capture_output=True,
        timeout=30,
    )
    out = subprocess.run(
        [KCAT, "-b", _addr(kavka_tls, "mtls"), *mtls_args, "-t", topic, "-C", "-e", "-o", "beginning"],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout.decode()
    assert out.splitlines() == lines


def _ck_outcome(bootstrap: str, conf: dict) -> tuple[bool, set[str]]:
    """Whether librdkafka's admin client could list topics, and the error codes its error callback saw."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    seen: set[str] = set()
    admin = AdminClient({"bootstrap.servers": bootstrap, "error_cb": lambda e: seen.add(e.name()), **conf})
    try:
        admin.list_topics(timeout=4)
        return True, seen
    except KafkaException as e:
        seen.add(e.args[0].name())
        return False, seen


@pytest.mark.parametrize(
    "case",
    ["untrusted-client-cert", "no-client-cert", "client-does-not-trust-broker", "tls-client-on-plaintext-port"],
)
def test_tls_failures_match_kafka(kavka_tls, kafka_tls, pki, case):
    listener, conf = {
        "untrusted-client-cert": ("mtls", ck_ssl(pki, client_cert=True, rogue=True)),
        "no-client-cert": ("mtls", ck_ssl(pki)),
        "client-does-not-trust-broker": ("ssl", ck_ssl(pki, trust=False)),
        "tls-client-on-plaintext-port": ("plaintext", ck_ssl(pki)),
    }[case]
    kafka = _ck_outcome(_addr(kafka_tls, listener), conf)
    kavka = _ck_outcome(_addr(kavka_tls, listener), conf)
    assert kafka[0] is False
    assert kavka == kafka
    # the broker goes on serving other clients
    assert _ck_outcome(_addr(kavka_tls, "ssl"), ck_ssl(pki))[0] is True


def test_tls_client_on_plaintext_port_is_logged_once(kavka_tls, pki):
    for _ in range(3):
        assert _ck_outcome(_addr(kavka_tls, "plaintext"), ck_ssl(pki))[0] is False
    wait_until(lambda: "a TLS handshake on plaintext listener PLAINTEXT" in kavka_tls.log_text(), 10, message="logged")
    # librdkafka retried dozens of times; rate-limited to a line per 10 s
    assert kavka_tls.log_text().count("a TLS handshake on plaintext listener") <= 3
    assert _ck_outcome(_addr(kavka_tls, "plaintext"), {})[0] is True


def _api_versions_frame() -> bytes:
    body = struct.pack(">hhih", 18, 0, 7, 4) + b"test"
    return struct.pack(">i", len(body)) + body


def _plaintext_on_tls_port(address: str) -> bytes:
    """What a plaintext client sending ApiVersions to a TLS port reads before the connection ends."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(_api_versions_frame())
        data = b""
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def test_plaintext_client_on_tls_port_is_closed_like_kafka(kavka_tls, kafka_tls, pki):
    """No Kafka frame comes back: the connection is closed (a TLS alert at most). Logged once, and the
    listener serves TLS clients afterwards."""
    for broker in (kafka_tls, kavka_tls):
        got = _plaintext_on_tls_port(_addr(broker, "ssl"))
        # an answer would start with a size and correlation id 7; a TLS alert record starts with 0x15
        assert not got or got[0] == 0x15, f"{broker}: {got[:16]!r}"
    before = len(kavka_tls.log_text())
    for _ in range(5):
        _plaintext_on_tls_port(_addr(kavka_tls, "ssl"))
    line = "listener SSL: Failed authentication with /127.0.0.1 (SSL handshake failed"
    wait_until(lambda: line in kavka_tls.log_text(), 10, message="the failed handshake logged")
    assert kavka_tls.log_text()[before:].count(line) <= 1  # six failures, one line per 10 s at most
    assert _ck_outcome(_addr(kavka_tls, "ssl"), ck_ssl(pki))[0] is True


def test_silent_client_does_not_block_other_handshakes(kavka_tls, pki):
    """A client that connects to the TLS port and sends nothing holds up no other client's handshake."""
    host, port = _addr(kavka_tls, "ssl").split(":")
    idle = [socket.create_connection((host, int(port))) for _ in range(3)]
    try:
        t0 = time.monotonic()
        assert _ck_outcome(_addr(kavka_tls, "ssl"), ck_ssl(pki))[0] is True
        assert time.monotonic() - t0 < 4
    finally:
        for s in idle:
            s.close()


@pytest.mark.parametrize("client_cert", [False, True], ids=["ssl", "mtls"])
def test_java_console_tools_over_tls(kavka_tls, kafka_tls, pki, tmp_path, client_cert):
    """Kafka's console producer and consumer (the Java client) with an SSL --command-config /
    --producer.config / --consumer.config, against Kavka."""
    listener = "mtls" if client_cert else "ssl"
    props = tmp_path / "client.properties"
    props.write_text(java_ssl_properties(pki, client_cert=client_cert))
    topic = _topic()
    bootstrap = _addr(kavka_tls, listener)
    lines = [f"java {i}" for i in range(5)]
    produced = kafka_tls.run_tool(
        "org.apache.kafka.tools.ConsoleProducer",
        ["--bootstrap-server", bootstrap, "--topic", topic, "--command-config", str(props)],
        stdin="\n".join(lines) + "\n",
    )
    assert produced.returncode == 0, produced.stderr
    consumed = kafka_tls.run_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        [
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            "5",
            "--timeout-ms",
            "20000",
            "--command-config",
            str(props),
        ],
    )
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.splitlines() == lines
