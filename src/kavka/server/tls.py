"""TLS for listeners and for the links between nodes: Python ``ssl`` contexts from Kafka's ``ssl.*``
settings, and the principal a client certificate gives.

Every setting is read per listener: ``listener.name.<listener lower-cased>.ssl.x`` when set, else
``ssl.x`` (Kafka's rule). For a SASL_SSL listener ``ssl.client.auth`` counts only with the listener
prefix, as in Kafka (KIP-684): the client is authenticated by SASL there.

Key store (the broker's certificate and key; on the client side of an inter-broker link, the client
certificate sent when the peer asks):

- ``ssl.keystore.type=PEM``: ``ssl.keystore.location`` names a file with the private key (PKCS#8,
  encrypted with ``ssl.key.password`` or not) and the certificate chain, or ``ssl.keystore.key`` and
  ``ssl.keystore.certificate.chain`` carry them inline;
- ``PKCS12``: ``ssl.keystore.location`` with ``ssl.keystore.password`` (the key's password too);
- ``JKS`` (Kafka's default type): a PKCS12 file is read as Java's compatibility mode does; a real JKS
  file is refused with a message saying to convert it (no maintained Python library reads JKS).

Trust store: ``ssl.truststore.type`` PEM (``ssl.truststore.location`` or inline
``ssl.truststore.certificates``) or PKCS12 / JKS-compatible PKCS12 (``ssl.truststore.password``);
without one, the system's default CAs (Java's would be its cacerts).

Protocols: ``ssl.enabled.protocols`` (TLSv1.2, TLSv1.3; Kafka's default is both) bound the versions;
when it is empty, ``ssl.protocol`` alone. ``ssl.cipher.suites`` takes Java's (IANA) names, mapped to
OpenSSL's; TLS 1.3 suites are accepted but cannot be narrowed (Python's ssl sets no TLS 1.3 suites),
and a list of TLS 1.3 suites only turns TLS 1.2 off.

Keys and certificates that come from memory (PKCS12, inline PEM) reach OpenSSL through an anonymous
in-memory file (memfd), never a file on disk.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any

from kavka.metadata.config import BrokerConfig
from kavka.metadata.configtypes import ConfigError
from kavka.security.principal_rules import InvalidRule, NoMatchingRule, PrincipalMapper, rfc2253

__all__ = [
    "ANONYMOUS",
    "ListenerTls",
    "TlsAuthenticationError",
    "client_context",
    "java_cipher_to_openssl",
    "listener_tls",
    "server_context",
]

log = logging.getLogger(__name__)

ANONYMOUS = "User:ANONYMOUS"
TLS_PROTOCOLS = ("SSL", "SASL_SSL")
_VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
_JKS_MAGIC = b"\xfe\xed\xfe\xed"


class TlsAuthenticationError(Exception):
    """The client's certificate gives no principal (no ``ssl.principal.mapping.rules`` rule applies)."""


def _setting(cfg: BrokerConfig, listener: str, name: str) -> Any:
    return cfg.listener_setting(listener, name)


