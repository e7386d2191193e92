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

__all__ = ["APPLIED_AT_START", "NOT_ACTED_ON", "SASL_ACTED_ON", "TLS_ACTED_ON"]

# Kafka's TLS settings that Kavka's TLS listeners and links read when they start (broker-wide; per
# listener, listener.name.<l>.ssl.* reloads live), though Kavka has no definition of its own for them.
_TLS_STORES_AND_PROTOCOLS: frozenset[str] = frozenset(
    {
        "ssl.cipher.suites",
        "ssl.client.auth",
        "ssl.enabled.protocols",
        "ssl.endpoint.identification.algorithm",
        "ssl.key.password",
        "ssl.keystore.certificate.chain",
        "ssl.keystore.key",
        "ssl.keystore.location",
        "ssl.keystore.password",
        "ssl.keystore.type",
        "ssl.protocol",
        "ssl.truststore.certificates",
        "ssl.truststore.location",
        "ssl.truststore.password",
        "ssl.truststore.type",
    }
)

# Dynamic in Kafka (new listeners are bound live), read only at start in Kavka: a change is stored and
# described, and applies from the next start.
APPLIED_AT_START: frozenset[str] = (
    frozenset(
        {
            "listeners",
            "listener.security.protocol.map",
            "sasl.enabled.mechanisms",
            "sasl.jaas.config",
            "sasl.mechanism.inter.broker.protocol",
        }
    )
    | _TLS_STORES_AND_PROTOCOLS
)

# Every TLS setting kavka.server.tls applies.
TLS_ACTED_ON: frozenset[str] = _TLS_STORES_AND_PROTOCOLS | {
    "security.inter.broker.protocol",
    "ssl.principal.mapping.rules",
}

# SASL configs the SASL listeners read (kavka.server.sasl)
SASL_ACTED_ON = frozenset(
    {
        "sasl.enabled.mechanisms",
        "sasl.jaas.config",
        "sasl.server.max.receive.size",
        "connections.max.reauth.ms",
        "connection.failed.authentication.delay.ms",
        "sasl.mechanism.inter.broker.protocol",
        "sasl.mechanism.controller.protocol",
        "sasl.server.callback.handler.class",
        "sasl.oauthbearer.jwks.endpoint.url",
        "sasl.oauthbearer.expected.audience",
        "sasl.oauthbearer.expected.issuer",
        "sasl.oauthbearer.sub.claim.name",
        "sasl.oauthbearer.clock.skew.seconds",
    }
)

# Configs Kavka accepts, validates, stores and describes but does not act on (docs/configuration.md,
# "Accepted, not acted on"): all of Kafka's that Kavka has no definition of, and these of its own.
NOT_ACTED_ON: frozenset[str] = frozenset(
    (KAFKA_BROKER_CONFIGS.keys() - KAVKA_DEFINED - TLS_ACTED_ON - SASL_ACTED_ON)
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
