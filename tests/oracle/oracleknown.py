"""The differences between Apache Kafka (the version pinned in interop/java/pom.xml) and Kavka that the
differential tests know of. Each is explained in docs/compatibility.md. A test compares what it finds
with these exactly: a new difference fails, and so does a fixed one until it is taken off the list.
"""

from __future__ import annotations

KAFKA_VERSION = "4.4.0"

# ApiVersions: api_key -> (Kafka's (min, max) or None, Kavka's (min, max) or None). Kavka serves Kafka
# 4.4's versions of every API it implements, and not delegation tokens,
# share groups, streams groups or Raft voter changes (docs/compatibility.md, "ApiVersions").
API_VERSION_DIFFERENCES: dict[int, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    38: ((1, 3), None),  # CreateDelegationToken
    39: ((1, 2), None),  # RenewDelegationToken
    40: ((1, 2), None),  # ExpireDelegationToken
    41: ((1, 3), None),  # DescribeDelegationToken
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

# ApiVersions features (lines from oraclediff.differences; the features epoch is normalised away), v3:
# v0-3 list no supported feature whose minimum is 0, in both. Kafka 4.4 finalizes metadata.version 33,
# kraft.version 1 (dynamic voters), ELR, share and streams groups; Kavka 25 and none of those
# (kavka.controller.features says why).
# ApiVersions on the CONTROLLER listener (test_oracle_raft_wire.py): Kafka's controller set against
# Kavka's; what Kavka does not implement yet (docs/compatibility.md, "KRaft on the wire").
CONTROLLER_API_VERSION_DIFFERENCES: dict[int, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    38: ((1, 3), None),  # CreateDelegationToken
    39: ((1, 2), None),  # RenewDelegationToken
    40: ((1, 2), None),  # ExpireDelegationToken
    41: ((1, 3), None),  # DescribeDelegationToken
    58: ((0, 0), None),  # Envelope (forwarding)
    70: ((0, 0), None),  # ControllerRegistration
    73: ((0, 0), None),  # AssignReplicasToDirs
    80: ((0, 1), None),  # AddRaftVoter
    81: ((0, 0), None),  # RemoveRaftVoter
    82: ((0, 0), None),  # UpdateRaftVoter
    94: ((0, 0), None),  # (a key kio does not know)
}

# KRaft requests to each controller listener (test_oracle_raft_wire.py): scenario -> difference lines.
RAFT_WIRE_DIFFERENCES: dict[str, list[str]] = {
    # the core ignores an EndQuorumEpoch of an old epoch; Kavka answers NONE, echoing the request
    "end-old-epoch": [
        "node_endpoints[1]: kafka only",
        "topics[0].partitions[0].error_code: kafka=74 kavka=0",
        "topics[0].partitions[0].leader_epoch: kafka='<epoch>' kavka=0",
        "topics[0].partitions[0].leader_id: kafka=1 kavka=2",
    ],
    # the Raft driver does not tell the handler the metadata log's start offset
    "fetch-observer": ["responses[0].partitions[0].log_start_offset: kafka=0 kavka=-1"],
    "fetch-old-epoch": ["responses[0].partitions[0].log_start_offset: kafka=0 kavka=-1"],
    # Kafka 4.4 fails to write its own SNAPSHOT_NOT_FOUND answer (null records): UNKNOWN_SERVER_ERROR
    "fetch-snapshot-missing": [
        "error_code: kafka=-1 kavka=0",
        "node_endpoints[1]: kavka only",
        "topics[__cluster_metadata]: kavka only",
    ],
}

FEATURE_DIFFERENCES = [
    "finalized_features[eligible.leader.replicas.version]: kafka only",
    "finalized_features[kraft.version]: kafka only",
    "finalized_features[metadata.version].max_version_level: kafka=33 kavka=25",
    "finalized_features[metadata.version].min_version_level: kafka=33 kavka=25",
    "finalized_features[share.version]: kafka only",
    "finalized_features[streams.version]: kafka only",
    "supported_features[metadata.version].max_version: kafka=33 kavka=25",
]
# The same in v4, which lists every supported feature (the same names on both sides).
FEATURE_DIFFERENCES_V4 = [
    *(line for line in FEATURE_DIFFERENCES if line.startswith("finalized")),
    "supported_features[eligible.leader.replicas.version].max_version: kafka=1 kavka=0",
    "supported_features[kraft.version].max_version: kafka=1 kavka=0",
    "supported_features[metadata.version].max_version: kafka=33 kavka=25",
    "supported_features[share.version].max_version: kafka=2 kavka=0",
    "supported_features[streams.version].max_version: kafka=1 kavka=0",
]

# kafka-features describe: feature -> (Kafka's, Kavka's) (SupportedMinVersion, SupportedMaxVersion,
# FinalizedVersionLevel) where they differ; the same levels as FEATURE_DIFFERENCES_V4.
FEATURES_TOOL_DIFFERENCES: dict[str, tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    "eligible.leader.replicas.version": (("0", "1", "1"), ("0", "0", "0")),
    "kraft.version": (("0", "1", "1"), ("0", "0", "0")),
    "metadata.version": (("3.3-IV3", "4.4-IV2", "4.4-IV2"), ("3.3-IV3", "4.0-IV3", "4.0-IV3")),
    "share.version": (("0", "2", "2"), ("0", "0", "0")),
    "streams.version": (("0", "1", "1"), ("0", "0", "0")),
}

# UpdateFeatures (validate_only, v1; v2 the same without "results") where the supported and finalized
# levels above make the answers differ: Kafka refuses to take kraft.version from 1 to 0, which is
# Kavka's level already; metadata.version's range is 7-33 in Kafka, 7-25 in Kavka.
_UF = "The update failed for all features since the following feature had an error: Invalid update version"
UPDATE_FEATURES_DIFFERENCES: dict[str, list[str]] = {
    "kraft.version downgrade to 0": [
        "error_code: kafka=95 kavka=0",
        f'error_message: kafka="{_UF} 0 for feature kraft.version. Can\'t downgrade the version of this feature." '
        "kavka=None",
        "results: kafka=[] kavka=[{'feature': 'kraft.version', 'error_code': 0, 'error_message': 'NONE'}]",
    ],
    "metadata.version 0": [
        f"error_message: kafka='{_UF} 0 for feature metadata.version. Local controller 1 only supports versions 7-33' "
        f"kavka='{_UF} 0 for feature metadata.version. Local controller 1 only supports versions 7-25'"
    ],
    "metadata.version above supported": [
        f"error_message: kafka='{_UF} 34 for feature metadata.version. Local controller 1 only supports versions "
        f"7-33' kavka='{_UF} 34 for feature metadata.version. Local controller 1 only supports versions 7-25'"
    ],
}

# DescribeConfigs (docs/compatibility.md, "Configs"). Every topic config Kafka 4.4 describes is in Kavka.
KAFKA_ONLY_TOPIC_CONFIGS: set[str] = set()
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
# Every broker config Kafka describes is in Kavka's catalogue (kavka.metadata.kafkabrokerconfigs).
KAFKA_ONLY_BROKER_CONFIGS: set[str] = set()
# Kavka's own (cluster.id, console.*), Kafka's internal producer.id.expiration.check.interval.ms (not
# described by Kafka), and log.message.downconversion.enable (removed in Kafka 4.0).
KAVKA_ONLY_BROKER_CONFIGS: set[str] = {
    "cluster.id",
    "console.auth",
    "console.client.config",
    "console.client.listener",
    "console.listener",
    "log.message.downconversion.enable",
    "producer.id.expiration.check.interval.ms",
}
# Kafka 4.4 enables the streams rebalance protocol by default, which Kavka has not; ELR as above.
BROKER_CONFIG_LINES: list[str] = [
    "results[1].configs[group.coordinator.rebalance.protocols].synonyms[group.coordinator.rebalance.protocols].value: kafka='classic,consumer,streams' kavka='classic,consumer'",
    "results[1].configs[group.coordinator.rebalance.protocols].value: kafka='classic,consumer,streams' kavka='classic,consumer'",
    "results[1].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    "results[1].configs[min.insync.replicas].synonyms: kafka=[{'name': 'min.insync.replicas', 'value': '1', 'source': 3}, {'name': 'min.insync.replicas', 'value': '1', 'source': 5}] kavka=[{'name': 'min.insync.replicas', 'value': '1', 'source': 5}]",
]
DESCRIBE_CONFIGS_ERROR_LINES: list[str] = []
# kafka-configs --entity-type brokers: per step, (lines only Kafka printed, lines only Kavka printed).
# Kafka 4.4's streams protocol and ELR's cluster-level min.insync.replicas, as above; Kavka's own configs.
CONFIG_COMMAND_DIFFERENCES: dict[str, tuple[list[str], list[str]]] = {
    "describe-broker-all": (
        [
            "  group.coordinator.rebalance.protocols=classic,consumer,streams sensitive=false "
            "synonyms={DEFAULT_CONFIG:group.coordinator.rebalance.protocols=classic,consumer,streams}",
            "  min.insync.replicas=1 sensitive=false "
            "synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=1, DEFAULT_CONFIG:min.insync.replicas=1}",
        ],
        [
            "  cluster.id=null sensitive=false synonyms={}",
            "  console.auth=null sensitive=true synonyms={}",
            "  console.client.config=null sensitive=false synonyms={}",
            "  console.client.listener=null sensitive=false synonyms={}",
            "  console.listener=http://127.0.0.1:8080 sensitive=false "
            "synonyms={DEFAULT_CONFIG:console.listener=http://127.0.0.1:8080}",
            "  group.coordinator.rebalance.protocols=classic,consumer sensitive=false "
            "synonyms={DEFAULT_CONFIG:group.coordinator.rebalance.protocols=classic,consumer}",
            "  log.message.downconversion.enable=true sensitive=false "
            "synonyms={DEFAULT_CONFIG:log.message.downconversion.enable=true}",
            "  min.insync.replicas=1 sensitive=false synonyms={DEFAULT_CONFIG:min.insync.replicas=1}",
            "  producer.id.expiration.check.interval.ms=600000 sensitive=false "
            "synonyms={DEFAULT_CONFIG:producer.id.expiration.check.interval.ms=600000}",
        ],
    ),
    "describe-default": (
        ["  min.insync.replicas=1 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:min.insync.replicas=1}"],
        [],
    ),
}

# Admin requests, by step id (test_oracle_admin_requests). ELR as above; a legacy AlterConfigs of the cluster default
# would drop ELR's min.insync.replicas, which Kafka also lists among the cluster-wide defaults.
ADMIN_DIFFERENCES: dict[str, list[str]] = {
    "alter:cluster-default": [
        "responses[].error_code: kafka=40 kavka=0",
        "responses[].error_message: kafka='Cluster-level min.insync.replicas cannot be removed while ELR is enabled.' kavka=None",
    ],
    "broker:describe-default": [
        "results[].configs[min.insync.replicas]: kafka only",
    ],
    "create:collides": [
        "topics[<dotted>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "create:defaults": [
        "topics[<b>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "create:valid": [
        "topics[<a>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
    "create:validate-only": [
        "topics[<b>].configs[min.insync.replicas].config_source: kafka=3 kavka=5",
    ],
}

# test_oracle_clients.test_admin_client_scenario (confluent-kafka's view; see ADMIN_DIFFERENCES for the reasons).
CLIENT_ADMIN_DIFFERENCES: list[str] = []

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

# kafka-console-producer/consumer with headers and kafka-consumer-groups (test_kafka_tools_groups.py):
# step -> (lines only Kafka printed, lines only Kavka printed). A new consumer-protocol (KIP-848) group's
# first member: Kafka 4.4 bumps the group epoch to 2 (CURRENT-EPOCH and TARGET-EPOCH 2), Kavka to 1.
TOOL_DIFFERENCES_GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "consumer-protocol describe-members-verbose": (
        ["<group848> <member-id> /127.0.0.1 member 1 2 <topic>:0 2 <topic>:0"],
        ["<group848> <member-id> /127.0.0.1 member 1 1 <topic>:0 1 <topic>:0"],
    ),
}

# kafka-get-offsets, kafka-delete-records, kafka-log-dirs, kafka-leader-election
# (test_kafka_tools_admin.py): step -> (lines only Kafka printed, lines only Kavka printed).
TOOL_DIFFERENCES_ADMIN: dict[str, tuple[list[str], list[str]]] = {}

# kafka-metadata-quorum describe --status / --replication (test_kafka_tools_admin.py). Kavka's single
# voter is local and binds no controller listener: it names its client listener as the voter's endpoint.
TOOL_DIFFERENCES_QUORUM: dict[str, tuple[list[str], list[str]]] = {
    "status": (
        ['CurrentVoters: [{"id": 1, "directoryId": "<directory-id>", "endpoints": ["CONTROLLER://127.0.0.1:<port>"]}]'],
        ['CurrentVoters: [{"id": 1, "directoryId": "<directory-id>", "endpoints": ["PLAINTEXT://<bootstrap>"]}]'],
    ),
}

# kafka-transactions and kafka-dump-log of a partition with an aborted transaction
# (test_kafka_tools_txn.py): step -> (lines only Kafka printed, lines only Kavka printed).
TOOL_DIFFERENCES_TXN: dict[str, tuple[list[str], list[str]]] = {}

# kafka-dump-log over both brokers' files (test_kafka_dump_log.py): step -> (Kafka only, Kavka only).
# Data segments and their indexes are Kafka's byte for byte. The internal topics differ in schema
# versions: Kafka 4.4 writes OffsetCommitValue v4 (with the topic id) in batches with base sequence 0,
# and TransactionLogValue v1 with the previousProducerId tagged field set; Kavka writes OffsetCommitValue
# v3 and TransactionLogValue v1 without previousProducerId (not written yet), which Kafka reads.
# (Fixed by this comparison: Kavka's __cluster_metadata record bodies were JSON; they are Kafka's.)
_TXN_FIELDS = (
    "'producerEpoch', 'producerId', 'transactionLastUpdateTimestampMs', 'transactionPartitions', "
    "'transactionStartTimestampMs', 'transactionStatus', 'transactionTimeoutMs']"
)
TOOL_DIFFERENCES_DUMP: dict[str, tuple[list[str], list[str]]] = {
    "--offsets-decoder": (
        ["sequence 0 key type 1 value v4 ['commitTimestamp', 'leaderEpoch', 'metadata', 'offset', 'topicId']"],
        ["sequence -1 key type 1 value v3 ['commitTimestamp', 'leaderEpoch', 'metadata', 'offset']"],
    ),
    "--transaction-log-decoder": (
        ["sequence -1 key type 0 value v1 ['previousProducerId', " + _TXN_FIELDS],
        ["sequence -1 key type 0 value v1 [" + _TXN_FIELDS],
    ),
}

# test_oracle_data_path.py: Produce/Fetch/ListOffsets steps whose answers differ, by step (docs/compatibility.md,
# "Produce, Fetch and ListOffsets").
# Every one is an error message Kafka leaves out: Kafka's ProduceResponse carries one only with record errors.
DATA_PATH_DIFFERENCES: dict[str, list[str]] = {
    "data:produce-base-offset-5": [
        "responses[<topic>].partition_responses[0].error_message: kafka=None "
        "kavka='The baseOffset of the record batch in the append to <topic>-0 should be 0, but it is 5'"
    ],
    "errors:corrupt-crc": [
        "responses[<topic>].partition_responses[0].error_message: kafka=None kavka='CRC mismatch in batch at byte 0'"
    ],
    "errors:too-large": [
        "responses[<small>].partition_responses[0].error_message: kafka=None "
        "kavka='batch of 2072 bytes exceeds max.message.bytes 1000'"
    ],
    "errors:too-large-v13": [
        "responses[0].partition_responses[0].error_message: kafka=None "
        "kavka='batch of 2072 bytes exceeds max.message.bytes 1000'"
    ],
    "errors:two-batches": [
        "responses[<topic>].partition_responses[0].error_message: kafka=None kavka='Produce requests with version 9 "
        "are only allowed to contain exactly one record batch per partition'"
    ],
}

# Transactions at the wire (test_oracle_transactions.py; docs/compatibility.md, "Transactions"):
# scenario -> the lines that differ.
TXN_DIFFERENCES: dict[str, list[str]] = {
    "fenced": [],
    "errors": [],
    "group": [],
    "tv2": [],
    "produce v12": [],
}

# Consumer groups (test_oracle_groups), by step: "scenario-part:step" -> the lines that differ. Kavka
# has no share coordinator (KIP-932): a well-formed share-group key is COORDINATOR_NOT_AVAILABLE.
GROUP_DIFFERENCES: dict[str, list[str]] = {
    "find:share-key-v6": ["coordinators[-1]: kavka only", "coordinators[1]: kafka only"],
}
