"""Kafka API keys the CLI's commands need beyond produce/fetch/metadata/list offsets (for the
``require_apis`` fixture of ``conftest.py``: a test skips unless the broker advertises them all)."""

GROUP_APIS = {10: "FindCoordinator", 11: "JoinGroup", 14: "SyncGroup", 8: "OffsetCommit", 9: "OffsetFetch",
              16: "ListGroups", 15: "DescribeGroups", 42: "DeleteGroups"}
CONFIG_APIS = {32: "DescribeConfigs", 44: "IncrementalAlterConfigs"}
