"""``kavka configs describe | alter``: Kafka's ``kafka-configs.sh`` for topics, brokers and client quotas
(``--user`` / ``--client`` / their defaults, or ``--entity-type users|clients``: `kavka.cli.quotas`).

``alter`` uses IncrementalAlterConfigs (SET / DELETE / APPEND / SUBTRACT), and falls back to the
legacy AlterConfigs (read the dynamic configs, merge, replace) when the broker does not serve it.
"""

from __future__ import annotations

from typing import Any

import click

from kavka.cli.common import (
    ClientSettings,
    CliError,
    client_options,
    kafka_error_text,
    parse_config_list,
    result,
    split_csv,
)

__all__ = ["configs", "alter_resource", "describe_resource"]

_DYNAMIC = {
    "DYNAMIC_TOPIC_CONFIG",
    "DYNAMIC_BROKER_CONFIG",
    "DYNAMIC_DEFAULT_BROKER_CONFIG",
    "DYNAMIC_BROKER_LOGGER_CONFIG",
}


def _entity_options(func):
    for option in reversed(
        [
            click.option("--topic", default=None, help="The topic whose configs to use."),
            click.option("--broker", default=None, metavar="ID", help="The broker (node id) whose configs to use."),
            click.option("--broker-defaults", is_flag=True, help="The cluster-wide dynamic broker defaults."),
            click.option(
                "--user", default=None, help="The quotas of a user (principal name); with --client: the pair."
            ),
            click.option(
                "--client", "client_id", default=None, help="The quotas of a client id; with --user: the pair."
            ),
            click.option("--user-defaults", is_flag=True, help="The default quotas of users."),
            click.option("--client-defaults", is_flag=True, help="The default quotas of client ids."),
            click.option(
                "--entity-type",
                type=click.Choice(["topics", "brokers", "users", "clients"]),
                default=None,
                help="Kafka's spelling: with --entity-name (or --entity-default).",
            ),
            click.option(
                "--entity-name", default=None, help="Topic, broker id, user or client id, with --entity-type."
            ),
            click.option(
                "--entity-default", is_flag=True, help="With --entity-type brokers|users|clients: the defaults."
            ),
        ]
    ):
        func = option(func)
    return func


def _quota_parts(quota_options: dict, entity_type, entity_name, entity_default, describing: bool) -> list | None:
    """The quota entity the options name ([(type, name or None for the default)]), or None if they
    name none. Describing, a type with no name matches every named entity of that type ("")."""
    user, client = quota_options["user"], quota_options["client_id"]
    parts: list[tuple[str, str | None]] = []
    if user is not None or quota_options["user_defaults"]:
        parts.append(("user", user))
    if client is not None or quota_options["client_defaults"]:
        parts.append(("client-id", client))
    if entity_type in ("users", "clients"):
        kind = "user" if entity_type == "users" else "client-id"
        if entity_name is None and not entity_default and not describing:
            raise click.UsageError(f"--entity-type {entity_type} needs --entity-name or --entity-default for alter")
        parts.append((kind, entity_name if entity_name is not None else None if entity_default else ""))
    if len({t for t, _ in parts}) != len(parts):
        raise click.UsageError("name each of user and client once")
    return sorted(parts, key=lambda p: p[0] != "user") or None


