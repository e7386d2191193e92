"""``kavka bench produce | consume | e2e``: Kafka's ``kafka-producer-perf-test.sh``,
``kafka-consumer-perf-test.sh`` and ``EndToEndLatency``, with a rich progress bar on stderr.

- produce: latency is from ``produce()`` to the delivery report, as Kafka's tool measures it.
- consume: reads from the start of every partition (no group) until ``--messages`` records.
- e2e: one record at a time, produced with acks=all and read back by a consumer assigned to the
  partition; latency is produce to receipt.

The summary lines go to stdout; the progress bar (only on a terminal) goes to stderr.
"""

from __future__ import annotations

import os
import time
from typing import Any

import click

from kavka.cli.common import ClientSettings, CliError, client_options, kafka_error_text, parse_assignments

__all__ = ["bench", "percentile"]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (Kafka's perf test uses the same)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def _latency_summary(latencies_ms: list[float]) -> str:
    lat = sorted(latencies_ms)
    avg = sum(lat) / len(lat) if lat else 0.0
    return (
        f"{avg:.2f} ms avg latency, {lat[-1] if lat else 0:.2f} ms max latency, "
        f"{percentile(lat, 0.5):.0f} ms 50th, {percentile(lat, 0.95):.0f} ms 95th, "
        f"{percentile(lat, 0.99):.0f} ms 99th, {percentile(lat, 0.999):.0f} ms 99.9th."
    )


def _progress(label: str) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )


def _check_topic(client: ClientSettings, handle: Any, topic: str) -> Any:
    md = client.metadata(handle)
    tmd = md.topics.get(topic)
    if tmd is None or not tmd.partitions:
        raise CliError(f"Topic '{topic}' does not exist.")
    return tmd


@click.group(short_help="Measure throughput and latency.")
def bench() -> None:
    """Measure throughput and latency (kafka-producer-perf-test.sh and friends).

    \b
    Examples:
      kavka bench produce perf --num-records 1000000 --record-size 100 --throughput -1
      kavka bench produce perf --num-records 100000 --record-size 1000 --producer-props acks=1 linger.ms=5
      kavka bench consume perf --messages 1000000
      kavka bench e2e perf --num-records 1000
    """


@bench.command(name="produce", short_help="Time sending records to a topic.")
@click.argument("topic")
@click.option("--num-records", type=click.IntRange(min=1), required=True, help="Records to send.")
@click.option(
    "--record-size",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Bytes per record value (random, fixed for the run).",
)
@click.option(
    "--throughput", type=int, default=-1, show_default=True, help="Records per second at most; -1 for no limit."
)
@click.option(
    "--producer-props",
    multiple=True,
    metavar="KEY=VALUE",
    help="Producer settings (librdkafka names), e.g. acks=1 linger.ms=5 compression.type=lz4.",
)
@client_options
def bench_produce(topic, num_records, record_size, throughput, producer_props, client: ClientSettings):
    """Send --num-records records of --record-size bytes and report throughput and latency."""
    props = {"acks": "all", "linger.ms": 5, "queue.buffering.max.messages": 1000000}
    props.update(parse_assignments([p for item in producer_props for p in item.split()], "--producer-props"))
    producer = client.producer(props)
    _check_topic(client, producer, topic)
    payload = os.urandom(record_size)
    latencies: list[float] = []
    errors: list[str] = []

    def report(err: Any, _msg: Any, sent_at: float) -> None:
        if err is not None:
            if len(errors) < 5:
                errors.append(kafka_error_text(err))
            return
        latencies.append((time.perf_counter() - sent_at) * 1000)

    start = time.perf_counter()
    with _progress("producing") as progress:
        task = progress.add_task("produce", total=num_records)
        for i in range(num_records):
            if throughput > 0:  # poll() returns early when it serves a report: wait until the slot
                due = start + i / throughput
                while (delay := due - time.perf_counter()) > 0:
                    producer.poll(delay)
            t0 = time.perf_counter()
            while True:
                try:
                    producer.produce(topic, payload, on_delivery=lambda e, m, t0=t0: report(e, m, t0))
                    break
                except BufferError:
                    producer.poll(0.01)
            producer.poll(0)
            if i % 1000 == 0:
                progress.update(task, completed=len(latencies))
        while producer.flush(0.2):
            progress.update(task, completed=len(latencies))
            if time.perf_counter() - start > max(600.0, client.timeout):
                break
    elapsed = time.perf_counter() - start
    done = len(latencies)
    rate = done / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"{done} records sent, {rate:.1f} records/sec ({rate * record_size / 2**20:.2f} MB/sec), "
        + _latency_summary(latencies)
    )
    if errors:
        raise CliError(f"{num_records - done} records failed; first error: {errors[0]}")


