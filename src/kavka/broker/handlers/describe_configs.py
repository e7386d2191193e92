"""DescribeConfigs (key 32), v1–4.

Topic (2), broker (4) and broker-logger (8) resources, every config or the requested names (an empty
list means all, as in Kafka). v1+ carries synonyms when asked; v3+ adds ``config_type`` and, when asked,
documentation. Password values are null. Per-resource errors are Kafka's ``ConfigHelper``'s: an unknown
topic is UNKNOWN_TOPIC_OR_PARTITION (no message), an illegal name INVALID_TOPIC_EXCEPTION, another
broker's id INVALID_REQUEST. A resource type Kafka does not know fails the whole request: every resource
gets INVALID_REQUEST with the error's default message, as Kafka's error response does.
"""

from kavka.broker.admin import INVALID_REQUEST_MESSAGE, RESOURCE_TYPE_NAMES, AdminError, describe_resource
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DESCRIBE_CONFIGS, 1, 4)
def handle_describe_configs(ctx, req):
    include_synonyms = bool(req.include_synonyms)
    include_documentation = bool(getattr(req, "include_documentation", False))
    if any(int(r.resource_type) not in RESOURCE_TYPE_NAMES or int(r.resource_type) == 0 for r in req.resources):
        return {"throttle_time": 0, "results": [
            {"error_code": ErrorCode.invalid_request, "error_message": INVALID_REQUEST_MESSAGE,
             "resource_type": r.resource_type, "resource_name": r.resource_name, "configs": []}
            for r in req.resources
        ]}
    results = []
    for r in req.resources:
        try:
            configs = describe_resource(
                ctx.broker, int(r.resource_type), r.resource_name, r.configuration_keys,
                include_synonyms=include_synonyms, include_documentation=include_documentation,
            )
            code, message = 0, None
        except AdminError as e:
            configs, code, message = [], e.code, e.message
        results.append({"error_code": code, "error_message": message, "resource_type": r.resource_type,
                        "resource_name": r.resource_name, "configs": configs})
    return {"throttle_time": 0, "results": results}
