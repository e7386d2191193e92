"""What Kavka does with each broker config it knows: acts on it, or accepts it without effect.

Every broker config of Kafka's catalogue parses, validates, is stored and is described (``configdefs``);
``NOT_ACTED_ON`` names those that change nothing in Kavka (docs/configuration.md lists them, and
``kavka serve`` warns when ``server.properties`` sets one), ``APPLIED_AT_START`` those Kafka changes live
but Kavka only reads when it starts. Every other config is acted on: when Kafka's update mode is dynamic,
a change applies live (the broker re-applies configs on every committed change).
"""

from __future__ import annotations

from .configdefs import KAVKA_DEFINED
from .kafkabrokerconfigs import KAFKA_BROKER_CONFIGS

__all__ = ["APPLIED_AT_START", "NOT_ACTED_ON"]

# Dynamic in Kafka (new listeners are bound live), read only at start in Kavka: a change is stored and
# described, and applies from the next start.
APPLIED_AT_START: frozenset[str] = frozenset({"listeners", "listener.security.protocol.map"})

# Configs Kavka accepts, validates, stores and describes but does not act on (docs/configuration.md,
# "Accepted, not acted on"): all of Kafka's that Kavka has no definition of, and these of its own.
NOT_ACTED_ON: frozenset[str] = frozenset(
    (KAFKA_BROKER_CONFIGS.keys() - KAVKA_DEFINED)
    | {
        # asyncio: one event loop, no thread pools or request queue between network and I/O threads
        "num.io.threads",
        "num.network.threads",
        "background.threads",
        "num.recovery.threads.per.data.dir",
        "log.cleaner.threads",
        "queued.max.requests",
        # the OS defaults are kept
        "socket.send.buffer.bytes",
        "socket.receive.buffer.bytes",
        # the metadata log's start moves up to each snapshot rather than by size; voters are static
        # (no KIP-853 discovery)
        "metadata.max.retention.bytes",
        "controller.quorum.bootstrap.servers",
        # no tiered storage, v2 records only
        "log.local.retention.ms",
        "log.local.retention.bytes",
        "log.message.downconversion.enable",
        # recompression uses each codec's default level; segments are not preallocated
        "compression.gzip.level",
        "compression.lz4.level",
        "compression.zstd.level",
        "log.preallocate",
        # checkpoints are written on their own schedule, offsets load in one pass
        "log.flush.offset.checkpoint.interval.ms",
        "log.flush.start.offset.checkpoint.interval.ms",
        "offsets.load.buffer.size",
        "group.coordinator.rebalance.protocols",
    }
)