def _resolve(topic, broker, broker_defaults, entity_type, entity_name, entity_default) -> tuple[str, str, str]:
    """``(restype, name, label)`` from the entity options; UsageError unless exactly one is given."""
    chosen = []
    if topic is not None:
        chosen.append(("topic", topic, f"topic {topic}"))
    if broker is not None:
        chosen.append(("broker", broker, f"broker {broker}"))
    if broker_defaults:
        chosen.append(("broker", "", "brokers in the cluster (default)"))
    if entity_type is not None:
        if entity_type == "brokers" and entity_default:
            chosen.append(("broker", "", "brokers in the cluster (default)"))
        elif entity_name is not None:
            kind = "topic" if entity_type == "topics" else "broker"
            chosen.append((kind, entity_name, f"{kind} {entity_name}"))
        else:
            raise click.UsageError("--entity-type needs --entity-name (or --entity-default for brokers)")
    elif entity_name is not None or entity_default:
        raise click.UsageError("--entity-name / --entity-default need --entity-type")
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --topic, --broker, --broker-defaults or --entity-type")
    restype, name, label = chosen[0]
    if restype == "broker" and not name:
        # librdkafka refuses a ConfigResource with an empty name, which is how Kafka names the defaults.
        raise CliError(
            "The cluster-wide broker defaults cannot be addressed through librdkafka (it refuses "
            "an empty broker name); use --broker ID, or kafka-configs.sh --entity-default."
        )
    if restype == "broker" and name and not name.isdigit():
        raise click.BadParameter(f"a broker is named by its node id, got {name!r}", param_hint="--broker")
    return restype, name, label


class _KafkaConfigsSpelling(click.Group):
    """Also takes ``kafka-configs.sh``'s spelling: ``--alter`` or ``--describe`` anywhere among the
    arguments stands for the subcommand of that name (``kavka configs --alter --entity-type users ...``
    is ``kavka configs alter --entity-type users ...``), so a Kafka command line works as written."""

    _ACTIONS = {"--alter": "alter", "--describe": "describe"}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands:
            actions = [a for a in args if a in self._ACTIONS]
            if len(actions) > 1:
                raise click.UsageError("give one of --alter and --describe", ctx)
            if actions:
                args = [self._ACTIONS[actions[0]], *(a for a in args if a != actions[0])]
        return super().parse_args(ctx, args)


@click.group(cls=_KafkaConfigsSpelling, short_help="Describe and alter configs and quotas.")
def configs() -> None:
    """Describe and alter topic and broker configs (kafka-configs.sh).

    \b
    Examples:
      kavka configs describe --topic orders
      kavka configs describe --topic orders --all
      kavka configs alter --topic orders --add-config retention.ms=3600000,cleanup.policy=[compact,delete]
      kavka configs alter --topic orders --delete-config retention.ms
      kavka configs describe --broker 1 --all
      kavka configs alter --user alice --client app --add-config producer_byte_rate=1048576
      kavka configs alter --entity-type clients --entity-default --add-config request_percentage=50
      kavka configs describe --entity-type users
      kavka configs alter --entity-type users --entity-name alice --add-config 'SCRAM-SHA-256=[password=secret]'

    kafka-configs.sh's --alter and --describe work as well: kavka configs --describe --topic orders.
    """


@configs.command(short_help="Show configs or client quotas.")
@_entity_options
@click.option("--all", "show_all", is_flag=True, help="All configs, not only the dynamic overrides.")
@click.option("--synonyms", is_flag=True, help="Also list each config's synonyms (where the value comes from).")
@client_options
def describe(
    topic,
    broker,
    broker_defaults,
    user,
    client_id,
    user_defaults,
    client_defaults,
    entity_type,
    entity_name,
    entity_default,
    show_all,
    synonyms,
    client: ClientSettings,
):
    """Show the configs of a topic or broker (only dynamic overrides unless --all), or client quotas."""
    from kavka.cli.common import stdout_console, table

    quota_options = {
        "user": user,
        "client_id": client_id,
        "user_defaults": user_defaults,
        "client_defaults": client_defaults,
    }
    parts = _quota_parts(quota_options, entity_type, entity_name, entity_default, describing=True)
    if parts is not None:
        if topic is not None or broker is not None or broker_defaults:
            raise click.UsageError("give either quota entities (users, clients) or a topic or broker")
        from kavka.cli.quotas import describe_quotas

        for line in describe_quotas(client, parts):
            click.echo(line)
        if parts == [("user", entity_name or user)] and (entity_name or user):
            # Kafka's kafka-configs shows a user's SCRAM credentials after its quotas (kavka.cli.scram)
            from kavka.cli.scram import describe_user_scram

            line = describe_user_scram(client, entity_name or user)
            if line is not None:
                click.echo(line)
        return
    restype, name, label = _resolve(topic, broker, broker_defaults, entity_type, entity_name, entity_default)
    admin = client.admin()
    client.metadata(admin)
    entries = describe_resource(admin, client, restype, name)
    shown = [e for e in entries.values() if show_all or source_name(e.source) in _DYNAMIC]
    console = stdout_console()
    console.print(f"{'All' if show_all else 'Dynamic'} configs for {label} are:", markup=False)
    t = table("NAME", "VALUE", "SOURCE", "READ-ONLY", "SENSITIVE", *(("SYNONYMS",) if synonyms else ()))
    for e in sorted(shown, key=lambda e: e.name):
        row = [
            e.name,
            "(sensitive)" if e.is_sensitive else ("null" if e.value is None else str(e.value)),
            source_name(e.source),
            _yes(e.is_read_only),
            _yes(e.is_sensitive),
        ]
        if synonyms:
            row.append(", ".join(f"{source_name(s.source)}:{s.name}={s.value}" for s in _synonyms(e)))
        t.add_row(*row)
    console.print(t)


