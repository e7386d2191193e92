"""Kafka client properties (a ``--command-config`` file, ``console.client.config``) for librdkafka.

Kafka's tools take a Java client's properties; Kavka's CLI and console run confluent-kafka clients
(librdkafka), which spell some settings differently and know none of the Java-only ones.
`librdkafka_properties` translates; `ClientPropertiesError` says why a file cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["ClientPropertiesError", "librdkafka_properties"]


class ClientPropertiesError(ValueError):
    """A client setting librdkafka cannot honour (a JKS store), with the reason in one line."""


# Java client properties with no librdkafka counterpart: dropped (Kafka's tools warn about unknown ones
# and go on). The ones librdkafka spells differently are translated by `librdkafka_properties`.
_JAVA_ONLY = {
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "sasl.login.class",
    "ssl.truststore.type",
    "ssl.keystore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.trustmanager.algorithm",
    "ssl.keymanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "default.api.timeout.ms",
    "security.providers",
    "sasl.oauthbearer.token.endpoint.url",
}


def librdkafka_properties(props: Mapping[str, str]) -> dict[str, str]:
    """Client properties for librdkafka from a Kafka client properties file.

    Kafka's names that librdkafka spells differently are translated: ``sasl.jaas.config`` gives
    ``sasl.username`` / ``sasl.password`` (PLAIN, SCRAM) or ``sasl.oauthbearer.config`` (the
    unsecured OAUTHBEARER login module's ``unsecuredLoginStringClaim_sub``); a PEM trust store
    (``ssl.truststore.type=PEM``) is ``ssl.ca.location`` (or ``ssl.ca.pem`` from
    ``ssl.truststore.certificates``); a PEM key store is ``ssl.certificate.location`` +
    ``ssl.key.location`` (or ``ssl.certificate.pem`` / ``ssl.key.pem`` from
    ``ssl.keystore.certificate.chain`` / ``ssl.keystore.key``), a PKCS12 one ``ssl.keystore.location``;
    ``ssl.key.password`` is ``ssl.key.password`` for PEM and ``ssl.keystore.password`` for PKCS12; an
    empty ``ssl.endpoint.identification.algorithm`` is ``none``. Java-only settings are dropped.
    """
    out: dict[str, str] = {}
    for key, value in props.items():
        if key not in _JAVA_ONLY:
            out[key] = value
    jaas = props.get("sasl.jaas.config", "")
    claims = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', jaas))
    if "OAuthBearerLoginModule" in jaas:
        sub = claims.get("unsecuredLoginStringClaim_sub")
        if sub is not None:
            out.setdefault("sasl.oauthbearer.config", f"principal={sub}")
    else:
        for k in ("username", "password"):
            if k in claims:
                out.setdefault(f"sasl.{k}", claims[k])
    if "ssl.endpoint.identification.algorithm" in props and not props["ssl.endpoint.identification.algorithm"]:
        out["ssl.endpoint.identification.algorithm"] = "none"
    trust_type = props.get("ssl.truststore.type", "JKS").upper()
    if props.get("ssl.truststore.location"):
        if trust_type != "PEM":
            raise ClientPropertiesError(
                f"ssl.truststore.type {trust_type} cannot be read by librdkafka: give a PEM trust store "
                "(ssl.truststore.type=PEM) or ssl.ca.location."
            )
        out.setdefault("ssl.ca.location", props["ssl.truststore.location"])
    if props.get("ssl.truststore.certificates"):
        out.setdefault("ssl.ca.pem", props["ssl.truststore.certificates"])
    key_type = props.get("ssl.keystore.type", "JKS").upper()
    if props.get("ssl.keystore.location"):
        if key_type == "PEM":
            out.setdefault("ssl.certificate.location", props["ssl.keystore.location"])
            out.setdefault("ssl.key.location", props["ssl.keystore.location"])
        elif key_type == "PKCS12":
            out.setdefault("ssl.keystore.location", props["ssl.keystore.location"])
            if props.get("ssl.keystore.password"):
                out.setdefault("ssl.keystore.password", props["ssl.keystore.password"])
        else:
            raise ClientPropertiesError(
                f"ssl.keystore.type {key_type} cannot be read by librdkafka: use PEM or PKCS12."
            )
    if props.get("ssl.keystore.certificate.chain"):
        out.setdefault("ssl.certificate.pem", props["ssl.keystore.certificate.chain"])
    if props.get("ssl.keystore.key"):
        out.setdefault("ssl.key.pem", props["ssl.keystore.key"])
    if props.get("ssl.key.password") and key_type != "PKCS12":
        out.setdefault("ssl.key.password", props["ssl.key.password"])
    return out
