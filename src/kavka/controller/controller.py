"""``QuorumController``: runs controller decisions against the quorum's image and commits the records.

Every operation: read ``quorum.image`` -> compute ``(results, records)`` with the pure functions of
``topics`` / ``configs`` -> unless ``validate_only``, ``quorum.append(records)`` (one atomic commit) ->
return ``(results, records)``. Results therefore describe committed state. Single-threaded: the
caller serialises operations (one owner, no locks), as Kafka's controller event queue does.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from kavka.metadata.config import BrokerConfig, Listener
from kavka.metadata.image import MetadataImage
from kavka.metadata.records import (
    BrokerEndpoint,
    FeatureLevelRecord,
    MetadataRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    UnregisterBrokerRecord,
)

from .client_quotas import AlterQuotaResult, QuotaAlteration, alter_client_quotas
from .configs import AlterConfigsResource, AlterConfigsResult, alter_configs, incremental_alter_configs
from .errors import NONE, ApiError, ErrorCode
from .features import FeatureUpdate, UpdateFeaturesResult, update_features
from .topics import (
    CreatableTopic,
    CreatePartitionsResult,
    CreatePartitionsTopic,
    CreateTopicResult,
    DeleteTopicResult,
    create_partitions,
    create_topics,
    delete_topics,
)

__all__ = ["QuorumController", "MetadataQuorum", "METADATA_VERSION", "SECURITY_PROTOCOL_IDS"]

# Kafka 4.0's latest metadata.version feature level (MetadataVersion IBP_4_0_IV3).
METADATA_VERSION = 25
SECURITY_PROTOCOL_IDS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}
PRODUCER_ID_BLOCK_SIZE = 1000


class MetadataQuorum(Protocol):
    """What the controller needs from the quorum (``raft.local.LocalMetadataQuorum`` provides it)."""

    @property
    def image(self) -> MetadataImage: ...

    @property
    def end_offset(self) -> int: ...

    def append(self, records: Sequence[MetadataRecord]) -> int: ...


class QuorumController:
    def __init__(
        self,
        quorum: MetadataQuorum,
        config: BrokerConfig,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.quorum = quorum
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()

    @property
    def image(self) -> MetadataImage:
        return self.quorum.image

    def _commit(self, records: list[MetadataRecord], validate_only: bool = False) -> list[MetadataRecord]:
        if records and not validate_only:
            self.quorum.append(records)
        return records

    # ---- bootstrap and brokers ----

    def bootstrap(self, metadata_version: int = METADATA_VERSION) -> list[MetadataRecord]:
        """First start of a cluster: write ``FeatureLevelRecord(metadata.version)`` if the log has none."""
        if self.image.metadata_version:
            return []
        return self._commit([FeatureLevelRecord("metadata.version", metadata_version)])

    def register_broker(
        self,
        broker_id: int,
        listeners: Sequence[Listener | BrokerEndpoint],
        incarnation_id: uuid.UUID | None = None,
        rack: str | None = None,
    ) -> tuple[int, list[MetadataRecord]]:
        """Register (or re-register) a broker, unfenced; returns ``(broker_epoch, records)``.

        Like Kafka, the broker epoch is the log offset of the registration record. ``listeners`` are
        the advertised endpoints (hosts already resolved).
        """
        endpoints = tuple(
            lst
            if isinstance(lst, BrokerEndpoint)
            else BrokerEndpoint(lst.name, lst.host, lst.port, SECURITY_PROTOCOL_IDS[lst.security_protocol])
            for lst in listeners
        )
        epoch = self.quorum.end_offset
        record = RegisterBrokerRecord(
            broker_id=broker_id,
            incarnation_id=incarnation_id or uuid.uuid4(),
            broker_epoch=epoch,
            endpoints=endpoints,
            rack=rack,
            fenced=False,
        )
        return epoch, self._commit([record])

    def allocate_producer_ids(
        self, broker_id: int, broker_epoch: int, block_size: int = PRODUCER_ID_BLOCK_SIZE
    ) -> tuple[int, int, list[MetadataRecord]]:
        """Reserve a block of producer ids: ``(first_id, size, records)`` (Kafka's AllocateProducerIds)."""
        first = self.image.next_producer_id
        return first, block_size, self._commit([ProducerIdsRecord(broker_id, broker_epoch, first + block_size)])

    # ---- topics ----

    def create_topics(
        self, topics: Sequence[CreatableTopic], validate_only: bool = False
    ) -> tuple[list[CreateTopicResult], list[MetadataRecord]]:
        results, records = create_topics(self.image, self.config, topics, validate_only, self.rng)
        return results, self._commit(records, validate_only)

    def delete_topics(
        self, names: Sequence[str] = (), topic_ids: Sequence[uuid.UUID] = ()
    ) -> tuple[list[DeleteTopicResult], list[MetadataRecord]]:
        results, records = delete_topics(self.image, self.config, names, topic_ids)
        return results, self._commit(records)

    def create_partitions(
        self, topics: Sequence[CreatePartitionsTopic], validate_only: bool = False
    ) -> tuple[list[CreatePartitionsResult], list[MetadataRecord]]:
        results, records = create_partitions(self.image, topics, validate_only, self.rng)
        return results, self._commit(records, validate_only)

    # ---- configs ----

    def incremental_alter_configs(
        self, resources: Sequence[AlterConfigsResource], validate_only: bool = False
    ) -> tuple[list[AlterConfigsResult], list[MetadataRecord]]:
        results, records = incremental_alter_configs(self.image, self.config, resources, validate_only)
        return results, self._commit(records, validate_only)

    def alter_configs(
        self, resources: Sequence[AlterConfigsResource], validate_only: bool = False
    ) -> tuple[list[AlterConfigsResult], list[MetadataRecord]]:
        results, records = alter_configs(self.image, self.config, resources, validate_only)
        return results, self._commit(records, validate_only)

    # ---- features ----

    def update_features(
        self,
        updates: Sequence[FeatureUpdate],
        validate_only: bool,
        supported: Mapping[str, tuple[int, int, int]],
        node_id: int,
    ) -> UpdateFeaturesResult:
        """UpdateFeatures (``features.update_features``), committed unless validating or failing."""
        result = update_features(self.image, updates, validate_only, supported, node_id)
        self._commit(result.records, validate_only)
        return result

    # ---- client quotas ----

    def alter_client_quotas(
        self, alterations: Sequence[QuotaAlteration], validate_only: bool, resolves: Callable[[str], bool]
    ) -> list[AlterQuotaResult]:
        """AlterClientQuotas (``client_quotas.alter_client_quotas``); the valid entities' records are
        committed together unless ``validate_only``."""
        results, records = alter_client_quotas(self.image.client_quotas, alterations, resolves)
        self._commit(records, validate_only)
        return results

    # ---- brokers ----

    def unregister_broker(self, broker_id: int) -> ApiError:
        """Remove a broker's registration (Kafka's ``ClusterControlManager.unregisterBroker``) with an
        UnregisterBrokerRecord; BROKER_ID_NOT_REGISTERED when the id is not registered. Kafka does this
        for a live broker too (it drops out of Metadata), and so does Kavka, until it restarts."""
        registration = self.image.brokers.get(broker_id)
        if registration is None:
            return ApiError(ErrorCode.BROKER_ID_NOT_REGISTERED, f"Broker ID {broker_id} is not currently registered")
        self._commit([UnregisterBrokerRecord(broker_id, registration.broker_epoch)])
        return NONE
