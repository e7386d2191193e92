"""The SASL exchange on the wire, request by request, against Apache Kafka and Kavka configured the
same way (tests/security/conftest.py): the answers, error codes and messages of each step, and what
closes the connection (handshake out of order, bytes that are no request, oversized frames, a failed
authentication) without disturbing other connections."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from kavka.security.oauthbearer import unsecured_token
from kavka.testing.process import wait_until
from tests.security import saslwire as w
from tests.security.conftest import REAUTH_MS, SCRAM_PASSWORD, SCRAM_USER

SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE = 58, 33, 34
# Kafka lists the enabled mechanisms in its Java HashMap's order, not the config's
ENABLED = ["PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256", "OAUTHBEARER"]


def _api_versions_ok(s) -> bool:
    s.sendall(w.frame(18, 0, 99, b""))
    data = w.read_frame(s)
    return struct.unpack_from(">ih", data) == (99, 0)


def _closed_after_failure(s) -> None:
    assert w.expect_closed(s) == b""


def test_unsupported_mechanism(sasl_broker):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    assert w.handshake(s, "GSSAPI") == (UNSUPPORTED_SASL_MECHANISM, ENABLED)
    _closed_after_failure(s)


def test_plain_success_then_requests(sasl_broker):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    assert _api_versions_ok(s)
    assert w.handshake(s, "PLAIN") == (0, ENABLED)
    answer = w.authenticate(s, w.plain_token("alice", "alice-secret"))
    assert (answer.error_code, answer.error_message, answer.auth_bytes, answer.session_lifetime_ms) == (0, "", b"", 0)
    assert _api_versions_ok(s)
    # a second handshake on an authenticated connection whose session has no end
    assert w.handshake(s, "PLAIN", correlation_id=5) == (ILLEGAL_SASL_STATE, [])


@pytest.mark.parametrize(
    "user,password,message",
    [
        ("alice", "wrong", "Authentication failed: Invalid username or password"),
        ("nobody", "x", "Authentication failed: Invalid username or password"),
        ("", "x", "Authentication failed: username not specified"),
    ],
)
def test_plain_failures(sasl_broker, user, password, message):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "PLAIN")
    started = time.monotonic()
    answer = w.authenticate(s, w.plain_token(user, password))
    assert (answer.error_code, answer.error_message) == (SASL_AUTHENTICATION_FAILED, message)
    assert time.monotonic() - started >= 0.09  # connection.failed.authentication.delay.ms=100 (KIP-306)
    _closed_after_failure(s)


def test_a_failed_login_is_logged_once_with_the_client_address(sasl_broker):
    """KIP-306: the broker logs a failed authentication once, naming the client's address. Each login
    comes from its own loopback address, so its line is told apart; the second one's line shows the
    first's was written (and not repeated) by then."""

    def fail_from(address: str) -> None:
        s = socket.create_connection((sasl_broker.host, sasl_broker.port), timeout=10, source_address=(address, 0))
        w.handshake(s, "PLAIN")
        assert w.authenticate(s, w.plain_token("alice", "wrong")).error_code == SASL_AUTHENTICATION_FAILED
        _closed_after_failure(s)

    def lines(address: str) -> list[str]:
        text = sasl_broker.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if f"Failed authentication with /{address} " in line]

    first, second = "127.0.9.2", "127.0.9.3"  # no other test logs in from these
    fail_from(first)
    fail_from(second)
    wait_until(lambda: lines(second), timeout=10, message=f"a failed-authentication line for {second}")
    assert len(lines(first)) == 1, lines(first)
    assert "Invalid username or password" in lines(first)[0]


def test_plain_token_with_wrong_token_count(sasl_broker):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "PLAIN")
    answer = w.authenticate(s, b"alice")
    assert (answer.error_code, answer.error_message) == (
        SASL_AUTHENTICATION_FAILED,
        "Invalid SASL/PLAIN response: expected 3 tokens, got 1",
    )


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_success(sasl_broker, mechanism):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, mechanism)
    first = w.scram_first(SCRAM_USER)
    server_first = w.authenticate(s, first)
    assert server_first.error_code == 0 and server_first.auth_bytes.startswith(b"r=clientnonce")
    assert b",i=4096" in server_first.auth_bytes
    final = w.authenticate(s, w.scram_final(mechanism, SCRAM_PASSWORD, first, server_first.auth_bytes), 3)
    assert final.error_code == 0 and final.auth_bytes.startswith(b"v=")
    assert final.session_lifetime_ms == (REAUTH_MS if mechanism == "SCRAM-SHA-512" else 0)
    assert _api_versions_ok(s)


