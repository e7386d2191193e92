"""The metadata image as records: what a KRaft snapshot holds (KIP-630).

``image_to_records(image)`` returns the records that rebuild ``image`` from
``MetadataImage.empty(image.cluster_id)``::

    MetadataDelta(MetadataImage.empty(cluster_id)).replay_all(image_to_records(image)).build() == image

The cluster id is not a record (it lives in ``meta.properties``), so the caller supplies it on the way
back. The order is Kafka's ``MetadataImage.write`` (checked against Kafka 4.4's bytecode):

1. features: ``FeatureLevelRecord`` for ``metadata.version`` first (a reader may need it to decode what
   follows), then every other finalized feature;
2. the cluster: one ``RegisterBrokerRecord`` per broker (fenced and controlled-shutdown state included);
3. topics: each ``TopicRecord`` followed by its ``PartitionRecord`` s, which carry the leader and partition
   epochs as they are (not as a creation would start them);
4. configs: one ``ConfigRecord`` per key of every config resource (topics, brokers, the cluster default);
5. client quotas: one ``ClientQuotaRecord`` per entity and quota key;
6. producer ids: one ``ProducerIdsRecord`` (broker id and epoch -1, as Kafka writes it) when a block was
   ever allocated;
7. SCRAM credentials: one ``UserScramCredentialRecord`` per user and mechanism (by user, then mechanism).

Kafka walks hash maps; Kavka sorts every level (broker id, topic name, partition id, config resource and
key, quota entity and key), so one image always gives the same records, and so the same snapshot bytes.

What Kafka writes and the image does not hold is not written: controller registrations, ACLs and
delegation tokens (Kavka has none of them), and the ``features`` a broker registered
with (the image keeps no copy of them).
"""

from __future__ import annotations

from kavka.metadata.image import MetadataImage
from kavka.metadata.records import (
    ClientQuotaRecord,
    ConfigRecord,
    FeatureLevelRecord,
    MetadataRecord,
    PartitionRecord,
    ProducerIdsRecord,
    QuotaEntityPart,
    RegisterBrokerRecord,
    TopicRecord,
)

__all__ = ["image_to_records", "METADATA_VERSION_FEATURE"]

METADATA_VERSION_FEATURE = "metadata.version"


def image_to_records(image: MetadataImage) -> list[MetadataRecord]:
    """The records that rebuild ``image`` from an empty image, in Kafka's snapshot order."""
    records: list[MetadataRecord] = []
    _features(image, records)
    _brokers(image, records)
    _topics(image, records)
    _configs(image, records)
    _client_quotas(image, records)
    _producer_ids(image, records)
    records.extend(image.scram_credentials[k] for k in sorted(image.scram_credentials))
    _acls(image, records)
    return records


def _acls(image: MetadataImage, out: list[MetadataRecord]) -> None:
    # Kafka's AclsImage writes one AccessControlEntryRecord per ACL, keeping its id
    out.extend(image.acls[i] for i in sorted(image.acls))


def _features(image: MetadataImage, out: list[MetadataRecord]) -> None:
    # Written only when the image has it: an image whose log never finalized metadata.version differs
    # from one finalized at level 0 (kavka.metadata.image keeps level 0 for that reason).
    if METADATA_VERSION_FEATURE in image.features:
        out.append(FeatureLevelRecord(METADATA_VERSION_FEATURE, image.features[METADATA_VERSION_FEATURE]))
    for name in sorted(image.features):
        if name != METADATA_VERSION_FEATURE:
            out.append(FeatureLevelRecord(name, image.features[name]))


def _brokers(image: MetadataImage, out: list[MetadataRecord]) -> None:
    for broker_id in sorted(image.brokers):
        b = image.brokers[broker_id]
        out.append(
            RegisterBrokerRecord(
                broker_id=b.broker_id,
                incarnation_id=b.incarnation_id,
                broker_epoch=b.broker_epoch,
                endpoints=b.endpoints,
                rack=b.rack,
                fenced=b.fenced,
                in_controlled_shutdown=b.in_controlled_shutdown,
            )
        )


def _topics(image: MetadataImage, out: list[MetadataRecord]) -> None:
    for name in sorted(image.topics_by_name):
        topic = image.topics_by_name[name]
        out.append(TopicRecord(topic.name, topic.topic_id))
        for partition_id in sorted(topic.partitions):
            p = topic.partitions[partition_id]
            out.append(
                PartitionRecord(
                    partition_id=partition_id,
                    topic_id=topic.topic_id,
                    replicas=p.replicas,
                    isr=p.isr,
                    leader=p.leader,
                    leader_epoch=p.leader_epoch,
                    partition_epoch=p.partition_epoch,
                    removing_replicas=p.removing_replicas,
                    adding_replicas=p.adding_replicas,
                )
            )


def _configs(image: MetadataImage, out: list[MetadataRecord]) -> None:
    for resource_type, resource_name in sorted(image.configs):
        values = image.configs[(resource_type, resource_name)]
        for key in sorted(values):
            out.append(ConfigRecord(resource_type, resource_name, key, values[key]))


def _client_quotas(image: MetadataImage, out: list[MetadataRecord]) -> None:
    # An entity key is its parts sorted by type; a default entity's name is None, which sorts apart.
    for entity in sorted(image.client_quotas, key=lambda e: [(t, n is None, n or "") for t, n in e]):
        parts = tuple(QuotaEntityPart(entity_type, entity_name) for entity_type, entity_name in entity)
        values = image.client_quotas[entity]
        for key in sorted(values):
            out.append(ClientQuotaRecord(parts, key, values[key]))


def _producer_ids(image: MetadataImage, out: list[MetadataRecord]) -> None:
    # Kafka's ProducerIdsImage writes one record when a block was ever allocated; Kavka's image starts
    # at 0, which is also what no record rebuilds.
    if image.next_producer_id > 0:
        out.append(ProducerIdsRecord(-1, -1, image.next_producer_id))
