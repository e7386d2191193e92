"""The differences between Apache Kafka (the version pinned in interop/java/pom.xml) and Kavka that the
differential tests know of. Each is explained in docs/compatibility.md. A test compares what it finds
with these exactly: a new difference fails, and so does a fixed one until it is taken off the list.
"""

from __future__ import annotations

KAFKA_VERSION = "4.4.0"

# ApiVersions: api_key -> (Kafka's (min, max) or None, Kavka's (min, max) or None). Kavka serves the
# versions of Kafka 4.0/4.1 and not SASL, delegation tokens, quotas, SCRAM changes, features updates,
# share groups, streams groups or Raft voter changes (docs/compatibility.md, "ApiVersions").
API_VERSION_DIFFERENCES: dict[int, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    0: ((0, 13), (0, 11)),  # Produce
    1: ((4, 18), (4, 12)),  # Fetch
    2: ((1, 11), (1, 9)),  # ListOffsets
    3: ((0, 13), (0, 12)),  # Metadata
    17: ((0, 1), None),  # SaslHandshake
    18: ((0, 5), (0, 4)),  # ApiVersions
    24: ((0, 5), (0, 3)),  # AddPartitionsToTxn
    25: ((0, 4), (0, 3)),  # AddOffsetsToTxn
    26: ((0, 5), (0, 4)),  # EndTxn
    27: ((1, 2), (1, 1)),  # WriteTxnMarkers
    28: ((0, 6), (0, 4)),  # TxnOffsetCommit
    34: ((1, 2), None),  # AlterReplicaLogDirs
    36: ((0, 2), None),  # SaslAuthenticate
    38: ((1, 3), None),  # CreateDelegationToken
    39: ((1, 2), None),  # RenewDelegationToken
    40: ((1, 2), None),  # ExpireDelegationToken
    41: ((1, 3), None),  # DescribeDelegationToken
    48: ((0, 1), None),  # DescribeClientQuotas
    49: ((0, 1), None),  # AlterClientQuotas
    51: ((0, 0), None),  # AlterUserScramCredentials
    57: ((0, 2), None),  # UpdateFeatures
    64: ((0, 0), None),  # UnregisterBroker
    66: ((0, 2), (0, 1)),  # ListTransactions
    74: ((0, 1), None),  # ListConfigResources
    76: ((1, 1), None),  # ShareGroupHeartbeat
    77: ((1, 1), None),  # ShareGroupDescribe
    78: ((1, 2), None),  # ShareFetch
    79: ((1, 2), None),  # ShareAcknowledge
    80: ((0, 1), None),  # AddRaftVoter
    81: ((0, 0), None),  # RemoveRaftVoter
    83: ((0, 0), None),  # InitializeShareGroupState
    84: ((0, 0), None),  # ReadShareGroupState
    85: ((0, 1), None),  # WriteShareGroupState
    86: ((0, 0), None),  # DeleteShareGroupState
    87: ((0, 1), None),  # ReadShareGroupStateSummary
    88: ((0, 1), None),  # StreamsGroupHeartbeat
    89: ((0, 1), None),  # StreamsGroupDescribe
    90: ((0, 1), None),  # DescribeShareGroupOffsets
    91: ((0, 0), None),  # AlterShareGroupOffsets
    92: ((0, 0), None),  # DeleteShareGroupOffsets
    93: ((0, 0), None),  # (a key kio does not know)
    94: ((0, 0), None),  # (a key kio does not know)
}

# ApiVersions features (lines from oraclediff.differences; the features epoch is normalised away).
FEATURE_DIFFERENCES = [
    "finalized_features[eligible.leader.replicas.version]: kafka only",
    "finalized_features[kraft.version]: kafka only",
    "finalized_features[metadata.version].max_version_level: kafka=33 kavka=25",
    "finalized_features[metadata.version].min_version_level: kafka=33 kavka=25",
    "finalized_features[share.version]: kafka only",
    "finalized_features[streams.version]: kafka only",
    "finalized_features[transaction.version]: kafka only",
    "supported_features[group.version]: kavka only",
    "supported_features[kraft.version]: kavka only",
    "supported_features[metadata.version].max_version: kafka=33 kavka=25",
    "supported_features[transaction.version]: kavka only",
]

