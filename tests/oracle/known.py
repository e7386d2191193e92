"""The differences between Apache Kafka (the version pinned in interop/java/pom.xml) and Kavka that the
differential tests know of. Each is explained in docs/compatibility.md. A test compares what it finds
with these exactly: a new difference fails, and so does a fixed one until it is taken off the list.
"""

from __future__ import annotations

KAFKA_VERSION = "4.4.0"

# ApiVersions: api_key -> (Kafka's (min, max) or None, Kavka's (min, max) or None).
API_VERSION_DIFFERENCES: dict[int, tuple[tuple[int, int] | None, tuple[int, int] | None]] = {
    0: ((0, 13), (0, 11)),  # Produce
    1: ((4, 18), (4, 12)),  # Fetch
    2: ((1, 11), (1, 9)),  # ListOffsets
    3: ((0, 13), (0, 12)),  # Metadata
    8: ((2, 10), (2, 9)),  # OffsetCommit
    9: ((1, 10), (1, 9)),  # OffsetFetch
    10: ((0, 6), (0, 4)),  # FindCoordinator
    15: ((0, 6), (0, 5)),  # DescribeGroups
    17: ((0, 1), None),  # SaslHandshake
    18: ((0, 5), (0, 4)),  # ApiVersions
    24: ((0, 5), (0, 3)),  # AddPartitionsToTxn
    25: ((0, 4), (0, 3)),  # AddOffsetsToTxn
    26: ((0, 5), (0, 4)),  # EndTxn
    27: ((1, 2), (1, 1)),  # WriteTxnMarkers
    28: ((0, 6), (0, 4)),  # TxnOffsetCommit
    34: ((1, 2), None),  # AlterReplicaLogDirs
    35: ((1, 5), (1, 4)),  # DescribeLogDirs
    36: ((0, 2), None),  # SaslAuthenticate
    38: ((1, 3), None),  # CreateDelegationToken
    39: ((1, 2), None),  # RenewDelegationToken
    40: ((1, 2), None),  # ExpireDelegationToken
    41: ((1, 3), None),  # DescribeDelegationToken
    42: ((0, 3), (0, 2)),  # DeleteGroups
    45: ((0, 1), (0, 0)),  # AlterPartitionReassignments
    48: ((0, 1), None),  # DescribeClientQuotas
    49: ((0, 1), None),  # AlterClientQuotas
    51: ((0, 0), None),  # AlterUserScramCredentials
    57: ((0, 2), None),  # UpdateFeatures
    60: ((0, 2), (0, 1)),  # DescribeCluster
    64: ((0, 0), None),  # UnregisterBroker
    66: ((0, 2), (0, 1)),  # ListTransactions
    69: ((0, 1), (0, 0)),  # ConsumerGroupDescribe
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
