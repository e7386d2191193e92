"""DescribeUserScramCredentials (key 50), v0: the SCRAM credentials of users (KIP-554), as Kafka's
``ScramImage.describe`` answers from the metadata image.

A null or empty user list describes every user that has a credential (no error); a named user with
none gets RESOURCE_NOT_FOUND ``Attempt to describe a user credential that does not exist: alice``; a
user named more than once gets one DUPLICATE_RESOURCE result ``Cannot describe SCRAM credentials for
the same user twice in a single request: alice``. Each described user lists its mechanisms (1
SCRAM-SHA-256, 2 SCRAM-SHA-512) with their iterations, never salts or keys. One result per distinct
name, in the order of first mention (all users: by name).
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_DUPLICATE = "Cannot describe SCRAM credentials for the same user twice in a single request: "
_NOT_FOUND = "Attempt to describe a user credential that does not exist: "


@handles(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0)
def handle_describe_user_scram_credentials(ctx, req):
    by_user: dict[str, list[dict]] = {}
    for (user, mechanism), record in sorted(ctx.broker.image.scram_credentials.items()):
        by_user.setdefault(user, []).append({"mechanism": mechanism, "iterations": record.iterations})
    results = []
    if not req.users:
        for name, infos in by_user.items():
            results.append({"user": name, "error_code": 0, "error_message": None, "credential_infos": infos})
    else:
        counts: dict[str, int] = {}
        for user in req.users:
            counts[user.name] = counts.get(user.name, 0) + 1
        for name, count in counts.items():
            infos = by_user.get(name)
            if count > 1:
                code, message, infos = ErrorCode.duplicate_resource, _DUPLICATE + name, []
            elif infos is None:
                code, message, infos = ErrorCode.resource_not_found, _NOT_FOUND + name, []
            else:
                code, message = 0, None
            results.append({"user": name, "error_code": code, "error_message": message, "credential_infos": infos})
    return {"throttle_time": 0, "error_code": 0, "error_message": None, "results": results}
