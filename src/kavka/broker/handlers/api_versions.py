"""ApiVersions (key 18), v0–4.

Built from the registry, so only implemented APIs are advertised. v3+ carries the client's software
name and version (KIP-511), kept on the connection for metrics. The response header is always v0 and
an unsupported request version gets a v0 answer with UNSUPPORTED_VERSION (see dispatch.py).
Features (KIP-584, v3+ tagged fields) as a KRaft broker reports them: ``metadata.version`` (Kavka
speaks the protocol of Kafka 4.0's 4.0-IV3 level, finalized there), ``kraft.version`` 0 (a static
voter set), ``group.version`` 1 (KIP-848 consumer groups) and ``transaction.version`` 2 (KIP-890 part 2:
the epoch bump per transaction, partitions added by Produce v12 / TxnOffsetCommit v5). Levels at 0 are
not listed as finalized, as in Kafka. The finalized-features epoch is the metadata log's end offset.
"""

from kavka.broker.dispatch import api_versions_entries
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey

# name: (min supported, max supported, finalized level)
FEATURES = {
    "metadata.version": (7, 25, 25),
    "kraft.version": (0, 0, 0),
    "group.version": (0, 1, 1),
    "transaction.version": (0, 2, 2),  # KIP-890 part 2, as Kafka 4.4 finalizes on a new cluster
}


@handles(ApiKey.API_VERSIONS, 0, 4)
def handle_api_versions(ctx, req):
    name = getattr(req, "client_software_name", None)
    if name:
        ctx.conn.client_software = f"{name}/{getattr(req, 'client_software_version', '')}"
    response = {"error_code": 0, "api_keys": api_versions_entries(), "throttle_time": 0}
    if ctx.version >= 3:
        quorum = ctx.broker.quorum
        response.update(
            supported_features=[
                {"name": n, "min_version": lo, "max_version": hi} for n, (lo, hi, _) in FEATURES.items()
            ],
            finalized_features_epoch=quorum.end_offset if quorum is not None else -1,
            finalized_features=[
                {"name": n, "min_version_level": level, "max_version_level": level}
                for n, (_, _, level) in FEATURES.items()
                if level > 0
            ],
        )
    return response
