"""The KRaft metadata quorum. Until the cluster issue, a single local voter."""

from .local import InMemoryMetadataLogStore, LocalMetadataQuorum, MetadataLogStore

__all__ = ["InMemoryMetadataLogStore", "LocalMetadataQuorum", "MetadataLogStore"]