def _secret(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _read(path: str, name: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"Failed to load SSL keystore {path} ({name}): {e.strerror or e}", name) from None


def _load_chain(ctx: ssl.SSLContext, pem: bytes, password: str | None, name: str) -> None:
    """Load a PEM key and certificate chain held in memory (through a memfd, so nothing is written)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kavka-keystore", 0)
        try:
            os.write(fd, pem)
            _load_chain_file(ctx, f"/proc/self/fd/{fd}", password, name)
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:  # pragma: no cover - Linux has memfd
        f.write(pem)
        f.flush()
        _load_chain_file(ctx, f.name, password, name)


def _load_chain_file(ctx: ssl.SSLContext, path: str, password: str | None, name: str) -> None:
    try:
        # never None: OpenSSL would then prompt on the terminal for an encrypted key's password
        ctx.load_cert_chain(path, password=password if password else _no_password)
    except ssl.SSLError as e:
        hint = " (wrong ssl.key.password?)" if "bad decrypt" in str(e) or "BAD_DECRYPT" in str(e) else ""
        raise ConfigError(f"Invalid SSL keystore ({name}): {e.reason or e}{hint}", name) from None
    except (OSError, TypeError) as e:  # an encrypted key with no password raises TypeError
        raise ConfigError(f"Invalid SSL keystore ({name}): {e}", name) from None


def _no_password() -> bytes:
    return b""


def _pkcs12(data: bytes, password: str | None, name: str) -> Any:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        return pkcs12.load_pkcs12(data, password.encode() if password else None)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"Failed to load SSL keystore of type PKCS12 ({name}): {e}", name) from None


def _pkcs12_to_pem(store: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    if store.key is None or store.cert is None:
        raise ValueError("no private key entry")
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    key = store.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    chain = [store.cert.certificate] + [c.certificate for c in store.additional_certs]
    certs = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    return key + certs


def _keystore_type(cfg: BrokerConfig, listener: str, kind: str, location: str | None) -> str:
    type_ = str(_setting(cfg, listener, f"ssl.{kind}.type") or "JKS").upper()
    if type_ not in ("JKS", "PKCS12", "PEM"):
        raise ConfigError(
            f"Invalid value {type_} for configuration ssl.{kind}.type: Kavka reads PEM, PKCS12 and "
            "JKS-compatible PKCS12",
            f"ssl.{kind}.type",
        )
    return type_


def _load_keystore(ctx: ssl.SSLContext, cfg: BrokerConfig, listener: str, required: bool) -> bool:
    """Load the listener's key store into ``ctx``; False when none is configured (and not required)."""
    location = _secret(_setting(cfg, listener, "ssl.keystore.location"))
    key_password = _secret(_setting(cfg, listener, "ssl.key.password"))
    store_password = _secret(_setting(cfg, listener, "ssl.keystore.password"))
    inline_chain = _secret(_setting(cfg, listener, "ssl.keystore.certificate.chain"))
    inline_key = _secret(_setting(cfg, listener, "ssl.keystore.key"))
    type_ = _keystore_type(cfg, listener, "keystore", location)
    if inline_chain or inline_key:
        if type_ != "PEM":
            raise ConfigError(
                "SSL key store with ssl.keystore.certificate.chain and ssl.keystore.key must have type PEM",
                "ssl.keystore.type",
            )
        if not (inline_chain and inline_key):
            raise ConfigError(
                "SSL key store PEM needs both ssl.keystore.certificate.chain and ssl.keystore.key",
                "ssl.keystore.key",
            )
        if location:
            raise ConfigError(
                "Both ssl.keystore.location and ssl.keystore.key are set: give the key store one way",
                "ssl.keystore.location",
            )
        pem = inline_key.encode() + b"\n" + inline_chain.encode() + b"\n"
        _load_chain(ctx, pem, key_password, "ssl.keystore.key")
        return True
    if not location:
        if required:
            raise ConfigError(
                f"listener {listener}: a TLS listener needs a key store (ssl.keystore.location, or "
                "ssl.keystore.certificate.chain and ssl.keystore.key)",
                "ssl.keystore.location",
            )
        return False
    if type_ == "PEM":
        _load_chain_file(ctx, location, key_password, "ssl.keystore.location")
        return True
    data = _read(location, "ssl.keystore.location")
    if data.startswith(_JKS_MAGIC):
        raise ConfigError(
            f"{location} is a JKS key store, which Kavka cannot read; convert it with "
            "`keytool -importkeystore -deststoretype PKCS12` and set ssl.keystore.type=PKCS12",
            "ssl.keystore.location",
        )
    store = _pkcs12(data, store_password, "ssl.keystore.location")
    try:
        pem = _pkcs12_to_pem(store)
    except ValueError as e:
        raise ConfigError(f"SSL key store {location} has {e}", "ssl.keystore.location") from None
    _load_chain(ctx, pem, None, "ssl.keystore.location")
    return True


def _load_truststore(ctx: ssl.SSLContext, cfg: BrokerConfig, listener: str) -> None:
    location = _secret(_setting(cfg, listener, "ssl.truststore.location"))
    inline = _secret(_setting(cfg, listener, "ssl.truststore.certificates"))
    password = _secret(_setting(cfg, listener, "ssl.truststore.password"))
    type_ = _keystore_type(cfg, listener, "truststore", location)
    if inline:
        if type_ != "PEM":
            raise ConfigError(
                "SSL trust store with ssl.truststore.certificates must have type PEM", "ssl.truststore.type"
            )
        _trust_pem(ctx, inline, "ssl.truststore.certificates")
        return
    if not location:
        server = ctx.protocol == ssl.PROTOCOL_TLS_SERVER
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH)
        return
    data = _read(location, "ssl.truststore.location")
    if type_ == "PEM":
        _trust_pem(ctx, data.decode("ascii", "replace"), "ssl.truststore.location")
        return
    if data.startswith(_JKS_MAGIC):
        raise ConfigError(
            f"{location} is a JKS trust store, which Kavka cannot read; convert it with "
            "`keytool -importkeystore -deststoretype PKCS12` and set ssl.truststore.type=PKCS12",
            "ssl.truststore.location",
        )
    from cryptography.hazmat.primitives import serialization

    store = _pkcs12(data, password, "ssl.truststore.location")
    certs = ([store.cert] if store.cert is not None else []) + list(store.additional_certs)
    if not certs:
        raise ConfigError(f"SSL trust store {location} holds no certificate", "ssl.truststore.location")
    pem = "".join(c.certificate.public_bytes(serialization.Encoding.PEM).decode() for c in certs)
    _trust_pem(ctx, pem, "ssl.truststore.location")


