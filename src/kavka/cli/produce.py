"""``kavka produce TOPIC``: Kafka's console producer (``kafka-console-producer.sh``).

One record per input line (stdin or ``--file``), parsed as Kafka's ``LineMessageReader`` does::

    [headers <headers.delimiter>] [key <key.separator>] value

- ``parse.key=true``: the key is the text before the first ``key.separator`` (default TAB).
- ``parse.headers=true``: the headers come first, up to ``headers.delimiter`` (default TAB), as
  ``k1:v1,k2:v2`` (``headers.separator`` and ``headers.key.separator``); a header without ``:`` has a
  null value.
- ``null.marker=X``: a key, value or header value equal to X is sent as null.
- ``ignore.error=true``: a line without the separator becomes a value with a null key instead of an error.

Lines are bytes: no decoding happens, so any encoding passes through unchanged.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

import click

from kavka.cli.common import ClientSettings, CliError, client_options, kafka_error_text, parse_assignments

__all__ = ["produce", "LineReader"]

_COMPRESSION = ["none", "gzip", "snappy", "lz4", "zstd"]


class LineFormatError(ValueError):
    pass


@dataclass
class LineReader:
    """Kafka's ``LineMessageReader``: turns one input line into ``(headers, key, value)``."""

    parse_key: bool = False
    key_separator: bytes = b"\t"
    parse_headers: bool = False
    headers_delimiter: bytes = b"\t"
    headers_separator: bytes = b","
    headers_key_separator: bytes = b":"
    null_marker: bytes | None = None
    ignore_error: bool = False

    @classmethod
    def from_properties(cls, props: dict[str, str]) -> LineReader:
        known = {
            "parse.key",
            "key.separator",
            "parse.headers",
            "headers.delimiter",
            "headers.separator",
            "headers.key.separator",
            "null.marker",
            "ignore.error",
        }
        unknown = sorted(set(props) - known)
        if unknown:
            raise click.BadParameter(
                f"unknown property {unknown[0]!r} (known: {', '.join(sorted(known))})", param_hint="--property"
            )

        def flag(name: str) -> bool:
            return props.get(name, "false").strip().lower() == "true"

        def sep(name: str, default: str) -> bytes:
            value = props.get(name, default)
            if not value:
                raise click.BadParameter(f"{name} must not be empty", param_hint="--property")
            return value.encode()

        reader = cls(
            flag("parse.key"),
            sep("key.separator", "\t"),
            flag("parse.headers"),
            sep("headers.delimiter", "\t"),
            sep("headers.separator", ","),
            sep("headers.key.separator", ":"),
            props["null.marker"].encode() if props.get("null.marker") else None,
            flag("ignore.error"),
        )
        if reader.parse_headers and reader.headers_separator == reader.headers_key_separator:
            raise click.BadParameter("headers.separator and headers.key.separator must differ", param_hint="--property")
        return reader

    def _null(self, b: bytes | None) -> bytes | None:
        return None if b is not None and self.null_marker is not None and b == self.null_marker else b

    def parse(self, line: bytes, number: int) -> tuple[list[tuple[str, bytes | None]], bytes | None, bytes | None]:
        headers: list[tuple[str, bytes | None]] = []
        rest = line
        if self.parse_headers:
            head, sep, tail = rest.partition(self.headers_delimiter)
            if not sep:
                if not self.ignore_error:
                    raise LineFormatError(f"No headers delimiter found on line number {number}: '{_show(line)}'")
            else:
                rest = tail
                for item in head.split(self.headers_separator):
                    if not item:
                        continue
                    k, ksep, v = item.partition(self.headers_key_separator)
                    if not k:
                        raise LineFormatError(f"Header key cannot be empty on line number {number}")
                    headers.append((k.decode("utf-8", "replace"), self._null(v) if ksep else None))
        key: bytes | None = None
        if self.parse_key:
            k, sep, v = rest.partition(self.key_separator)
            if not sep:
                if not self.ignore_error:
                    raise LineFormatError(f"No key separator found on line number {number}: '{_show(line)}'")
                return headers, None, self._null(rest)
            key, rest = self._null(k), v
        return headers, key, self._null(rest)


def _show(line: bytes) -> str:
    return line.decode("utf-8", "replace")


def _lines(stream: BinaryIO):
    """Lines without their terminator (``\\n``, ``\\r\\n``), as Java's readLine; no empty last line."""
    for raw in stream:
        if raw.endswith(b"\n"):
            raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
        yield raw


