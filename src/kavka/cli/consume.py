"""``kavka consume TOPIC``: Kafka's console consumer (``kafka-console-consumer.sh``).

Without ``--group`` the consumer assigns itself every partition of the topic (no group coordination,
nothing committed, partitions added later are not seen); with ``--group`` it subscribes as a member of
that group and commits its position. ``--partition`` (with an optional ``--offset``) reads one partition.

Each record is printed as Kafka's ``DefaultMessageFormatter`` does, fields separated by
``key.separator`` (default TAB) in this order, each enabled by ``--property print.X=true``::

    [CreateTime:<ts>] [Partition:<p>] [Offset:<o>] [h1:v1,h2:v2] [key] value

At the end "Processed a total of N messages" goes to stderr.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import click

from kavka.cli.common import ClientSettings, CliError, client_options, kafka_error_text, parse_assignments

__all__ = ["consume", "RecordFormatter"]

_TIMESTAMP_TYPES = {1: "CreateTime", 2: "LogAppendTime"}


@dataclass
class RecordFormatter:
    """Kafka's ``DefaultMessageFormatter`` (kafka.tools / org.apache.kafka.tools.consumer)."""

    print_timestamp: bool = False
    print_partition: bool = False
    print_offset: bool = False
    print_headers: bool = False
    print_key: bool = False
    print_value: bool = True
    key_separator: bytes = b"\t"
    line_separator: bytes = b"\n"
    headers_separator: bytes = b","
    headers_key_separator: bytes = b":"
    null_literal: bytes = b"null"

    @classmethod
    def from_properties(cls, props: dict[str, str]) -> RecordFormatter:
        flags = {"print.timestamp", "print.partition", "print.offset", "print.headers", "print.key", "print.value"}
        texts = {"key.separator", "line.separator", "headers.separator", "headers.key.separator", "null.literal"}
        unknown = sorted(
            set(props) - flags - texts - {"headers.deserializer", "key.deserializer", "value.deserializer"}
        )
        if unknown:
            raise click.BadParameter(f"unknown property {unknown[0]!r}", param_hint="--property")
        kwargs: dict[str, Any] = {
            name.replace(".", "_"): props[name].strip().lower() == "true" for name in flags if name in props
        }
        kwargs.update({name.replace(".", "_"): props[name].encode() for name in texts if name in props})
        return cls(**kwargs)

    def format(self, msg: Any) -> bytes:
        parts: list[bytes] = []
        if self.print_timestamp:
            ts_type, ts = msg.timestamp()
            parts.append(
                f"{_TIMESTAMP_TYPES[ts_type]}:{ts}".encode() if ts_type in _TIMESTAMP_TYPES else b"NO_TIMESTAMP"
            )
        if self.print_partition:
            parts.append(b"Partition:%d" % msg.partition())
        if self.print_offset:
            parts.append(b"Offset:%d" % msg.offset())
        if self.print_headers:
            headers = msg.headers()
            if headers:
                parts.append(
                    self.headers_separator.join(
                        k.encode() + self.headers_key_separator + (self.null_literal if v is None else bytes(v))
                        for k, v in headers
                    )
                )
            else:
                parts.append(b"NO_HEADERS")
        if self.print_key:
            key = msg.key()
            parts.append(self.null_literal if key is None else key)
        if self.print_value:
            value = msg.value()
            parts.append(self.null_literal if value is None else value)
        return self.key_separator.join(parts) + self.line_separator


def _start_offset(offset: str | None, from_beginning: bool) -> int:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

    if offset is None:
        return OFFSET_BEGINNING if from_beginning else OFFSET_END
    text = offset.strip().lower()
    if text == "earliest":
        return OFFSET_BEGINNING
    if text == "latest":
        return OFFSET_END
    try:
        value = int(text)
    except ValueError:
        raise click.BadParameter("expected earliest, latest or a non-negative offset", param_hint="--offset") from None
    if value < 0:
        raise click.BadParameter("expected earliest, latest or a non-negative offset", param_hint="--offset")
    return value


