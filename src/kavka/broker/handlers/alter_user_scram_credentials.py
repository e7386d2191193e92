"""AlterUserScramCredentials (key 51), v0: add, replace or delete users' SCRAM credentials (KIP-554).

The client salts the password (``salted_password`` = PBKDF2 with its salt and iterations); the broker
derives StoredKey and ServerKey (kavka.security.scram) and the controller validates and commits the
records (kavka.controller.scram_credentials, Kafka's rules and messages). An upsertion with an unknown
mechanism is left to the controller, which answers UNSUPPORTED_SASL_MECHANISM.
"""

from kavka.broker.registry import handles
from kavka.controller.scram_credentials import ScramDeletion, ScramUpsertion
from kavka.protocol.api import ApiKey
from kavka.security.scram import MECHANISM_IDS, credential_from_salted_password

_BY_ID = {v: k for k, v in MECHANISM_IDS.items()}


def _upsertion(u) -> ScramUpsertion:
    mechanism = _BY_ID.get(u.mechanism)
    if mechanism is None:
        return ScramUpsertion(u.name, u.mechanism, u.iterations, bytes(u.salt), b"", b"")
    c = credential_from_salted_password(mechanism, bytes(u.salted_password), bytes(u.salt), u.iterations)
    return ScramUpsertion(u.name, u.mechanism, u.iterations, c.salt, c.stored_key, c.server_key)


@handles(ApiKey.ALTER_USER_SCRAM_CREDENTIALS, 0, 0)
def handle_alter_user_scram_credentials(ctx, req):
    deletions = [ScramDeletion(d.name, d.mechanism) for d in req.deletions]
    upsertions = [_upsertion(u) for u in req.upsertions]
    results = ctx.broker.controller.alter_user_scram_credentials(deletions, upsertions)
    return {
        "throttle_time": 0,
        "results": [{"user": r.user, "error_code": r.error_code, "error_message": r.error_message} for r in results],
    }
