"""Followers' fetchers (Kafka's ``ReplicaFetcherManager`` / ``ReplicaFetcherThread``): one task per
leader broker, fetching every partition this broker follows from it, over its own inter-broker
connection (``purpose="replica-fetch"``: a fetch may be parked up to ``replica.fetch.wait.max.ms`` by
the leader, and nothing else must queue behind it).

Each round sends Fetch v17 (topics by id; ReplicaState = our node id and broker epoch; per partition
our log end offset, our latest leader epoch as ``last_fetched_epoch``, the partition's current leader
epoch) with ``replica.fetch.max.bytes`` per partition, ``replica.fetch.response.max.bytes`` in all,
``replica.fetch.min.bytes`` and ``replica.fetch.wait.max.ms``; the answer is applied partition by
partition (kavka.replication.follower). A partition error, an unreachable leader or a request that
times out (``replica.socket.timeout.ms``) backs the task off for ``replica.fetch.backoff.ms``; a
partition whose leader moved is dropped at the next round (the broker reassigns fetchers on every
committed metadata change).

An error while appending to our own log (an I/O error) takes that log's dir offline through the replica
manager, as a leader's append would; it is never swallowed.
"""

from __future__ import annotations

import asyncio
import logging

from kavka.protocol.api import ApiKey, ErrorCode
from kavka.replication.follower import apply_partition_response, fetch_position, truncate_after_out_of_range
from kavka.server.peer_client import PeerError
from kavka.storage.errors import KafkaStorageError

log = logging.getLogger(__name__)

__all__ = ["ReplicaFetcherManager"]

FETCH_VERSION = 17
LIST_OFFSETS_VERSION = 9
_PURPOSE = "replica-fetch"


