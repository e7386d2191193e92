"""``kavka offsets`` (``kafka-get-offsets.sh``) and ``kavka delete-records`` (``kafka-delete-records.sh``).

``offsets`` prints ``topic:partition:offset`` lines, as Kafka's tool, so scripts can cut them.
``delete-records`` moves the log start offset of partitions forward (DeleteRecords), from a Kafka
``--offset-json-file`` or from ``TOPIC --partition P --offset O``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from kavka.cli.common import ClientSettings, CliError, client_options, kafka_error_text, parse_time, result, split_csv

__all__ = ["offsets", "delete_records", "offset_spec"]

_SPECIALS = {"latest": -1, "earliest": -2, "max-timestamp": -3}


def offset_spec(time_value: str) -> Any:
    """``latest | earliest | max-timestamp | -1 | -2 | -3 | <ms> | <ISO date-time>`` -> an OffsetSpec."""
    from confluent_kafka.admin import OffsetSpec

    text = time_value.strip().lower()
    code = _SPECIALS.get(text)
    if code is None:
        code = parse_time(time_value)
    if code == -1:
        return OffsetSpec.latest()
    if code == -2:
        return OffsetSpec.earliest()
    if code == -3:
        return OffsetSpec.max_timestamp()
    if code < 0:
        raise click.BadParameter(f"unsupported --time {time_value!r}", param_hint="--time")
    return OffsetSpec.for_timestamp(code)


def _partitions_option(value: tuple[str, ...]) -> list[int] | None:
    items = split_csv(value)
    if not items:
        return None
    try:
        return sorted({int(i) for i in items})
    except ValueError:
        raise click.BadParameter("expected partition numbers, e.g. 0,1,2", param_hint="--partitions") from None


def _selected(md: Any, topics: list[str], partitions: list[int] | None, exclude_internal: bool) -> list[Any]:
    from confluent_kafka import TopicPartition

    names = topics or sorted(n for n in md.topics if not (exclude_internal and n.startswith("__")))
    for name in names:
        if name not in md.topics or not md.topics[name].partitions:
            raise CliError(f"Topic '{name}' does not exist.")
    tps = []
    for name in names:
        available = sorted(md.topics[name].partitions)
        wanted = available if partitions is None else [p for p in partitions if p in available]
        if topics and partitions is not None:
            absent = [p for p in partitions if p not in available]
            if absent:
                raise CliError(
                    f"Partition {absent[0]} does not exist: topic '{name}' has {len(available)} partition(s)."
                )
        tps += [TopicPartition(name, p) for p in wanted]
    return tps


@click.command(short_help="Print the offsets of partitions.")
@click.argument("topics", nargs=-1, metavar="[TOPIC]...")
@click.option(
    "--time",
    "time_value",
    default="latest",
    show_default=True,
    help="latest (-1), earliest (-2), max-timestamp (-3), a timestamp in ms, or an ISO date-time: "
    "the first offset whose timestamp is at or after it.",
)
@click.option("--partitions", multiple=True, metavar="P[,P]", help="Only these partitions.")
@click.option("--exclude-internal-topics", is_flag=True, help="With no TOPIC, leave out internal topics.")
@click.option(
    "--isolation-level",
    type=click.Choice(["read_uncommitted", "read_committed"]),
    default="read_uncommitted",
    show_default=True,
    help="read_committed: latest is the last stable offset.",
)
@client_options
def offsets(topics, time_value, partitions, exclude_internal_topics, isolation_level, client: ClientSettings):
    """Print offsets of partitions as topic:partition:offset (kafka-get-offsets.sh).

    \b
    Examples:
      kavka offsets orders                      # log end offsets
      kavka offsets orders --time earliest      # log start offsets
      kavka offsets orders --time 2024-05-01T00:00:00 --partitions 0,1
    """
    from confluent_kafka import IsolationLevel, KafkaException

    spec = offset_spec(time_value)
    admin = client.admin()
    md = client.metadata(admin)
    tps = _selected(md, list(dict.fromkeys(topics)), _partitions_option(partitions), exclude_internal_topics)
    if not tps:
        return
    level = IsolationLevel.READ_COMMITTED if isolation_level == "read_committed" else IsolationLevel.READ_UNCOMMITTED
    futures = admin.list_offsets({tp: spec for tp in tps}, isolation_level=level, request_timeout=client.timeout)
    found: dict[tuple[str, int], int] = {}
    failed = False
    for tp, fut in futures.items():
        try:
            found[(tp.topic, tp.partition)] = result(fut, client).offset
        except KafkaException as e:
            click.echo(f"Error: {tp.topic}:{tp.partition}: {kafka_error_text(e.args[0])}", err=True)
            failed = True
    for (topic, partition), offset in sorted(found.items()):
        click.echo(f"{topic}:{partition}:{offset if offset >= 0 else ''}")
    if failed:
        raise SystemExit(1)


@click.command(name="delete-records", short_help="Delete the records before an offset.")
@click.argument("topic", required=False)
@click.option(
    "--offset-json-file",
    type=click.File("r"),
    default=None,
    help='Kafka\'s format: {"partitions": [{"topic": "t", "partition": 0, "offset": 10}], "version": 1}',
)
@click.option(
    "--partition", "partitions", multiple=True, metavar="P[,P]", help="With TOPIC: the partitions (default: all)."
)
@click.option(
    "--offset",
    type=int,
    default=None,
    help="With TOPIC: delete records before this offset (-1: up to the high watermark).",
)
@client_options
def delete_records(topic, offset_json_file, partitions, offset, client: ClientSettings):
    """Delete the records before an offset: the partition's log start offset moves there.

    \b
    Examples:
      kavka delete-records orders --partition 0 --offset 100
      kavka delete-records orders --offset -1          # empty every partition
      kavka delete-records --offset-json-file offsets.json
    """
    from confluent_kafka import KafkaException, TopicPartition

    admin = client.admin()
    if offset_json_file is not None:
        if topic is not None or partitions or offset is not None:
            raise click.UsageError("--offset-json-file excludes TOPIC, --partition and --offset")
        requested = _read_offset_json(offset_json_file)
        md = client.metadata(admin)
        for tp in requested:
            if tp.topic not in md.topics or tp.partition not in md.topics[tp.topic].partitions:
                raise CliError(f"Partition {tp.topic}-{tp.partition} does not exist.")
    else:
        if topic is None or offset is None:
            raise click.UsageError("give TOPIC and --offset, or --offset-json-file")
        if offset < -1:
            raise click.BadParameter("must be >= 0, or -1 for the high watermark", param_hint="--offset")
        md = client.metadata(admin)
        requested = [
            TopicPartition(tp.topic, tp.partition, offset)
            for tp in _selected(md, [topic], _partitions_option(partitions), False)
        ]
    if not requested:
        raise click.UsageError("no partitions to delete records from")
    click.echo("Executing records delete operation")
    futures = admin.delete_records(requested, operation_timeout=client.timeout, request_timeout=client.timeout)
    click.echo("Records delete operation completed:")
    failed = False
    for tp, fut in sorted(futures.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
        try:
            low = result(fut, client).low_watermark
        except KafkaException as e:
            click.echo(f"partition: {tp.topic}-{tp.partition}\terror: {kafka_error_text(e.args[0])}")
            failed = True
        else:
            click.echo(f"partition: {tp.topic}-{tp.partition}\tlow_watermark: {low}")
    if failed:
        raise SystemExit(1)


def _read_offset_json(stream: Any) -> list[Any]:
    from confluent_kafka import TopicPartition

    try:
        doc = json.load(stream)
        out = [TopicPartition(str(p["topic"]), int(p["partition"]), int(p["offset"])) for p in doc["partitions"]]
    except (ValueError, KeyError, TypeError) as e:
        raise CliError(f"Malformed --offset-json-file: {e}") from None
    seen = set()
    for tp in out:
        if (tp.topic, tp.partition) in seen:
            raise CliError(f"Offset json file contains duplicate topic partitions: {tp.topic}-{tp.partition}")
        seen.add((tp.topic, tp.partition))
    return out
