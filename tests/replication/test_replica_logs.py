"""A leader and a follower over real partition logs (in-memory file system), driven through the
replica manager's follower read and the follower's response handling, with no network: a follower
copies the leader's log byte for byte, the high watermark follows the ISR, acks=all waits for it, a
follower that diverged truncates by the diverging epoch (KIP-320), and the ISR shrinks and grows."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from kavka.broker.replica_manager import Partition, ReplicaManager
from kavka.metadata.image import PartitionImage
from kavka.protocol.api import ErrorCode
from kavka.replication.follower import apply_partition_response, fetch_position, truncate_after_out_of_range
from kavka.storage.config import LogConfig
from kavka.storage.log import PartitionLog
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch

NOW = 1_700_000_000_000
LEADER, F1, F2 = 1, 2, 3


def _log(fs, path: str) -> PartitionLog:
    fs.makedirs(path)
    return PartitionLog(fs, path, LogConfig(), now_ms=NOW)


def _bytes(log: PartitionLog) -> bytes:
    return b"".join(bytes(c) for c in log.read(log.log_start_offset, 1 << 24).chunks)


class Pair:
    """A leader's replica manager hosting t-0 with followers 2 and 3, and follower 2's own log."""

    def __init__(self, isr=(LEADER, F1, F2), epoch: int = 1) -> None:
        self.fs = MemoryFileSystem(seed=1)
        self.now = NOW
        self.rm = ReplicaManager(lambda: self.now)
        self.proposed: list[tuple[int, ...]] = []
        self.rm.on_isr_change = lambda p, isr: self.proposed.append(isr)
        self.leader_log = _log(self.fs, "/leader/t-0")
        self.follower_log = _log(self.fs, "/f2/t-0")
        self.p = Partition("t", 0, None, self.leader_log, is_leader=False, min_insync_replicas=2)
        self.rm.add(self.p)
        self.elect(epoch, isr)

    def elect(self, epoch: int, isr) -> None:
        image = PartitionImage(LEADER, epoch, (LEADER, F1, F2), tuple(isr), epoch)
        self.rm.make_leader(self.p, image, self.now, replicated=True)

    def produce(self, n: int = 2) -> int:
        r = self.rm.append("t", 0, bytearray(make_batch(n, timestamp=self.now)), acks=-1)
        assert r.error_code == 0
        return self.leader_log.log_end_offset

    def fetch(self, replica: int, log: PartitionLog | None = None, *, apply: bool = True):
        """One fetch by ``replica`` from its log's position; its answer applied to that log."""
        log = log if log is not None else self.follower_log
        offset, epoch = fetch_position(log)
        answer = self.rm.read_for_replica(
            "t", 0, replica, offset, 1 << 20, last_fetched_epoch=epoch, current_leader_epoch=-1, now_ms=self.now
        )
        part = SimpleNamespace(
            error_code=answer.error_code,
            high_watermark=answer.high_watermark,
            log_start_offset=answer.log_start_offset,
            records=b"".join(bytes(c) for c in answer.records or ()),
            diverging_epoch=None
            if answer.diverging_epoch is None
            else SimpleNamespace(epoch=answer.diverging_epoch[0], end_offset=answer.diverging_epoch[1]),
        )
        return apply_partition_response(log, part, self.now) if apply else part


def test_a_follower_copies_the_leader_byte_for_byte_and_the_high_watermark_waits_for_the_isr():
    pair = Pair()
    end = pair.produce(3)
    assert pair.leader_log.high_watermark == 0  # followers 2 and 3 have nothing yet
    pair.fetch(F1)  # follower 2 gets the batch; the leader learns where it is only at its next fetch
    assert pair.follower_log.log_end_offset == end
    assert pair.leader_log.high_watermark == 0
    pair.fetch(F1)
    assert pair.leader_log.high_watermark == 0  # follower 3, in the ISR, has nothing
    log3 = _log(pair.fs, "/f3/t-0")
    pair.fetch(F2, log3)
    pair.fetch(F2, log3)
    assert pair.leader_log.high_watermark == end
    pair.fetch(F1)  # the high watermark reaches followers in their fetch answers
    assert pair.follower_log.high_watermark == end
    assert _bytes(pair.follower_log) == _bytes(pair.leader_log) == _bytes(log3)
    assert pair.follower_log.leader_epoch_cache.entries() == pair.leader_log.leader_epoch_cache.entries()


def test_acks_all_completes_when_the_isr_has_the_append_and_times_out_otherwise():
    async def scenario() -> tuple[int, int]:
        pair = Pair(isr=(LEADER, F1))
        end = pair.produce()
        waiting = asyncio.ensure_future(pair.rm.until_replicated(pair.p, end, timeout=5))
        await asyncio.sleep(0)
        assert not waiting.done()
        pair.fetch(F1)
        pair.fetch(F1)
        done = await asyncio.wait_for(waiting, 1)
        end = pair.produce()
        timed_out = await pair.rm.until_replicated(pair.p, end, timeout=0.05)
        return done, timed_out

    assert asyncio.run(scenario()) == (ErrorCode.none, ErrorCode.request_timed_out)


