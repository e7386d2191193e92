"""AlterConfigs (key 33), v0–2: the legacy, whole-set config change.

The given configs become the resource's complete set of dynamic configs (keys not given are deleted).
Topic resources and broker resources (``""`` = cluster default, this node's id); the broker checks
first what Kafka's broker checks (duplicates, nulls, broker names and dynamic-updatability, see
``kavka.broker.admin``), the controller validates and commits the rest, and a committed change is
applied to the live logs at once. ``validate_only`` answers the same without committing.
"""

from kavka.broker.admin import alter_configs
from kavka.broker.config_authz import split_alters
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.ALTER_CONFIGS, 0, 2)
def handle_alter_configs(ctx, req):
    allowed, merge = split_alters(ctx, req)
    local = alter_configs(ctx.broker, allowed.resources, bool(req.validate_only)) if allowed is not None else []
    return merge({"responses": local})


handle_alter_configs.split_before_forwarding = split_alters