# DescribeConfigs (docs/compatibility.md, "Configs"). Topic configs added after Kafka 4.1 (tiered storage
# copy lag, dead-letter queues for share groups, the decompression cap) are not in Kavka's catalogue.
KAFKA_ONLY_TOPIC_CONFIGS: set[str] = {
    "errors.deadletterqueue.group.enable",
    "max.decompressed.message.bytes",
    "remote.copy.lag.bytes",
    "remote.copy.lag.ms",
    "remote.log.copy.disable",
    "remote.log.delete.on.disable",
}
# Removed from Kafka in 4.0 (no down-conversion any more); Kavka still accepts and lists it.
KAVKA_ONLY_TOPIC_CONFIGS: set[str] = {
    "message.downconversion.enable",
}
# Kafka 4.4 formats new clusters with eligible leader replicas (ELR) on, and its controller then writes
# a cluster-level min.insync.replicas: DYNAMIC_DEFAULT_BROKER_CONFIG (3) where Kavka says DEFAULT (5).
TOPIC_CONFIG_LINES: list[str] = [
    "results[<topic>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    "results[<topic>].configs[min.insync.replicas].synonyms: kafka=[{'name': 'min.insync.replicas', 'value': '1', 'source': 3}, {'name': 'min.insync.replicas', 'value': '1', 'source': 5}] kavka=[{'name': 'min.insync.replicas', 'value': '1', 'source': 5}]",
]
# Broker configs of features Kavka does not have (SASL, SSL, quotas, tiered storage, share and streams
# groups, metrics reporters, delegation tokens, connection limits, replica fetchers' tuning, ...).
KAFKA_ONLY_BROKER_CONFIGS: set[str] = {
    "add.partitions.to.txn.retry.backoff.max.ms",
    "add.partitions.to.txn.retry.backoff.ms",
    "alter.config.policy.class.name",
    "alter.log.dirs.replication.quota.window.num",
    "alter.log.dirs.replication.quota.window.size.seconds",
    "auto.leader.rebalance.enable",
    "broker.heartbeat.interval.ms",
    "broker.session.timeout.ms",
    "client.quota.callback.class",
    "config.providers",
    "connection.failed.authentication.delay.ms",
    "connections.max.reauth.ms",
    "controlled.shutdown.enable",
    "controller.quorum.append.linger.ms",
    "controller.quorum.auto.join.enable",
    "controller.quorum.election.backoff.max.ms",
    "controller.quorum.election.timeout.ms",
    "controller.quorum.fetch.max.bytes",
    "controller.quorum.fetch.snapshot.max.bytes",
    "controller.quorum.fetch.timeout.ms",
    "controller.quorum.request.timeout.ms",
    "controller.quorum.retry.backoff.ms",
    "controller.quota.window.num",
    "controller.quota.window.size.seconds",
    "controller.socket.timeout.ms",
    "cordoned.log.dirs",
    "create.topic.policy.class.name",
    "delegation.token.expiry.check.interval.ms",
    "delegation.token.expiry.time.ms",
    "delegation.token.max.lifetime.ms",
    "delegation.token.secret.key",
    "delete.records.purgatory.purge.interval.requests",
    "early.start.listeners",
    "errors.deadletterqueue.auto.create.topics.enable",
    "errors.deadletterqueue.topic.name.prefix",
    "fetch.max.bytes",
    "fetch.purgatory.purge.interval.requests",
    "follower.fetch.last.tiered.offset.enable",
    "group.consumer.assignment.interval.ms",
    "group.consumer.max.assignment.interval.ms",
    "group.consumer.min.assignment.interval.ms",
    "group.coordinator.append.linger.ms",
    "group.coordinator.background.threads",
    "group.coordinator.cached.buffer.max.bytes",
    "group.coordinator.threads",
    "group.share.assignment.interval.ms",
    "group.share.assignors",
    "group.share.delivery.count.limit",
    "group.share.heartbeat.interval.ms",
    "group.share.max.assignment.interval.ms",
    "group.share.max.delivery.count.limit",
    "group.share.max.heartbeat.interval.ms",
    "group.share.max.partition.max.record.locks",
    "group.share.max.record.lock.duration.ms",
    "group.share.max.session.timeout.ms",
    "group.share.max.share.sessions",
    "group.share.max.size",
    "group.share.min.assignment.interval.ms",
    "group.share.min.delivery.count.limit",
    "group.share.min.heartbeat.interval.ms",
    "group.share.min.partition.max.record.locks",
    "group.share.min.record.lock.duration.ms",
    "group.share.min.session.timeout.ms",
    "group.share.partition.max.record.locks",
    "group.share.record.lock.duration.ms",
    "group.share.session.timeout.ms",
    "group.streams.assignment.interval.ms",
    "group.streams.assignors",
    "group.streams.heartbeat.interval.ms",
    "group.streams.initial.rebalance.delay.ms",
    "group.streams.max.assignment.interval.ms",
    "group.streams.max.heartbeat.interval.ms",
    "group.streams.max.session.timeout.ms",
    "group.streams.max.size",
    "group.streams.max.standby.replicas",
    "group.streams.min.assignment.interval.ms",
    "group.streams.min.heartbeat.interval.ms",
    "group.streams.min.session.timeout.ms",
    "group.streams.num.standby.replicas",
    "group.streams.rack.aware.assignment.tags",
    "group.streams.session.timeout.ms",
    "group.streams.topology.description.plugin.class",
    "initial.broker.registration.timeout.ms",
    "kafka.metrics.polling.interval.secs",
    "kafka.metrics.reporters",
    "leader.imbalance.check.interval.seconds",
    "log.cleaner.io.buffer.load.factor",
    "log.dir.failure.timeout.ms",
    "log.remote.copy.lag.bytes",
    "log.remote.copy.lag.ms",
    "max.connection.creation.rate",
    "max.decompressed.message.bytes",
    "max.incremental.fetch.session.cache.slots",
    "max.request.partition.size.limit",
    "metadata.log.max.record.bytes.between.snapshots",
    "metadata.log.max.snapshot.interval.ms",
    "metadata.log.segment.bytes",
    "metadata.log.segment.ms",
    "metadata.max.idle.interval.ms",
    "metadata.max.retention.bytes",
    "metadata.max.retention.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "num.replica.alter.log.dirs.threads",
    "num.replica.fetchers",
    "offset.metadata.max.bytes",
    "principal.builder.class",
    "producer.purgatory.purge.interval.requests",
    "quota.window.num",
    "quota.window.size.seconds",
    "remote.fetch.max.wait.ms",
    "remote.list.offsets.request.timeout.ms",
    "remote.log.index.file.cache.total.size.bytes",
    "remote.log.manager.copier.thread.pool.size",
    "remote.log.manager.copy.max.bytes.per.second",
    "remote.log.manager.copy.quota.window.num",
    "remote.log.manager.copy.quota.window.size.seconds",
    "remote.log.manager.expiration.thread.pool.size",
    "remote.log.manager.fetch.max.bytes.per.second",
    "remote.log.manager.fetch.quota.window.num",
    "remote.log.manager.fetch.quota.window.size.seconds",
    "remote.log.manager.follower.thread.pool.size",
    "remote.log.manager.task.interval.ms",
    "remote.log.manager.thread.pool.size",
    "remote.log.metadata.custom.metadata.max.bytes",
    "remote.log.metadata.manager.class.name",
    "remote.log.metadata.manager.class.path",
    "remote.log.metadata.manager.impl.prefix",
    "remote.log.metadata.manager.listener.name",
    "remote.log.reader.max.pending.tasks",
    "remote.log.reader.threads",
    "remote.log.storage.manager.class.name",
    "remote.log.storage.manager.class.path",
    "remote.log.storage.manager.impl.prefix",
    "remote.log.storage.system.enable",
    "replica.fetch.backoff.ms",
    "replica.fetch.max.bytes",
    "replica.fetch.min.bytes",
    "replica.fetch.response.max.bytes",
    "replica.fetch.wait.max.ms",
    "replica.high.watermark.checkpoint.interval.ms",
    "replica.lag.time.max.ms",
    "replica.selector.class",
    "replica.socket.receive.buffer.bytes",
    "replica.socket.timeout.ms",
    "replication.quota.window.num",
    "replication.quota.window.size.seconds",
    "sasl.client.callback.handler.class",
    "sasl.enabled.mechanisms",
    "sasl.jaas.config",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.principal.to.local.rules",
    "sasl.kerberos.service.name",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.login.callback.handler.class",
    "sasl.login.class",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.retry.backoff.max.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.mechanism.controller.protocol",
    "sasl.mechanism.inter.broker.protocol",
    "sasl.oauthbearer.allow.unverified.audience",
    "sasl.oauthbearer.allow.unverified.issuer",
    "sasl.oauthbearer.assertion.algorithm",
    "sasl.oauthbearer.assertion.claim.aud",
    "sasl.oauthbearer.assertion.claim.exp.seconds",
    "sasl.oauthbearer.assertion.claim.iss",
    "sasl.oauthbearer.assertion.claim.jti.include",
    "sasl.oauthbearer.assertion.claim.nbf.seconds",
    "sasl.oauthbearer.assertion.claim.sub",
    "sasl.oauthbearer.assertion.file",
    "sasl.oauthbearer.assertion.private.key.file",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "sasl.oauthbearer.assertion.template.file",
    "sasl.oauthbearer.client.credentials.client.id",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.clock.skew.seconds",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.jwks.endpoint.refresh.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.jwt.retriever.class",
    "sasl.oauthbearer.jwt.validator.class",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.server.callback.handler.class",
    "sasl.server.max.receive.size",
    "security.inter.broker.protocol",
    "security.providers",
    "share.coordinator.append.linger.ms",
    "share.coordinator.cached.buffer.max.bytes",
    "share.coordinator.load.buffer.size",
    "share.coordinator.snapshot.update.records.per.snapshot",
    "share.coordinator.state.topic.compression.codec",
    "share.coordinator.state.topic.min.isr",
    "share.coordinator.state.topic.num.partitions",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.segment.bytes",
    "share.coordinator.threads",
    "share.coordinator.write.timeout.ms",
    "share.fetch.purgatory.purge.interval.requests",
    "socket.connection.setup.timeout.max.ms",
    "socket.connection.setup.timeout.ms",
    "socket.listen.backlog.size",
    "ssl.allow.dn.changes",
    "ssl.allow.san.changes",
    "ssl.cipher.suites",
    "ssl.client.auth",
    "ssl.enabled.protocols",
    "ssl.endpoint.identification.algorithm",
    "ssl.engine.factory.class",
    "ssl.key.password",
    "ssl.keymanager.algorithm",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.principal.mapping.rules",
    "ssl.protocol",
    "ssl.provider",
    "ssl.secure.random.implementation",
    "ssl.trustmanager.algorithm",
    "ssl.truststore.certificates",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "telemetry.max.bytes",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
    "transaction.state.log.load.buffer.size",
    "transaction.two.phase.commit.enable",
}
# Kavka's own (cluster.id, console.*), Kafka's internal producer.id.expiration.check.interval.ms (not
# described by Kafka), and log.message.downconversion.enable (removed in Kafka 4.0).
KAVKA_ONLY_BROKER_CONFIGS: set[str] = {
    "cluster.id",
    "console.auth",
    "console.listener",
    "log.message.downconversion.enable",
    "producer.id.expiration.check.interval.ms",
}
# Kafka 4.4's defaults name the assignors by short name and add the streams protocol; ELR as above.
BROKER_CONFIG_LINES: list[str] = [
    "results[1].configs[group.consumer.assignors].synonyms[group.consumer.assignors].value: kafka='uniform,range' kavka='org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor'",
    "results[1].configs[group.consumer.assignors].value: kafka='uniform,range' kavka='org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor'",
    "results[1].configs[group.coordinator.rebalance.protocols].synonyms[group.coordinator.rebalance.protocols].value: kafka='classic,consumer,streams' kavka='classic,consumer'",
    "results[1].configs[group.coordinator.rebalance.protocols].value: kafka='classic,consumer,streams' kavka='classic,consumer'",
    "results[1].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    "results[1].configs[min.insync.replicas].synonyms: kafka=[{'name': 'min.insync.replicas', 'value': '1', 'source': 3}, {'name': 'min.insync.replicas', 'value': '1', 'source': 5}] kavka=[{'name': 'min.insync.replicas', 'value': '1', 'source': 5}]",
]
DESCRIBE_CONFIGS_ERROR_LINES: list[str] = []

