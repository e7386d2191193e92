"""SCRAM authentications per second: full SCRAM-SHA-256 and SCRAM-SHA-512 logins on new connections
(connect, SaslHandshake v1, two SaslAuthenticate v1, close), one after another from one client, against
a Kavka broker with a SASL_PLAINTEXT listener; and Apache Kafka configured the same way when
KAVKA_KAFKA_LIB is set (``--kafka``). Also the server side alone: one ScramServer exchange in-process.

The client's PBKDF2 (4096 iterations) is computed once per run, not per login, so the figure measures
the broker, not the client. Run: ``.venv/bin/python bench/sasl.py [--seconds 5] [--kafka]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import socket
import struct
import sys
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from benchlib import machine, report
from kavka.security.scram import MECHANISMS, ScramServer, make_credential
from kavka.testing.process import BrokerProcess, free_port

USER, PASSWORD = "bench", "bench-secret"
PLAIN_JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin" user_admin="admin";'
)
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required ;"


def sasl_overrides() -> dict[str, str]:
    p = "listener.name.sasl_plaintext."
    return {
        p + "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        p + "plain.sasl.jaas.config": PLAIN_JAAS,
        p + "scram-sha-256.sasl.jaas.config": SCRAM_JAAS,
        p + "scram-sha-512.sasl.jaas.config": SCRAM_JAAS,
    }


def _frame(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    payload = struct.pack(">hhih", api_key, version, correlation_id, 5) + b"bench" + body
    return struct.pack(">i", len(payload)) + payload


def _recv(s: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return bytes(buf)

    return exactly(struct.unpack(">i", exactly(4))[0])


def _auth(s: socket.socket, token: bytes, cid: int) -> bytes:
    s.sendall(_frame(36, 1, cid, struct.pack(">i", len(token)) + token))
    data = _recv(s)
    error, n = struct.unpack_from(">hh", data, 4)
    pos = 8 + max(n, 0)
    if error:
        raise RuntimeError(f"authentication failed: {error} {data[8:pos]!r}")
    (length,) = struct.unpack_from(">i", data, pos)
    return data[pos + 4 : pos + 4 + length]


class ScramClient:
    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism
        self.algorithm = MECHANISMS[mechanism]
        self._salted: dict[bytes, bytes] = {}

    def proof(self, salt: bytes, iterations: int, auth_message: bytes) -> bytes:
        salted = self._salted.get(salt)
        if salted is None:
            salted = self._salted[salt] = hashlib.pbkdf2_hmac(self.algorithm, PASSWORD.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.algorithm).digest()
        stored = hashlib.new(self.algorithm, client_key).digest()
        signature = hmac.new(stored, auth_message, self.algorithm).digest()
        return bytes(a ^ b for a, b in zip(client_key, signature, strict=True))

    def login(self, host: str, port: int) -> None:
        with socket.create_connection((host, port), timeout=10) as s:
            m = self.mechanism.encode()
            s.sendall(_frame(17, 1, 1, struct.pack(">h", len(m)) + m))
            _recv(s)
            first_bare = "n=" + USER + ",r=benchnonce"
            server_first = _auth(s, ("n,," + first_bare).encode(), 2)
            fields = dict(p.split("=", 1) for p in server_first.decode().split(","))
            without_proof = f"c=biws,r={fields['r']}"
            auth_message = f"{first_bare},{server_first.decode()},{without_proof}".encode()
            proof = self.proof(base64.b64decode(fields["s"]), int(fields["i"]), auth_message)
            _auth(s, f"{without_proof},p={base64.b64encode(proof).decode()}".encode(), 3)


def logins_per_second(host: str, port: int, mechanism: str, seconds: float) -> float:
    client = ScramClient(mechanism)
    client.login(host, port)  # warm up (and the client's PBKDF2)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        client.login(host, port)
        n += 1
    return n / (time.perf_counter() - start)


def core_exchanges_per_second(mechanism: str, seconds: float) -> float:
    credential = make_credential(mechanism, PASSWORD)
    client = ScramClient(mechanism)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        server = ScramServer(mechanism, {USER: credential}.get)
        first_bare = f"n={USER},r=benchnonce"
        server_first = server.evaluate(("n,," + first_bare).encode()).decode()
        fields = dict(p.split("=", 1) for p in server_first.split(","))
        without_proof = f"c=biws,r={fields['r']}"
        proof = client.proof(
            credential.salt, credential.iterations, f"{first_bare},{server_first},{without_proof}".encode()
        )
        server.evaluate(f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
        n += 1
    return n / (time.perf_counter() - start)


def add_user(bootstrap: str, conf: dict) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, **conf})
    for m in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
        upsert = UserScramCredentialUpsertion(USER, ScramCredentialInfo(m, 4096), PASSWORD.encode())
        for f in admin.alter_user_scram_credentials([upsert]).values():
            f.result(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--kafka", action="store_true", help="also Apache Kafka (needs KAVKA_KAFKA_LIB)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    out: dict = {}
    for m in MECHANISMS:
        out[f"core {m}/s"] = core_exchanges_per_second(m, args.seconds)
    port = free_port()
    broker = BrokerProcess(port=port, overrides={"listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}", **sasl_overrides()})
    broker.start()
    try:
        plain = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
        add_user(broker.bootstrap, {**plain, "sasl.username": "admin", "sasl.password": "admin"})
        for m in MECHANISMS:
            out[f"kavka {m} logins/s"] = logins_per_second(broker.host, port, m, args.seconds)
    finally:
        broker.stop()
        broker.cleanup()
    if args.kafka:
        from kavka.testing.apache_kafka import ApacheKafka

        kafka = ApacheKafka()
        sasl_port = free_port()
        h = kafka.host
        kafka.overrides.update(
            {
                "listeners": f"PLAINTEXT://{h}:{kafka.port},CONTROLLER://{h}:{kafka.controller_port},"
                f"SASL_PLAINTEXT://{h}:{sasl_port}",
                "advertised.listeners": f"PLAINTEXT://{h}:{kafka.port},SASL_PLAINTEXT://{h}:{sasl_port}",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
                "SASL_PLAINTEXT:SASL_PLAINTEXT",
                **sasl_overrides(),
            }
        )
        kafka.start()
        try:
            add_user(kafka.bootstrap, {})
            for m in MECHANISMS:
                out[f"kafka {m} logins/s"] = logins_per_second(h, sasl_port, m, args.seconds)
        finally:
            kafka.stop()
            kafka.cleanup()
    out["machine"] = machine()
    report(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