def test_acks_all_after_the_isr_fell_below_min_insync_is_not_enough_replicas_after_append():
    async def scenario() -> int:
        pair = Pair(isr=(LEADER, F1))
        end = pair.produce()
        waiting = asyncio.ensure_future(pair.rm.until_replicated(pair.p, end, timeout=5))
        await asyncio.sleep(0)
        pair.rm.update_isr(pair.p, pair.p.replicas, (LEADER,), pair.p.partition_epoch + 1, pair.now)
        return await asyncio.wait_for(waiting, 1)

    assert asyncio.run(scenario()) == ErrorCode.not_enough_replicas_after_append


def test_acks_all_ends_with_not_leader_when_leadership_moves():
    async def scenario() -> int:
        pair = Pair(isr=(LEADER, F1))
        end = pair.produce()
        waiting = asyncio.ensure_future(pair.rm.until_replicated(pair.p, end, timeout=5))
        await asyncio.sleep(0)
        pair.rm.make_follower(pair.p, PartitionImage(F1, 2, (LEADER, F1, F2), (F1,), 2))
        return await asyncio.wait_for(waiting, 1)

    assert asyncio.run(scenario()) == ErrorCode.not_leader_or_follower


def test_a_produce_with_the_isr_below_min_insync_is_refused_before_the_append():
    pair = Pair(isr=(LEADER,))
    r = pair.rm.append("t", 0, bytearray(make_batch(1)), acks=-1)
    assert r.error_code == ErrorCode.not_enough_replicas
    assert pair.leader_log.log_end_offset == 0
    assert pair.rm.append("t", 0, bytearray(make_batch(1)), acks=1).error_code == 0


def test_a_follower_that_diverged_truncates_to_where_the_logs_agree():
    """Follower 2 led epoch 2 and appended offsets 4-6 nobody else got; the leader of epoch 3 never saw
    them and appended its own. The follower's fetch gets the diverging epoch, it truncates to 4, then
    copies the leader's log from there."""
    pair = Pair(isr=(LEADER, F1))
    pair.produce(4)  # offsets 0-3 at epoch 1, on both
    pair.fetch(F1)
    pair.follower_log.append_as_leader(bytearray(make_batch(3)), leader_epoch=2, now_ms=NOW)
    pair.elect(3, (LEADER, F1))
    pair.produce(5)  # offsets 4-8 at epoch 3
    outcome = pair.fetch(F1)
    assert outcome.truncated_to == 4
    assert pair.follower_log.log_end_offset == 4
    pair.fetch(F1)
    assert _bytes(pair.follower_log) == _bytes(pair.leader_log)
    assert [e for e, _ in pair.follower_log.leader_epoch_cache.entries()] == [1, 3]


def test_a_follower_past_the_leaders_end_truncates_to_it_after_out_of_range():
    """An unclean election made a replica with less data the leader: the old leader's longer log is cut
    to the new leader's end (the data loss unclean election implies)."""
    pair = Pair(isr=(LEADER, F1))
    pair.produce(2)
    pair.fetch(F1)
    pair.follower_log.append_as_leader(bytearray(make_batch(3)), leader_epoch=1, now_ms=NOW)  # 2-4, same epoch
    part = pair.fetch(F1, apply=False)
    assert (part.diverging_epoch.epoch, part.diverging_epoch.end_offset) == (1, 2)
    apply_partition_response(pair.follower_log, part, NOW)
    assert pair.follower_log.log_end_offset == 2
    pair.fetch(F1)
    assert _bytes(pair.follower_log) == _bytes(pair.leader_log)


def test_a_follower_whose_last_epoch_is_older_than_the_leaders_first_truncates_to_its_start():
    """The leader's log starts at epoch 3; the follower's last epoch is 1. As Kafka's epoch cache, the
    leader answers epoch 1 ends where its first epoch starts (0): the follower truncates there and
    copies the leader's log."""
    pair = Pair(isr=(LEADER, F1), epoch=3)
    pair.produce(4)
    pair.follower_log.append_as_leader(bytearray(make_batch(2)), leader_epoch=1, now_ms=NOW)
    assert pair.fetch(F1).truncated_to == 0
    pair.fetch(F1)
    assert _bytes(pair.follower_log) == _bytes(pair.leader_log)


