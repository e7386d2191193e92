"""Client quotas for ``kavka configs``: users, client ids and the pair, as ``kafka-configs.sh``
handles them (DescribeClientQuotas / AlterClientQuotas, sent by `kavka.cli.wire` since
confluent-kafka has no quota calls), with its output lines:

- describe: ``Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=1024.0``
  (``the default user-principal`` for a default entity; values as Java prints a double), one line per
  matching entity. A type given without a name matches every named entity of it.
- alter: ``Completed updating config for user alice.`` / ``... default config for users in the cluster.``
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import click

from kavka.cli.common import ClientSettings, CliError
from kavka.cli.wire import call

__all__ = ["QuotaPart", "describe_quotas", "alter_quotas", "java_double"]

DESCRIBE_CLIENT_QUOTAS, ALTER_CLIENT_QUOTAS = 48, 49
_EXACT, _DEFAULT, _ANY = 0, 1, 2
_LABELS = {"user": "user-principal", "client-id": "client-id", "ip": "ip"}

# (entity type, name): a name of None is the default entity, "" (describe only) any named entity.
QuotaPart = tuple[str, str | None]


def java_double(value: float) -> str:
    """``Double.toString``: 1024.0, 0.5, 1.048576E7 (scientific from 10^7 and below 10^-3)."""
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(float(value))
        return text if "e" not in text else format(value, "f")
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def _describe_line(entity: Sequence[tuple[str, str | None]], values: dict[str, float]) -> str:
    names = dict(entity)
    parts = [
        f"{_LABELS[t]} '{names[t]}'" if names[t] is not None else f"the default {_LABELS[t]}"
        for t in ("user", "client-id", "ip")
        if t in names
    ]
    entries = ", ".join(f"{k}={java_double(v)}" for k, v in values.items())
    return f"Quota configs for {', '.join(parts)} are {entries}"


def describe_quotas(client: ClientSettings, parts: Sequence[QuotaPart]) -> list[str]:
    """The output lines for the entities the parts select (strict: no other entity types)."""
    components = [
        {"entity_type": t, "match_type": _ANY if n == "" else _DEFAULT if n is None else _EXACT, "match": n or None}
        for t, n in parts
    ]
    answer = call(client, DESCRIBE_CLIENT_QUOTAS, 1, {"components": components, "strict": True})
    if answer.error_code:
        raise CliError(answer.error_message or f"DescribeClientQuotas failed with error {answer.error_code}.")
    lines = []
    for entry in answer.entries or ():
        entity = [(e.entity_type, e.entity_name) for e in entry.entity]
        lines.append(_describe_line(entity, {v.key: float(v.value) for v in entry.values}))
    return sorted(lines)


def alter_quotas(
    client: ClientSettings, parts: Sequence[QuotaPart], to_set: dict[str, str], to_delete: Sequence[str]
) -> str:
    """Apply the changes to one entity; the confirmation line."""
    ops = []
    for key, text in to_set.items():
        try:
            value = float(text)
        except ValueError:
            raise click.BadParameter(f"{key}={text}: a quota is a number", param_hint="--add-config") from None
        ops.append({"key": key, "value": value, "remove": False})
    ops += [{"key": key, "value": 0.0, "remove": True} for key in to_delete]
    entity = [{"entity_type": t, "entity_name": n} for t, n in parts]
    answer = call(client, ALTER_CLIENT_QUOTAS, 1, {"entries": [{"entity": entity, "ops": ops}], "validate_only": False})
    for entry in answer.entries:
        if entry.error_code:
            raise CliError(entry.error_message or f"AlterClientQuotas failed with error {entry.error_code}.")
    kind, name = parts[0]
    plural = "users" if kind == "user" else "clients"
    if name is None:
        return f"Completed updating default config for {plural} in the cluster."
    return f"Completed updating config for {plural[:-1]} {name}."
