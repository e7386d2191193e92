"""KIP-368 for clients that cannot learn their session lifetime: one that logged in with SaslHandshake v0
(raw tokens, no SaslAuthenticate) and one that used SaslAuthenticate v0 (no ``session_lifetime_ms``
field). Apache Kafka gives their sessions the same end as anyone's (``connections.max.reauth.ms``;
``SaslServerAuthenticator`` sets the expiry whatever the version, the version only feeds the
``successful-authentication-no-reauth`` metric), leaves the connection open past that end, and closes
it, without an answer, on the next request that does not start a re-authentication
(``SocketServer.processCompletedReceives``); a SaslHandshake before the end, of either version, starts
a re-authentication (``KafkaChannel.maybeBeginServerReauthentication``). Run against Apache Kafka and
Kavka configured the same way (tests/security/conftest.py: SCRAM-SHA-512 sessions last REAUTH_MS)."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from kavka.testing.process import wait_until
from tests.security import saslwire as w
from tests.security.conftest import REAUTH_MS, SCRAM_PASSWORD, SCRAM_USER
from tests.server.rawwire import readable_within

MECHANISM = "SCRAM-SHA-512"  # the mechanism whose sessions have an end in the shared brokers


def _raw(s: socket.socket, token: bytes) -> bytes:
    """One raw token (after SaslHandshake v0) and the broker's raw answer."""
    s.sendall(struct.pack(">i", len(token)) + token)
    return w.read_frame(s)


def _login(s: socket.socket, client: str) -> tuple[float, float]:
    """Log in as the SCRAM user; returns the clock before the last token went out and after its answer
    came back (the broker's session starts in between)."""
    first = w.scram_first(SCRAM_USER)
    if client == "handshake-v0":
        assert w.handshake(s, MECHANISM, version=0)[0] == 0
        server_first = _raw(s, first)
        sent = time.monotonic()
        assert _raw(s, w.scram_final(MECHANISM, SCRAM_PASSWORD, first, server_first)).startswith(b"v=")
    else:
        assert w.handshake(s, MECHANISM)[0] == 0
        server_first = w.authenticate(s, first, version=0)
        assert server_first.error_code == 0
        sent = time.monotonic()
        final = w.authenticate(s, w.scram_final(MECHANISM, SCRAM_PASSWORD, first, server_first.auth_bytes), 3, 0)
        assert (final.error_code, final.auth_bytes[:2]) == (0, b"v=")
    return sent, time.monotonic()


def _api_versions_ok(s: socket.socket, correlation_id: int) -> bool:
    s.sendall(w.frame(18, 0, correlation_id, b""))
    return struct.unpack_from(">ih", w.read_frame(s)) == (correlation_id, 0)


@pytest.mark.parametrize("client", ["handshake-v0", "authenticate-v0"])
def test_a_v0_client_is_closed_on_its_first_request_after_the_session(sasl_broker, client):
    """The session of a v0 client ends after REAUTH_MS like any other; the broker does nothing at that
    moment, and closes the connection without an answer when the client next sends a request."""
    s = w.connect(sasl_broker.bootstrap)
    sent, answered = _login(s, client)
    assert _api_versions_ok(s, 10)
    # still inside the session (its end is no earlier than sent + REAUTH_MS): served as usual
    assert time.monotonic() < sent + REAUTH_MS / 1000, "the broker took the whole session to answer"

    # past the latest possible end of the session (a bounded wait: nothing on the wire marks it)
    after = answered + REAUTH_MS / 1000 + 0.2
    wait_until(lambda: time.monotonic() >= after, timeout=REAUTH_MS / 1000 + 5, interval=0.05)
    assert not readable_within(s, 0.3), "the broker closed (or wrote to) the idle connection at the session's end"

    s.sendall(w.frame(18, 0, 11, b""))
    w.expect_closed(s, silent=True)
    other = w.connect(sasl_broker.bootstrap)
    _login(other, client)
    assert _api_versions_ok(other, 12)


@pytest.mark.parametrize("client", ["handshake-v0", "authenticate-v0"])
def test_a_v0_client_that_logs_in_again_renews_its_session(sasl_broker, client):
    """Nothing on the wire stops a v0 client from re-authenticating the way it logged in (a SaslHandshake,
    v0 with raw tokens or v1 with SaslAuthenticate v0) before its session ends: the session is renewed
    from then, and a request after the first session's end is served."""
    s = w.connect(sasl_broker.bootstrap)
    _, first_end = _login(s, client)
    first_end += REAUTH_MS / 1000
    renew_at = first_end - REAUTH_MS / 2000  # halfway through the session
    wait_until(lambda: time.monotonic() >= renew_at, timeout=REAUTH_MS / 1000 + 5, interval=0.05)
    renewed, _ = _login(s, client)
    assert renewed < first_end, "the re-authentication started after the first session's end"

    after_first = first_end + 0.2
    wait_until(lambda: time.monotonic() >= after_first, timeout=REAUTH_MS / 1000 + 5, interval=0.05)
    assert time.monotonic() < renewed + REAUTH_MS / 1000, "too late to tell a renewed session from none"
    assert _api_versions_ok(s, 20)
