"""The sans-IO SASL cores with no connection: SCRAM against RFC 7677's example exchange, PLAIN and JAAS
parsing with Kafka's messages, the unsecured OAUTHBEARER validator, Kafka's mechanism order, and the
SCRAM metadata records' bytes and image."""

from __future__ import annotations

import base64

import pytest

from kavka.controller.scram_credentials import ScramDeletion, ScramUpsertion, alter_scram_credentials
from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.image_records import image_to_records
from kavka.metadata.records import (
    RemoveUserScramCredentialRecord,
    UserScramCredentialRecord,
    decode_record,
    encode_record,
)
from kavka.security.jaas import JaasError, parse_jaas_config
from kavka.security.javaorder import hashmap_order, java_string_hash
from kavka.security.mechanism import SaslAuthenticationError, SaslError
from kavka.security.oauthbearer import OAuthBearerServer, OAuthSettings, unsecured_token
from kavka.security.sasl_plain import PlainServer
from kavka.security.scram import ScramServer, make_credential

# RFC 7677 section 3
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _rfc_server() -> ScramServer:
    credential = make_credential("SCRAM-SHA-256", "pencil", SALT, 4096)
    return ScramServer("SCRAM-SHA-256", {"user": credential}.get, nonce=lambda: SERVER_NONCE)


def test_scram_sha_256_rfc7677_exchange():
    server = _rfc_server()
    assert server.evaluate(CLIENT_FIRST) == SERVER_FIRST
    assert server.evaluate(CLIENT_FINAL) == SERVER_FINAL
    assert server.complete and server.authorization_id == "user"


@pytest.mark.parametrize(
    "final,message",
    [
        (CLIENT_FINAL.replace(b"hNlF$k0,p", b"hNlF$k1,p"), "Invalid client nonce in the final client message."),
        (CLIENT_FINAL[:-4] + b"AAA=", "Invalid client credentials"),
        (b"c=biws,p=xyz", "Invalid SCRAM client final message format: c=biws,p=xyz"),
    ],
)
def test_scram_bad_final_message(final, message):
    server = _rfc_server()
    server.evaluate(CLIENT_FIRST)
    with pytest.raises(SaslError, match="^" + message.replace("$", r"\$") + "$") as info:
        server.evaluate(final)
    assert not isinstance(info.value, SaslAuthenticationError)  # the client only gets the generic message
    assert not server.complete


def test_scram_unknown_user_and_few_iterations():
    with pytest.raises(SaslError, match="Invalid user credentials"):
        _rfc_server().evaluate(b"n,,n=nobody,r=abc")
    weak = make_credential("SCRAM-SHA-512", "pw", iterations=1000)
    with pytest.raises(SaslError, match="Iterations 1000 is less than the minimum 4096 for SCRAM-SHA-512"):
        ScramServer("SCRAM-SHA-512", {"u": weak}.get).evaluate(b"n,,n=u,r=abc")


def test_scram_other_authzid_is_refused_with_its_message():
    with pytest.raises(SaslAuthenticationError, match="authorization id that is different from username"):
        _rfc_server().evaluate(b"n,a=admin,n=user,r=abc")


@pytest.mark.parametrize(
    "token,message",
    [
        (b"\x00alice\x00pw", None),
        (b"alice\x00alice\x00pw", None),
        (b"\x00alice\x00bad", "Authentication failed: Invalid username or password"),
        (b"\x00bob\x00pw", "Authentication failed: Invalid username or password"),
        (b"\x00\x00pw", "Authentication failed: username not specified"),
        (b"\x00alice\x00", "Authentication failed: password not specified"),
        (b"a\x00b\x00c\x00d", "Invalid SASL/PLAIN response: expected 3 tokens, got 4"),
        (b"bob\x00alice\x00pw", "Authentication failed: Client requested an authorization id that is different"),
    ],
)
def test_plain(token, message):
    server = PlainServer({"alice": "pw"})
    if message is None:
        assert server.evaluate(token) == b"" and server.authorization_id == "alice"
    else:
        with pytest.raises(SaslAuthenticationError, match="^" + message):
            server.evaluate(token)