@click.command(short_help="Send lines from stdin to TOPIC as records.")
@click.argument("topic")
@click.option(
    "--file", "-f", "input_file", type=click.File("rb"), default=None, help="Read lines from FILE instead of stdin."
)
@click.option(
    "--property",
    "properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="Line reader setting: parse.key, key.separator, parse.headers, headers.delimiter, "
    "headers.separator, headers.key.separator, null.marker, ignore.error.",
)
@click.option(
    "--header", "-H", "headers", multiple=True, metavar="KEY=VALUE", help="A header added to every record (repeatable)."
)
@click.option(
    "--partition",
    "-p",
    type=click.IntRange(min=0),
    default=None,
    help="Send every record to this partition (default: the partitioner decides).",
)
@click.option(
    "--compression",
    "--compression-codec",
    type=click.Choice(_COMPRESSION),
    default="none",
    show_default=True,
    help="Compression of the batches sent.",
)
@click.option(
    "--acks",
    "--request-required-acks",
    type=click.Choice(["all", "-1", "0", "1"]),
    default="all",
    show_default=True,
    help="Acknowledgements the producer waits for.",
)
@click.option("--sync", is_flag=True, help="Send each record and wait for it before the next.")
@click.option(
    "--linger-ms", type=click.IntRange(min=0), default=5, show_default=True, help="How long to wait to fill a batch."
)
@click.option(
    "--producer-property",
    "producer_properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any librdkafka producer setting (repeatable).",
)
@client_options
def produce(
    topic,
    input_file,
    properties,
    headers,
    partition,
    compression,
    acks,
    sync,
    linger_ms,
    producer_properties,
    client: ClientSettings,
):
    """Send lines from stdin (or --file) to TOPIC as records, one record per line.

    \b
    Examples:
      kavka produce orders < orders.txt
      echo 'user1:{"total":12}' | kavka produce orders --property parse.key=true --property key.separator=:
      echo 'trace:abc,env:prod<TAB>k<TAB>v' | kavka produce orders \\
          --property parse.headers=true --property parse.key=true
      kavka produce orders --partition 0 --compression zstd --acks 1 --file data.txt
    """
    reader = LineReader.from_properties(parse_assignments(properties, "--property"))
    fixed_headers = [(k, v.encode()) for k, v in parse_assignments(headers, "--header").items()]
    extra = {
        "acks": "all" if acks in ("all", "-1") else acks,
        "compression.type": compression,
        "linger.ms": 0 if sync else linger_ms,
        "message.timeout.ms": max(30000, client.request_timeout_ms),
        "enable.idempotence": acks in ("all", "-1"),
    }
    extra.update(parse_assignments(producer_properties, "--producer-property"))
    producer = client.producer(extra)
    _check_topic(producer, client, topic, partition)

    failures: list[str] = []
    sent = 0

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            key = msg.key()
            failures.append(
                f"Error when sending message to topic {topic} with key: "
                f"{'null' if key is None else f'{len(key)} bytes'}, value: "
                f"{len(msg.value() or b'')} bytes with error: {kafka_error_text(err)}"
            )

    stream = input_file if input_file is not None else sys.stdin.buffer
    for number, line in enumerate(_lines(stream), start=1):
        try:
            line_headers, key, value = reader.parse(line, number)
        except LineFormatError as e:
            producer.flush(client.timeout)
            raise CliError(str(e)) from None
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": delivered}
        if line_headers or fixed_headers:
            kwargs["headers"] = fixed_headers + line_headers
        if partition is not None:
            kwargs["partition"] = partition
        _produce(producer, topic, kwargs)
        sent += 1
        if sync:
            producer.flush()
            if failures:
                break
        else:
            producer.poll(0)
    remaining = producer.flush(max(30.0, client.timeout * 3))
    for text in failures:
        click.echo(text, err=True)
    if remaining:
        raise CliError(f"{remaining} of {sent} records were not acknowledged in time.")
    if failures:
        raise SystemExit(1)


def _produce(producer: Any, topic: str, kwargs: dict[str, Any]) -> None:
    while True:
        try:
            producer.produce(topic, **kwargs)
            return
        except BufferError:  # local queue full: serve delivery reports, then retry
            producer.poll(0.1)


def _check_topic(producer: Any, client: ClientSettings, topic: str, partition: int | None) -> None:
    """Reachability, then the topic (which the broker may auto-create) and the partition."""
    md = client.metadata(producer)
    tmd = md.topics.get(topic)
    if tmd is None or tmd.error is not None:
        md = client.metadata(producer, topic)  # lets the broker auto-create it, when it does that
        tmd = md.topics.get(topic)
    if tmd is None or (tmd.error is not None and not tmd.partitions):
        detail = f": {kafka_error_text(tmd.error)}" if tmd is not None and tmd.error is not None else "."
        raise CliError(f"Topic '{topic}' does not exist{detail}")
    if partition is not None and partition not in tmd.partitions:
        raise CliError(f"Partition {partition} does not exist: topic '{topic}' has {len(tmd.partitions)} partition(s).")
