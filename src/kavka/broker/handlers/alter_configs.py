"""AlterConfigs (key 33), v0–2: the legacy, whole-set config change.

The given configs become the resource's complete set of dynamic configs (keys not given are deleted).
Topic resources and broker resources (``""`` = cluster default, this node's id); the broker checks
first what Kafka's broker checks (duplicates, nulls, broker names and dynamic-updatability, see
``kavka.broker.admin``), the controller validates and commits the rest, and a committed change is
applied to the live logs at once. ``validate_only`` answers the same without committing.
"""

from kavka.broker.admin import alter_configs
from kavka.broker.config_authz import refused_alters
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.ALTER_CONFIGS, 0, 2)
def handle_alter_configs(ctx, req):
    denied, allowed = refused_alters(ctx, req.resources)
    responses = alter_configs(ctx.broker, allowed, bool(req.validate_only)) if allowed else []
    return {"throttle_time": 0, "responses": [*denied, *responses]}