@bench.command(name="consume", short_help="Time reading records from a topic.")
@click.argument("topic")
@click.option("--messages", type=click.IntRange(min=1), required=True, help="Records to read.")
@click.option("--consumer-props", multiple=True, metavar="KEY=VALUE", help="Consumer settings (librdkafka names).")
@click.option(
    "--idle-timeout",
    type=float,
    default=10.0,
    show_default=True,
    help="Stop when no record arrived for this many seconds.",
)
@client_options
def bench_consume(topic, messages, consumer_props, idle_timeout, client: ClientSettings):
    """Read --messages records from the start of TOPIC and report throughput."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    conf = {"group.id": f"kavka-bench-{os.getpid()}", "enable.auto.commit": False, "fetch.wait.max.ms": 100}
    conf.update(parse_assignments([p for item in consumer_props for p in item.split()], "--consumer-props"))
    consumer = client.consumer(conf)
    try:
        tmd = _check_topic(client, consumer, topic)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in tmd.partitions])
        count = size = 0
        start = last = time.perf_counter()
        first = None
        with _progress("consuming") as progress:
            task = progress.add_task("consume", total=messages)
            while count < messages and time.perf_counter() - last < idle_timeout:
                for msg in consumer.consume(num_messages=min(10000, messages - count), timeout=0.2):
                    if msg.error() is not None:
                        continue
                    if first is None:
                        first = time.perf_counter()
                    count += 1
                    size += len(msg.value() or b"") + len(msg.key() or b"")
                    last = time.perf_counter()
                progress.update(task, completed=count)
        end = time.perf_counter()
    finally:
        consumer.close()
    elapsed = max(end - start, 1e-9)
    mb = size / 2**20
    click.echo(
        f"{count} records consumed, {mb:.2f} MB in {elapsed:.2f} s: {count / elapsed:.1f} records/sec, "
        f"{mb / elapsed:.2f} MB/sec (first record after {((first or end) - start) * 1000:.0f} ms)."
    )
    if count < messages:
        raise CliError(f"Only {count} of {messages} records arrived within the idle timeout of {idle_timeout:g}s.")


@bench.command(name="e2e", short_help="Time produce-to-consume round trips.")
@click.argument("topic")
@click.option("--num-records", type=click.IntRange(min=1), default=1000, show_default=True, help="Round trips to time.")
@click.option("--record-size", type=click.IntRange(min=1), default=100, show_default=True, help="Bytes per record.")
@click.option("--producer-props", multiple=True, metavar="KEY=VALUE", help="Producer settings.")
@client_options
def bench_e2e(topic, num_records, record_size, producer_props, client: ClientSettings):
    """Time produce-to-consume of one record at a time (Kafka's EndToEndLatency)."""
    from confluent_kafka import TopicPartition

    props = {"acks": "all", "linger.ms": 0}
    props.update(parse_assignments([p for item in producer_props for p in item.split()], "--producer-props"))
    producer = client.producer(props)
    consumer = client.consumer(
        {
            "group.id": f"kavka-e2e-{os.getpid()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 1,
            "fetch.error.backoff.ms": 1,
        }
    )
    latencies: list[float] = []
    try:
        _check_topic(client, producer, topic)
        # Start at the current end as a concrete offset (as EndToEndLatency's seekToEnd + position):
        # assigning OFFSET_END resolves asynchronously and could land after record 0.
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=client.timeout)
        consumer.assign([TopicPartition(topic, 0, high)])
        with _progress("round trips") as progress:
            task = progress.add_task("e2e", total=num_records)
            for i in range(num_records):
                payload = i.to_bytes(8, "big") + os.urandom(max(0, record_size - 8))
                t0 = time.perf_counter()
                producer.produce(topic, payload, partition=0)
                producer.flush(client.timeout)
                deadline = t0 + client.timeout
                while True:
                    got = consumer.consume(num_messages=1, timeout=max(0.0, deadline - time.perf_counter()))
                    if got and got[0].error() is None and got[0].value() == payload:
                        break
                    if time.perf_counter() >= deadline:
                        raise CliError(f"Record {i} did not come back within {client.timeout:g}s.")
                latencies.append((time.perf_counter() - t0) * 1000)
                progress.update(task, completed=i + 1)
    finally:
        consumer.close()
    click.echo(f"{len(latencies)} round trips, " + _latency_summary(latencies))
