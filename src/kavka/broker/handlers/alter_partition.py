"""AlterPartition (key 56), v2–3: a partition leader asks the active controller to change its ISR
(KIP-497), on the controller listener only, as Kafka 4.4 serves it (v0–1, by topic name, are gone).

v2 names the proposed ISR by broker id (``new_isr``); v3 gives each member with the broker epoch the
leader knows (``new_isr_with_epochs``, -1: unchecked), so a replica that restarted since is refused.
The controller's rules and per-partition errors are ``kavka.controller.replication.alter_partition``.
A sender whose broker epoch is not its registration's gets STALE_BROKER_EPOCH for the whole request,
a node that is not the active controller NOT_CONTROLLER, both with no topics, as Kafka answers. The
answer is sent once the change is committed, so the leader acts only on a durable ISR.
"""

from kavka.broker.registry import handles
from kavka.controller.brokers import BrokerControlError
from kavka.controller.errors import NotControllerError
from kavka.controller.replication import AlterPartitionData
from kavka.protocol.api import ApiKey, ErrorCode


def _error(code) -> dict:
    return {"throttle_time": 0, "error_code": code, "topics": []}


def _partition(p, version: int) -> AlterPartitionData:
    if version >= 3:
        isr = tuple((int(b.broker_id), int(b.broker_epoch)) for b in p.new_isr_with_epochs)
    else:
        isr = tuple((int(b), -1) for b in p.new_isr)
    return AlterPartitionData(
        partition_index=int(p.partition_index),
        leader_epoch=int(p.leader_epoch),
        partition_epoch=int(p.partition_epoch),
        new_isr_with_epochs=isr,
        leader_recovery_state=int(p.leader_recovery_state),
    )


@handles(ApiKey.ALTER_PARTITION, 2, 3)
async def handle_alter_partition(ctx, req):
    controller = ctx.broker.controller
    if controller is None:
        return _error(ErrorCode.not_controller)
    topics = [(t.topic_id, [_partition(p, ctx.version) for p in t.partitions]) for t in req.topics]
    try:
        answers, _ = controller.alter_partition(int(req.broker_id), int(req.broker_epoch), topics)
    except BrokerControlError as e:
        return _error(e.code)
    response = {
        "throttle_time": 0,
        "error_code": ErrorCode.none,
        "topics": [
            {
                "topic_id": topic_id,
                "partitions": [
                    {
                        "partition_index": r.partition_index,
                        "error_code": r.error_code,
                        "leader_id": r.leader_id,
                        "leader_epoch": r.leader_epoch,
                        "isr": list(r.isr),
                        "leader_recovery_state": 0,
                        "partition_epoch": r.partition_epoch,
                    }
                    for r in results
                ],
            }
            for topic_id, results in answers
        ],
    }
    try:
        return await ctx.broker.committed(response)
    except NotControllerError:
        return _error(ErrorCode.not_controller)
