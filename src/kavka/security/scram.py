"""SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677): credentials and the server side of the
exchange, with Kafka's rules and messages (``ScramSaslServer``, ``ScramMessages``, ``ScramFormatter``).

Credential (what the metadata log stores per user and mechanism, Kafka's UserScramCredentialRecord)::

    SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations)
    StoredKey      = H(HMAC-H(SaltedPassword, "Client Key"))
    ServerKey      = HMAC-H(SaltedPassword, "Server Key")

Exchange (four messages, each one SASL token, UTF-8)::

    client-first   n,[a=<authzid>],n=<user>,r=<client nonce>[,<extensions>]
    server-first   r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
    client-final   c=<base64 gs2 header>,r=<the whole nonce>,p=<base64 ClientProof>
    server-final   v=<base64 ServerSignature>

    AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
    ClientSignature = HMAC-H(StoredKey, AuthMessage); ClientProof = ClientKey XOR ClientSignature
    ServerSignature = HMAC-H(ServerKey, AuthMessage)

The server checks that the final nonce is the one it sent (Kafka: it must end with the server's part
and the whole must match), and that H(ClientProof XOR ClientSignature) equals StoredKey. Iterations are
at least 4096 (Kafka's minimum for both mechanisms) and at most 16384 when credentials are altered.
An unknown user, a bad nonce and a bad proof are :class:`SaslError`s, so the client learns only
Kafka's generic message and not which one it was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from kavka.security.mechanism import SaslAuthenticationError, SaslError

__all__ = [
    "MECHANISMS",
    "MECHANISM_IDS",
    "MIN_ITERATIONS",
    "MAX_ITERATIONS",
    "ScramCredential",
    "ScramServer",
    "ScramClient",
    "make_credential",
    "client_proof",
    "server_signature",
]

# Kafka's ScramMechanism: name -> (hash, type id in the protocol and the metadata record)
MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
MECHANISM_IDS = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384

_SASLNAME = r"(?:[\x01-\x2b\x2d-\x3c\x3e-\x7f]|=2C|=3D)+"
_PRINTABLE = r"[\x21-\x2b\x2d-\x7e]+"
_BASE64 = r"[A-Za-z0-9+/]*=*"
_EXTENSIONS = r"(?:,[A-Za-z]=[^,]*)*"
_CLIENT_FIRST = re.compile(
    rf"n,(?:a=(?P<authzid>{_SASLNAME}))?,(?P<bare>n=(?P<saslname>{_SASLNAME}),r=(?P<nonce>{_PRINTABLE})"
    rf"(?P<extensions>{_EXTENSIONS}))"
)
_CLIENT_FINAL = re.compile(
    rf"(?P<without_proof>c=(?P<channel>{_BASE64}),r=(?P<nonce>{_PRINTABLE}){_EXTENSIONS}),p=(?P<proof>{_BASE64})"
)


@dataclass(frozen=True)
class ScramCredential:
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


def _hmac(algorithm: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, algorithm).digest()


def _salted(algorithm: str, password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac(algorithm, password.encode(), salt, iterations)


def make_credential(
    mechanism: str, password: str, salt: bytes | None = None, iterations: int = 4096
) -> ScramCredential:
    """The stored form of ``password`` (a random 32-byte salt unless given)."""
    algorithm = MECHANISMS[mechanism]
    salt = os.urandom(32) if salt is None else salt
    salted = _salted(algorithm, password, salt, iterations)
    client_key = _hmac(algorithm, salted, b"Client Key")
    return ScramCredential(
        salt=salt,
        stored_key=hashlib.new(algorithm, client_key).digest(),
        server_key=_hmac(algorithm, salted, b"Server Key"),
        iterations=iterations,
    )


def credential_from_salted_password(mechanism: str, salted: bytes, salt: bytes, iterations: int) -> ScramCredential:
    """The credential for a salted password sent by AlterUserScramCredentials (KIP-554: the client
    salts, the broker derives the keys)."""
    algorithm = MECHANISMS[mechanism]
    client_key = _hmac(algorithm, salted, b"Client Key")
    return ScramCredential(
        salt, hashlib.new(algorithm, client_key).digest(), _hmac(algorithm, salted, b"Server Key"), iterations
    )


def client_proof(mechanism: str, password: str, salt: bytes, iterations: int, auth_message: bytes) -> bytes:
    """The client's side of the proof (for tests and the inter-broker client)."""
    algorithm = MECHANISMS[mechanism]
    salted = _salted(algorithm, password, salt, iterations)
    client_key = _hmac(algorithm, salted, b"Client Key")
    signature = _hmac(algorithm, hashlib.new(algorithm, client_key).digest(), auth_message)
    return bytes(a ^ b for a, b in zip(client_key, signature, strict=True))


def server_signature(mechanism: str, password: str, salt: bytes, iterations: int, auth_message: bytes) -> bytes:
    algorithm = MECHANISMS[mechanism]
    salted = _salted(algorithm, password, salt, iterations)
    return _hmac(algorithm, _hmac(algorithm, salted, b"Server Key"), auth_message)


