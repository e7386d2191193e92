"""Signed OAUTHBEARER tokens (Kafka's OAuthBearerValidatorCallbackHandler with a JWKS file), on Apache
Kafka and Kavka configured the same way: an RS256 token from the key in the set logs in, with the
session ending with the token; an unsigned token, a token signed by another key, an expired one and one
for another audience or issuer get ``{"status":"invalid_token"}``. Keys and signatures are made with the
openssl command."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kavka.security.jwks import JwksSettings, TokenInvalid, load_jwks, validate_signed
from kavka.security.oauthbearer import unsecured_token
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, free_port
from tests.needs import require_kafka
from tests.security import saslwire as w
from tests.security.conftest import running

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
ISSUER, AUDIENCE = "https://issuer.example", "kavka"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Key:
    def __init__(self, directory: Path, kid: str) -> None:
        self.kid = kid
        self.pem = directory / f"{kid}.pem"
        subprocess.run(["openssl", "genrsa", "-out", str(self.pem), "2048"], check=True, capture_output=True)
        out = subprocess.run(["openssl", "rsa", "-in", str(self.pem), "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        n = int(out.strip().split("=", 1)[1], 16)
        self.jwk = {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                    "n": _b64url(n.to_bytes((n.bit_length() + 7) // 8, "big")), "e": _b64url((65537).to_bytes(3, "big"))}  # fmt: skip

    def sign(self, claims: dict, kid: str | None = None) -> str:
        head = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.pem)],
                                   input=f"{head}.{body}".encode(), check=True, capture_output=True).stdout  # fmt: skip
        return f"{head}.{body}.{_b64url(signature)}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Key, Key, Path]:
    d = tmp_path_factory.mktemp("jwks")
    good, other = Key(d, "good"), Key(d, "other")
    jwks = d / "jwks.json"
    jwks.write_text(json.dumps({"keys": [good.jwk]}))
    return good, other, jwks


def _claims(**changes) -> dict:
    now = time.time()
    claims = {"sub": "dave", "iss": ISSUER, "aud": [AUDIENCE], "iat": now, "exp": now + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_validation_rules(keys):
    good, other, jwks = keys
    settings = JwksSettings(load_jwks(jwks.read_text()), (AUDIENCE,), ISSUER)
    now_ms = int(time.time() * 1000)
    principal, expiry, _ = validate_signed(good.sign(_claims()), settings, now_ms)
    assert principal == "dave" and 0 < expiry - now_ms <= 600_000
    cases = {
        "Invalid JWT signature": other.sign(_claims(), kid="good"),
        "No key with kid other": other.sign(_claims()),
        "no longer valid": good.sign(_claims(exp=time.time() - 100)),
        "Audience": good.sign(_claims(aud="someone-else")),
        "Issuer": good.sign(_claims(iss="https://elsewhere")),
        "sub claim is required": good.sign(_claims(sub=None)),
        "three sections": unsecured_token(_claims()),
    }
    for reason, token in cases.items():
        with pytest.raises(TokenInvalid, match=reason):
            validate_signed(token, settings, now_ms)


def _settings(listener: str, jwks: Path) -> dict[str, str]:
    """The same validator settings for both brokers, on their SASL_PLAINTEXT listener."""
    p = f"listener.name.{listener}."
    return {
        p + "sasl.enabled.mechanisms": "OAUTHBEARER",
        p
        + "oauthbearer.sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;",
        p + "oauthbearer.sasl.server.callback.handler.class": VALIDATOR,
        "sasl.oauthbearer.jwks.endpoint.url": jwks.as_uri(),
        "sasl.oauthbearer.expected.audience": AUDIENCE,
        "sasl.oauthbearer.expected.issuer": ISSUER,
        "connection.failed.authentication.delay.ms": "0",
    }


@pytest.fixture(scope="module")
def kavka_signed(keys, tmp_path_factory):
    _, _, jwks = keys
    port = free_port()
    overrides = {"listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}", **_settings("sasl_plaintext", jwks)}
    b = BrokerProcess(tmp_path_factory.mktemp("oauth") / "data", port=port, overrides=overrides)
    with running(b):
        yield b


@pytest.fixture(scope="module")
def kafka_signed(keys, tmp_path_factory):
    """Apache Kafka with the validator on a SASL_PLAINTEXT listener beside its PLAINTEXT one; Kafka 4
    reads a JWKS URL only when the JVM's org.apache.kafka.sasl.oauthbearer.allowed.urls names it."""
    require_kafka()
    _, _, jwks = keys
    k = ApacheKafka(tmp_path_factory.mktemp("kafka-oauth"))
    k.system_properties["org.apache.kafka.sasl.oauthbearer.allowed.urls"] = jwks.as_uri()
    sasl_port = free_port()
    h = k.host
    k.overrides.update(
        {
            "listeners": f"PLAINTEXT://{h}:{k.port},CONTROLLER://{h}:{k.controller_port},SASL_PLAINTEXT://{h}:{sasl_port}",
            "advertised.listeners": f"PLAINTEXT://{h}:{k.port},SASL_PLAINTEXT://{h}:{sasl_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            **_settings("sasl_plaintext", jwks),
        }
    )
    k.sasl_port = sasl_port
    with running(k):
        yield k


@pytest.fixture(params=["kafka", "kavka"])
def signed_broker(request) -> tuple[str, int]:
    """(host, SASL port) of Apache Kafka or Kavka, both validating signed tokens against the same set."""
    if request.param == "kafka":
        k = request.getfixturevalue("kafka_signed")
        return k.host, k.sasl_port
    b = request.getfixturevalue("kavka_signed")
    return b.host, b.port


def _login(broker: tuple[str, int], token: str) -> w.AuthAnswer:
    s = w.connect(f"{broker[0]}:{broker[1]}")
    assert w.handshake(s, "OAUTHBEARER") == (0, ["OAUTHBEARER"])
    answer = w.authenticate(s, f"n,,\x01auth=Bearer {token}\x01\x01".encode())
    if answer.error_code == 0 and answer.auth_bytes:  # the error challenge: acknowledge it
        answer = w.authenticate(s, b"\x01", 3)
    return answer


def test_signed_token_logs_in(keys, signed_broker):
    good, _, _ = keys
    answer = _login(signed_broker, good.sign(_claims()))
    assert answer.error_code == 0 and 590_000 < answer.session_lifetime_ms <= 600_000


@pytest.mark.parametrize("case", ["unsigned", "other-key", "unknown-kid", "expired", "audience", "issuer", "no-sub"])
def test_bad_tokens_are_refused(keys, signed_broker, case):
    good, other, _ = keys
    token = {
        "unsigned": unsecured_token(_claims()),
        "other-key": other.sign(_claims(), kid="good"),
        "expired": good.sign(_claims(exp=time.time() - 100)),
        "unknown-kid": other.sign(_claims()),
        "audience": good.sign(_claims(aud="someone-else")),
        "issuer": good.sign(_claims(iss="https://elsewhere")),
        "no-sub": good.sign(_claims(sub=None)),
    }[case]
    answer = _login(signed_broker, token)
    assert (answer.error_code, answer.error_message) == (58, '{"status":"invalid_token"}')
