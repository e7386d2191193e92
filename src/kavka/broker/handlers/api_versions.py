"""ApiVersions (key 18), v0–4.

Built from the registry, so only implemented APIs are advertised. v3+ carries the client's software
name and version (KIP-511), kept on the connection for metrics. The response header is always v0 and
an unsupported request version gets a v0 answer with UNSUPPORTED_VERSION (see dispatch.py).
Features (KIP-584) are left out: Debian's kcat (librdkafka 2.0.2) fails on a v3 response carrying
supported_features it does not expect, and Kafka clients need none of them from a single broker.
"""

from kavka.broker.dispatch import api_versions_entries
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.API_VERSIONS, 0, 4)
def handle_api_versions(ctx, req):
    name = getattr(req, "client_software_name", None)
    if name:
        ctx.conn.client_software = f"{name}/{getattr(req, 'client_software_version', '')}"
    return {"error_code": 0, "api_keys": api_versions_entries(), "throttle_time": 0}
