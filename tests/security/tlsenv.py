"""Shared set-up for the TLS tests: one certificate set, and the same TLS listeners for Kavka and for
Apache Kafka.

Each broker gets three listeners besides Kafka's CONTROLLER:

- ``PLAINTEXT`` (readiness checks, and the plaintext side of the wrong-port cases);
- ``SSL``: TLS, no client certificate asked for; PEM key store and trust store files;
- ``MTLS`` (security protocol SSL): a client certificate required (``listener.name.mtls.ssl.client.auth``),
  and a PKCS12 key store of its own (``listener.name.mtls.ssl.keystore.*``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kavka.testing.certs import PASSWORD, Pki
from kavka.testing.process import free_port


@dataclass
class TlsPorts:
    plaintext: int
    ssl: int
    mtls: int

    @classmethod
    def free(cls) -> TlsPorts:
        return cls(free_port(), free_port(), free_port())


def tls_settings(pki: Pki, ports: TlsPorts, *, extra_listeners: str = "", extra_map: str = "") -> dict[str, str]:
    """Server properties for the three listeners (Kafka's names; the same for Kavka and Kafka)."""
    listeners = (
        f"PLAINTEXT://127.0.0.1:{ports.plaintext},SSL://127.0.0.1:{ports.ssl},MTLS://127.0.0.1:{ports.mtls}"
        + extra_listeners
    )
    return {
        "listeners": listeners,
        "advertised.listeners": (
            f"PLAINTEXT://127.0.0.1:{ports.plaintext},SSL://127.0.0.1:{ports.ssl},MTLS://127.0.0.1:{ports.mtls}"
        ),
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL" + extra_map,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": pki.broker_pem,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki.ca_pem,
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.mtls.ssl.keystore.type": "PKCS12",
        "listener.name.mtls.ssl.keystore.location": pki.broker_p12,
        "listener.name.mtls.ssl.keystore.password": PASSWORD,
    }


def ck_ssl(pki: Pki, *, client_cert: bool = False, rogue: bool = False, trust: bool = True) -> dict[str, object]:
    """librdkafka's settings for an SSL client."""
    conf: dict[str, object] = {"security.protocol": "SSL"}
    if trust:
        conf["ssl.ca.location"] = pki.ca_pem
    if client_cert:
        conf["ssl.certificate.location"] = pki.rogue_cert_pem if rogue else pki.client_cert_pem
        conf["ssl.key.location"] = pki.rogue_key_pem if rogue else pki.client_key_pem
    return conf


def java_ssl_properties(pki: Pki, *, client_cert: bool = False) -> str:
    """The Java client's settings for SSL (a --command-config / --producer.config file's text): a PKCS12
    trust store and, with ``client_cert``, a PKCS12 key store."""
    lines = [
        "security.protocol=SSL",
        "ssl.truststore.type=PKCS12",
        f"ssl.truststore.location={pki.truststore_p12}",
        f"ssl.truststore.password={PASSWORD}",
    ]
    if client_cert:
        lines += [
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={pki.client_p12}",
            f"ssl.keystore.password={PASSWORD}",
            f"ssl.key.password={PASSWORD}",
        ]
    return "\n".join(lines) + "\n"
