"""``kavka dump-log`` on segment files a real broker wrote, and on damaged copies."""

from __future__ import annotations

import shutil

from kavka.testing.process import wait_until


def _partition_dir(broker, topic: str):
    return broker.data_dir / f"{topic}-0"


def test_dump_log_and_indexes(kavka, broker, create_topic, tmp_path):
    name = create_topic(configs={"index.interval.bytes": "1"})  # an index entry per batch
    for i in range(3):
        assert kavka(f"produce {name} --property parse.key=true --sync", input=f"k{i}\tvalue-{i}\n").exit_code == 0
    log = _partition_dir(broker, name) / "00000000000000000000.log"
    wait_until(lambda: log.stat().st_size > 0, 10, message="segment written")

    r = kavka(["dump-log", str(log)], connect=False)
    assert r.exit_code == 0, r.output
    batches = [line for line in r.stdout.splitlines() if line.startswith("baseOffset:")]
    assert len(batches) == 3 and all("isvalid: true" in b and "compresscodec: none" in b for b in batches)
    assert not any(line.startswith("| offset") for line in r.stdout.splitlines())

    r = kavka(["dump-log", "--print-data-log", str(log)], connect=False)
    records = [line for line in r.stdout.splitlines() if line.startswith("| offset")]
    assert records[0].startswith("| offset: 0 CreateTime: ") and records[0].endswith("key: k0 payload: value-0")

    copy = tmp_path / "00000000000000000000.log"
    shutil.copy(log, copy)
    for suffix in (".index", ".timeindex"):
        src = log.with_suffix(suffix)
        if src.exists():
            shutil.copy(src, copy.with_suffix(suffix))
    r = kavka(["dump-log", str(copy.with_suffix(".index")), str(copy.with_suffix(".timeindex"))], connect=False)
    assert r.exit_code == 0, r.output
    assert "Index verification passed" in r.stdout and "Time index verification passed" in r.stdout

    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF  # flip a byte of the last record: its batch's CRC no longer matches
    copy.write_bytes(bytes(data))
    r = kavka(["dump-log", str(copy)], connect=False)
    assert r.exit_code == 1
    assert r.stdout.count("isvalid: false") == 1


def test_dump_log_rejects_other_files(kavka, tmp_path):
    other = tmp_path / "leader-epoch-checkpoint"
    other.write_text("0\n")
    r = kavka(["dump-log", str(other)], connect=False)
    assert r.exit_code == 1 and r.stderr.startswith("Error: ")
