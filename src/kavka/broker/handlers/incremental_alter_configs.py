"""IncrementalAlterConfigs (key 44), v0–1: SET, DELETE, APPEND and SUBTRACT per config.

Topic resources, broker resources (``""`` = cluster default, this node's id) and broker-logger
resources (Python log levels of this process, not persisted, as Kafka's KIP-412 levels are not).
APPEND/SUBTRACT apply to LIST configs only. The broker's own checks come first (``kavka.broker.admin``),
then the controller validates and commits; a committed change is applied to the live logs at once.
"""

from kavka.broker.admin import incremental_alter_configs
from kavka.broker.config_authz import split_alters
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.INCREMENTAL_ALTER_CONFIGS, 0, 1)
def handle_incremental_alter_configs(ctx, req):
    allowed, merge = split_alters(ctx, req)
    validate_only = bool(req.validate_only)
    local = incremental_alter_configs(ctx.broker, allowed.resources, validate_only) if allowed is not None else []
    return merge({"responses": local})


handle_incremental_alter_configs.split_before_forwarding = split_alters
