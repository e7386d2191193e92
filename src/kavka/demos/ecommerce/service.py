"""The at-least-once loop every saga service runs, and reading a topic back to rebuild state.

A service consumes its input topics in its own consumer group and, per batch of records:

1. decodes each record and skips an event it has already handled (by event id: the ids of the events
   that caused what it has published, ``handled``);
2. hands the event to `Service.handle`, which updates the service's state and returns the events to
   publish, each produced with the input's key (userId) and ``correlation-id`` header;
3. waits until every produced record is acknowledged (acks=all), then commits the batch's offsets.

A kill -9 anywhere in this loop loses nothing (offsets are committed only after the outputs are
stored) and duplicates nothing that matters: on start, before consuming, the service reads its own
output topic from the beginning (`Service.restore` for each event), which rebuilds both its state and
``handled``, so the events redelivered from the last committed offset are recognised.

A record that is not an event (bad JSON, no correlation id) goes to ``<topic>.DLT`` with the error and
its origin in headers, as the guide's dead-letter pattern says, and the service goes on.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import click
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from kavka.demos.ecommerce import events as ev


class Service:
    """One saga participant. Subclasses set ``name``, ``inputs`` and ``output`` (the topic whose
    events `restore` replays; None for a service that publishes nothing) and implement `handle`."""

    name = "service"
    inputs: tuple[str, ...] = ()
    output: str | None = None

    def __init__(self, bootstrap: str, crash_after: int | None = None) -> None:
        self.bootstrap = bootstrap
        self.handled: set[str] = set()
        self.producer: Producer | None = None
        # fault injection: SIGKILL itself once this many events are published and acknowledged, before
        # their offsets are committed, so the restarted service sees them again
        self.crash_after = crash_after
        self.published = 0

    @property
    def group(self) -> str:
        return ev.GROUPS[self.name]

    # -- to implement ----------------------------------------------------------------------------

    def handle(self, event: ev.Event) -> list[ev.Event]:
        """Act on one input event; update state; return the events to publish (state already includes
        them, so a second copy of ``event`` in the same run is skipped by ``handled``)."""
        raise NotImplementedError

    def restore(self, event: ev.Event) -> None:
        """Apply one event this service published earlier (read back from ``output`` at start)."""

    def start(self) -> None:
        """Called once before consuming, after the output topic has been replayed."""

    def after_batch(self) -> None:
        """Called after a batch's events are produced, before the flush and the commit."""

    def idle(self) -> None:
        """Called when a poll returned nothing."""

    # -- helpers for subclasses ------------------------------------------------------------------

    def publish(self, topic: str, key: str, value: bytes, headers: ev.Headers = None) -> None:
        assert self.producer is not None
        self.producer.produce(topic, key=key.encode(), value=value, headers=headers, on_delivery=self._delivered)

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._delivery_errors.append(f"{msg.topic()}: {err.str()}")

    # -- the loop --------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Restore, then consume until ``stop`` is set. Raises RuntimeError when a produce fails."""
        self._delivery_errors: list[str] = []
        self.producer = Producer(ev.producer_config(self.bootstrap, f"{self.name}-service"))
        if self.output is not None:
            for msg in read_log(self.bootstrap, [self.output]):
                event = ev.decode(msg.value(), msg.headers())
                if event.causation_id is not None:
                    self.handled.add(event.causation_id)
                self.restore(event)
        self.start()
        self.flush()
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                # static membership: a restarted instance takes its partitions back at once, instead of
                # waiting for the killed one's session to time out
                "group.instance.id": f"{self.group}-1",
                "session.timeout.ms": 10_000,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "client.id": f"{self.name}-service",
            }
        )
        ready = threading.Event()

        def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
            if not ready.is_set():
                ready.set()
                print(f"{self.name}: ready (group {self.group}, {len(partitions)} partitions)", flush=True)

        consumer.subscribe(list(self.inputs), on_assign=on_assign)
        redelivered = 0
        try:
            while not stop.is_set():
                batch = consumer.consume(500, 0.2)
                if not batch:
                    self.idle()
                    continue
                for msg in batch:
                    error = msg.error()
                    if error is not None:
                        if error.fatal():
                            raise KafkaException(error)
                        print(f"{self.name}: consumer: {error.str()}", file=sys.stderr, flush=True)
                        continue
                    try:
                        event = ev.decode(msg.value(), msg.headers())
                    except (ValueError, KeyError, TypeError) as e:
                        self.dead_letter(msg, e)
                        continue
                    if event.event_id in self.handled:
                        redelivered += 1
                        continue
                    for out in self.handle(event):
                        assert self.output is not None
                        self.handled.add(event.event_id)
                        self.publish(self.output, out.user_id, out.value(), out.headers())
                        self.published += 1
                if redelivered:
                    print(f"{self.name}: {redelivered} redelivered events already handled, skipped", flush=True)
                    redelivered = 0
                self.after_batch()
                self.flush()
                if self.crash_after is not None and self.published >= self.crash_after:
                    print(f"{self.name}: crashing after {self.published} events, before committing", flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)
                consumer.commit(asynchronous=False)
        finally:
            consumer.close()

    def flush(self) -> None:
        assert self.producer is not None
        left = self.producer.flush(30)
        if left:
            raise RuntimeError(f"{left} events not acknowledged within 30 s")
        if self._delivery_errors:
            raise RuntimeError(f"produce failed: {self._delivery_errors[0]}")

    def dead_letter(self, msg: Message, error: Exception) -> None:
        topic = f"{msg.topic()}.DLT"
        print(f"{self.name}: {msg.topic()}[{msg.partition()}]@{msg.offset()} is not an event ({error}); to {topic}")
        headers: ev.Headers = [
            ("dlt-original-topic", str(msg.topic()).encode()),
            ("dlt-original-partition", str(msg.partition()).encode()),
            ("dlt-original-offset", str(msg.offset()).encode()),
            ("dlt-error", str(error).encode()),
        ]
        assert self.producer is not None
        self.producer.produce(topic, key=msg.key(), value=msg.value(), headers=headers, on_delivery=self._delivered)