def _trust_pem(ctx: ssl.SSLContext, pem: str, name: str) -> None:
    try:
        ctx.load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as e:
        raise ConfigError(f"Invalid SSL trust store ({name}): {e}", name) from None


def java_cipher_to_openssl(name: str) -> str | None:
    """OpenSSL's name for a TLS 1.2 suite in Java's (IANA) naming, e.g.
    ``TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`` -> ``ECDHE-RSA-AES128-GCM-SHA256``; None when the name
    has no OpenSSL form this mapping knows."""
    if not name.startswith("TLS_") or "_WITH_" not in name:
        return None
    kx, _, cipher = name[4:].partition("_WITH_")
    kx_part = {"ECDHE_RSA": "ECDHE-RSA", "ECDHE_ECDSA": "ECDHE-ECDSA", "DHE_RSA": "DHE-RSA", "RSA": ""}.get(kx)
    if kx_part is None:
        return None
    ciphers = {
        "AES_128_GCM_SHA256": "AES128-GCM-SHA256",
        "AES_256_GCM_SHA384": "AES256-GCM-SHA384",
        "CHACHA20_POLY1305_SHA256": "CHACHA20-POLY1305",
        "AES_128_CBC_SHA": "AES128-SHA",
        "AES_256_CBC_SHA": "AES256-SHA",
        "AES_128_CBC_SHA256": "AES128-SHA256",
        "AES_256_CBC_SHA384": "AES256-SHA384",
        "AES_256_CBC_SHA256": "AES256-SHA256",
    }
    c = ciphers.get(cipher)
    if c is None:
        return None
    if kx == "RSA" and cipher == "CHACHA20_POLY1305_SHA256":
        return None
    return f"{kx_part}-{c}" if kx_part else c