@configs.command(short_help="Set or delete configs, quotas, SCRAM users.")
@_entity_options
@click.option(
    "--add-config",
    "add",
    multiple=True,
    metavar="K=V[,K=V]",
    help="Set configs; a list value goes in brackets: cleanup.policy=[compact,delete].",
)
@click.option(
    "--add-config-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Set every config in a .properties file.",
)
@click.option("--delete-config", "delete", multiple=True, metavar="K[,K]", help="Remove config overrides.")
@click.option(
    "--append-config",
    "append",
    multiple=True,
    metavar="K=V",
    help="Append to a list config (IncrementalAlterConfigs APPEND).",
)
@click.option(
    "--subtract-config",
    "subtract",
    multiple=True,
    metavar="K=V",
    help="Remove from a list config (IncrementalAlterConfigs SUBTRACT).",
)
@client_options
def alter(
    topic,
    broker,
    broker_defaults,
    user,
    client_id,
    user_defaults,
    client_defaults,
    entity_type,
    entity_name,
    entity_default,
    add,
    add_config_file,
    delete,
    append,
    subtract,
    client: ClientSettings,
):
    """Set or delete configs of a topic or broker, client quotas, or a user's SCRAM credentials."""
    if entity_type == "users" and entity_name is not None:
        from kavka.cli.scram import alter_user_scram, is_scram_change

        to_set, to_delete = parse_config_list(add, "--add-config"), split_csv(delete)
        if is_scram_change(to_set, to_delete):  # SCRAM credentials (kavka.cli.scram); else quotas below
            alter_user_scram(client, entity_name, to_set, to_delete)
            click.echo(f"Completed updating config for user {entity_name}.")
            return
    quota_options = {
        "user": user,
        "client_id": client_id,
        "user_defaults": user_defaults,
        "client_defaults": client_defaults,
    }
    parts = _quota_parts(quota_options, entity_type, entity_name, entity_default, describing=False)
    if parts is None:
        restype, name, label = _resolve(topic, broker, broker_defaults, entity_type, entity_name, entity_default)
    elif topic is not None or broker is not None or broker_defaults:
        raise click.UsageError("give either quota entities (users, clients) or a topic or broker")
    to_set = parse_config_list(add, "--add-config")
    if add_config_file:
        from kavka.metadata.properties import parse_properties

        with open(add_config_file, encoding="utf-8") as f:
            to_set.update(parse_properties(f.read()))
    to_delete = split_csv(delete)
    to_append = parse_config_list(append, "--append-config")
    to_subtract = parse_config_list(subtract, "--subtract-config")
    if not (to_set or to_delete or to_append or to_subtract):
        raise click.UsageError(
            "nothing to alter: give --add-config, --delete-config, --append-config or --subtract-config"
        )
    both = set(to_set) & set(to_delete)
    if both:
        raise click.UsageError(f"config {sorted(both)[0]} is both added and deleted")
    if parts is not None:
        if to_append or to_subtract:
            raise click.UsageError("quotas are numbers: --append-config / --subtract-config do not apply")
        from kavka.cli.quotas import alter_quotas

        click.echo(alter_quotas(client, parts, to_set, to_delete))
        return
    admin = client.admin()
    client.metadata(admin)
    alter_resource(admin, client, restype, name, to_set, to_delete, to_append, to_subtract)
    if restype == "broker" and not name:
        click.echo("Completed updating default config for brokers in the cluster.")
    else:
        click.echo(f"Completed updating config for {label}.")


