"""How the console's own Kafka clients (the live simulator's producers and consumers) connect to the
broker that serves it, and as whom.

- ``console.client.listener``: the name of the listener to connect to (default: the first one the
  broker bound that is not a controller listener).
- ``console.client.config``: a Kafka client properties file, as a tool's ``--command-config``:
  ``security.protocol``, ``sasl.mechanism``, ``sasl.jaas.config``, ``ssl.*``. The clients then
  authenticate as the principal it names, so ACLs and quotas apply to the console as to any client.

`client_settings` reads both once, when the simulator starts; a file that cannot be read or used is a
`ConsoleClientError` with the reason, shown by the console's API.

`console_identity` derives, from the same two settings, the principal and host the broker gives those
clients: the console's own actions (its pages' writes and reads, which run in process) are authorized
as that principal from that host (:mod:`kavka.console.access`), as a Kafka UI is by its credentials.
The principal is the SASL login's, or on an SSL listener that asks for client certificates the one the
listener's ``ssl.principal.mapping.rules`` make of the client certificate's subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kavka.metadata.clientprops import ClientPropertiesError, librdkafka_properties
from kavka.metadata.properties import PropertiesError, parse_properties
from kavka.security.principal_rules import NoMatchingRule
from kavka.server.tls import client_auth, principal_mapper, subject_dn

__all__ = ["ConsoleClientError", "client_settings", "console_identity", "principal_of", "ANONYMOUS"]

ANONYMOUS = "User:ANONYMOUS"
_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class ConsoleClientError(ValueError):
    """``console.client.*`` cannot be used: the message says which setting and why."""


def _listener(config: Any, bound: Sequence[tuple[str, str, int]]) -> tuple[str, str, int]:
    wanted = config.get("console.client.listener") or None
    listeners = [b for b in bound if wanted is None or b[0].upper() == wanted.upper()]
    if not listeners:
        names = ", ".join(b[0] for b in bound)
        raise ConsoleClientError(f"console.client.listener {wanted!r} is not a listener of this broker ({names})")
    return listeners[0]


def client_settings(config: Any, bound: Sequence[tuple[str, str, int]]) -> tuple[str, dict[str, str]]:
    """(bootstrap ``host:port``, librdkafka properties) for the console's clients, from the broker's
    ``config`` and its ``bound`` listeners ``(name, host, port)``."""
    _, host, port = _listener(config, bound)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}", _client_properties(config)


def _client_properties(config: Any) -> dict[str, str]:
    path = config.get("console.client.config") or None
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            props = parse_properties(f.read())
        return librdkafka_properties(props)
    except OSError as e:
        raise ConsoleClientError(f"console.client.config {path}: {e.strerror}") from None
    except (PropertiesError, ClientPropertiesError) as e:
        raise ConsoleClientError(f"console.client.config {path}: {e}") from None


def principal_of(props: dict[str, str]) -> str:
    """The principal a broker gives a client logging in with librdkafka ``props``: ``User:<username>``
    for PLAIN and SCRAM, ``User:<principal>`` for unsecured OAUTHBEARER (``sasl.oauthbearer.config``'s
    ``principal=``, the token's ``sub``), ``User:ANONYMOUS`` with no SASL login (a plaintext client;
    a TLS client certificate is read by :func:`console_identity`, which knows the listener)."""
    protocol = props.get("security.protocol", "PLAINTEXT").upper()
    if not protocol.startswith("SASL_"):
        return ANONYMOUS
    mechanism = (props.get("sasl.mechanism") or props.get("sasl.mechanisms") or "GSSAPI").upper()
    if mechanism == "OAUTHBEARER":
        found = re.search(r"(?:^|\s)principal=(\S+)", props.get("sasl.oauthbearer.config", ""))
        return f"User:{found.group(1)}" if found else ANONYMOUS
    if mechanism == "PLAIN" or mechanism.startswith("SCRAM-"):
        user = props.get("sasl.username")
        return f"User:{user}" if user else ANONYMOUS
    raise ConsoleClientError(f"console.client.config: sasl.mechanism {mechanism} is not supported by the console")


def console_identity(config: Any, bound: Sequence[tuple[str, str, int]]) -> tuple[str, str]:
    """(principal, host) the broker sees for the console's clients: the principal of
    ``console.client.config``'s SASL login (:func:`principal_of`) or of its client certificate on an SSL
    listener, the host the address of
    ``console.client.listener`` (a client connecting to a wildcard address comes from loopback).
    Raises ConsoleClientError as :func:`client_settings` does."""
    name, host, _ = _listener(config, bound)
    host = _WILDCARD_HOSTS.get(host.strip("[]"), host.strip("[]"))
    props = _client_properties(config)
    if props.get("security.protocol", "").upper() == "SSL":
        return _certificate_principal(config, name, props), host
    return principal_of(props), host


def _certificate_principal(config: Any, listener: str, props: dict[str, str]) -> str:
    """What ``listener`` makes of the client certificate in ``props``, as Kafka's
    DefaultKafkaPrincipalBuilder: ``User:`` + the subject mapped by the listener's
    ``ssl.principal.mapping.rules`` when the listener is SSL and asks for a certificate
    (``ssl.client.auth`` requested or required) and the client has one; else ``User:ANONYMOUS``."""
    protocol = next(lst.security_protocol for lst in config.listeners if lst.name.upper() == listener.upper())
    auth = client_auth(config, listener, protocol) if protocol == "SSL" else "none"
    if auth == "none":
        return ANONYMOUS
    der = _client_certificate(props)
    if der is None:
        if auth == "required":
            raise ConsoleClientError(
                f"console.client.config: listener {listener} requires a client certificate "
                "(ssl.client.auth=required) and the file gives none"
            )
        return ANONYMOUS
    dn = subject_dn(der)
    try:
        return "User:" + principal_mapper(config, listener).name(dn)
    except NoMatchingRule:
        # Kafka fails the TLS handshake: no client with this certificate gets in
        raise ConsoleClientError(
            f"console.client.config: no ssl.principal.mapping.rules rule of listener {listener} maps "
            f"the client certificate's subject {dn}"
        ) from None


def _client_certificate(props: dict[str, str]) -> bytes | None:
    """The DER of the client certificate librdkafka ``props`` send (``ssl.certificate.location`` or
    ``.pem``: the file's first certificate; ``ssl.keystore.location``: a PKCS12 store), or None."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    try:
        if props.get("ssl.certificate.pem"):
            cert = x509.load_pem_x509_certificate(props["ssl.certificate.pem"].encode())
        elif props.get("ssl.certificate.location"):
            with open(props["ssl.certificate.location"], "rb") as f:
                cert = x509.load_pem_x509_certificate(f.read())
        elif props.get("ssl.keystore.location"):
            with open(props["ssl.keystore.location"], "rb") as f:
                password = props.get("ssl.keystore.password")
                store = pkcs12.load_pkcs12(f.read(), password.encode() if password else None)
            if store.cert is None:
                return None
            cert = store.cert.certificate
        else:
            return None
    except OSError as e:
        raise ConsoleClientError(f"console.client.config: client certificate {e.filename}: {e.strerror}") from None
    except ValueError as e:
        raise ConsoleClientError(f"console.client.config: the client certificate cannot be read: {e}") from None
    return cert.public_bytes(Encoding.DER)
