"""Clients authenticate to Kavka's SASL_PLAINTEXT listener with each mechanism, then produce and
consume: confluent-kafka, kafka-python and aiokafka with each of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and
unsecured OAUTHBEARER (the Python clients with a token provider making the unsigned token), and kcat
(PLAIN); and a wrong password shows the error each client shows against Kafka."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.security.oauthbearer import unsecured_token
from tests.security.conftest import SCRAM_PASSWORD, SCRAM_USER, client_conf

CREDENTIALS = {"PLAIN": ("alice", "alice-secret"), "SCRAM-SHA-256": (SCRAM_USER, SCRAM_PASSWORD)}
CREDENTIALS["SCRAM-SHA-512"] = CREDENTIALS["SCRAM-SHA-256"]


def _token() -> str:
    """An unsigned (``alg: none``) token for ``carol``, as Kafka's unsecured validator accepts."""
    now = int(time.time())
    return unsecured_token({"sub": "carol", "iat": now, "exp": now + 3600})


def _python_sasl(mechanism: str, token_provider: object) -> dict:
    """kafka-python's and aiokafka's SASL settings: a user and password, or for OAUTHBEARER the token
    provider (each library has its own base class)."""
    if mechanism == "OAUTHBEARER":
        return {"sasl_mechanism": mechanism, "sasl_oauth_token_provider": token_provider}
    user, password = CREDENTIALS[mechanism]
    return {"sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password}


def _topic(bootstrap: str) -> str:
    name = f"sasl-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(client_conf(bootstrap))
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=20)
    return name


def _round_trip(conf: dict, topic: str) -> list[bytes]:
    producer = Producer(conf)
    producer.produce(topic, b"hello")
    assert producer.flush(20) == 0
    consumer = Consumer({**conf, "group.id": f"g-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values = []
    try:
        for _ in range(40):
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                values.append(m.value())
                break
    finally:
        consumer.close()
    return values


@pytest.mark.parametrize(
    "mechanism,user,password",
    [
        ("PLAIN", "alice", "alice-secret"),
        ("SCRAM-SHA-256", SCRAM_USER, SCRAM_PASSWORD),
        ("SCRAM-SHA-512", SCRAM_USER, SCRAM_PASSWORD),
        ("OAUTHBEARER", "carol", None),
    ],
)
def test_confluent_kafka_each_mechanism(kavka_sasl, mechanism, user, password):
    topic = _topic(kavka_sasl.bootstrap)
    assert _round_trip(client_conf(kavka_sasl.bootstrap, mechanism, user, password), topic) == [b"hello"]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_confluent_kafka_wrong_password(sasl_broker, mechanism):
    """librdkafka reports _AUTHENTICATION with the broker's message, the same from Kafka and Kavka."""
    user = "alice" if mechanism == "PLAIN" else SCRAM_USER
    errors: list[KafkaError] = []
    conf = client_conf(sasl_broker.bootstrap, mechanism, user, "wrong")
    producer = Producer({**conf, "error_cb": errors.append})
    for _ in range(20):
        producer.poll(0.5)
        if any(e.code() == KafkaError._AUTHENTICATION for e in errors):
            break
    auth = [e.str() for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth, errors
    expected = {
        "PLAIN": "Authentication failed: Invalid username or password",
        "SCRAM-SHA-256": "Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism SCRAM-SHA-256",
    }[mechanism]
    assert expected in auth[0]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])
def test_kafka_python(kavka_sasl, mechanism):
    kafka = pytest.importorskip("kafka")
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class Tokens(AbstractTokenProvider):
        def token(self) -> str:
            return _token()

    topic = _topic(kavka_sasl.bootstrap)
    common = {
        "bootstrap_servers": kavka_sasl.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        **_python_sasl(mechanism, Tokens()),
    }
    producer = kafka.KafkaProducer(**common)
    producer.send(topic, b"from kafka-python").get(timeout=20)
    producer.close()
    consumer = kafka.KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=10000, **common)
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [b"from kafka-python"]


def test_kafka_python_wrong_password(kavka_sasl, caplog):
    """kafka-python gives up, and logs SaslAuthenticationFailedError with the broker's message. The
    broker answers, then closes (KIP-306, as Kafka); when both reach kafka-python 3.0.12 in one wake-up
    it drops the answer (kafka/net/transport.py, _read_from_sock aborts on EOF with the bytes it read)
    and logs only the disconnect, against Kafka too: either is the client's, the refusal is not."""
    kafka = pytest.importorskip("kafka")
    with pytest.raises(kafka.errors.KafkaError):
        kafka.KafkaProducer(
            bootstrap_servers=kavka_sasl.bootstrap,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_plain_username="alice",
            sasl_plain_password="wrong",
            bootstrap_timeout_ms=3000,
        )
    message = "SaslAuthenticationFailedError: Authentication failed: Invalid username or password"
    assert message in caplog.text or "socket disconnected" in caplog.text, caplog.text


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])
def test_aiokafka(kavka_sasl, mechanism):
    aiokafka = pytest.importorskip("aiokafka")
    from aiokafka.abc import AbstractTokenProvider

    class Tokens(AbstractTokenProvider):
        async def token(self) -> str:
            return _token()

    topic = _topic(kavka_sasl.bootstrap)
    common = {
        "bootstrap_servers": kavka_sasl.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        **_python_sasl(mechanism, Tokens()),
    }

    async def run() -> list[bytes]:
        producer = aiokafka.AIOKafkaProducer(**common)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"from aiokafka")
        finally:
            await producer.stop()
        consumer = aiokafka.AIOKafkaConsumer(topic, auto_offset_reset="earliest", **common)
        await consumer.start()
        try:
            msg = await asyncio.wait_for(consumer.getone(), 20)
        finally:
            await consumer.stop()
        return [msg.value]

    assert asyncio.run(run()) == [b"from aiokafka"]


def test_kcat_plain(kavka_sasl):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat is not installed")
    topic = _topic(kavka_sasl.bootstrap)
    auth = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN"]
    auth += ["-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"]
    base = [kcat, "-b", kavka_sasl.bootstrap, *auth]
    subprocess.run([*base, "-P", "-t", topic], input=b"from kcat\n", check=True, timeout=30)
    out = subprocess.run([*base, "-C", "-t", topic, "-o", "beginning", "-e", "-q"], capture_output=True, timeout=30)
    assert out.stdout.splitlines() == [b"from kcat"], out.stderr
    bad = [kcat, "-b", kavka_sasl.bootstrap, *auth[:-1], "sasl.password=wrong", "-L", "-m", "5"]
    failed = subprocess.run(bad, capture_output=True, timeout=30)
    assert failed.returncode != 0
    assert b"Authentication failed: Invalid username or password" in failed.stderr