@click.command()
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at the earliest offset, not the end of the log.")
@click.option("--partition", "-p", type=click.IntRange(min=0), default=None, help="Read only this partition.")
@click.option(
    "--offset",
    "-o",
    default=None,
    metavar="OFFSET|earliest|latest",
    help="Where to start in --partition (default: latest, or earliest with --from-beginning).",
)
@click.option(
    "--group", "-g", default=None, help="Consume as a member of this group (subscribes and commits); default: no group."
)
@click.option("--max-messages", "-n", type=click.IntRange(min=1), default=None, help="Exit after this many records.")
@click.option(
    "--timeout-ms", type=click.IntRange(min=1), default=None, help="Exit when no record arrived for this long."
)
@click.option(
    "--property",
    "properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="Output format: print.key, print.timestamp, print.partition, print.offset, print.headers, "
    "print.value, key.separator, line.separator, headers.separator, headers.key.separator, "
    "null.literal.",
)
@click.option(
    "--isolation-level",
    type=click.Choice(["read_uncommitted", "read_committed"]),
    default="read_uncommitted",
    show_default=True,
    help="read_committed hides aborted and open transactional records.",
)
@click.option(
    "--consumer-property",
    "consumer_properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any librdkafka consumer setting (repeatable).",
)
@client_options
def consume(
    topic,
    from_beginning,
    partition,
    offset,
    group,
    max_messages,
    timeout_ms,
    properties,
    isolation_level,
    consumer_properties,
    client: ClientSettings,
):
    """Print the records of TOPIC to stdout, one per line.

    \b
    Examples:
      kavka consume orders --from-beginning
      kavka consume orders --from-beginning --property print.key=true --property key.separator=:
      kavka consume orders --partition 0 --offset 42 --max-messages 10
      kavka consume orders --group billing --timeout-ms 5000
      kavka consume orders --from-beginning --property print.timestamp=true --property print.offset=true \\
          --property print.partition=true --property print.headers=true
    """
    from confluent_kafka import TopicPartition

    if offset is not None and partition is None:
        raise click.UsageError("The partition is required when offset is specified.")
    if offset is not None and from_beginning:
        raise click.UsageError("Options from-beginning and offset cannot be specified together.")
    formatter = RecordFormatter.from_properties(parse_assignments(properties, "--property"))
    start = _start_offset(offset, from_beginning)
    conf: dict[str, Any] = {
        "group.id": group or f"kavka-console-consumer-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": group is not None,
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        "isolation.level": isolation_level,
        "enable.partition.eof": False,
    }
    conf.update(parse_assignments(consumer_properties, "--consumer-property"))
    consumer = client.consumer(conf)
    try:
        md = client.metadata(consumer)
        tmd = md.topics.get(topic)
        if tmd is None or not tmd.partitions:
            raise CliError(f"Topic '{topic}' does not exist.")
        if partition is not None and partition not in tmd.partitions:
            raise CliError(
                f"Partition {partition} does not exist: topic '{topic}' has {len(tmd.partitions)} partition(s)."
            )
        if partition is not None:
            consumer.assign([TopicPartition(topic, partition, start)])
        elif group is not None:
            consumer.subscribe([topic])
        else:
            consumer.assign([TopicPartition(topic, p, start) for p in sorted(tmd.partitions)])
        count = _loop(consumer, formatter, max_messages, timeout_ms)
    finally:
        try:
            consumer.close()
        except Exception:  # noqa: BLE001 - closing is best effort on the way out
            pass
    click.echo(f"Processed a total of {count} messages", err=True)


def _loop(consumer: Any, formatter: RecordFormatter, max_messages: int | None, timeout_ms: int | None) -> int:
    out = sys.stdout.buffer
    count = 0
    last = time.monotonic()
    idle_limit = None if timeout_ms is None else timeout_ms / 1000
    try:
        while max_messages is None or count < max_messages:
            wait = 0.5 if idle_limit is None else max(0.0, min(0.5, last + idle_limit - time.monotonic()))
            batch = consumer.consume(
                num_messages=500 if max_messages is None else min(500, max_messages - count), timeout=wait
            )
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.name() in ("_PARTITION_EOF",):
                        continue
                    if err.fatal() or err.name() in (
                        "UNKNOWN_TOPIC_OR_PART",
                        "TOPIC_AUTHORIZATION_FAILED",
                        "GROUP_AUTHORIZATION_FAILED",
                    ):
                        out.flush()
                        raise CliError(kafka_error_text(err))
                    click.echo(f"Warning: {kafka_error_text(err)}", err=True)
                    continue
                out.write(formatter.format(msg))
                count += 1
                if max_messages is not None and count >= max_messages:
                    break
            if batch:
                out.flush()
                last = time.monotonic()
            elif idle_limit is not None and time.monotonic() - last >= idle_limit:
                break
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `kavka consume ... | head`
        pass
    try:
        out.flush()
    except BrokenPipeError:
        pass
    return count
