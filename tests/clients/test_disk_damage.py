"""On-disk damage is repaired or reported, never silently lost (real files, real broker processes).

- a flipped byte in unflushed data (after ``kill -9``) is found by the CRC check and the log truncated
  right before the damaged batch; everything before it is served at its offsets;
- garbage in the offset checkpoints: the broker warns and recovers from the segments;
- meta.properties missing beside data, or garbage in it: the broker refuses to start with one line;
- a second broker on the same log dir is refused by the ``.lock`` file.
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.process import BrokerProcess
from tests.clients.clientlib import Out, ck_produce, ck_read_all

TOPIC = "damage"


def _create(bootstrap: str, topic: str = TOPIC, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(15)


def _values(n: int, start: int = 0) -> list[Out]:
    return [Out(None, b"v%06d" % i + b"." * 200, partition=0) for i in range(start, start + n)]


def _exit_line(broker: BrokerProcess) -> tuple[int, str]:
    """Start a broker expected to refuse: (exit code, its output of that start)."""
    before = len(broker.log_text())
    broker.start(wait=False)
    code = broker.popen.wait(30)
    return code, broker.log_text()[before:]


def test_crc_damage_in_unflushed_data_truncates_before_it(broker_factory):
    broker = broker_factory()
    _create(broker.bootstrap)
    ck_produce(broker.bootstrap, TOPIC, _values(1000), linger_ms=1, batch_num_messages=10)
    broker.kill()  # nothing flushed: every batch is above the recovery point
    seg = broker.data_dir / f"{TOPIC}-0" / "00000000000000000000.log"
    data = bytearray(seg.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF  # one flipped bit pattern inside a batch: only the CRC can tell
    seg.write_bytes(bytes(data))

    broker.start()
    got = ck_read_all(broker.bootstrap, TOPIC, 1)
    assert 0 < len(got) < 1000, len(got)
    assert [r.offset for r in got] == list(range(len(got)))
    assert [r.value for r in got] == [o.value for o in _values(len(got))]
    # the next record continues right after the last good batch
    [more] = ck_produce(broker.bootstrap, TOPIC, [Out(None, b"after", partition=0)])
    assert more.offset == len(got)


def test_garbage_offset_checkpoints_are_recovered_from_segments(broker_factory):
    broker = broker_factory()
    _create(broker.bootstrap)
    ck_produce(broker.bootstrap, TOPIC, _values(300), linger_ms=1, batch_num_messages=10)
    assert broker.stop() == 0
    for name in ("recovery-point-offset-checkpoint", "log-start-offset-checkpoint"):
        (broker.data_dir / name).write_bytes(b"\xff\xfe\x00garbage\x80\x81")

    broker.start()
    got = ck_read_all(broker.bootstrap, TOPIC, 1)
    assert [r.value for r in got] == [o.value for o in _values(300)]
    assert "recovery-point-offset-checkpoint" in broker.log_text()  # the warning names the file
    assert "Traceback" not in broker.log_text()


def test_missing_meta_properties_beside_data_refuses_to_start(broker_factory):
    broker = broker_factory()
    _create(broker.bootstrap)
    ck_produce(broker.bootstrap, TOPIC, _values(10))
    assert broker.stop() == 0
    meta = broker.data_dir / "meta.properties"
    cluster_line = next(l for l in meta.read_text().splitlines() if l.startswith("cluster.id="))
    meta.unlink()

    code, out = _exit_line(broker)
    assert code != 0
    assert not meta.exists(), "no new cluster id may be written over existing data"
    assert "meta.properties" in out and str(broker.data_dir) in out and "Traceback" not in out, out

    meta.write_text(f"version=1\n{cluster_line}\nnode.id=1\n")  # restored: the data is served again
    broker.start()
    assert [r.value for r in ck_read_all(broker.bootstrap, TOPIC, 1)] == [o.value for o in _values(10)]


def test_garbage_meta_properties_is_one_line(broker_factory):
    broker = broker_factory(start=False)
    broker.start()
    assert broker.stop() == 0
    meta = broker.data_dir / "meta.properties"
    meta.write_bytes(b"\x00\xff\xfe\x80 not properties")

    code, out = _exit_line(broker)
    assert code != 0
    lines = [l for l in out.splitlines() if l.startswith("kavka:")]
    assert len(lines) == 1 and str(meta) in lines[0], out
    assert "Traceback" not in out, out


def test_existing_empty_dir_formats_itself(tmp_path):
    data = tmp_path / "fresh"
    data.mkdir()
    with BrokerProcess(data) as broker:
        assert (data / "meta.properties").exists()
        assert broker.stop() == 0


def test_second_broker_on_the_same_dir_is_refused(broker_factory):
    first = broker_factory()
    _create(first.bootstrap)
    acked = ck_produce(first.bootstrap, TOPIC, _values(500))
    second = BrokerProcess(first.data_dir, log_path=first.data_dir.with_name("second.log"))
    try:
        code, out = _exit_line(second)
    finally:
        second.cleanup()
    assert code != 0
    assert ".lock" in out and str(first.data_dir) in out and "Traceback" not in out, out
    # the first broker's acknowledged records survive its restart
    assert first.stop() == 0
    first.start()
    got = ck_read_all(first.bootstrap, TOPIC, 1)
    assert [(r.offset, r.value) for r in got] == [(d.offset, o.value) for d, o in zip(acked, _values(500))]