def test_jaas_config():
    module = parse_jaas_config(
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="a\\"b" user_admin="x y" debug=true;'
    )
    assert module.class_name == "org.apache.kafka.common.security.plain.PlainLoginModule"
    assert module.flag == "required"
    assert module.options == {"username": "admin", "password": 'a"b', "user_admin": "x y", "debug": "true"}
    with pytest.raises(JaasError, match="not terminated by semi-colon"):
        parse_jaas_config("a.B required x=1")
    with pytest.raises(JaasError, match="contains 2 login modules, should be 1 module"):
        parse_jaas_config("a.B required; c.D optional;")
    with pytest.raises(JaasError, match="control flag is not available: maybe"):
        parse_jaas_config("a.B maybe;")


def test_oauthbearer_unsecured():
    now = 1_700_000_000_000
    server = OAuthBearerServer(OAuthSettings(required_scope=("read",)), clock_ms=lambda: now)
    token = unsecured_token({"sub": "carol", "exp": now / 1000 + 60, "scope": "read write"})
    assert server.evaluate(f"n,,\x01auth=Bearer {token}\x01\x01".encode()) == b""
    assert (server.authorization_id, server.credential_expiry_ms) == ("carol", now + 60_000)
    for claims in ({"sub": "carol", "exp": now / 1000 - 1}, {"exp": now / 1000 + 60}, {"sub": "c", "exp": 1e12}):
        bad = OAuthBearerServer(OAuthSettings(required_scope=("read",)), clock_ms=lambda: now)
        assert bad.evaluate(f"n,,\x01auth=Bearer {unsecured_token(claims)}\x01\x01".encode()) == (
            b'{"status":"invalid_token"}'
        )
        with pytest.raises(SaslAuthenticationError, match="invalid_token"):
            bad.evaluate(b"\x01")


def test_java_hashmap_order():
    assert java_string_hash("PLAIN") == 76210602  # Java: "PLAIN".hashCode()
    assert hashmap_order(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]) == [
        "PLAIN",
        "SCRAM-SHA-512",
        "SCRAM-SHA-256",
        "OAUTHBEARER",
    ]


def test_scram_records_bytes_and_image():
    record = UserScramCredentialRecord("alice", 1, b"salt", b"stored", b"server", 4096)
    data = encode_record(record)
    # frame 1, api key 11, version 0, then the flexible body: compact strings/bytes, int8, int32, no tags
    assert data == bytes([1, 11, 0, 6]) + b"alice" + b"\x01\x05salt\x07stored\x07server\x00\x00\x10\x00\x00"
    assert decode_record(data) == record
    image = apply_all(MetadataImage.empty(), [record, UserScramCredentialRecord("bob", 2, b"s", b"k", b"v", 8192)])
    assert image_to_records(image)[-2:] == [record, UserScramCredentialRecord("bob", 2, b"s", b"k", b"v", 8192)]
    image = apply_all(image, [RemoveUserScramCredentialRecord("alice", 1)])
    assert list(image.scram_credentials) == [("bob", 2)]


def test_alter_scram_credentials_rules():
    existing = {("alice", 1): object(), ("dup", 1): object()}
    up = lambda name, mech=1, it=4096: ScramUpsertion(name, mech, it, b"s", b"k", b"v")  # noqa: E731
    results, records = alter_scram_credentials(
        existing,
        [ScramDeletion("alice", 1), ScramDeletion("ghost", 1), ScramDeletion("dup", 1)],
        [up("dup"), up(""), up("weak", it=4095), up("strong", it=16385), up("odd", mech=3), up("ok", 2)],
    )
    assert [(r.user, r.error_code, r.error_message) for r in results] == [
        ("alice", 0, None),
        ("ok", 0, None),
        ("ghost", 91, "Attempt to delete a user credential that does not exist"),
        ("dup", 92, "A user credential cannot be altered twice in the same request"),
        ("", 93, "Username must not be empty"),
        ("weak", 93, "Too few iterations"),
        ("strong", 93, "Too many iterations"),
        ("odd", 33, "Unknown SCRAM mechanism"),
    ]
    assert records == [
        RemoveUserScramCredentialRecord("alice", 1),
        UserScramCredentialRecord("ok", 2, b"s", b"k", b"v", 4096),
    ]
