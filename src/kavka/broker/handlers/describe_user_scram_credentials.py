"""DescribeUserScramCredentials (key 50), v0: the SCRAM credentials of users (KIP-554).

Kavka has no SASL, so no user ever has a credential, and the answer is what Kafka's ``ScramImage.describe``
gives with none stored: a null or empty user list describes every user, which is an empty result list
with no error; each named user gets RESOURCE_NOT_FOUND ``Attempt to describe a user credential that does
not exist: alice``, and a user named more than once gets one DUPLICATE_RESOURCE result ``Cannot describe
SCRAM credentials for the same user twice in a single request: alice``. One result per distinct name, in
the order of first mention (Kafka's order is a hash map's).
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_DUPLICATE = "Cannot describe SCRAM credentials for the same user twice in a single request: "
_NOT_FOUND = "Attempt to describe a user credential that does not exist: "


@handles(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0)
def handle_describe_user_scram_credentials(ctx, req):
    counts: dict[str, int] = {}
    for user in req.users or ():
        counts[user.name] = counts.get(user.name, 0) + 1
    results = []
    for name, count in counts.items():
        if count > 1:
            code, message = ErrorCode.duplicate_resource, _DUPLICATE + name
        else:
            code, message = ErrorCode.resource_not_found, _NOT_FOUND + name
        results.append({"user": name, "error_code": code, "error_message": message, "credential_infos": []})
    return {"throttle_time": 0, "error_code": 0, "error_message": None, "results": results}