# --------------------------------------------------------------------------------------------- helpers


def source_name(source: Any) -> str:
    """``ConfigSource.DYNAMIC_TOPIC_CONFIG`` / its int value -> ``"DYNAMIC_TOPIC_CONFIG"``."""
    from confluent_kafka.admin import ConfigSource

    if isinstance(source, ConfigSource):
        return source.name
    try:
        return ConfigSource(source).name
    except ValueError:
        return str(source)


def _yes(flag: bool) -> str:
    return "true" if flag else "false"


def _synonyms(entry: Any) -> list[Any]:
    syn = entry.synonyms
    return list(syn.values()) if isinstance(syn, dict) else list(syn or [])


def describe_resource(admin: Any, client: ClientSettings, restype: str, name: str) -> dict[str, Any]:
    """``{config name: ConfigEntry}`` of one resource; CliError with the broker's message on failure."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource

    resource = ConfigResource(restype, name)
    try:
        futures = admin.describe_configs([resource], request_timeout=client.timeout)  # synonyms included
        return result(futures[resource], client)
    except KafkaException as e:
        raise CliError(kafka_error_text(e.args[0])) from None


def alter_resource(
    admin: Any,
    client: ClientSettings,
    restype: str,
    name: str,
    to_set: dict[str, str],
    to_delete: list[str],
    to_append: dict[str, str] | None = None,
    to_subtract: dict[str, str] | None = None,
) -> None:
    """Apply the changes with IncrementalAlterConfigs (AlterConfigs when the broker lacks it)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource

    ops = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in to_set.items()]
    ops += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in to_delete]
    ops += [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.APPEND) for k, v in (to_append or {}).items()]
    ops += [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SUBTRACT) for k, v in (to_subtract or {}).items()]
    resource = ConfigResource(restype, name, incremental_configs=ops)
    try:
        futures = admin.incremental_alter_configs([resource], request_timeout=client.timeout)
        result(futures[resource], client)
        return
    except KafkaException as e:
        err = e.args[0]
        if err.name() != "_UNSUPPORTED_FEATURE":
            raise CliError(kafka_error_text(err)) from None
    if to_append or to_subtract:
        raise CliError("The broker does not support IncrementalAlterConfigs, needed for append/subtract.")
    # Legacy AlterConfigs replaces the whole dynamic set: start from what is there now.
    current = describe_resource(admin, client, restype, name)
    own = (
        "DYNAMIC_TOPIC_CONFIG"
        if restype == "topic"
        else "DYNAMIC_BROKER_CONFIG"
        if name
        else "DYNAMIC_DEFAULT_BROKER_CONFIG"
    )
    merged = {
        k: e.value
        for k, e in current.items()
        if source_name(e.source) == own and not e.is_sensitive and k not in to_delete
    }
    merged.update(to_set)
    legacy = ConfigResource(restype, name, set_config=merged)
    try:
        futures = admin.alter_configs([legacy], request_timeout=client.timeout)
        result(futures[legacy], client)
    except KafkaException as e:
        raise CliError(kafka_error_text(e.args[0])) from None
