"""``kavka topics create | list | describe | alter | delete``: Kafka's ``kafka-topics.sh``.

``list`` prints one name per line (scripts read it); ``describe`` prints, per topic, Kafka's summary
line then a table of partitions with leader, replicas, ISR and log start / end offsets.
"""

from __future__ import annotations

from typing import Any

import click

from kavka.cli.common import ClientSettings, CliError, client_options, kafka_error_text, parse_config_list, result

__all__ = ["topics"]


@click.group(short_help="Create, list, describe, alter, delete topics.")
def topics() -> None:
    """Create, list, describe, alter and delete topics (kafka-topics.sh).

    \b
    Examples:
      kavka topics create orders --partitions 3 --config retention.ms=86400000
      kavka topics list
      kavka topics describe orders
      kavka topics alter orders --partitions 6
      kavka topics delete orders
    """


@topics.command()
@click.argument("topic")
@click.option(
    "--partitions",
    "-p",
    type=click.IntRange(min=1),
    default=None,
    help="Number of partitions (default: the broker's num.partitions).",
)
@click.option(
    "--replication-factor",
    "-r",
    type=click.IntRange(min=1),
    default=None,
    help="Replicas per partition (default: the broker's default.replication.factor).",
)
@click.option(
    "--config",
    "-c",
    "configs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A topic config override (repeatable; or comma-separated).",
)
@click.option("--if-not-exists", is_flag=True, help="Succeed quietly if the topic already exists.")
@click.option("--validate-only", is_flag=True, help="Ask the broker to validate, not create.")
@client_options
def create(topic, partitions, replication_factor, configs, if_not_exists, validate_only, client: ClientSettings):
    """Create TOPIC."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    admin = client.admin()
    client.metadata(admin)  # fail fast and clearly when no broker answers
    new = NewTopic(
        topic,
        partitions if partitions is not None else -1,
        replication_factor if replication_factor is not None else -1,
        config=parse_config_list(configs, "--config"),
    )
    futures = admin.create_topics(
        [new], operation_timeout=client.timeout, request_timeout=client.timeout, validate_only=validate_only
    )
    try:
        result(futures[topic], client)
    except KafkaException as e:
        err = e.args[0]
        if if_not_exists and err.name() == "TOPIC_ALREADY_EXISTS":
            return
        raise CliError(kafka_error_text(err)) from None
    click.echo(f"Topic '{topic}' is valid." if validate_only else f"Created topic {topic}.")


@topics.command(name="list")
@click.option("--exclude-internal", is_flag=True, help="Leave out internal topics (__consumer_offsets, ...).")
@client_options
def list_(exclude_internal, client: ClientSettings):
    """Print the name of each topic, one per line."""
    md = client.metadata(client.admin())
    for name in sorted(md.topics):
        if exclude_internal and _is_internal(name):
            continue
        click.echo(name)


@topics.command(short_help="Show partitions, leaders, replicas and ISR.")
@click.argument("names", nargs=-1, metavar="[TOPIC]...")
@click.option("--exclude-internal", is_flag=True, help="With no TOPIC, leave out internal topics.")
@click.option("--under-replicated-partitions", is_flag=True, help="Only partitions whose ISR is short.")
@click.option("--unavailable-partitions", is_flag=True, help="Only partitions without a leader.")
@click.option("--no-offsets", is_flag=True, help="Skip the log start/end offsets (one request less).")
@client_options
def describe(
    names, exclude_internal, under_replicated_partitions, unavailable_partitions, no_offsets, client: ClientSettings
):
    """Describe topics (all of them without TOPIC): partitions, leader, replicas, ISR, offsets, configs."""
    from kavka.cli.common import stdout_console, table

    admin = client.admin()
    md = client.metadata(admin)
    if names:
        missing = [n for n in names if n not in md.topics]
        if missing:
            raise CliError(f"Topic '{missing[0]}' does not exist.")
        selected = list(dict.fromkeys(names))
    else:
        selected = sorted(n for n in md.topics if not (exclude_internal and _is_internal(n)))
    for name in selected:
        if md.topics[name].error is not None:
            raise CliError(f"Topic '{name}': {kafka_error_text(md.topics[name].error)}")
    offsets = {} if no_offsets else _log_offsets(admin, md, selected, client)
    configs = _topic_overrides(admin, selected, client)
    topic_ids = _topic_ids(admin, selected, client)
    console = stdout_console()
    filtered = under_replicated_partitions or unavailable_partitions
    for name in selected:
        tmd = md.topics[name]
        parts = [tmd.partitions[p] for p in sorted(tmd.partitions)]
        rf = len(parts[0].replicas) if parts else 0
        shown = [
            p
            for p in parts
            if not filtered
            or (under_replicated_partitions and len(p.isrs) < len(p.replicas))
            or (unavailable_partitions and p.leader < 0)
        ]
        if filtered and not shown:
            continue
        cfg = configs.get(name)
        cfg_text = ",".join(f"{k}={v}" for k, v in sorted(cfg.items())) if cfg is not None else "(unknown)"
        console.file.flush()
        click.echo(
            f"Topic: {name}\tTopicId: {topic_ids.get(name, '-')}\tPartitionCount: {len(parts)}\t"
            f"ReplicationFactor: {rf}\tConfigs: {cfg_text}"
        )
        t = table("PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START-OFFSET", "LOG-END-OFFSET")
        for p in shown:
            start, end = offsets.get((name, p.id), ("-", "-"))
            t.add_row(
                str(p.id),
                str(p.leader) if p.leader >= 0 else "none",
                ",".join(map(str, p.replicas)),
                ",".join(map(str, p.isrs)),
                str(start),
                str(end),
            )
        console.print(t)


@topics.command()
@click.argument("topic")
@click.option("--partitions", "-p", type=click.IntRange(min=1), default=None, help="New (larger) partition count.")
@click.option(
    "--config",
    "-c",
    "configs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a topic config (repeatable; or comma-separated).",
)
@click.option(
    "--delete-config",
    "delete_configs",
    multiple=True,
    metavar="KEY",
    help="Remove a topic config override (repeatable).",
)
@client_options
def alter(topic, partitions, configs, delete_configs, client: ClientSettings):
    """Add partitions to TOPIC and/or change its configs."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewPartitions

    from kavka.cli.common import split_csv
    from kavka.cli.configs import alter_resource

    if partitions is None and not configs and not delete_configs:
        raise click.UsageError("nothing to alter: give --partitions, --config or --delete-config")
    admin = client.admin()
    md = client.metadata(admin)
    if topic not in md.topics:
        raise CliError(f"Topic '{topic}' does not exist.")
    if partitions is not None:
        futures = admin.create_partitions(
            [NewPartitions(topic, partitions)], operation_timeout=client.timeout, request_timeout=client.timeout
        )
        try:
            result(futures[topic], client)
        except KafkaException as e:
            raise CliError(kafka_error_text(e.args[0])) from None
        click.echo(f"Topic {topic} now has {partitions} partitions.")
    if configs or delete_configs:
        alter_resource(admin, client, "topic", topic, parse_config_list(configs, "--config"), split_csv(delete_configs))
        click.echo(f"Completed updating config for topic {topic}.")


