"""Cluster features (KIP-584): what this node supports, what the cluster has finalized, and
UpdateFeatures (Kafka's ``FeatureControlManager.updateFeatures``).

A feature's finalized level lives in the metadata log as ``FeatureLevelRecord`` (level 0 = not
finalized). A new cluster is bootstrapped with every feature at its default level (Kafka's
``kafka-storage format`` writes them the same way); a log written before a feature had a record reads
as that feature's default level (`BOOTSTRAP_LEVELS`), which is what Kavka always advertised for it.

Supported ranges, and why they stop where they do (Kafka 4.4 in brackets):

- ``metadata.version`` 7–25 [7–33]: 25 is 4.0-IV3. Levels 26–33 (4.1-IV0 … 4.4-IV2) gate metadata and
  protocol Kavka does not have: ELR records and fields, cordoned log dirs (KIP-1066), share and streams
  group records, the newer Fetch/Produce/ListOffsets versions. A level is a promise that every record
  and request of that level is understood, so Kavka stays at 25.
- ``kraft.version`` 0 [0–1]: 1 is the dynamic voter set (KIP-853); Kavka's quorum is one static voter.
- ``group.version`` 0–1 [0–1]: 1 is KIP-848 consumer groups.
- ``transaction.version`` 0–2 [0–2]: 2 is KIP-890 part 2 (an epoch bump per transaction, partitions
  added by Produce v12 / TxnOffsetCommit v5); a new cluster starts at 2, as Kafka 4.4's does.
- ``eligible.leader.replicas.version``, ``share.version``, ``streams.version`` 0 [0–1, 0–2, 0–1]: ELR
  (KIP-966), share groups (KIP-932) and streams groups (KIP-1071) are not implemented.

`update_features` is pure: image and request in, results and records out; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kavka.metadata.image import MetadataImage
from kavka.metadata.records import FeatureLevelRecord, MetadataRecord
from kavka.protocol.api import ErrorCode

__all__ = [
    "BOOTSTRAP_LEVELS",
    "SUPPORTED_FEATURES",
    "FeatureUpdate",
    "UpdateFeaturesResult",
    "consumer_protocol_enabled",
    "finalized_levels",
    "update_features",
    "UPGRADE",
    "SAFE_DOWNGRADE",
    "UNSAFE_DOWNGRADE",
]

METADATA_VERSION = "metadata.version"
KRAFT_VERSION = "kraft.version"

# name -> (min supported, max supported); the order is ApiVersions' order.
SUPPORTED_FEATURES: dict[str, tuple[int, int]] = {
    METADATA_VERSION: (7, 25),
    KRAFT_VERSION: (0, 0),
    "group.version": (0, 1),
    "transaction.version": (0, 2),
    "eligible.leader.replicas.version": (0, 0),
    "share.version": (0, 0),
    "streams.version": (0, 0),
}

# The level a new cluster starts at (and that a log without a record of the feature reads as).
BOOTSTRAP_LEVELS: dict[str, int] = {METADATA_VERSION: 25, "group.version": 1, "transaction.version": 2}

# FeatureUpdate.UpgradeType ids (UpdateFeatures v1+; v0's allow_downgrade maps to SAFE_DOWNGRADE).
UNKNOWN_TYPE, UPGRADE, SAFE_DOWNGRADE, UNSAFE_DOWNGRADE = 0, 1, 2, 3


@dataclass(frozen=True)
class FeatureUpdate:
    feature: str
    max_version_level: int
    upgrade_type: int = UPGRADE


@dataclass(frozen=True)
class UpdateFeaturesResult:
    """The request's outcome: ``error_code``/``error_message`` for the whole request (Kafka fails all
    updates when one fails) and the records to commit (none when validating or failing)."""

    error_code: int
    error_message: str | None
    records: list[MetadataRecord]


def finalized_levels(image: MetadataImage, defaults: Mapping[str, int]) -> dict[str, int]:
    """The finalized level (0 = not finalized) of each feature named in ``defaults`` (feature ->
    bootstrap level), in that order: the level of its last FeatureLevelRecord, else its default."""
    return {name: image.features[name] if name in image.features else level for name, level in defaults.items()}


def consumer_protocol_enabled(image: MetadataImage) -> bool:
    """KIP-848 consumer groups need ``group.version`` 1: at 0 (a downgrade) Kafka answers every
    ConsumerGroupHeartbeat with UNSUPPORTED_VERSION, while still advertising the API."""
    return image.features.get("group.version", BOOTSTRAP_LEVELS["group.version"]) >= 1


def _invalid(feature: str, level: int, reason: str) -> str:
    return f"Invalid update version {level} for feature {feature}. {reason}"


def _check(
    update: FeatureUpdate, current: int, supported: Mapping[str, tuple[int, int, int]], node_id: int
) -> str | None:
    name, level, kind = update.feature, update.max_version_level, update.upgrade_type
    if kind not in (UPGRADE, SAFE_DOWNGRADE, UNSAFE_DOWNGRADE):
        return _invalid(name, level, "The controller does not support the given upgrade type.")
    if level < 0:
        return _invalid(name, level, "A feature version cannot be less than 0.")
    lo, hi, _ = supported.get(name, (0, 0, 0))
    if not lo <= level <= hi:
        if hi == 0:
            why = f"Local controller {node_id} does not support this feature."
        else:
            why = f"Local controller {node_id} only supports versions {lo}-{hi}"
        return _invalid(name, level, why)
    if level < current and kind == UPGRADE:
        return _invalid(
            name,
            level,
            "Can't downgrade the version of this feature without setting the upgrade type to either safe or "
            "unsafe downgrade.",
        )
    if level > current and kind != UPGRADE:
        return _invalid(name, level, "Can't downgrade to a newer version.")
    if name == KRAFT_VERSION and level < current:
        return _invalid(name, level, "Can't downgrade the version of this feature.")
    if name == METADATA_VERSION and level < current:
        # Kafka refuses a downgrade that crosses a level with metadata changes, and every unsafe one.
        why = (
            "Unsafe metadata downgrade is not supported in this version."
            if kind == UNSAFE_DOWNGRADE
            else "Refusing to perform the requested downgrade because it might delete metadata information."
        )
        return f"Unsupported metadata.version downgrade from {current} to {level}. {why}"
    return None


def update_features(
    image: MetadataImage,
    updates: Sequence[FeatureUpdate],
    validate_only: bool,
    supported: Mapping[str, tuple[int, int, int]],
    node_id: int,
) -> UpdateFeaturesResult:
    """Validate every update against this node's ``supported`` ranges and the finalized levels; the
    first failure fails the request with INVALID_UPDATE_VERSION and Kafka's message. A feature named
    twice counts once (the last entry wins), as in Kafka's request map. ``supported`` maps each
    feature to (min supported, max supported, bootstrap level)."""
    current = finalized_levels(image, {name: v[2] for name, v in supported.items()})
    by_name = {u.feature: u for u in updates}
    records: list[MetadataRecord] = []
    for update in by_name.values():
        error = _check(update, current.get(update.feature, 0), supported, node_id)
        if error is not None:
            return UpdateFeaturesResult(
                ErrorCode.invalid_update_version,
                f"The update failed for all features since the following feature had an error: {error}",
                [],
            )
        if update.max_version_level != current.get(update.feature, 0):
            records.append(FeatureLevelRecord(update.feature, update.max_version_level))
    return UpdateFeaturesResult(ErrorCode.none, None, [] if validate_only else records)
