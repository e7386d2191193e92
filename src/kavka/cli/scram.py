"""SCRAM credentials of users through ``kavka configs``, as ``kafka-configs.sh --entity-type users``
manages them (KIP-554): AlterUserScramCredentials and DescribeUserScramCredentials.

``--add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret]'`` (iterations default to 4096;
the client salts the password, the broker derives the keys), ``--delete-config SCRAM-SHA-512``, and
``describe`` prints Kafka's line ``SCRAM credential configs for user-principal 'alice' are
SCRAM-SHA-256=iterations=8192``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kavka.cli.common import ClientSettings, CliError, kafka_error_text

__all__ = ["SCRAM_KEYS", "is_scram_change", "alter_user_scram", "describe_user_scram"]

SCRAM_KEYS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def is_scram_change(to_set: Mapping[str, str], to_delete: Sequence[str]) -> bool:
    """True if every key changed is a SCRAM mechanism (and at least one is)."""
    keys = [*to_set, *to_delete]
    return bool(keys) and all(k in SCRAM_KEYS for k in keys)


def _mechanism(name: str) -> Any:
    from confluent_kafka.admin import ScramMechanism

    return ScramMechanism.SCRAM_SHA_256 if name == "SCRAM-SHA-256" else ScramMechanism.SCRAM_SHA_512


def alter_user_scram(client: ClientSettings, user: str, to_set: Mapping[str, str], to_delete: Sequence[str]) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ScramCredentialInfo, UserScramCredentialDeletion, UserScramCredentialUpsertion

    alterations: list[Any] = []
    for mechanism, value in to_set.items():
        fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        if "password" not in fields:
            raise CliError(f"Invalid credential property {mechanism}={value}: password is required")
        try:
            iterations = int(fields.get("iterations", "4096"))
        except ValueError:
            raise CliError(f"Invalid iterations in {mechanism}={value}") from None
        info = ScramCredentialInfo(_mechanism(mechanism), iterations)
        alterations.append(UserScramCredentialUpsertion(user, info, fields["password"].encode()))
    for mechanism in to_delete:
        alterations.append(UserScramCredentialDeletion(user, _mechanism(mechanism)))
    admin = client.admin()
    # Kafka refuses a user named twice in one request: one request per change
    for alteration in alterations:
        try:
            for future in admin.alter_user_scram_credentials([alteration]).values():
                future.result(timeout=client.timeout)
        except KafkaException as e:
            raise CliError(
                f"Error while altering SCRAM credentials of user {user}: {kafka_error_text(e.args[0])}"
            ) from None


def describe_user_scram(client: ClientSettings, user: str) -> str | None:
    """Kafka's line for ``user``'s credentials, or None when it has none."""
    from confluent_kafka import KafkaError, KafkaException

    admin = client.admin()
    try:
        description = admin.describe_user_scram_credentials([user])[user].result(timeout=client.timeout)
    except KafkaException as e:
        error = e.args[0] if e.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.RESOURCE_NOT_FOUND:
            return None
        raise CliError(f"Error while describing SCRAM credentials of user {user}: {kafka_error_text(error)}") from None
    infos = [
        f"{i.mechanism.name.replace('_', '-')}=iterations={i.iterations}" for i in description.scram_credential_infos
    ]
    return f"SCRAM credential configs for user-principal '{user}' are {', '.join(infos)}"
