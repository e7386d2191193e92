"""Which error codes each version of the transaction APIs knows, and what older versions get instead.

PRODUCER_FENCED (90, KIP-588) replaced INVALID_PRODUCER_EPOCH (47) as the coordinator's answer to a
producer whose epoch is stale. A client that speaks an older version does not know 90 (aiokafka and
kafka-python send AddPartitionsToTxn v0 and would see an unknown error), so Kafka's KafkaApis answers
INVALID_PRODUCER_EPOCH below the version that introduced PRODUCER_FENCED:

==================  ====  =========================================================================
API (key)           from  note
==================  ====  =========================================================================
InitProducerId 22   v4    v3 added the producer id/epoch in the request (KIP-360), v4 the new code
AddPartitionsToTxn  v2    per partition; v4+ (broker to coordinator) always knows it
AddOffsetsToTxn 25  v2
EndTxn 26           v2
==================  ====  =========================================================================

Produce and TxnOffsetCommit never answer PRODUCER_FENCED: the partition leader turns the
coordinator's PRODUCER_FENCED into INVALID_PRODUCER_EPOCH at every version
(:func:`kavka.coordinator.txn.verification.leader_error`), and the log itself refuses a stale epoch
with INVALID_PRODUCER_EPOCH.
"""

from __future__ import annotations

from kavka.protocol.api import ApiKey, ErrorCode

__all__ = [
    "PRODUCER_FENCED_SINCE",
    "for_version",
    "TV2_END_TXN_VERSION",
    "TV2_PRODUCE_VERSION",
    "TV2_TXN_OFFSET_COMMIT_VERSION",
]

#: Transaction version 2 (KIP-890 part 2) by request version, as Kafka's KafkaApis decides it: EndTxn v5
#: bumps the epoch; Produce v12 and TxnOffsetCommit v5 add their partition to the transaction
#: themselves (a client of version 2 sends no AddPartitionsToTxn / AddOffsetsToTxn).
TV2_END_TXN_VERSION = 5
TV2_PRODUCE_VERSION = 12
TV2_TXN_OFFSET_COMMIT_VERSION = 5

PRODUCER_FENCED_SINCE: dict[ApiKey, int] = {
    ApiKey.INIT_PRODUCER_ID: 4,
    ApiKey.ADD_PARTITIONS_TO_TXN: 2,
    ApiKey.ADD_OFFSETS_TO_TXN: 2,
    ApiKey.END_TXN: 2,
}


def for_version(api_key: ApiKey, version: int, code: int) -> ErrorCode:
    """``code`` as a client of ``api_key`` at ``version`` is told it (PRODUCER_FENCED downgraded)."""
    code = ErrorCode(code)
    if code == ErrorCode.producer_fenced and version < PRODUCER_FENCED_SINCE.get(api_key, 0):
        return ErrorCode.invalid_producer_epoch
    return code
