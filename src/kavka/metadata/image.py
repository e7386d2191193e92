"""The metadata image: an immutable snapshot of the cluster, changed only by applying records.

Rules (DESIGN section 5):

- An image is never mutated. ``apply(image, record)`` / ``apply_all(image, records)`` return a new one;
  a ``MetadataDelta`` batches many records into one new image, copying each touched map once.
- Every field comes from records. Replaying the whole ``__cluster_metadata`` log into
  ``MetadataImage.empty()`` rebuilds exactly the live image (tests check ``==``).
- A record that contradicts the image (a partition of an unknown topic, a duplicate topic name) raises
  ``MetadataApplyError``: the controller never writes one, so it means a corrupt or foreign log.
- Topic configs are kept per config resource (``configs[(TOPIC, name)]``), as Kafka's
  ``ConfigurationsImage`` does: ``TopicImage.configs`` mirrors them, and ``RemoveTopicRecord`` deletes
  them with the topic.

The maps are plain dicts for speed; treat them as read-only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .client_quotas import QuotaEntity, entity_key
from .records import (
    FENCE,
    IN_CONTROLLED_SHUTDOWN,
    NO_FENCING_CHANGE,
    NO_LEADER_CHANGE,
    NO_SHUTDOWN_CHANGE,
    UNFENCE,
    AccessControlEntryRecord,
    BrokerEndpoint,
    BrokerRegistrationChangeRecord,
    ClientQuotaRecord,
    ConfigRecord,
    ConfigResourceType,
    FeatureLevelRecord,
    FenceBrokerRecord,
    MetadataRecord,
    NoOpRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    RegisterBrokerRecord,
    RemoveAccessControlEntryRecord,
    RemoveTopicRecord,
    RemoveUserScramCredentialRecord,
    TopicRecord,
    UnfenceBrokerRecord,
    UnregisterBrokerRecord,
    UserScramCredentialRecord,
)

__all__ = [
    "MetadataImage",
    "MetadataDelta",
    "MetadataApplyError",
    "TopicImage",
    "PartitionImage",
    "BrokerRegistration",
    "apply",
    "apply_all",
]

ConfigKey = tuple[int, str]  # (ConfigResourceType, resource name)


class MetadataApplyError(RuntimeError):
    """A record that cannot apply to the current image."""


@dataclass(frozen=True)
class PartitionImage:
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    partition_epoch: int
    removing_replicas: tuple[int, ...] = ()
    adding_replicas: tuple[int, ...] = ()


@dataclass(frozen=True)
class TopicImage:
    name: str
    topic_id: uuid.UUID
    partitions: Mapping[int, PartitionImage] = field(default_factory=dict)
    configs: Mapping[str, str] = field(default_factory=dict)

    @property
    def num_partitions(self) -> int:
        return len(self.partitions)

    @property
    def replication_factor(self) -> int:
        first = self.partitions.get(0)
        return len(first.replicas) if first else 0


@dataclass(frozen=True)
class BrokerRegistration:
    broker_id: int
    incarnation_id: uuid.UUID
    broker_epoch: int
    endpoints: tuple[BrokerEndpoint, ...]
    rack: str | None
    fenced: bool
    in_controlled_shutdown: bool = False
    log_dirs: tuple[uuid.UUID, ...] = ()

    def endpoint(self, listener_name: str) -> BrokerEndpoint | None:
        for ep in self.endpoints:
            if ep.name == listener_name:
                return ep
        return None


@dataclass(frozen=True)
class MetadataImage:
    cluster_id: str | None = None
    features: Mapping[str, int] = field(default_factory=dict)
    brokers: Mapping[int, BrokerRegistration] = field(default_factory=dict)
    topics_by_name: Mapping[str, TopicImage] = field(default_factory=dict)
    topics_by_id: Mapping[uuid.UUID, TopicImage] = field(default_factory=dict)
    configs: Mapping[ConfigKey, Mapping[str, str]] = field(default_factory=dict)
    next_producer_id: int = 0
    # ClientQuotaRecords: entity -> {quota key: value} (kavka.metadata.client_quotas)
    client_quotas: Mapping[QuotaEntity, Mapping[str, float]] = field(default_factory=dict)
    # UserScramCredentialRecords: (user, mechanism id) -> the record (kavka.security.scram reads it)
    scram_credentials: Mapping[tuple[str, int], UserScramCredentialRecord] = field(default_factory=dict)
    # AccessControlEntryRecords by id: the ACLs (the broker's authorizer indexes them)
    acls: Mapping[uuid.UUID, AccessControlEntryRecord] = field(default_factory=dict)

    @classmethod
    def empty(cls, cluster_id: str | None = None) -> MetadataImage:
        return cls(cluster_id=cluster_id)

    def topic(self, name: str) -> TopicImage | None:
        return self.topics_by_name.get(name)

    def topic_by_id(self, topic_id: uuid.UUID) -> TopicImage | None:
        return self.topics_by_id.get(topic_id)

    def partition(self, topic: str, partition: int) -> PartitionImage | None:
        t = self.topics_by_name.get(topic)
        return t.partitions.get(partition) if t else None

    def live_brokers(self) -> list[BrokerRegistration]:
        """Registered, unfenced brokers, by id (those in controlled shutdown included, as Kafka's
        metadata cache lists them until they are fenced)."""
        return [b for _, b in sorted(self.brokers.items()) if not b.fenced]

    def broker_configs(self, broker_id: int | None = None) -> Mapping[str, str]:
        """Dynamic broker configs: per-broker for an id, the cluster-wide default for ``None``."""
        name = "" if broker_id is None else str(broker_id)
        return self.configs.get((ConfigResourceType.BROKER, name), {})

    @property
    def metadata_version(self) -> int:
        return self.features.get("metadata.version", 0)


class MetadataDelta:
    """Accumulates records on top of a base image; ``build()`` returns the new image."""

    def __init__(self, base: MetadataImage) -> None:
        self._base = base
        self._cluster_id = base.cluster_id
        self._features: dict[str, int] | None = None
        self._brokers: dict[int, BrokerRegistration] | None = None
        self._by_name: dict[str, TopicImage] | None = None
        self._by_id: dict[uuid.UUID, TopicImage] | None = None
        self._configs: dict[ConfigKey, Mapping[str, str]] | None = None
        self._next_producer_id = base.next_producer_id
        self._client_quotas: dict[QuotaEntity, Mapping[str, float]] | None = None
        self._scram: dict[tuple[str, int], UserScramCredentialRecord] | None = None
        self._acls: dict[uuid.UUID, AccessControlEntryRecord] | None = None
        self._touched_partitions: dict[uuid.UUID, dict[int, PartitionImage]] = {}
        self._built = False

    # copy-on-write accessors
    def _features_w(self) -> dict[str, int]:
        if self._features is None:
            self._features = dict(self._base.features)
        return self._features

    def _brokers_w(self) -> dict[int, BrokerRegistration]:
        if self._brokers is None:
            self._brokers = dict(self._base.brokers)
        return self._brokers

    def _topics_w(self) -> tuple[dict[str, TopicImage], dict[uuid.UUID, TopicImage]]:
        if self._by_name is None:
            self._by_name = dict(self._base.topics_by_name)
            self._by_id = dict(self._base.topics_by_id)
        assert self._by_id is not None
        return self._by_name, self._by_id

    def _configs_w(self) -> dict[ConfigKey, Mapping[str, str]]:
        if self._configs is None:
            self._configs = dict(self._base.configs)
        return self._configs

    def _topic_by_id(self, topic_id: uuid.UUID) -> TopicImage | None:
        by_id = self._by_id if self._by_id is not None else self._base.topics_by_id
        return by_id.get(topic_id)

    def _put_topic(self, topic: TopicImage) -> None:
        by_name, by_id = self._topics_w()
        by_name[topic.name] = topic
        by_id[topic.topic_id] = topic

    def _partitions_w(self, topic: TopicImage) -> dict[int, PartitionImage]:
        parts = self._touched_partitions.get(topic.topic_id)
        if parts is None:
            parts = dict(topic.partitions)
            self._touched_partitions[topic.topic_id] = parts
            self._put_topic(replace(topic, partitions=parts))
        return parts

    # replay
    def replay(self, record: MetadataRecord) -> MetadataDelta:
        if self._built:
            raise MetadataApplyError("a MetadataDelta cannot be replayed into after build()")
        handler = _HANDLERS.get(type(record))
        if handler is None:
            raise MetadataApplyError(f"no handler for {type(record).__name__}")
        handler(self, record)
        return self

    def replay_all(self, records: Iterable[MetadataRecord]) -> MetadataDelta:
        for record in records:
            self.replay(record)
        return self

    def _register_broker(self, r: RegisterBrokerRecord) -> None:
        self._brokers_w()[r.broker_id] = BrokerRegistration(
            r.broker_id,
            r.incarnation_id,
            r.broker_epoch,
            r.endpoints,
            r.rack,
            r.fenced,
            r.in_controlled_shutdown,
            r.log_dirs,
        )

    def _unregister_broker(self, r: UnregisterBrokerRecord) -> None:
        brokers = self._brokers_w()
        current = brokers.get(r.broker_id)
        if current is None or current.broker_epoch != r.broker_epoch:
            raise MetadataApplyError(f"UnregisterBrokerRecord for unknown broker {r.broker_id}/{r.broker_epoch}")
        del brokers[r.broker_id]

    def _registration_change(self, broker_id: int, epoch: int, fenced: int, shutdown: int, what: str) -> None:
        """Kafka's ``ClusterControlManager.replayRegistrationChange``: the broker must be registered
        with that epoch; ``fenced`` is FENCE / UNFENCE / NO_FENCING_CHANGE, ``shutdown``
        IN_CONTROLLED_SHUTDOWN or NO_SHUTDOWN_CHANGE."""
        brokers = self._brokers_w()
        current = brokers.get(broker_id)
        if current is None:
            raise MetadataApplyError(f"{what} for broker {broker_id}: no registration found for that id")
        if current.broker_epoch != epoch:
            raise MetadataApplyError(f"{what} for broker {broker_id}: no registration with epoch {epoch}")
        if fenced not in (FENCE, UNFENCE, NO_FENCING_CHANGE) or shutdown not in (
            NO_SHUTDOWN_CHANGE,
            IN_CONTROLLED_SHUTDOWN,
        ):
            raise MetadataApplyError(f"{what} for broker {broker_id}: unknown change {fenced}/{shutdown}")
        brokers[broker_id] = replace(
            current,
            fenced=current.fenced if fenced == NO_FENCING_CHANGE else fenced == FENCE,
            in_controlled_shutdown=current.in_controlled_shutdown or shutdown == IN_CONTROLLED_SHUTDOWN,
        )

    def _fence_broker(self, r: FenceBrokerRecord) -> None:
        self._registration_change(r.id, r.epoch, FENCE, NO_SHUTDOWN_CHANGE, "FenceBrokerRecord")

    def _unfence_broker(self, r: UnfenceBrokerRecord) -> None:
        self._registration_change(r.id, r.epoch, UNFENCE, NO_SHUTDOWN_CHANGE, "UnfenceBrokerRecord")

    def _broker_registration_change(self, r: BrokerRegistrationChangeRecord) -> None:
        self._registration_change(
            r.broker_id, r.broker_epoch, r.fenced, r.in_controlled_shutdown, "BrokerRegistrationChangeRecord"
        )

    def _topic(self, r: TopicRecord) -> None:
        by_name, by_id = self._topics_w()
        if r.name in by_name:
            raise MetadataApplyError(f"duplicate TopicRecord for {r.name}")
        if r.topic_id in by_id:
            raise MetadataApplyError(f"duplicate TopicRecord for topic id {r.topic_id}")
        configs = (
            self._configs.get((ConfigResourceType.TOPIC, r.name))
            if self._configs is not None
            else (self._base.configs.get((ConfigResourceType.TOPIC, r.name)))
        )
        parts: dict[int, PartitionImage] = {}
        self._touched_partitions[r.topic_id] = parts
        self._put_topic(TopicImage(r.name, r.topic_id, parts, dict(configs or {})))

    def _partition(self, r: PartitionRecord) -> None:
        topic = self._topic_by_id(r.topic_id)
        if topic is None:
            raise MetadataApplyError(f"PartitionRecord for unknown topic id {r.topic_id}")
        self._partitions_w(topic)[r.partition_id] = PartitionImage(
            r.leader,
            r.leader_epoch,
            r.replicas,
            r.isr,
            r.partition_epoch,
            r.removing_replicas,
            r.adding_replicas,
        )

    def _partition_change(self, r: PartitionChangeRecord) -> None:
        topic = self._topic_by_id(r.topic_id)
        if topic is None:
            raise MetadataApplyError(f"PartitionChangeRecord for unknown topic id {r.topic_id}")
        parts = self._partitions_w(topic)
        old = parts.get(r.partition_id)
        if old is None:
            raise MetadataApplyError(f"PartitionChangeRecord for unknown partition {topic.name}-{r.partition_id}")
        # Kafka's PartitionRegistration.merge: a record that sets the leader (even to the same broker)
        # bumps the leader epoch; the controller sets it for every leader change and for a replica set
        # that loses a broker (kavka.controller.partition_change), never for an ISR change alone.
        changes_leader = r.leader != NO_LEADER_CHANGE
        parts[r.partition_id] = PartitionImage(
            leader=r.leader if changes_leader else old.leader,
            leader_epoch=old.leader_epoch + 1 if changes_leader else old.leader_epoch,
            replicas=old.replicas if r.replicas is None else r.replicas,
            isr=old.isr if r.isr is None else r.isr,
            partition_epoch=old.partition_epoch + 1,
            removing_replicas=old.removing_replicas if r.removing_replicas is None else r.removing_replicas,
            adding_replicas=old.adding_replicas if r.adding_replicas is None else r.adding_replicas,
        )

    def _remove_topic(self, r: RemoveTopicRecord) -> None:
        topic = self._topic_by_id(r.topic_id)
        if topic is None:
            raise MetadataApplyError(f"RemoveTopicRecord for unknown topic id {r.topic_id}")
        by_name, by_id = self._topics_w()
        del by_name[topic.name]
        del by_id[topic.topic_id]
        self._touched_partitions.pop(topic.topic_id, None)
        self._configs_w().pop((ConfigResourceType.TOPIC, topic.name), None)

    def _config(self, r: ConfigRecord) -> None:
        key = (r.resource_type, r.resource_name)
        configs = self._configs_w()
        current = dict(configs.get(key, {}))
        if r.value is None:
            current.pop(r.name, None)
        else:
            current[r.name] = r.value
        if current:
            configs[key] = current
        else:
            configs.pop(key, None)
        if r.resource_type == ConfigResourceType.TOPIC:
            by_name = self._by_name if self._by_name is not None else self._base.topics_by_name
            topic = by_name.get(r.resource_name)
            if topic is not None:
                self._put_topic(replace(topic, configs=dict(current)))

    def _feature_level(self, r: FeatureLevelRecord) -> None:
        # Level 0 is kept (not dropped) so that "finalized at 0" differs from "never written", which
        # reads as the feature's bootstrap level (kavka.controller.features.finalized_levels).
        self._features_w()[r.name] = r.feature_level

    def _client_quota(self, r: ClientQuotaRecord) -> None:
        if self._client_quotas is None:
            self._client_quotas = dict(self._base.client_quotas)
        key = entity_key((p.entity_type, p.entity_name) for p in r.entity)
        values = dict(self._client_quotas.get(key, {}))
        if r.remove:
            values.pop(r.key, None)
        else:
            values[r.key] = r.value
        if values:
            self._client_quotas[key] = values
        else:
            self._client_quotas.pop(key, None)

    def _scram_w(self) -> dict[tuple[str, int], UserScramCredentialRecord]:
        if self._scram is None:
            self._scram = dict(self._base.scram_credentials)
        return self._scram

    def _user_scram_credential(self, r: UserScramCredentialRecord) -> None:
        self._scram_w()[(r.name, r.mechanism)] = r

    def _remove_user_scram_credential(self, r: RemoveUserScramCredentialRecord) -> None:
        self._scram_w().pop((r.name, r.mechanism), None)

    def _acls_w(self) -> dict[uuid.UUID, AccessControlEntryRecord]:
        if self._acls is None:
            self._acls = dict(self._base.acls)
        return self._acls

    def _access_control_entry(self, r: AccessControlEntryRecord) -> None:
        # Kafka's AclControlManager.replay: an id is never reused
        acls = self._acls_w()
        if r.id in acls:
            raise MetadataApplyError(f"AccessControlEntryRecord with duplicate id {r.id}")
        acls[r.id] = r

    def _remove_access_control_entry(self, r: RemoveAccessControlEntryRecord) -> None:
        acls = self._acls_w()
        if acls.pop(r.id, None) is None:
            raise MetadataApplyError(f"RemoveAccessControlEntryRecord for unknown ACL id {r.id}")

    def _producer_ids(self, r: ProducerIdsRecord) -> None:
        if r.next_producer_id < self._next_producer_id:
            raise MetadataApplyError("ProducerIdsRecord moves next_producer_id backwards")
        self._next_producer_id = r.next_producer_id

    def _noop(self, r: NoOpRecord) -> None:
        pass

    def build(self) -> MetadataImage:
        """The new image. The delta is finished afterwards (its maps now belong to the image)."""
        self._built = True
        base = self._base
        return MetadataImage(
            cluster_id=self._cluster_id,
            features=self._features if self._features is not None else base.features,
            brokers=self._brokers if self._brokers is not None else base.brokers,
            topics_by_name=self._by_name if self._by_name is not None else base.topics_by_name,
            topics_by_id=self._by_id if self._by_id is not None else base.topics_by_id,
            configs=self._configs if self._configs is not None else base.configs,
            next_producer_id=self._next_producer_id,
            client_quotas=self._client_quotas if self._client_quotas is not None else base.client_quotas,
            scram_credentials=self._scram if self._scram is not None else base.scram_credentials,
            acls=self._acls if self._acls is not None else base.acls,
        )


# Each handler takes the record type it is keyed by (hence Any: a mapping cannot say so per key).
_HANDLERS: dict[type[MetadataRecord], Callable[[MetadataDelta, Any], None]] = {
    RegisterBrokerRecord: MetadataDelta._register_broker,
    UnregisterBrokerRecord: MetadataDelta._unregister_broker,
    FenceBrokerRecord: MetadataDelta._fence_broker,
    UnfenceBrokerRecord: MetadataDelta._unfence_broker,
    BrokerRegistrationChangeRecord: MetadataDelta._broker_registration_change,
    TopicRecord: MetadataDelta._topic,
    PartitionRecord: MetadataDelta._partition,
    PartitionChangeRecord: MetadataDelta._partition_change,
    RemoveTopicRecord: MetadataDelta._remove_topic,
    ConfigRecord: MetadataDelta._config,
    FeatureLevelRecord: MetadataDelta._feature_level,
    ClientQuotaRecord: MetadataDelta._client_quota,
    ProducerIdsRecord: MetadataDelta._producer_ids,
    UserScramCredentialRecord: MetadataDelta._user_scram_credential,
    RemoveUserScramCredentialRecord: MetadataDelta._remove_user_scram_credential,
    AccessControlEntryRecord: MetadataDelta._access_control_entry,
    RemoveAccessControlEntryRecord: MetadataDelta._remove_access_control_entry,
    NoOpRecord: MetadataDelta._noop,
}


def apply(image: MetadataImage, record: MetadataRecord) -> MetadataImage:
    return MetadataDelta(image).replay(record).build()


def apply_all(image: MetadataImage, records: Iterable[MetadataRecord]) -> MetadataImage:
    return MetadataDelta(image).replay_all(records).build()
