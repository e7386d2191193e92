"""Certificates for TLS tests: a CA, a broker certificate and client certificates, written as the files
Kafka's and the clients' settings name (PEM and PKCS12).

``make_pki(dir)`` returns a :class:`Pki` whose paths are:

- ``ca.pem``: the CA certificate (``ssl.truststore.location`` with type PEM, librdkafka's
  ``ssl.ca.location``, Python's ``cafile``); ``truststore.p12``: the same CA as a Java truststore
  (type PKCS12, password :data:`PASSWORD`);
- ``broker.pem``: the broker's private key (PKCS#8, unencrypted) followed by its certificate, for
  ``ssl.keystore.type=PEM`` + ``ssl.keystore.location``; ``broker-cert.pem`` / ``broker-key.pem``
  separately; ``broker.p12`` (PKCS12, password :data:`PASSWORD`); ``broker-enc.pem``: the key encrypted
  with :data:`PASSWORD` (``ssl.key.password``). The broker certificate names ``localhost`` and
  ``127.0.0.1``, so hostname verification passes on loopback.
- ``client-cert.pem`` / ``client-key.pem`` / ``client.pem`` / ``client.p12``: a client certificate with
  subject :data:`CLIENT_DN` signed by the CA;
- ``rogue-cert.pem`` / ``rogue-key.pem`` / ``rogue-ca.pem``: a client certificate from another CA
  (untrusted by the broker), with the same subject.

Keys are EC P-256 (fast to make: a whole set takes a few milliseconds).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CLIENT_DN", "PASSWORD", "Pki", "make_pki"]

PASSWORD = "kavka-secret"
# The client certificate's subject as Java's X500Principal.getName() writes it (most specific first).
CLIENT_DN = "CN=client,OU=Eng,O=Acme,C=US"


@dataclass
class Pki:
    dir: Path

    def __getattr__(self, name: str) -> str:
        """``pki.ca_pem`` is the path of ``ca.pem``, ``pki.broker_p12`` of ``broker.p12``, ..."""
        stem, _, ext = name.rpartition("_")
        path = self.dir / f"{stem.replace('_', '-')}.{ext}"
        if not path.exists():
            raise AttributeError(name)
        return str(path)


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _p12(name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, ca: x509.Certificate) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        name.encode(), key, cert, [ca], serialization.BestAvailableEncryption(PASSWORD.encode())
    )


def make_pki(directory: str | Path, *, broker_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Pki:
    """Write a CA, a broker certificate for ``broker_hosts`` and client certificates into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name((NameOID.COMMON_NAME, "Kavka Test CA"), (NameOID.ORGANIZATION_NAME, "Kavka"))
    ca = _cert(ca_name, ca_key, ca_name, ca_key, ca=True)

    sans: list[x509.GeneralName] = []
    for host in broker_hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _cert(_name((NameOID.COMMON_NAME, "broker")), broker_key, ca_name, ca_key, sans=sans)

    client_name = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "Acme"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Eng"),
        (NameOID.COMMON_NAME, "client"),
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _cert(client_name, client_key, ca_name, ca_key)

    rogue_ca_key = ec.generate_private_key(ec.SECP256R1())
    rogue_ca_name = _name((NameOID.COMMON_NAME, "Rogue CA"))
    rogue_ca = _cert(rogue_ca_name, rogue_ca_key, rogue_ca_name, rogue_ca_key, ca=True)
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue = _cert(client_name, rogue_key, rogue_ca_name, rogue_ca_key)

    files = {
        "ca.pem": _pem(ca),
        "truststore.p12": pkcs12.serialize_java_truststore(
            [pkcs12.PKCS12Certificate(ca, b"ca")], serialization.BestAvailableEncryption(PASSWORD.encode())
        ),
        "broker.pem": _key_pem(broker_key) + _pem(broker),
        "broker-enc.pem": _key_pem(broker_key, PASSWORD) + _pem(broker),
        "broker-cert.pem": _pem(broker),
        "broker-key.pem": _key_pem(broker_key),
        "broker.p12": _p12("broker", broker_key, broker, ca),
        "client.pem": _key_pem(client_key) + _pem(client),
        "client-cert.pem": _pem(client),
        "client-key.pem": _key_pem(client_key),
        "client.p12": _p12("client", client_key, client, ca),
        "rogue-ca.pem": _pem(rogue_ca),
        "rogue-cert.pem": _pem(rogue),
        "rogue-key.pem": _key_pem(rogue_key),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return Pki(d)