def _apply_protocols(ctx: ssl.SSLContext, cfg: BrokerConfig, listener: str) -> None:
    enabled = [str(p).strip() for p in (_setting(cfg, listener, "ssl.enabled.protocols") or []) if str(p).strip()]
    protocol = str(_setting(cfg, listener, "ssl.protocol") or "TLSv1.3")
    if protocol not in ("TLS", "TLSv1.2", "TLSv1.3"):
        raise ConfigError.invalid("ssl.protocol", protocol, "Kavka supports TLS, TLSv1.2 and TLSv1.3")
    if not enabled:
        enabled = ["TLSv1.2", "TLSv1.3"] if protocol == "TLS" else [protocol]
    versions = []
    for p in enabled:
        if p not in _VERSIONS:
            raise ConfigError.invalid(
                "ssl.enabled.protocols", ",".join(enabled), f"{p} is not supported (TLSv1.2 and TLSv1.3 are)"
            )
        versions.append(_VERSIONS[p])
    ctx.minimum_version = min(versions)
    ctx.maximum_version = max(versions)
    suites = [str(s).strip() for s in (_setting(cfg, listener, "ssl.cipher.suites") or []) if str(s).strip()]
    if not suites:
        return
    tls12 = []
    for s in suites:
        if s in _TLS13_SUITES:
            continue
        mapped = java_cipher_to_openssl(s)
        if mapped is None:
            raise ConfigError.invalid("ssl.cipher.suites", ",".join(suites), f"Unsupported CipherSuite: {s}")
        tls12.append(mapped)
    if not tls12:
        if ctx.maximum_version < ssl.TLSVersion.TLSv1_3:
            raise ConfigError.invalid(
                "ssl.cipher.suites", ",".join(suites), "only TLS 1.3 suites, but TLSv1.3 is not enabled"
            )
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        return
    try:
        ctx.set_ciphers(":".join(tls12))
    except ssl.SSLError:
        raise ConfigError.invalid("ssl.cipher.suites", ",".join(suites), "no cipher suite is usable") from None


def server_context(cfg: BrokerConfig, listener: str, protocol: str) -> ssl.SSLContext:
    """The server-side context of a TLS listener (``protocol`` SSL or SASL_SSL); raises ConfigError
    with Kafka's setting named for anything missing or unreadable."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _apply_protocols(ctx, cfg, listener)
    _load_keystore(ctx, cfg, listener, required=True)
    auth = client_auth(cfg, listener, protocol)
    if auth != "none":
        ctx.verify_mode = ssl.CERT_REQUIRED if auth == "required" else ssl.CERT_OPTIONAL
        _load_truststore(ctx, cfg, listener)
    return ctx


def client_auth(cfg: BrokerConfig, listener: str, protocol: str) -> str:
    """``ssl.client.auth`` for the listener: none, requested or required (SASL_SSL: only when set with
    the listener prefix, else none)."""
    if protocol == "SASL_SSL" and not cfg.has_listener_setting(listener, "ssl.client.auth"):
        return "none"
    value = str(_setting(cfg, listener, "ssl.client.auth") or "none").lower()
    if value not in ("none", "requested", "required"):
        raise ConfigError.invalid("ssl.client.auth", value, "String must be one of: required, requested, none")
    return value


def client_context(cfg: BrokerConfig, listener: str) -> ssl.SSLContext:
    """The client side of a link to another node's ``listener`` (inter-broker or controller): this
    node's settings for that listener give the trust store, the key store (sent if the peer asks) and
    ``ssl.endpoint.identification.algorithm`` (``https``: the peer's certificate must name the host
    dialled; empty: not checked)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    algorithm = str(_setting(cfg, listener, "ssl.endpoint.identification.algorithm") or "").strip().lower()
    if algorithm not in ("", "https"):
        raise ConfigError.invalid("ssl.endpoint.identification.algorithm", algorithm, "https or empty")
    ctx.check_hostname = algorithm == "https"
    ctx.verify_mode = ssl.CERT_REQUIRED
    _apply_protocols(ctx, cfg, listener)
    _load_truststore(ctx, cfg, listener)
    _load_keystore(ctx, cfg, listener, required=False)
    return ctx


