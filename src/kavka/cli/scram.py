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


def parse_add_scram(arguments: Sequence[str]) -> list[Any]:
    """``kavka storage format --add-scram`` arguments as UserScramCredentialRecords, by Kafka's
    ScramParser: ``SCRAM-SHA-256=[name=alice,password=alice-secret]`` with optional ``iterations``
    (4096), ``salt`` (base64; random if absent) and ``saltedpassword`` (base64, with ``salt``) instead
    of ``password``; a value may be in double quotes. ValueError with Kafka's message."""
    import base64
    import binascii

    from kavka.metadata.records import UserScramCredentialRecord
    from kavka.security.scram import (
        MAX_ITERATIONS,
        MECHANISM_IDS,
        MIN_ITERATIONS,
        credential_from_salted_password,
        make_credential,
    )

    records = []
    for argument in arguments:
        text = argument.strip()
        mechanism, sep, config = text.partition("=")
        if not sep:
            raise ValueError(f"Failed to find equals sign in SCRAM argument '{text}'")
        if mechanism not in MECHANISM_IDS:
            raise ValueError(f"The add-scram mechanism {mechanism} is not supported.")
        if not config.startswith("["):
            raise ValueError("Expected configuration string to start with [")
        if not config.endswith("]"):
            raise ValueError("Expected configuration string to end with ]")
        components: dict[str, str] = {}
        for component in config[1:-1].split(","):
            key, eq, value = component.partition("=")
            if not eq:
                raise ValueError(f"No equals sign found in SCRAM component: {component}")
            if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
                value = value[1:-1]
            components[key] = value
        name = components.pop("name", None)
        if name is None:
            raise ValueError("You must supply 'name' to add-scram")
        salt_text = components.pop("salt", None)
        try:
            salt = None if salt_text is None else base64.b64decode(salt_text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"Failed to decode given salt: {salt_text}") from None
        iterations_text = components.pop("iterations", None)
        try:
            iterations = 4096 if iterations_text is None else int(iterations_text)
        except ValueError:
            raise ValueError(f"Failed to parse iterations count: {iterations_text}") from None
        password = components.pop("password", None)
        salted_text = components.pop("saltedpassword", None)
        salted = None
        if password is None:
            if salted_text is None:
                raise ValueError("You must supply one of 'password' or 'saltedpassword' to add-scram")
            if salt is None:
                raise ValueError("You must supply 'salt' with 'saltedpassword' to add-scram")
            try:
                salted = base64.b64decode(salted_text, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"Failed to decode given saltedPassword: {salted_text}") from None
        if components:
            raise ValueError(f"Unknown SCRAM configurations: {', '.join(sorted(components))}")
        if iterations < MIN_ITERATIONS:
            raise ValueError(f"The 'iterations' value must be >= {MIN_ITERATIONS} for add-scram using {mechanism}")
        if iterations > MAX_ITERATIONS:
            raise ValueError(f"The 'iterations' value must be <= {MAX_ITERATIONS} for add-scram using {mechanism}")
        if salted is not None:
            assert salt is not None
            c = credential_from_salted_password(mechanism, salted, salt, iterations)
        else:
            assert password is not None
            c = make_credential(mechanism, password, salt, iterations)
        records.append(
            UserScramCredentialRecord(name, MECHANISM_IDS[mechanism], c.salt, c.stored_key, c.server_key, iterations)
        )
    return records


def record_text(record: Any) -> str:
    """A UserScramCredentialRecord as Kafka's generated ``toString`` prints it (bytes as Java's
    ``Arrays.toString`` of signed bytes)."""

    def java_bytes(data: bytes) -> str:
        return "[" + ", ".join(str(b - 256 if b > 127 else b) for b in data) + "]"

    return (
        f"UserScramCredentialRecord(name='{record.name}', mechanism={record.mechanism}, "
        f"salt={java_bytes(record.salt)}, storedKey={java_bytes(record.stored_key)}, "
        f"serverKey={java_bytes(record.server_key)}, iterations={record.iterations})"
    )