class ReplicaFetcherManager:
    def __init__(self, broker, channel) -> None:
        self.broker = broker
        self.channel = channel
        cfg = broker.config
        self.max_bytes = cfg["replica.fetch.max.bytes"]
        self.response_max_bytes = cfg["replica.fetch.response.max.bytes"]
        self.min_bytes = cfg["replica.fetch.min.bytes"]
        self.wait_ms = cfg["replica.fetch.wait.max.ms"]
        self.backoff = cfg["replica.fetch.backoff.ms"] / 1000
        self.timeout = cfg["replica.socket.timeout.ms"] / 1000
        self._assigned: dict[int, list[tuple[str, int]]] = {}
        self._tasks: dict[int, asyncio.Task] = {}

    def assign(self, targets: dict[int, list[tuple[str, int]]]) -> None:
        """The partitions to fetch from each leader broker; tasks start and stop to match."""
        self._assigned = targets
        for leader in [lead for lead in self._tasks if lead not in targets]:
            self._tasks.pop(leader).cancel()
        for leader in targets:
            task = self._tasks.get(leader)
            if task is None or task.done():
                self._tasks[leader] = asyncio.get_running_loop().create_task(
                    self._run(leader), name=f"ReplicaFetcherThread-0-{leader}"
                )

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _partitions(self, leader: int) -> list:
        rm = self.broker.replica_manager
        out = []
        for key in self._assigned.get(leader, ()):
            p = rm.get(*key)
            if p is not None and not p.is_leader and p.leader_id == leader and not p.offline:
                out.append(p)
        return out

    async def _run(self, leader: int) -> None:
        while True:
            partitions = self._partitions(leader)
            if not partitions:
                if leader not in self._assigned:
                    return
                await asyncio.sleep(self.backoff)
                continue
            try:
                backoff = await self._round(leader, partitions)
            except (PeerError, OSError) as e:
                log.debug("fetch from broker %d failed: %s", leader, e)
                backoff = True
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: said loudly, and the fetcher goes on after its backoff
                log.exception("fetching from broker %d failed", leader)
                backoff = True
            if backoff:
                await asyncio.sleep(self.backoff)

    def _request(self, partitions) -> dict:
        topics: dict = {}
        for p in partitions:
            offset, epoch = fetch_position(p.log)
            topics.setdefault(p.topic_id, []).append(
                {
                    "partition": p.index,
                    "current_leader_epoch": p.leader_epoch,
                    "fetch_offset": offset,
                    "last_fetched_epoch": epoch,
                    "log_start_offset": p.log.log_start_offset,
                    "partition_max_bytes": self.max_bytes,
                    "replica_directory_id": None,
                }
            )
        broker = self.broker
        return {
            "cluster_id": broker.cluster_id,
            "replica_state": {"replica_id": broker.node_id, "replica_epoch": broker.broker_epoch},
            "max_wait": self.wait_ms,
            "min_bytes": self.min_bytes,
            "max_bytes": self.response_max_bytes,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [{"topic_id": tid, "partitions": parts} for tid, parts in topics.items()],
            "forgotten_topics_data": [],
            "rack_id": "",
        }

    async def _round(self, leader: int, partitions) -> bool:
        """One Fetch to ``leader`` and its answer applied; True to back off before the next."""
        response = await self.channel.request(
            leader,
            ApiKey.FETCH,
            FETCH_VERSION,
            self._request(partitions),
            self.timeout + self.wait_ms / 1000,
            purpose=_PURPOSE,
        )
        if response.error_code != ErrorCode.none:
            log.info("fetch from broker %d: %s", leader, ErrorCode(response.error_code).name)
            return True
        by_key = {(p.topic_id, p.index): p for p in partitions}
        rm = self.broker.replica_manager
        backoff = False
        for topic in response.responses:
            for part in topic.partitions:
                p = by_key.get((topic.topic_id, part.partition_index))
                current = None if p is None else rm.get(p.topic, p.index)
                if current is not p or p.is_leader or p.leader_id != leader:
                    continue  # leadership moved while the fetch was out: the next round knows better
                if not await self._apply(leader, p, part):
                    backoff = True
        return backoff

    async def _apply(self, leader: int, p, part) -> bool:
        """Apply one partition's answer; False if it failed (the caller backs off)."""
        broker = self.broker
        rm = broker.replica_manager
        try:
            outcome = apply_partition_response(p.log, part, broker.clock_ms())
            if outcome.out_of_range:
                end, start = await self._leader_offsets(leader, p)
                truncate_after_out_of_range(p.log, end, start, broker.clock_ms())
        except (KafkaStorageError, OSError) as e:
            rm.storage_failed(p, e)
            return False
        if outcome.error != ErrorCode.none:
            log.debug("fetch of %s-%d from broker %d: %s", p.topic, p.index, leader, ErrorCode(outcome.error).name)
            return False
        if outcome.leader_high_watermark >= 0:
            p.fetch_lag = max(0, outcome.leader_high_watermark - p.log.log_end_offset)
        return True

    async def _leader_offsets(self, leader: int, p) -> tuple[int, int]:
        """(log end offset, log start offset) of the leader's log, asked as a replica (ListOffsets
        LATEST, which a leader answers a replica with its log end offset, and EARLIEST)."""
        found = []
        for timestamp in (-1, -2):
            body = {
                "replica_id": self.broker.node_id,
                "isolation_level": 0,
                "topics": [
                    {
                        "name": p.topic,
                        "partitions": [
                            {
                                "partition_index": p.index,
                                "current_leader_epoch": p.leader_epoch,
                                "timestamp": timestamp,
                            }
                        ],
                    }
                ],
            }
            response = await self.channel.request(
                leader, ApiKey.LIST_OFFSETS, LIST_OFFSETS_VERSION, body, self.timeout, purpose="replica-offsets"
            )
            answer = response.topics[0].partitions[0]
            if answer.error_code != ErrorCode.none:
                raise PeerError(
                    f"ListOffsets of {p.topic}-{p.index} from broker {leader}: {ErrorCode(answer.error_code).name}"
                )
            found.append(answer.offset)
        return found[0], found[1]
