"""``kavka offsets`` (get-offsets) and ``kavka delete-records``."""

from __future__ import annotations

import json
import time


def test_offsets_latest_earliest_and_time(kavka, create_topic):
    name = create_topic(partitions=2)
    before = int(time.time() * 1000) - 1000
    kavka(f"produce {name} --partition 0", input="a\nb\nc\n")
    kavka(f"produce {name} --partition 1", input="d\n")
    r = kavka(f"offsets {name}")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [f"{name}:0:3", f"{name}:1:1"]
    assert kavka(f"offsets {name} --time earliest").stdout.splitlines() == [f"{name}:0:0", f"{name}:1:0"]
    assert kavka(f"offsets {name} --time -2 --partitions 1").stdout.splitlines() == [f"{name}:1:0"]
    assert kavka(f"offsets {name} --time {before} --partitions 0").stdout.splitlines() == [f"{name}:0:0"]
    future = int(time.time() * 1000) + 3_600_000
    assert kavka(f"offsets {name} --time {future} --partitions 0").stdout.splitlines() == [f"{name}:0:"]


def test_offsets_of_missing_topic(kavka, new_topic_name):
    missing = new_topic_name("missing")
    r = kavka(f"offsets {missing}")
    assert r.exit_code == 1 and r.stderr.strip() == f"Error: Topic '{missing}' does not exist."


def test_delete_records_moves_log_start(kavka, create_topic, tmp_path):
    name = create_topic(partitions=2)
    kavka(f"produce {name} --partition 0", input="".join(f"{i}\n" for i in range(10)))
    kavka(f"produce {name} --partition 1", input="x\ny\n")
    r = kavka(f"delete-records {name} --partition 0 --offset 4")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1] == f"partition: {name}-0\tlow_watermark: 4"
    assert kavka(f"offsets {name} --time earliest --partitions 0").stdout.strip() == f"{name}:0:4"
    r = kavka(f"consume {name} --partition 0 --offset earliest --max-messages 1 --timeout-ms 10000")
    assert r.stdout == "4\n"

    spec = tmp_path / "offsets.json"
    spec.write_text(json.dumps({"partitions": [{"topic": name, "partition": 1, "offset": -1}], "version": 1}))
    r = kavka(f"delete-records --offset-json-file {spec}")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1] == f"partition: {name}-1\tlow_watermark: 2"


def test_delete_records_beyond_high_watermark_fails(kavka, create_topic):
    name = create_topic()
    kavka(f"produce {name}", input="a\n")
    r = kavka(f"delete-records {name} --offset 50")
    assert r.exit_code == 1
    assert f"partition: {name}-0\terror: " in r.stdout