@dataclass
class ListenerTls:
    """What a TLS listener's connections need: the server context, and on an SSL listener the
    principal mapping for client certificates (on SASL_SSL the principal comes from SASL)."""

    name: str
    protocol: str
    context: ssl.SSLContext
    mapper: PrincipalMapper | None

    def principal(self, ssl_object: Any) -> str:
        """The connection's principal after the handshake: ``User:<mapped DN>`` for an SSL client that
        sent a certificate (Kafka's DefaultKafkaPrincipalBuilder), else User:ANONYMOUS. Raises
        :class:`TlsAuthenticationError` when no mapping rule applies."""
        if self.mapper is None or ssl_object is None:
            return ANONYMOUS
        der = ssl_object.getpeercert(binary_form=True)
        if not der:
            return ANONYMOUS
        dn = subject_dn(der)
        try:
            return "User:" + self.mapper.name(dn)
        except NoMatchingRule as e:
            raise TlsAuthenticationError(str(e)) from None


def subject_dn(der: bytes) -> str:
    """A certificate's subject as Java's ``X500Principal.getName()`` writes it (RFC 2253)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    rdns: list[list[tuple[str, str | bytes]]] = []
    for rdn in cert.subject.rdns:
        attrs: list[tuple[str, str | bytes]] = []
        for attr in rdn:
            oid = attr.oid.dotted_string
            value = attr.value
            if isinstance(value, bytes):
                attrs.append((oid, value))
            elif oid in _KEYWORD_OIDS:
                attrs.append((oid, value))
            else:
                attrs.append((oid, _der_string(getattr(attr, "_type", None), value)))
        rdns.append(attrs)
    return rfc2253(rdns)


_KEYWORD_OIDS = {
    "2.5.4.3",
    "2.5.4.6",
    "2.5.4.7",
    "2.5.4.8",
    "2.5.4.10",
    "2.5.4.11",
    "2.5.4.9",
    "0.9.2342.19200300.100.1.25",
    "0.9.2342.19200300.100.1.1",
}


def _der_string(asn1_type: Any, value: str) -> bytes:
    """The DER encoding of a string attribute (Java writes unknown attributes as #hex of it)."""
    tag = int(getattr(asn1_type, "value", 12))  # default UTF8String
    body = value.encode("utf-16-be" if tag == 30 else "utf-8")
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def listener_tls(cfg: BrokerConfig, listener: str, protocol: str) -> ListenerTls | None:
    """The TLS half of a listener, or None for PLAINTEXT / SASL_PLAINTEXT. Raises ConfigError."""
    if protocol not in TLS_PROTOCOLS:
        return None
    context = server_context(cfg, listener, protocol)
    mapper = principal_mapper(cfg, listener) if protocol == "SSL" else None
    return ListenerTls(listener, protocol, context, mapper)


def principal_mapper(cfg: BrokerConfig, listener: str) -> PrincipalMapper:
    """``ssl.principal.mapping.rules`` of ``listener`` (per listener too, as Kafka builds each listener's
    channel from its prefixed settings). Raises ConfigError."""
    rules = _setting(cfg, listener, "ssl.principal.mapping.rules")
    try:
        return PrincipalMapper(str(rules or "DEFAULT"))
    except InvalidRule as e:
        raise ConfigError.invalid("ssl.principal.mapping.rules", rules, str(e)) from None


def link_context(cfg: BrokerConfig, listener: str) -> ssl.SSLContext | None:
    """The client context for links to other nodes' ``listener`` (by this node's
    ``listener.security.protocol.map``), or None when that listener is not TLS."""
    protocol = cfg.protocol_map.get(listener.upper(), listener.upper())
    return client_context(cfg, listener) if protocol in TLS_PROTOCOLS else None