def read_log(
    bootstrap: str, topics: list[str], ends: Mapping[tuple[str, int], int] | None = None, timeout: float = 60.0
) -> Iterator[Message]:
    """Every record of ``topics`` from the log start up to the end offsets read now (or up to
    ``ends[(topic, partition)]``, exclusive), partition by partition in offset order."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kavka-demo-reader",  # never joins nor commits: partitions are assigned
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        remaining: dict[tuple[str, int], int] = {}
        start: list[TopicPartition] = []
        for topic in topics:
            described = metadata.topics.get(topic)
            if described is None or described.error is not None:
                raise RuntimeError(f"topic {topic} not found at {bootstrap}")
            for p in described.partitions:
                low, high = watermarks(consumer, TopicPartition(topic, p))
                end = high if ends is None else min(high, ends.get((topic, p), 0))
                if end > low:
                    remaining[(topic, p)] = end
                    start.append(TopicPartition(topic, p, low))
        consumer.assign(start)
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise RuntimeError(f"reading {', '.join(topics)} back took over {timeout:.0f} s")
            for msg in consumer.consume(500, 0.5):
                key = (str(msg.topic()), int(msg.partition() or 0))
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.pop(key, None)
                        continue
                    raise KafkaException(error)
                if key not in remaining:
                    continue
                end, offset = remaining[key], msg.offset() or 0
                if offset < end:
                    yield msg
                if offset + 1 >= end:
                    del remaining[key]
    finally:
        consumer.close()


_RETRIABLE = (
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT,
)


def watermarks(consumer: Consumer, partition: TopicPartition, timeout: float = 30.0) -> tuple[int, int]:
    """(log start, high watermark) of ``partition``, retried while the partition's leader is still being
    settled (Kafka answers NOT_LEADER for a moment after creating a topic)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            return int(low), int(high)
        except KafkaException as e:
            if e.args[0].code() not in _RETRIABLE or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def committed_offsets(bootstrap: str, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """The offsets ``group`` has committed on ``topics`` (partitions without one are left out)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [TopicPartition(t, p) for t in topics for p in metadata.topics[t].partitions]
        return {
            (tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, timeout=10) if tp.offset >= 0
        }
    finally:
        consumer.close()


def main(service: Service) -> None:
    """Run ``service`` until SIGTERM or SIGINT; exit 1 with a one-line message when it fails."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        service.run(stop)
    except (RuntimeError, KafkaException) as e:
        print(f"{service.name}: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"{service.name}: stopped", flush=True)


def service_command(service: type[Service]) -> click.Command:
    """The command line of a service: ``--bootstrap-servers`` and ``--crash-after-events``."""

    module_doc = sys.modules[service.__module__].__doc__ or ""

    @click.command(help=module_doc.split("\n\n")[0])
    @bootstrap_option
    @click.option(
        "--crash-after-events",
        type=click.IntRange(min=1),
        default=None,
        help="Fault injection: kill -9 itself once it has published this many events, before committing "
        "the offsets of the batch (the restarted service gets the batch again).",
    )
    def command(bootstrap: str, crash_after_events: int | None) -> None:
        main(service(bootstrap, crash_after_events))

    return command


def bootstrap_option(f: Any) -> Any:
    """``--bootstrap-servers`` (also ``--bootstrap-server``, ``-b``), Kafka's usual localhost:9092 by default."""
    return click.option(
        "--bootstrap-servers",
        "--bootstrap-server",
        "-b",
        "bootstrap",
        default="localhost:9092",
        show_default=True,
        help="Kafka brokers to contact.",
    )(f)