@topics.command()
@click.argument("names", nargs=-1, required=True, metavar="TOPIC...")
@click.option("--if-exists", is_flag=True, help="Succeed quietly for topics that do not exist.")
@client_options
def delete(names, if_exists, client: ClientSettings):
    """Delete topics (and all their data)."""
    from confluent_kafka import KafkaException

    admin = client.admin()
    md = client.metadata(admin)
    names = list(dict.fromkeys(names))
    missing = [n for n in names if n not in md.topics]
    if missing and not if_exists:
        raise CliError(f"Topic '{missing[0]}' does not exist.")
    names = [n for n in names if n in md.topics]
    if not names:
        return
    futures = admin.delete_topics(names, operation_timeout=client.timeout, request_timeout=client.timeout)
    failed = False
    for name in names:
        try:
            result(futures[name], client)
        except KafkaException as e:
            err = e.args[0]
            if if_exists and err.name() == "UNKNOWN_TOPIC_OR_PART":
                continue
            click.echo(f"Error: cannot delete topic {name}: {kafka_error_text(err)}", err=True)
            failed = True
        else:
            click.echo(f"Deleted topic {name}.")
    if failed:
        raise SystemExit(1)


# --------------------------------------------------------------------------------------------- helpers


def _is_internal(name: str) -> bool:
    return name.startswith("__")


def _log_offsets(admin: Any, md: Any, names: list[str], client: ClientSettings) -> dict[tuple[str, int], tuple]:
    """``{(topic, partition): (log start offset, log end offset)}`` via ListOffsets; missing on errors."""
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    tps = [TopicPartition(n, p) for n in names for p in md.topics[n].partitions]
    if not tps:
        return {}
    out: dict[tuple[str, int], list] = {}
    for index, spec in ((0, OffsetSpec.earliest()), (1, OffsetSpec.latest())):
        futures = admin.list_offsets({tp: spec for tp in tps}, request_timeout=client.timeout)
        for tp, fut in futures.items():
            try:
                offset = result(fut, client).offset
            except KafkaException:
                offset = "?"
            out.setdefault((tp.topic, tp.partition), ["?", "?"])[index] = offset
    return {k: (v[0], v[1]) for k, v in out.items()}


def _topic_overrides(admin: Any, names: list[str], client: ClientSettings) -> dict[str, dict[str, str]]:
    """Each topic's configs not at their default (Kafka's ``Configs:`` column); {} if unsupported."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, ConfigSource

    if not names:
        return {}
    try:
        futures = admin.describe_configs([ConfigResource("topic", n) for n in names], request_timeout=client.timeout)
    except KafkaException:
        return {}
    out: dict[str, dict[str, str]] = {}
    for res, fut in futures.items():
        try:
            entries = result(fut, client)
        except KafkaException:
            continue
        out[res.name] = {
            k: ("(sensitive)" if e.is_sensitive else str(e.value))
            for k, e in entries.items()
            if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        }
    return out


def _topic_ids(admin: Any, names: list[str], client: ClientSettings) -> dict[str, str]:
    from confluent_kafka import KafkaException, TopicCollection

    try:
        futures = admin.describe_topics(TopicCollection(names), request_timeout=client.timeout)
        return {name: _uuid_text(result(fut, client).topic_id) for name, fut in futures.items()}
    except (KafkaException, AttributeError, TypeError):
        return {}


def _uuid_text(uuid: Any) -> str:
    """Kafka's rendering of a Uuid: URL-safe base64 of its 16 bytes, without padding."""
    import base64

    raw = (uuid.get_most_significant_bits() & (2**64 - 1)).to_bytes(8, "big") + (
        uuid.get_least_significant_bits() & (2**64 - 1)
    ).to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