GENERIC = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"


@pytest.mark.parametrize("case", ["unknown-user", "bad-nonce", "bad-proof", "garbage-first"])
def test_scram_failures(sasl_broker, case):
    """Every SCRAM failure tells the client the same generic message (no hint whether the user exists)."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "SCRAM-SHA-256")
    if case == "garbage-first":
        answer = w.authenticate(s, b"\xff\x00not scram")
    else:
        first = w.scram_first("nobody" if case == "unknown-user" else SCRAM_USER)
        answer = w.authenticate(s, first)
        if case != "unknown-user":
            assert answer.error_code == 0
            nonce = "clientnonce-not-the-servers" if case == "bad-nonce" else None
            password = "wrong" if case == "bad-proof" else SCRAM_PASSWORD
            answer = w.authenticate(s, w.scram_final("SCRAM-SHA-256", password, first, answer.auth_bytes, nonce), 3)
    assert (answer.error_code, answer.error_message) == (SASL_AUTHENTICATION_FAILED, GENERIC)
    _closed_after_failure(s)


@pytest.mark.parametrize("version", [0, 2])
def test_authenticate_v0_and_v2(sasl_broker, version):
    """SaslAuthenticate's oldest version (no session lifetime) and its flexible one (compact fields,
    tagged fields): PLAIN and SCRAM-SHA-512 logins, and a wrong password's code and message."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "PLAIN")
    answer = w.authenticate(s, w.plain_token("alice", "alice-secret"), version=version)
    assert (answer.error_code, answer.error_message, answer.auth_bytes, answer.session_lifetime_ms) == (0, "", b"", 0)
    assert _api_versions_ok(s)

    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "SCRAM-SHA-512")
    first = w.scram_first(SCRAM_USER)
    server_first = w.authenticate(s, first, version=version)
    assert server_first.error_code == 0 and server_first.auth_bytes.startswith(b"r=clientnonce")
    final = w.scram_final("SCRAM-SHA-512", SCRAM_PASSWORD, first, server_first.auth_bytes)
    answer = w.authenticate(s, final, 3, version=version)
    assert answer.error_code == 0 and answer.auth_bytes.startswith(b"v=")
    # v0 has no field for the session lifetime (KIP-368 re-authentication needs v1)
    assert answer.session_lifetime_ms == (REAUTH_MS if version >= 1 else 0)
    assert _api_versions_ok(s)

    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "PLAIN")
    answer = w.authenticate(s, w.plain_token("alice", "wrong"), version=version)
    assert (answer.error_code, answer.error_message) == (
        SASL_AUTHENTICATION_FAILED,
        "Authentication failed: Invalid username or password",
    )
    _closed_after_failure(s)


def test_oauthbearer_unsecured(sasl_broker):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "OAUTHBEARER")
    # whole seconds, as JWT issuers write them: Kafka refuses an iat after its clock's current
    # millisecond, so a fractional iat of this very millisecond would fail now and then
    now = int(time.time())
    token = unsecured_token({"sub": "carol", "iat": now, "exp": now + 3600})
    answer = w.authenticate(s, f"n,,\x01auth=Bearer {token}\x01\x01".encode())
    assert answer.error_code == 0
    # the session ends with the token (no connections.max.reauth.ms for OAUTHBEARER)
    assert 3590_000 < answer.session_lifetime_ms <= 3600_000
    assert _api_versions_ok(s)


