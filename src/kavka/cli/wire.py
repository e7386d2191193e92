"""One Kafka request on a fresh connection, for the CLI commands confluent-kafka has no call for
(client quotas): connects to the first ``--bootstrap-server`` with the security the
``--command-config`` names, sends the request and returns kio's decoded answer.

Security, from the client properties (Kafka's names, librdkafka's where they differ):

- ``security.protocol`` PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
- TLS: trusted CAs from ``ssl.truststore.location`` (``ssl.truststore.type=PEM``) or
  ``ssl.ca.location``, or ``ssl.truststore.certificates`` (PEM text); a client certificate from
  ``ssl.keystore.location`` (PEM: key and chain in one file) or ``ssl.certificate.location`` with
  ``ssl.key.location`` (and ``ssl.key.password``); ``ssl.endpoint.identification.algorithm`` empty
  or ``none`` turns host name checks off, as in Kafka. A JKS or PKCS12 store is refused with a
  message (Python's ssl module reads PEM only).
- SASL (SaslHandshake v1, SaslAuthenticate v2): PLAIN, and SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802:
  the server's nonce must extend ours, and its final signature is checked), user and password from
  ``sasl.jaas.config`` or ``sasl.username`` / ``sasl.password``. Other mechanisms (OAUTHBEARER,
  GSSAPI) are refused with a message naming them.

Every failure is a `CliError` with one readable line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import socket
import ssl
import struct
from collections.abc import Mapping
from typing import Any

from kavka.cli.common import ClientSettings, CliError
from kavka.protocol.api import ApiKey, encode_request_body, is_flexible, response_class
from kavka.protocol.decoder import decode_with, entity_decoder
from kavka.protocol.primitives import skip_tagged_fields

__all__ = ["call"]

_SIZE = struct.Struct(">i")
_HEADER = struct.Struct(">hhih")
_MAX_RESPONSE = 100 * 1024 * 1024


def call(client: ClientSettings, api_key: int, version: int, body: Mapping[str, Any]) -> Any:
    """Send one request to the first bootstrap server and return its decoded answer."""
    first = client.bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    host = host.strip("[]") or "localhost"
    props = client.properties
    protocol = props.get("security.protocol", "PLAINTEXT").upper()
    if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
        raise CliError(f"Invalid client configuration: security.protocol {protocol!r} is not one of Kafka's.")
    try:
        sock: socket.socket = socket.create_connection((host, int(port)), timeout=client.timeout)
    except ConnectionRefusedError:
        raise client.refused(f"{host}:{port}") from None
    except (OSError, ValueError):
        raise client.unreachable() from None
    try:
        if protocol in ("SSL", "SASL_SSL"):
            try:
                sock = _tls_context(props).wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as e:
                raise CliError(f"TLS handshake with {first} failed: {e}") from None
        exchange = _Exchange(sock, client)
        if protocol.startswith("SASL_"):
            _sasl(exchange, props)
        return exchange.request(api_key, version, body)
    finally:
        sock.close()


class _Exchange:
    def __init__(self, sock: socket.socket, client: ClientSettings) -> None:
        self.sock, self.client, self.correlation = sock, client, 0
        self.client_id = b"kavka-cli"

    def request(self, api_key: int, version: int, body: Mapping[str, Any]) -> Any:
        self.correlation += 1
        head = _HEADER.pack(api_key, version, self.correlation, len(self.client_id)) + self.client_id
        if is_flexible(api_key, version):
            head += b"\x00"
        payload = encode_request_body(api_key, version, body)
        try:
            self.sock.sendall(_SIZE.pack(len(head) + len(payload)) + head + payload)
            (size,) = _SIZE.unpack(self._read(4))
            if size < 4 or size > _MAX_RESPONSE:
                raise CliError(f"The broker sent an implausible response size ({size}).")
            frame = self._read(size)
        except TimeoutError:
            raise CliError(
                f"Timed out after {self.client.timeout:g}s waiting for the broker (try a larger --timeout)."
            ) from None
        except OSError as e:
            raise CliError(f"Connection to {self.client.bootstrap} lost: {e.strerror or e}.") from None
        offset = 4
        if is_flexible(api_key, version) and api_key != ApiKey.API_VERSIONS:
            offset = skip_tagged_fields(memoryview(frame), offset)
        answer, _ = decode_with(entity_decoder(response_class(api_key, version)), frame, offset)
        return answer

    def _read(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise CliError(
                    f"The broker at {self.client.bootstrap} closed the connection (check security.protocol "
                    "and the credentials in --command-config)."
                )
            data += chunk
        return bytes(data)


def _store_type(props: Mapping[str, str], key: str) -> str:
    return props.get(
        key, "JKS" if key.startswith("ssl.truststore") or key.startswith("ssl.keystore") else "PEM"
    ).upper()


def _tls_context(props: Mapping[str, str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    trust = props.get("ssl.ca.location")
    if props.get("ssl.truststore.location"):
        if _store_type(props, "ssl.truststore.type") != "PEM":
            raise CliError(
                "Only PEM trust stores can be read by this command: set ssl.truststore.type=PEM with a PEM "
                "file, or ssl.ca.location."
            )
        trust = props["ssl.truststore.location"]
    if trust:
        ctx.load_verify_locations(cafile=trust)
    if props.get("ssl.truststore.certificates"):
        ctx.load_verify_locations(cadata=props["ssl.truststore.certificates"])
    password = props.get("ssl.key.password") or None
    if props.get("ssl.keystore.location"):
        if _store_type(props, "ssl.keystore.type") != "PEM":
            raise CliError("Only PEM key stores can be read by this command: set ssl.keystore.type=PEM.")
        ctx.load_cert_chain(props["ssl.keystore.location"], password=password)
    elif props.get("ssl.certificate.location"):
        ctx.load_cert_chain(props["ssl.certificate.location"], props.get("ssl.key.location"), password=password)
    if props.get("ssl.endpoint.identification.algorithm", "https").lower() in ("", "none"):
        ctx.check_hostname = False
    return ctx


def _credentials(props: Mapping[str, str], mechanism: str) -> tuple[str, str]:
    user, password = props.get("sasl.username"), props.get("sasl.password")
    jaas = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', props.get("sasl.jaas.config", "")))
    user, password = jaas.get("username", user), jaas.get("password", password)
    if user is None or password is None:
        raise CliError(
            f"SASL {mechanism} needs a username and password (sasl.jaas.config, or sasl.username/sasl.password)."
        )
    return user, password


def _sasl(exchange: _Exchange, props: Mapping[str, str]) -> None:
    mechanism = props.get("sasl.mechanism", props.get("sasl.mechanisms", "GSSAPI")).upper()
    if mechanism not in ("PLAIN", *_SCRAM):
        raise CliError(
            f"This command authenticates with SASL PLAIN or SCRAM only, not {mechanism} "
            "(use kafka-configs.sh with the same --command-config)."
        )
    user, password = _credentials(props, mechanism)
    handshake = exchange.request(ApiKey.SASL_HANDSHAKE, 1, {"mechanism": mechanism})
    if handshake.error_code:
        raise CliError(f"The broker does not enable SASL {mechanism} (it offers {', '.join(handshake.mechanisms)}).")
    if mechanism == "PLAIN":
        _authenticate(exchange, b"\0" + user.encode() + b"\0" + password.encode())
    else:
        _scram(exchange, _SCRAM[mechanism], user, password)


def _authenticate(exchange: _Exchange, token: bytes) -> bytes:
    answer = exchange.request(_SASL_AUTHENTICATE, 2, {"auth_bytes": token})
    if answer.error_code:
        raise CliError(f"Authentication failed: {answer.error_message or 'invalid credentials'}")
    return bytes(answer.auth_bytes)


_SASL_AUTHENTICATE = 36
_SCRAM = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


def _scram(exchange: _Exchange, digest: str, user: str, password: str) -> None:
    """RFC 5802's client side (no channel binding: ``n,,``)."""
    name = user.replace("=", "=3D").replace(",", "=2C")
    nonce = base64.b64encode(secrets.token_bytes(24)).decode()
    first_bare = f"n={name},r={nonce}"
    server_first = _authenticate(exchange, f"n,,{first_bare}".encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(",") if "=" in item)
    if not fields.get("r", "").startswith(nonce) or "s" not in fields or "i" not in fields:
        raise CliError("Authentication failed: the broker's SCRAM challenge does not answer ours.")
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", digest)
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.new(digest, client_key).digest(), auth_message, digest)
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
    server_final = _authenticate(exchange, f"{without_proof},p={proof}".encode()).decode()
    server_key = hmac.digest(salted, b"Server Key", digest)
    expected = base64.b64encode(hmac.digest(server_key, auth_message, digest)).decode()
    if server_final != f"v={expected}":
        raise CliError("Authentication failed: the broker's SCRAM signature is not the one the password gives.")
