"""ApiVersions (key 18), v0–5.

Built from the registry, so only implemented APIs are advertised. v3+ carries the client's software
name and version (KIP-511), kept on the connection for metrics. The response header is always v0 and
an unsupported request version gets a v0 answer with UNSUPPORTED_VERSION (see dispatch.py).
Features (KIP-584, v3+ tagged fields) as a KRaft broker reports them: ``metadata.version`` (Kavka
speaks the protocol of Kafka 4.0's 4.0-IV3 level, finalized there), ``kraft.version`` 0 (a static
voter set), ``group.version`` 1 (KIP-848 consumer groups) and ``transaction.version`` 2 (KIP-890 part 2:
the epoch bump per transaction, partitions added by Produce v12 / TxnOffsetCommit v5). Levels at 0 are
not listed as finalized, as in Kafka. The finalized-features epoch is the metadata log's end offset.

The other features Kafka 4.4 knows are supported at level 0 only (``kavka.controller.features`` says
why, and why ``metadata.version`` stops at 25). Finalized levels come from the metadata image, so
UpdateFeatures changes them. As in Kafka, v0–3 leave out supported features whose minimum is 0.

v5 (Kafka 4.4) adds ``cluster_id`` (compact nullable string) and ``node_id`` (int32) after the client
software fields: the node the client means to reach. Both or neither must be set (else
INVALID_REQUEST); set and not this node's, the answer is REBOOTSTRAP_REQUIRED, so a client whose
address now reaches another cluster or node starts over from its bootstrap servers. Such an error
answer carries no API list, as Kafka's does. The v5 response body is v4's. kio (Kavka's codec
library) has no v5 schema, so this handler takes the raw body and decodes v5 itself.
"""

from kavka.broker.dispatch import api_versions_entries
from kavka.broker.registry import handles
from kavka.controller.features import BOOTSTRAP_LEVELS, SUPPORTED_FEATURES, finalized_levels
from kavka.protocol.api import ApiKey, ErrorCode, decode_request, encode_response
from kavka.protocol.primitives import (
    as_view,
    read_compact_nullable_string,
    read_compact_string,
    read_int32,
    skip_tagged_fields,
)

# name: (min supported, max supported, level of a new cluster), in ApiVersions' order: one table, the
# controller's (kavka.controller.features), so UpdateFeatures and ApiVersions agree.
FEATURES = {n: (lo, hi, BOOTSTRAP_LEVELS.get(n, 0)) for n, (lo, hi) in SUPPORTED_FEATURES.items()}


class ApiVersionsV5Request:
    """ApiVersions v5's request body (the fields of v3/v4 plus ``cluster_id`` and ``node_id``)."""

    def __init__(self, body) -> None:
        buf = as_view(body)
        # kio has no v5 schema, so the dispatcher parsed the header as a non-flexible one: the header's
        # tagged-field section (header v2) is still in front of the body.
        pos = skip_tagged_fields(buf, 0)
        self.client_software_name, pos = read_compact_string(buf, pos)
        self.client_software_version, pos = read_compact_string(buf, pos)
        self.cluster_id, pos = read_compact_nullable_string(buf, pos)
        self.node_id, pos = read_int32(buf, pos)
        skip_tagged_fields(buf, pos)


def _v5_error(code: int):
    body = encode_response(ApiKey.API_VERSIONS, 4, 0, {"error_code": code, "api_keys": [], "throttle_time": 0})
    return [body[4:]]  # the v4 body after its v0 header (the correlation id): v5's body is v4's


@handles(ApiKey.API_VERSIONS, 0, 5, raw=True)
def handle_api_versions(ctx, body):
    if ctx.version == 5:
        req = ApiVersionsV5Request(body)  # ProtocolDecodeError: the dispatcher logs it and closes the connection
        if (req.cluster_id is None) != (req.node_id == -1):
            return _v5_error(ErrorCode.invalid_request)
        if req.cluster_id is not None and (
            req.cluster_id != ctx.broker.cluster_id or req.node_id != ctx.broker.node_id
        ):
            return _v5_error(ErrorCode.rebootstrap_required)
    else:
        req = decode_request(ApiKey.API_VERSIONS, ctx.version, body, 0)
    response = _response(ctx, req)
    if ctx.version == 5:
        return [encode_response(ApiKey.API_VERSIONS, 4, 0, response)[4:]]
    return response


def _response(ctx, req):
    name = getattr(req, "client_software_name", None)
    if name:
        ctx.conn.client_software = f"{name}/{getattr(req, 'client_software_version', '')}"
    response = {"error_code": 0, "api_keys": api_versions_entries(ctx.listener), "throttle_time": 0}
    if ctx.version >= 3:
        quorum = ctx.broker.quorum
        levels = (
            finalized_levels(quorum.image, {n: v[2] for n, v in FEATURES.items()})
            if quorum is not None
            else {n: v[2] for n, v in FEATURES.items()}
        )
        response.update(
            supported_features=[
                {"name": n, "min_version": lo, "max_version": hi}
                for n, (lo, hi, _) in FEATURES.items()
                if ctx.version >= 4 or lo > 0
            ],
            finalized_features_epoch=quorum.end_offset if quorum is not None else -1,
            finalized_features=[
                {"name": n, "min_version_level": level, "max_version_level": level}
                for n, level in levels.items()
                if level > 0
            ],
        )
    return response
