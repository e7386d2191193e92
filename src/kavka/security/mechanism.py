"""What every server-side SASL mechanism offers the connection that drives it (Java's ``SaslServer``).

A mechanism is fed the client's tokens one at a time with :meth:`SaslMechanism.evaluate` and answers
the token to send back. Once :attr:`complete`, :attr:`authorization_id` names the user (the principal
is ``User:<authorization_id>``) and :attr:`credential_expiry_ms` is the credential's end (wall clock,
ms) when it has one (OAUTHBEARER tokens), else None.

Two failures, as Kafka tells them apart: :class:`SaslAuthenticationError` carries a message meant for
the client ("Authentication failed: Invalid username or password"); :class:`SaslError` is any other
failure, whose message may say too much (that a user exists), so the client is told only
``Authentication failed during authentication due to invalid credentials with SASL mechanism <M>``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["SaslAuthenticationError", "SaslError", "SaslMechanism", "generic_failure"]


class SaslError(Exception):
    """A failure whose message stays in the broker's log."""


class SaslAuthenticationError(SaslError):
    """A failure whose message is sent to the client as is."""


def generic_failure(mechanism: str, reauthenticating: bool = False) -> str:
    """Kafka's message to the client for a :class:`SaslError`."""
    what = "re-authentication" if reauthenticating else "authentication"
    return f"Authentication failed during {what} due to invalid credentials with SASL mechanism {mechanism}"


class SaslMechanism(Protocol):
    name: str
    complete: bool
    authorization_id: str | None
    credential_expiry_ms: int | None

    def evaluate(self, token: bytes) -> bytes: ...