# Admin requests, by step id (test_oracle_admin_requests). ELR as above; Kafka 4.4 mentions cordoned log
# directories (KIP-1066) in the replication-factor message and prints sets as Java lists ([a]) where
# Kavka keeps Kafka 4.0's Scala Set(a); Kafka accepts unknown broker config names (custom configs), Kavka
# refuses them; a legacy AlterConfigs of the cluster default would drop ELR's min.insync.replicas.
ADMIN_DIFFERENCES: dict[str, list[str]] = {
    "alter:broker-read-only": [
        "responses[1].error_message: kafka='Cannot update these configs dynamically: [num.partitions]' kavka='Cannot update these configs dynamically: Set(num.partitions)'",
    ],
    "alter:broker-synonym-hours": [
        "responses[1].error_message: kafka='Cannot update these configs dynamically: [log.retention.hours]' kavka='Cannot update these configs dynamically: Set(log.retention.hours)'",
    ],
    "alter:cluster-default": [
        "responses[].error_code: kafka=40 kavka=0",
        "responses[].error_message: kafka='Cluster-level min.insync.replicas cannot be removed while ELR is enabled.' kavka=None",
    ],
    "create:collides": [
        "topics[<dotted>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "create:defaults": [
        "topics[<b>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "create:rf-too-big": [
        "topics[<c>].error_message: kafka='Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered or some brokers have all their log directories cordoned.' kavka='Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.'",
    ],
    "create:valid": [
        "topics[<a>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "create:validate-only": [
        "topics[<b>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "incremental:broker-read-only": [
        "responses[1].error_message: kafka='Cannot update these configs dynamically: [num.partitions]' kavka='Cannot update these configs dynamically: Set(num.partitions)'",
    ],
    "incremental:broker-synonym-hours": [
        "responses[1].error_message: kafka='Cannot update these configs dynamically: [log.retention.hours]' kavka='Cannot update these configs dynamically: Set(log.retention.hours)'",
    ],
    "incremental:broker-unknown-name": [
        "responses[1].error_code: kafka=0 kavka=40",
        "responses[1].error_message: kafka=None kavka='Unknown broker config name: no.such.config'",
    ],
}

