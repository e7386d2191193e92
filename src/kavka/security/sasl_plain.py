"""SASL/PLAIN on the server (RFC 4616), with Kafka's messages (``PlainSaslServer``).

The client's one token is ``[authzid] NUL authcid NUL passwd`` in UTF-8. The user and password are
checked against the ``user_<name>="<password>"`` options of the listener's PlainLoginModule JAAS
config (Kafka's ``PlainServerCallbackHandler``); the comparison takes the same time whatever the
password. An authorization id, when sent, must equal the user name.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from kavka.security.mechanism import SaslAuthenticationError

__all__ = ["PlainServer", "users_from_jaas_options"]

_PREFIX = "user_"


def users_from_jaas_options(options: Mapping[str, str]) -> dict[str, str]:
    """``{user: password}`` from a PlainLoginModule's ``user_<name>`` options."""
    return {k[len(_PREFIX) :]: v for k, v in options.items() if k.startswith(_PREFIX)}


class PlainServer:
    name = "PLAIN"

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = users
        self.complete = False
        self.authorization_id: str | None = None
        self.credential_expiry_ms: int | None = None

    def evaluate(self, token: bytes) -> bytes:
        tokens = token.decode("utf-8", errors="replace").split("\x00", 3)
        if len(tokens) != 3:
            raise SaslAuthenticationError(f"Invalid SASL/PLAIN response: expected 3 tokens, got {min(len(tokens), 4)}")
        authzid, username, password = tokens
        if not username:
            raise SaslAuthenticationError("Authentication failed: username not specified")
        if not password:
            raise SaslAuthenticationError("Authentication failed: password not specified")
        expected = self._users.get(username)
        # compare against something even for an unknown user, so the time does not tell users apart
        ok = hmac.compare_digest((expected or "\x00" + password).encode(), password.encode())
        if expected is None or not ok:
            raise SaslAuthenticationError("Authentication failed: Invalid username or password")
        if authzid and authzid != username:
            raise SaslAuthenticationError(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        self.authorization_id = username
        self.complete = True
        return b""