def test_a_follower_behind_the_leaders_log_start_starts_again_there():
    """Retention (or DeleteRecords) removed what the follower misses: its fetch is OFFSET_OUT_OF_RANGE
    with the leader's log start, and it starts again, empty, at that offset."""
    pair = Pair(isr=(LEADER,))
    pair.p.min_insync_replicas = 1
    pair.produce(4)
    pair.produce(4)
    pair.leader_log.roll(NOW)
    pair.leader_log.advance_log_start_offset(4, NOW)
    part = pair.fetch(F1, apply=False)
    assert (part.error_code, part.log_start_offset) == (ErrorCode.offset_out_of_range, 4)
    assert apply_partition_response(pair.follower_log, part, NOW).truncated_to == 4
    pair.fetch(F1)
    assert (pair.follower_log.log_start_offset, pair.follower_log.log_end_offset) == (4, 8)


def test_the_isr_shrinks_when_a_follower_lags_and_grows_when_it_catches_up():
    pair = Pair(isr=(LEADER, F1, F2))
    pair.produce()
    pair.fetch(F1)
    pair.fetch(F1)
    pair.now += 10_001
    pair.fetch(F1)  # follower 2 keeps up; follower 3 never fetched
    pair.rm.propose_isr_shrinks(pair.now, 10_000)
    assert pair.proposed == [(LEADER, F1)]
    pair.rm.update_isr(pair.p, pair.p.replicas, (LEADER, F1), pair.p.partition_epoch + 1, pair.now)
    assert pair.leader_log.high_watermark == pair.leader_log.log_end_offset  # 3 no longer holds it back
    log3 = _log(pair.fs, "/f3/t-0")
    pair.fetch(F2, log3)
    assert pair.proposed[-1] == (LEADER, F1)  # it fetched from 0: not caught up yet
    pair.fetch(F2, log3)
    assert pair.proposed[-1] == (LEADER, F1, F2)


def test_a_fetch_at_an_old_leader_epoch_is_fenced_and_a_follower_is_not_a_leader():
    pair = Pair()
    answer = pair.rm.read_for_replica("t", 0, F1, 0, 1 << 20, last_fetched_epoch=-1, current_leader_epoch=0, now_ms=NOW)
    assert answer.error_code == ErrorCode.fenced_leader_epoch
    pair.rm.make_follower(pair.p, PartitionImage(F1, 2, (LEADER, F1, F2), (F1,), 2))
    answer = pair.rm.read_for_replica("t", 0, F2, 0, 1 << 20, last_fetched_epoch=-1, current_leader_epoch=2, now_ms=NOW)
    assert answer.error_code == ErrorCode.not_leader_or_follower
    consumer = pair.rm.read("t", 0, 0, 1 << 20, read_committed=False, min_one_batch=True)
    assert consumer.error_code == ErrorCode.not_leader_or_follower


def test_after_out_of_range_a_follower_truncates_to_the_leaders_end_or_starts_again_at_its_start():
    fs = MemoryFileSystem(seed=2)
    log = _log(fs, "/f/t-0")
    for _ in range(5):
        log.append_as_leader(bytearray(make_batch(1)), leader_epoch=1, now_ms=NOW)
    assert truncate_after_out_of_range(log, 2, 0, NOW) == 2  # an unclean leader with less: cut to its end
    assert truncate_after_out_of_range(log, 10, 7, NOW) == 7  # a leader we cannot match: its log, from its start
    assert (log.log_start_offset, log.log_end_offset) == (7, 7)


def test_a_client_fetch_with_a_replica_id_is_answered_not_dropped(broker):
    """A Fetch naming a replica id, old (v4, no leader epochs) or by a zero topic id (v13), from anything
    that is not a follower of ours: each partition gets its error, the connection stays (found by the
    fuzz test of CI)."""
    from tests.clients.adminwire import call

    def body(version: int, topic) -> dict:
        partition = {"partition": 0, "fetch_offset": 0, "log_start_offset": -1, "partition_max_bytes": 1024}
        if version >= 9:
            partition["current_leader_epoch"] = -1
        if version >= 12:
            partition["last_fetched_epoch"] = -1
        out = {
            "max_wait": 0,
            "min_bytes": 0,
            "max_bytes": 1024,
            "isolation_level": 0,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [{"topic": topic, "topic_id": topic, "partitions": [partition]}],
            "forgotten_topics_data": [],
            "rack_id": "",
        }
        if version >= 15:
            out["replica_state"] = {"replica_id": 7, "replica_epoch": -1}
        else:
            out["replica_id"] = 7
        return out

    [old] = call(broker.bootstrap, 1, 4, body(4, "no-such-topic")).responses
    assert old.partitions[0].error_code == ErrorCode.unknown_topic_or_partition
    [by_id] = call(broker.bootstrap, 1, 15, body(15, None)).responses
    assert by_id.partitions[0].error_code == ErrorCode.unknown_topic_id
