"""UpdateFeatures (key 57), v0–2: change the cluster's finalized feature levels (KIP-584, KIP-778).

v0 has ``allow_downgrade`` (a safe downgrade when set), v1 an ``upgrade_type`` per feature (1 upgrade,
2 safe downgrade, 3 unsafe downgrade) and ``validate_only``; v2 answers with the top-level error only.
The checks and messages are Kafka's controller's (``kavka.controller.features``): one failed update
fails them all with INVALID_UPDATE_VERSION. A committed update is a FeatureLevelRecord, so ApiVersions
(and ``kafka-features describe``) show the new level at once. ``timeout`` is not needed: one node
commits before it answers.
"""

from kavka.broker.handlers.api_versions import FEATURES
from kavka.broker.registry import handles
from kavka.controller.features import SAFE_DOWNGRADE, UPGRADE, FeatureUpdate
from kavka.protocol.api import ApiKey


@handles(ApiKey.UPDATE_FEATURES, 0, 2)
def handle_update_features(ctx, req):
    updates = [
        FeatureUpdate(
            u.feature,
            int(u.max_version_level),
            int(u.upgrade_type)
            if ctx.version >= 1
            else (SAFE_DOWNGRADE if getattr(u, "allow_downgrade", False) else UPGRADE),
        )
        for u in req.feature_updates
    ]
    validate_only = bool(getattr(req, "validate_only", False))
    result = ctx.broker.controller.update_features(updates, validate_only, FEATURES, ctx.broker.node_id)
    response = {"throttle_time": 0, "error_code": result.error_code, "error_message": result.error_message}
    if ctx.version < 2:
        # Kafka lists every requested feature with NONE (and the message "NONE") on success, none on failure.
        response["results"] = (
            [{"feature": u.feature, "error_code": 0, "error_message": "NONE"} for u in updates]
            if result.error_code == 0
            else []
        )
    return response
