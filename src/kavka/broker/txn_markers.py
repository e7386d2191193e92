"""Transaction markers to the partition leaders, wherever they are (Kafka's TransactionMarkerChannelManager).

The transaction coordinator hands out :class:`~kavka.coordinator.txn.shard.MarkerJob` s (a COMMIT or
ABORT marker of one producer for each partition of its transaction) and wants one report per job:
``markers_written(job, failed, fenced)``. :class:`MarkerWriter` does the writing:

- Each partition is looked up in the current metadata image. A topic or partition that no longer
  exists is done (the producer could not have written there since; Kafka drops it too). A partition
  this broker leads gets its marker in process (``TxnService.write_marker``). A partition with no
  leader, or a leader that is not a live broker, failed for now: the coordinator retries it after its
  backoff, with the image of that time (Kafka parks it in its "unknown broker" queue).
- A partition led by another broker goes into one WriteTxnMarkers request (v1) per destination,
  carrying every marker of the round for that broker, on the inter-broker channel
  (``broker.broker_channel``, purpose ``txn-markers``: a connection of its own, so a marker never
  waits behind a parked replica fetch).
- Each partition's answer is classified as Kafka's TransactionMarkerRequestCompletionHandler does:
  NONE done; UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
  REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR retried (the next attempt looks the leader up again);
  INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED fence the job (a newer producer or
  coordinator has taken over: the job is given up); UNSUPPORTED_FOR_MESSAGE_FORMAT, UNSUPPORTED_VERSION
  done (the producer could not have written there). Anything else is unexpected: logged as an error
  and retried. A request that fails as a whole (connection refused or lost, timeout) retries all its
  partitions.
- A job is reported once every one of its partitions has an outcome. The coordinator then completes
  the transaction (CompleteCommit / CompleteAbort) when nothing failed, or schedules the failed ones
  again; a report for a partition this broker stopped coordinating, or at an older coordinator epoch,
  is ignored there.

Runs on the event loop thread; the remote requests are tasks of that loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kavka.coordinator.txn.shard import MarkerJob
from kavka.protocol.api import ApiKey, ErrorCode

__all__ = ["MarkerWriter", "RETRIABLE", "FENCED", "DONE"]

log = logging.getLogger(__name__)

WRITE_TXN_MARKERS_VERSION = 1

RETRIABLE = frozenset(
    {
        ErrorCode.unknown_topic_or_partition,
        ErrorCode.not_leader_or_follower,
        ErrorCode.not_enough_replicas,
        ErrorCode.not_enough_replicas_after_append,
        ErrorCode.request_timed_out,
        ErrorCode.kafka_storage_error,
    }
)
FENCED = frozenset({ErrorCode.invalid_producer_epoch, ErrorCode.transaction_coordinator_fenced})
#: answers that mean "nothing to write there": the partition counts as done
DONE = frozenset({ErrorCode.none, ErrorCode.unsupported_for_message_format, ErrorCode.unsupported_version})

_LOCAL = -1  # the destination of a partition this broker leads
_GONE = -2  # the destination of a partition that no longer exists
_NOWHERE = -3  # no live leader now


@dataclass(slots=True)
class _Outcome:
    """What is known of one job so far."""

    job: MarkerJob
    pending: int
    failed: set[tuple[str, int]] = field(default_factory=set)
    fenced: bool = False


class MarkerWriter:
    """Writes the coordinator's marker jobs (see the module docstring).

    ``write_local(topic, index, job) -> error code`` writes one marker in process;
    ``report(job, failed, fenced)`` is the coordinator's ``markers_written`` (plus whatever the service
    does after it).
    """

    def __init__(
        self,
        broker,
        write_local: Callable[[str, int, MarkerJob], int],
        report: Callable[[MarkerJob, set[tuple[str, int]], bool], None],
    ):
        self.broker = broker
        self._write_local = write_local
        self._report = report
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    def close(self) -> None:
        """Stop: requests in flight are cancelled and their jobs never reported (the partitions are
        unloaded anyway, and the next coordinator resends their markers)."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # --- one round ------------------------------------------------------------------------------

    def write(self, jobs: list[MarkerJob]) -> None:
        """Write ``jobs``: local markers now, remote ones as one request per destination broker."""
        remote: dict[int, list[tuple[_Outcome, list[tuple[str, int]]]]] = {}
        for job in jobs:
            outcome = _Outcome(job, pending=len(job.partitions))
            by_node: dict[int, list[tuple[str, int]]] = {}
            for topic, index in sorted(job.partitions):
                node = self._destination(topic, index)
                if node >= 0:
                    by_node.setdefault(node, []).append((topic, index))
                    continue
                if node == _GONE:
                    code = ErrorCode.none
                elif node == _NOWHERE:
                    code = ErrorCode.not_leader_or_follower
                else:
                    code = self._write_local(topic, index, job)
                    waiting = self.broker.replica_manager.unreplicated_end(topic, index) if code == 0 else None
                    if waiting is not None and self.broker.cluster_mode:
                        self._until_replicated(outcome, topic, index, *waiting)
                        continue
                self._record(outcome, topic, index, code, "this broker")
            for node, partitions in by_node.items():
                remote.setdefault(node, []).append((outcome, partitions))
            if outcome.pending == 0:
                self._report(job, outcome.failed, outcome.fenced)
        for node, entries in remote.items():
            self._send(node, entries)

    def _destination(self, topic: str, index: int) -> int:
        broker = self.broker
        image = broker.topic(topic)
        if image is None or index not in image.partitions:
            return _GONE  # deleted: Kafka's getPartitionLeaderEndpoint finds nothing and drops it
        leader = image.partitions[index].leader
        if leader == broker.node_id or not broker.cluster_mode or broker.broker_channel is None:
            return _LOCAL
        if leader < 0 or all(b.node_id != leader for b in broker.live_brokers()):
            return _NOWHERE
        return int(leader)

    def _record(self, outcome: _Outcome, topic: str, index: int, code: int, where: str) -> None:
        """One partition's answer (see the module docstring for the classes of errors)."""
        outcome.pending -= 1
        code = int(code)
        job = outcome.job
        if code in DONE:
            return
        if code in FENCED:
            log.warning(
                "marker for %s on %s-%d refused by %s: %s; giving up on this transaction's markers",
                job.transactional_id,
                topic,
                index,
                where,
                _name(code),
            )
            outcome.fenced = True
            return
        if code not in RETRIABLE:
            log.error(
                "unexpected error writing the marker of %s to %s-%d on %s: %s; retrying",
                job.transactional_id,
                topic,
                index,
                where,
                _name(code),
            )
        else:
            log.debug("marker of %s on %s-%d: %s; retrying", job.transactional_id, topic, index, _name(code))
        outcome.failed.add((topic, index))

    def _until_replicated(self, outcome: _Outcome, topic: str, index: int, partition, offset: int) -> None:
        """A local marker counts once the partition's ISR has it (Kafka writes markers with acks=all):
        a leader that failed right after could otherwise lose it, leaving the transaction open there."""
        timeout = int(self.broker.config.get("request.timeout.ms", 30000) or 30000) / 1000

        async def wait() -> None:
            code = await self.broker.replica_manager.until_replicated(partition, offset, timeout)
            self._record(outcome, topic, index, code, "this broker")
            if outcome.pending == 0:
                self._report(outcome.job, outcome.failed, outcome.fenced)

        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(wait())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- remote destinations --------------------------------------------------------------------

    def _send(self, node: int, entries: list[tuple[_Outcome, list[tuple[str, int]]]]) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._request(node, entries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _request(self, node: int, entries: list[tuple[_Outcome, list[tuple[str, int]]]]) -> None:
        markers = []
        for outcome, partitions in entries:
            job = outcome.job
            topics: dict[str, list[int]] = {}
            for topic, index in partitions:
                topics.setdefault(topic, []).append(index)
            markers.append(
                {
                    "producer_id": job.producer_id,
                    "producer_epoch": job.producer_epoch,
                    "transaction_result": job.commit,
                    "topics": [{"name": t, "partition_indexes": ps} for t, ps in topics.items()],
                    "coordinator_epoch": job.coordinator_epoch,
                }
            )
        timeout = int(self.broker.config.get("request.timeout.ms", 30000) or 30000) / 1000
        try:
            response = await self.broker.broker_channel.request(
                node,
                ApiKey.WRITE_TXN_MARKERS,
                WRITE_TXN_MARKERS_VERSION,
                {"markers": markers},
                timeout,
                purpose="txn-markers",
            )
        except asyncio.CancelledError:
            raise
        except Exception as e:  # unreachable, timed out, disconnected: every partition is retried
            log.warning("WriteTxnMarkers to broker %d failed: %s; retrying its markers", node, e)
            answers = None
        else:
            answers = _answers(response)
        for i, (outcome, partitions) in enumerate(entries):
            got = answers[i] if answers is not None and i < len(answers) else {}
            for topic, index in partitions:
                # a partition the answer leaves out was not written: retried, as after a disconnect
                code = got.get((topic, index), ErrorCode.request_timed_out)
                self._record(outcome, topic, index, code, f"broker {node}")
            if outcome.pending == 0:
                self._report(outcome.job, outcome.failed, outcome.fenced)


def _answers(response) -> list[dict[tuple[str, int], int]]:
    """Per marker of the request, in its order: (topic, partition) -> error code."""
    out = []
    for marker in response.markers:
        codes = {}
        for t in marker.topics:
            for p in t.partitions:
                codes[(t.name, int(p.partition_index))] = int(p.error_code)
        out.append(codes)
    return out


def _name(code: int) -> str:
    try:
        return ErrorCode(code).name.upper()
    except ValueError:
        return f"error {code}"
