"""``QuorumController``: runs controller decisions against the quorum's image and commits the records.

Every operation: read ``quorum.image`` -> compute ``(results, records)`` with the pure functions of
``topics`` / ``configs`` -> unless ``validate_only``, ``quorum.append(records)`` (one atomic commit) ->
return ``(results, records)``. Results therefore describe committed state. Single-threaded: the
caller serialises operations (one owner, no locks), as Kafka's controller event queue does.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from kavka.metadata.config import BrokerConfig, Listener
from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.records import (
    BrokerEndpoint,
    BrokerFeature,
    BrokerRegistrationChangeRecord,
    FeatureLevelRecord,
    MetadataRecord,
    UnregisterBrokerRecord,
)

from . import replication
from .brokers import (
    PRODUCER_ID_BLOCK_SIZE,
    BrokerControl,
    BrokerHeartbeatReply,
    BrokerHeartbeatRequest,
    BrokerRegistrationRequest,
    BrokerState,
)
from .client_quotas import AlterQuotaResult, QuotaAlteration, alter_client_quotas
from .configs import AlterConfigsResource, AlterConfigsResult, alter_configs, incremental_alter_configs
from .errors import NONE, ApiError, ErrorCode
from .features import (
    BOOTSTRAP_LEVELS,
    SUPPORTED_FEATURES,
    FeatureUpdate,
    UpdateFeaturesResult,
    finalized_levels,
    update_features,
)
from .scram_credentials import ScramDeletion, ScramResult, ScramUpsertion, alter_scram_credentials
from .topics import (
    Admit,
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
# Kafka's unclean.leader.election.interval.ms (an internal config there; a constant here)
UNCLEAN_ELECTION_INTERVAL_MS = 300_000
SECURITY_PROTOCOL_IDS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}


class MetadataQuorum(Protocol):
    """What the controller needs from the quorum: ``raft.quorum.ControllerView`` on the Raft leader (the
    broker's), ``raft.local.LocalMetadataQuorum`` in memory (tests)."""

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
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.quorum = quorum
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        # broker heartbeat times: Kafka's monotonic clock, in ms (the session timer only compares them)
        self.clock_ms = clock_ms or (lambda: time.monotonic_ns() // 1_000_000)
        self.brokers = BrokerControl(int(config["broker.session.timeout.ms"]))
        # the periodic elections' next runs (ms, self.clock_ms): soft state, restarted on activation
        self._next_rebalance = self._next_unclean = 0
        self.activate()

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
        log_dirs: Sequence[uuid.UUID] = (),
        features: Sequence[BrokerFeature] | None = None,
    ) -> tuple[int, list[MetadataRecord]]:
        """Register (or re-register) the broker that runs in this process, unfenced at once; returns
        ``(broker_epoch, records)``. This is the single-node path (``Broker.set_bound_listeners``):
        the registration and its unfencing are one atomic batch, and the session does not expire
        while this controller is active (``BrokerControl.register_local``). A remote broker registers
        and is unfenced through :meth:`broker_registration` and :meth:`broker_heartbeat`.

        Like Kafka, the broker epoch is the log offset of the registration record. ``listeners`` are
        the advertised endpoints (hosts already resolved); ``features`` default to every feature
        this node supports; refused registrations raise ``BrokerControlError``.
        """
        endpoints = tuple(
            lst
            if isinstance(lst, BrokerEndpoint)
            else BrokerEndpoint(lst.name, lst.host, lst.port, SECURITY_PROTOCOL_IDS[lst.security_protocol])
            for lst in listeners
        )
        if features is None:
            features = [BrokerFeature(n, lo, hi) for n, (lo, hi) in SUPPORTED_FEATURES.items()]
        request = BrokerRegistrationRequest(
            broker_id=broker_id,
            cluster_id=self.image.cluster_id or "",
            incarnation_id=incarnation_id or uuid.uuid4(),
            listeners=endpoints,
            features=tuple(features),
            rack=rack,
            log_dirs=tuple(log_dirs),
        )
        epoch, records = self.brokers.register_local(
            self.image, request, self.quorum.end_offset, self._finalized(), self.clock_ms()
        )
        return epoch, self._commit(records)

    def _finalized(self) -> dict[str, int]:
        return finalized_levels(self.image, BOOTSTRAP_LEVELS)

    def broker_registration(
        self, request: BrokerRegistrationRequest, now_ms: int | None = None
    ) -> tuple[int, list[MetadataRecord]]:
        """BrokerRegistration (key 62) from a broker: ``(broker_epoch, records)``, committed; the new
        registration is fenced until the broker's heartbeats show it caught up, and a new incarnation
        first takes the previous one out of every ISR and leadership (Kafka 4.4's
        ``handleBrokerShutdown``; it matters when the old session had expired but was not fenced yet). Raises
        ``BrokerControlError`` (see ``controller.brokers``)."""
        now = self.clock_ms() if now_ms is None else now_ms
        image = self.image
        epoch, records = self.brokers.register(
            image,
            request,
            self.quorum.end_offset,
            self._finalized(),
            now,
            cleanup=lambda broker_id: replication.broker_removed(image, self.config, broker_id),
        )
        return epoch, self._commit(records)

    def broker_heartbeat(
        self, request: BrokerHeartbeatRequest, now_ms: int | None = None
    ) -> tuple[BrokerHeartbeatReply, list[MetadataRecord]]:
        """BrokerHeartbeat (key 63): the reply and the records it committed (fencing changes,
        controlled shutdown). Raises ``BrokerControlError`` (STALE_BROKER_EPOCH)."""
        now = self.clock_ms() if now_ms is None else now_ms
        image = self.image
        reply, records = self.brokers.heartbeat(
            image,
            request,
            self.quorum.end_offset,
            now,
            lambda broker_id: replication.has_leaderships(image, broker_id),
            lambda broker_id, state: self._transition_changes(image, broker_id, state),
        )
        return reply, self._commit(records)

    def _transition_changes(
        self, image: MetadataImage, broker_id: int, state: BrokerState
    ) -> tuple[list[MetadataRecord], list[MetadataRecord]]:
        """The partition changes of a broker's state change, as ``(before, after)`` its own record
        (Kafka's ``handleBrokerFenced`` / ``handleBrokerUnfenced`` / ``handleBrokerInControlledShutdown``)."""
        if state in (BrokerState.FENCED, BrokerState.SHUTDOWN_NOW):
            return replication.broker_removed(image, self.config, broker_id), []
        if state is BrokerState.UNFENCED:
            return [], replication.broker_unfenced(image, self.config, broker_id)
        return [], replication.broker_removed(image, self.config, broker_id)  # entering controlled shutdown

    def fence_stale_brokers(self, now_ms: int | None = None) -> list[MetadataRecord]:
        """The session timer, for the driver to call now and then (``BrokerControl.next_session_deadline``
        says when it matters): fence every broker not heard from for ``broker.session.timeout.ms``, each
        after the partition changes that take it out of ISRs and leadership (one broker after the other,
        each seeing the changes of the one before, as Kafka fences one per event); returns the records
        committed."""
        now = self.clock_ms() if now_ms is None else now_ms
        image = self.image
        records: list[MetadataRecord] = []
        for fence in self.brokers.fence_stale_brokers(image, now):
            assert isinstance(fence, BrokerRegistrationChangeRecord)
            batch = [*replication.broker_removed(image, self.config, fence.broker_id), fence]
            image = apply_all(image, batch)
            records += batch
        return self._commit(records)

    def activate(self, now_ms: int | None = None) -> None:
        """This node became the active controller: broker sessions start afresh, and so do the periodic
        elections' timers (soft state is not in the log, as in Kafka)."""
        now = self.clock_ms() if now_ms is None else now_ms
        self.brokers.activate(self.image, now)
        self._next_rebalance = now + int(self.config["leader.imbalance.check.interval.seconds"]) * 1000
        self._next_unclean = now + UNCLEAN_ELECTION_INTERVAL_MS

    def tick(self, now_ms: int | None = None) -> list[MetadataRecord]:
        """The controller's timers, for the driver to call often (every 50 ms in the server): broker
        sessions, the automatic preferred election (``auto.leader.rebalance.enable``, every
        ``leader.imbalance.check.interval.seconds``; again at once while more than 1000 partitions wait)
        and the unclean election of leaderless partitions whose topic allows it (every 5 minutes, Kafka's
        ``unclean.leader.election.interval.ms``). Returns the records committed."""
        now = self.clock_ms() if now_ms is None else now_ms
        records = self.fence_stale_brokers(now)
        if self.config["auto.leader.rebalance.enable"] and now >= self._next_rebalance:
            balanced = replication.balance_partition_leaders(self.image)
            more = len(balanced) >= replication.MAX_ELECTIONS_PER_IMBALANCE
            interval = int(self.config["leader.imbalance.check.interval.seconds"]) * 1000
            self._next_rebalance = now if more else now + interval
            records += self._commit(balanced)
        if now >= self._next_unclean:
            elected = replication.elect_unclean_leaders(self.image, self.config)
            more = len(elected) >= replication.MAX_ELECTIONS_PER_IMBALANCE
            self._next_unclean = now if more else now + UNCLEAN_ELECTION_INTERVAL_MS
            records += self._commit(elected)
        return records

    # ---- partitions: ISR, elections, reassignments ----

    def alter_partition(
        self,
        broker_id: int,
        broker_epoch: int,
        topics: Sequence[tuple[uuid.UUID, Sequence[replication.AlterPartitionData]]],
    ) -> tuple[list[tuple[uuid.UUID, list[replication.AlterPartitionResult]]], list[MetadataRecord]]:
        """AlterPartition (key 56) from a partition leader: per-partition answers and the records
        committed (``replication.alter_partition``). Raises ``BrokerControlError`` (STALE_BROKER_EPOCH)
        unless the broker epoch is the sender's current one."""
        self.brokers.check_broker_epoch(self.image, broker_id, broker_epoch)
        answers, records = replication.alter_partition(self.image, self.config, broker_id, topics)
        return answers, self._commit(records)

    def elect_leaders(
        self, election_type: int, topic_partitions: Sequence[tuple[str, Sequence[int]]] | None
    ) -> tuple[list[tuple[str, list[tuple[int, replication.PartitionError]]]], list[MetadataRecord]]:
        """ElectLeaders (key 43): per-partition answers and the records committed
        (``replication.elect_leaders``)."""
        results, records = replication.elect_leaders(self.image, election_type, topic_partitions)
        return results, self._commit(records)

    def alter_partition_reassignments(
        self,
        topics: Sequence[tuple[str, Sequence[tuple[int, Sequence[int] | None]]]],
        allow_rf_change: bool = True,
    ) -> tuple[list[tuple[str, list[replication.ReassignmentResult]]], list[MetadataRecord]]:
        """AlterPartitionReassignments (key 45): per-partition answers, the records committed in one batch
        (``replication.alter_partition_reassignments``)."""
        results, records = replication.alter_partition_reassignments(self.image, self.config, topics, allow_rf_change)
        return results, self._commit(records)

    def allocate_producer_ids(
        self, broker_id: int, broker_epoch: int, block_size: int = PRODUCER_ID_BLOCK_SIZE
    ) -> tuple[int, int, list[MetadataRecord]]:
        """AllocateProducerIds (key 67): reserve the next block of producer ids, ``(first_id, size,
        records)``; STALE_BROKER_EPOCH (``BrokerControlError``) unless the epoch is the broker's current
        one. Blocks are 1000 ids, as Kafka's."""
        first, size, records = self.brokers.allocate_producer_ids(self.image, broker_id, broker_epoch)
        return first, size, self._commit(records)

    # ---- topics ----

    def create_topics(
        self, topics: Sequence[CreatableTopic], validate_only: bool = False, admit: Admit | None = None
    ) -> tuple[list[CreateTopicResult], list[MetadataRecord]]:
        results, records = create_topics(self.image, self.config, topics, validate_only, self.rng, admit)
        return results, self._commit(records, validate_only)

    def delete_topics(
        self, names: Sequence[str] = (), topic_ids: Sequence[uuid.UUID] = (), admit: Admit | None = None
    ) -> tuple[list[DeleteTopicResult], list[MetadataRecord]]:
        results, records = delete_topics(self.image, self.config, names, topic_ids, admit)
        return results, self._commit(records)

    def create_partitions(
        self, topics: Sequence[CreatePartitionsTopic], validate_only: bool = False, admit: Admit | None = None
    ) -> tuple[list[CreatePartitionsResult], list[MetadataRecord]]:
        results, records = create_partitions(self.image, topics, validate_only, self.rng, admit)
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

    def alter_user_scram_credentials(
        self, deletions: Sequence[ScramDeletion], upsertions: Sequence[ScramUpsertion]
    ) -> list[ScramResult]:
        """AlterUserScramCredentials (``scram_credentials``): the valid changes, committed together."""
        results, records = alter_scram_credentials(self.image.scram_credentials, deletions, upsertions)
        self._commit(records)
        return results

    # ---- ACLs ----

    def write_acls(self, records: Sequence[MetadataRecord]) -> list[MetadataRecord]:
        """Commit the ACL records of one CreateAcls / DeleteAcls (decided by ``kavka.security.acl_control``
        against this controller's image) as one batch."""
        return self._commit(list(records))

    # ---- brokers ----

    def unregister_broker(self, broker_id: int) -> ApiError:
        """Remove a broker's registration (Kafka's ``ClusterControlManager.unregisterBroker``) with an
        UnregisterBrokerRecord; BROKER_ID_NOT_REGISTERED when the id is not registered. Kafka does this
        for a live broker too (it drops out of Metadata), and so does Kavka, until it restarts."""
        registration = self.image.brokers.get(broker_id)
        if registration is None:
            return ApiError(ErrorCode.BROKER_ID_NOT_REGISTERED, f"Broker ID {broker_id} is not currently registered")
        removed = replication.broker_removed(self.image, self.config, broker_id)
        self._commit([*removed, UnregisterBrokerRecord(broker_id, registration.broker_epoch)])
        return NONE
