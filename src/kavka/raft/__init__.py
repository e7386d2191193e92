"""The KRaft metadata quorum: a single local voter (:mod:`kavka.raft.local`) over ``__cluster_metadata-0``."""

from .local import InMemoryMetadataLogStore, LocalMetadataQuorum, MetadataLogStore

__all__ = ["InMemoryMetadataLogStore", "LocalMetadataQuorum", "MetadataLogStore"]