def test_oauthbearer_expired_token(sasl_broker):
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "OAUTHBEARER")
    token = unsecured_token({"sub": "carol", "iat": time.time() - 7200, "exp": time.time() - 3600})
    challenge = w.authenticate(s, f"n,,\x01auth=Bearer {token}\x01\x01".encode())
    assert (challenge.error_code, challenge.auth_bytes) == (0, b'{"status":"invalid_token"}')
    answer = w.authenticate(s, b"\x01", 3)
    assert (answer.error_code, answer.error_message) == (SASL_AUTHENTICATION_FAILED, '{"status":"invalid_token"}')
    _closed_after_failure(s)


def test_oauthbearer_token_issued_in_the_future(sasl_broker):
    """An iat after the broker's clock (no clock skew is allowed by default) makes the token invalid."""
    now = int(time.time())
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "OAUTHBEARER")
    token = unsecured_token({"sub": "carol", "iat": now + 60, "exp": now + 3600})
    challenge = w.authenticate(s, f"n,,\x01auth=Bearer {token}\x01\x01".encode())
    assert (challenge.error_code, challenge.auth_bytes) == (0, b'{"status":"invalid_token"}')
    answer = w.authenticate(s, b"\x01", 3)
    assert (answer.error_code, answer.error_message) == (SASL_AUTHENTICATION_FAILED, '{"status":"invalid_token"}')
    _closed_after_failure(s)


def test_api_versions_retry_after_an_unsupported_version(sasl_broker):
    """A client that asks ApiVersions in a version the broker lacks gets the v0 error answer and may ask
    again before its handshake (KIP-511)."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    # v6, newer than both brokers serve: header v2 (an empty tagged-field section), then v5's body
    # (client software name and version, cluster id null, node id -1, no tagged fields)
    payload = struct.pack(">hhih", 18, 6, 7, 3) + b"raw\x00" + b"\x04kcl\x021\x00" + struct.pack(">i", -1) + b"\x00"
    s.sendall(struct.pack(">i", len(payload)) + payload)
    data = w.read_frame(s)
    assert struct.unpack_from(">ih", data) == (7, 35)  # UNSUPPORTED_VERSION
    assert _api_versions_ok(s)
    assert w.handshake(s, "PLAIN")[0] == 0


def test_handshake_v0_raw_tokens(sasl_broker):
    """After SaslHandshake v0 the tokens travel as bare size-prefixed frames (pre-KIP-152 clients)."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    assert w.handshake(s, "PLAIN", version=0)[0] == 0
    token = w.plain_token("alice", "alice-secret")
    s.sendall(struct.pack(">i", len(token)) + token)
    assert w.recv_exactly(s, 4) == b"\x00\x00\x00\x00"
    assert _api_versions_ok(s)


@pytest.mark.parametrize(
    "case",
    ["metadata-first", "authenticate-first", "garbage-first", "metadata-after-handshake", "second-api-versions"],
)
def test_out_of_order_closes(sasl_broker, case):
    """Anything but ApiVersions and SaslHandshake before authentication closes the connection
    (no answer), and another connection is served as before."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    if case == "metadata-first":
        s.sendall(w.frame(3, 1, 1, struct.pack(">i", -1)))
    elif case == "authenticate-first":
        s.sendall(w.frame(36, 1, 1, struct.pack(">i", 0)))
    elif case == "garbage-first":
        s.sendall(struct.pack(">i", 8) + b"\xde\xad\xbe\xef" * 2)
    elif case == "metadata-after-handshake":
        w.handshake(s, "PLAIN")
        s.sendall(w.frame(3, 1, 2, struct.pack(">i", -1)))
    else:
        assert _api_versions_ok(s)
        s.sendall(w.frame(18, 0, 2, b""))
    sent = w.expect_closed(s)
    if case == "metadata-after-handshake" and sasl_broker.kind == "kafka":
        # Kafka answers the request with its error response (ILLEGAL_SASL_STATE) before closing; Kavka
        # closes without one (docs/compatibility.md, "SASL")
        assert sent[4:8] == struct.pack(">i", 2)
    else:
        assert sent == b""
    other = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    assert _api_versions_ok(other)


def test_oversized_frame_before_authentication(sasl_broker):
    """A frame above sasl.server.max.receive.size (512 KiB) before authentication closes the connection
    without reading it."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    w.handshake(s, "PLAIN")
    s.sendall(struct.pack(">i", 600_000) + b"\x00" * 1000)
    _closed_after_failure(s)
    other = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    assert _api_versions_ok(other)