# test_oracle_clients.test_admin_client_scenario (confluent-kafka's view; see ADMIN_DIFFERENCES for the reasons).
CLIENT_ADMIN_DIFFERENCES: list[str] = [
    "create.<t>-c: kafka=('INVALID_REPLICATION_FACTOR', 'Unable to replicate the partition 5 time(s): The target "
    "replication factor of 5 cannot be reached because only 1 broker(s) are registered or some brokers have all "
    "their log directories cordoned.') kavka=('INVALID_REPLICATION_FACTOR', 'Unable to replicate the partition 5 "
    "time(s): The target replication factor of 5 cannot be reached because only 1 broker(s) are registered.')",
]

# test_kafka_tools: per step, (lines only Kafka printed, lines only Kavka printed). ELR's cluster-level
# min.insync.replicas shows in kafka-topics' Configs column and in kafka-configs' synonyms.
TOOL_DIFFERENCES_TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "configs-describe-all": (
        [
            "  min.insync.replicas=1 sensitive=false "
            "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=1, DEFAULT_CONFIG:min.insync.replicas=1}"
        ],
        ["  min.insync.replicas=1 sensitive=false synonyms={DEFAULT_CONFIG:min.insync.replicas=1}"],
    ),
    "topics-describe": (
        [
            "Topic: <topic>\tTopicId: <id>\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "
            "min.insync.replicas=1,cleanup.policy=compact"
        ],
        ["Topic: <topic>\tTopicId: <id>\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: cleanup.policy=compact"],
    ),
}

# Consumer groups (test_oracle_groups), by step: "scenario-part:step" -> the lines that differ. Kavka
# has no share coordinator (KIP-932): a well-formed share-group key is COORDINATOR_NOT_AVAILABLE.
GROUP_DIFFERENCES: dict[str, list[str]] = {
    "find:share-key-v6": ["coordinators[-1]: kavka only", "coordinators[1]: kafka only"],
}