def _unescape(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")


class ScramServer:
    """One server-side SCRAM exchange. ``lookup(user)`` gives the user's credential for this mechanism,
    or None; ``nonce`` makes the server's part of the nonce (random by default)."""

    def __init__(
        self,
        mechanism: str,
        lookup: Callable[[str], ScramCredential | None],
        nonce: Callable[[], str] | None = None,
    ) -> None:
        if mechanism not in MECHANISMS:
            raise ValueError(f"Requested mechanism '{mechanism}' is not supported.")
        self.name = mechanism
        self._algorithm = MECHANISMS[mechanism]
        self._lookup = lookup
        self._nonce = nonce or (lambda: base64.b64encode(os.urandom(24)).decode().rstrip("="))
        self._state = "first"
        self._client_first_bare = ""
        self._server_first = ""
        self._full_nonce = ""
        self._server_nonce = ""
        self._credential: ScramCredential | None = None
        self._user = ""
        self.complete = False
        self.authorization_id: str | None = None
        self.credential_expiry_ms: int | None = None

    def evaluate(self, token: bytes) -> bytes:
        try:
            message = token.decode("utf-8")
        except UnicodeDecodeError:
            raise SaslError("Invalid SCRAM message: not UTF-8") from None
        if self._state == "first":
            return self._first(message)
        if self._state == "final":
            return self._final(message)
        raise SaslError(f"Unexpected challenge in Sasl server state {self._state}")

    def _first(self, message: str) -> bytes:
        self._state = "failed"
        m = _CLIENT_FIRST.fullmatch(message)
        if m is None:
            raise SaslError(f"Invalid SCRAM client first message format: {message}")
        user = _unescape(m["saslname"])
        credential = self._lookup(user)
        if credential is None:
            raise SaslError("Authentication failed: Invalid user credentials")
        authzid = m["authzid"]
        if authzid and _unescape(authzid) != user:
            raise SaslAuthenticationError(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        if credential.iterations < MIN_ITERATIONS:
            raise SaslError(
                f"Iterations {credential.iterations} is less than the minimum {MIN_ITERATIONS} for {self.name}"
            )
        self._user = user
        self._credential = credential
        self._client_first_bare = m["bare"]
        self._server_nonce = self._nonce()
        self._full_nonce = m["nonce"] + self._server_nonce
        salt = base64.b64encode(credential.salt).decode()
        self._server_first = f"r={self._full_nonce},s={salt},i={credential.iterations}"
        self._state = "final"
        return self._server_first.encode()

    def _final(self, message: str) -> bytes:
        self._state = "failed"
        m = _CLIENT_FINAL.fullmatch(message)
        if m is None:
            raise SaslError(f"Invalid SCRAM client final message format: {message}")
        if m["nonce"] != self._full_nonce:
            raise SaslError("Invalid client nonce in the final client message.")
        credential = self._credential
        assert credential is not None
        try:
            proof = base64.b64decode(m["proof"], validate=True)
        except ValueError:
            raise SaslError("Authentication failed: Invalid client final message") from None
        auth_message = f"{self._client_first_bare},{self._server_first},{m['without_proof']}".encode()
        signature = _hmac(self._algorithm, credential.stored_key, auth_message)
        if len(proof) != len(signature):
            raise SaslError("Invalid client credentials")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.new(self._algorithm, client_key).digest(), credential.stored_key):
            raise SaslError("Invalid client credentials")
        server_sig = _hmac(self._algorithm, credential.server_key, auth_message)
        self.authorization_id = self._user
        self.complete = True
        self._state = "complete"
        return b"v=" + base64.b64encode(server_sig)


class ScramClient:
    """The client side of one exchange (a broker logging in to another): :meth:`first_message`, then
    :meth:`final_message` with the server's first message, then :meth:`verify` the server's final one."""

    def __init__(self, mechanism: str, user: str, password: str, nonce: str | None = None) -> None:
        self.mechanism = mechanism
        self._algorithm = MECHANISMS[mechanism]
        self._password = password
        name = user.replace("=", "=3D").replace(",", "=2C")
        self._bare = f"n={name},r={nonce or base64.b64encode(os.urandom(24)).decode().rstrip('=')}"
        self._nonce = self._bare.split(",r=", 1)[1]
        self._server_signature = b""

    def first_message(self) -> bytes:
        return ("n,," + self._bare).encode()

    def final_message(self, server_first: bytes) -> bytes:
        text = server_first.decode()
        fields = dict(p.split("=", 1) for p in text.split(",") if "=" in p)
        nonce, salt, iterations = fields.get("r", ""), fields.get("s", ""), fields.get("i", "0")
        if not nonce.startswith(self._nonce) or len(nonce) == len(self._nonce):
            raise SaslError("Invalid server nonce: does not start with client nonce")
        count = int(iterations)
        if count < MIN_ITERATIONS:
            raise SaslError(f"Requested iterations {count} is less than the minimum {MIN_ITERATIONS}")
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._bare},{text},{without_proof}".encode()
        raw_salt = base64.b64decode(salt)
        proof = client_proof(self.mechanism, self._password, raw_salt, count, auth_message)
        self._server_signature = server_signature(self.mechanism, self._password, raw_salt, count, auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> None:
        text = server_final.decode()
        if text.startswith("e="):
            raise SaslError(f"Sasl authentication using {self.mechanism} failed with error: {text[2:]}")
        if not text.startswith("v=") or not hmac.compare_digest(base64.b64decode(text[2:]), self._server_signature):
            raise SaslError("Invalid server signature in server final message")