def _scram_login(s, correlation: int, user: str = SCRAM_USER, password: str = SCRAM_PASSWORD) -> w.AuthAnswer:
    """A whole SCRAM-SHA-512 login (handshake, client-first, client-final) on ``s``; the final answer."""
    w.handshake(s, "SCRAM-SHA-512", correlation)
    first = w.scram_first(user)
    server_first = w.authenticate(s, first, correlation + 1)
    final = w.scram_final("SCRAM-SHA-512", password, first, server_first.auth_bytes)
    return w.authenticate(s, final, correlation + 2)


def test_reauthentication(sasl_broker):
    """KIP-368: a SCRAM-SHA-512 session lasts REAUTH_MS; re-authenticating renews it, and a connection
    past its session's end is closed on its next request."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")

    def login(correlation: int) -> float:
        answer = _scram_login(s, correlation)
        assert (answer.error_code, answer.session_lifetime_ms) == (0, REAUTH_MS)
        return time.monotonic()

    login(1)
    renewed = login(10)
    assert _api_versions_ok(s)

    def closed() -> bool:
        try:
            return not _api_versions_ok(s)
        except (ConnectionError, OSError, struct.error):
            return True

    wait_until(closed, timeout=REAUTH_MS / 1000 + 5, interval=0.1)
    assert time.monotonic() - renewed >= REAUTH_MS / 1000 - 0.05


def test_a_second_reauthentication_within_a_second_is_refused(sasl_broker):
    """KIP-368 (Kafka's KafkaChannel): a connection may start a re-authentication at most once a second;
    a handshake sooner than that is handled as on any authenticated connection: ILLEGAL_SASL_STATE, and
    the session goes on."""
    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")

    assert _scram_login(s, 1).error_code == 0
    started = time.monotonic()
    assert _scram_login(s, 10).error_code == 0  # the first re-authentication: no earlier one to be too close to
    error, _ = w.handshake(s, "SCRAM-SHA-512", 20)
    assert time.monotonic() - started < 1.0, "too slow to check the one-second rule"
    assert error == 34  # ILLEGAL_SASL_STATE
    assert _api_versions_ok(s)


@pytest.mark.parametrize("case", ["other-mechanism", "other-principal"])
def test_reauthentication_keeps_mechanism_and_principal(sasl_broker, case):
    """KIP-368: a re-authentication as another user is refused with Kafka's message, one with another
    mechanism gets its handshake answered and then the connection closes without an answer (as Kafka
    does); either way the broker logs ``Failed re-authentication with /<address>``."""
    from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    from tests.security.conftest import client_conf

    other = "scram-other"
    upsert = UserScramCredentialUpsertion(
        other, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"other-secret"
    )
    admin = AdminClient(client_conf(sasl_broker.bootstrap))
    for f in admin.alter_user_scram_credentials([upsert]).values():
        f.result(timeout=20)

    s = w.connect(f"{sasl_broker.host}:{sasl_broker.port}")
    assert _scram_login(s, 1).error_code == 0
    if case == "other-mechanism":
        assert w.handshake(s, "PLAIN", 10) == (0, ENABLED)
        token = w.plain_token("alice", "alice-secret")
        s.sendall(w.frame(36, 1, 11, struct.pack(">i", len(token)) + token))
        message = (
            "SASL mechanism 'PLAIN' requested by client is not supported for re-authentication of mechanism "
            "'SCRAM-SHA-512'"
        )
    else:
        answer = _scram_login(s, 10, other, "other-secret")
        message = f"Cannot change principals during re-authentication from User.{SCRAM_USER}: User.{other}"
        assert (answer.error_code, answer.error_message) == (SASL_AUTHENTICATION_FAILED, message)
    _closed_after_failure(s)

    def logged() -> bool:
        lines = sasl_broker.log_path.read_text(errors="replace").splitlines()
        return any("Failed re-authentication with /127.0.0.1" in line and message in line for line in lines)

    wait_until(logged, timeout=10, message="the failed re-authentication's log line")
