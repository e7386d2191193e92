"""``kavka produce`` and ``kavka consume``: the console producer and consumer round trip."""

from __future__ import annotations

import pytest


def test_keys_from_stdin_then_consume_with_print_key(kavka, create_topic):
    name = create_topic(partitions=1)
    r = kavka(
        f"produce {name} --property parse.key=true --property key.separator=:",
        input="user1:hello\nuser2:world:with:colons\n",
    )
    assert r.exit_code == 0, r.output
    r = kavka(
        f"consume {name} --from-beginning --max-messages 2 --timeout-ms 10000 "
        "--property print.key=true --property key.separator=:"
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == ["user1:hello", "user2:world:with:colons"]
    assert "Processed a total of 2 messages" in r.stderr


def test_default_format_prints_values_only(kavka, create_topic):
    name = create_topic()
    kavka(f"produce {name}", input="one\ntwo\nthree\n")
    r = kavka(f"consume {name} --from-beginning --max-messages 3 --timeout-ms 10000")
    assert r.stdout == "one\ntwo\nthree\n"


def test_headers_partition_offset_timestamp(kavka, create_topic):
    name = create_topic(partitions=2)
    r = kavka(
        [
            "produce",
            name,
            "--partition",
            "1",
            "--property",
            "parse.headers=true",
            "--property",
            "parse.key=true",
            "--header",
            "src=cli",
        ],
        input="trace:abc,flag\tk1\tv1\n",
    )
    assert r.exit_code == 0, r.output
    r = kavka(
        [
            "consume",
            name,
            "--partition",
            "1",
            "--offset",
            "earliest",
            "--max-messages",
            "1",
            "--timeout-ms",
            "10000",
            "--property",
            "print.timestamp=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
            "--property",
            "print.headers=true",
            "--property",
            "print.key=true",
        ]
    )
    assert r.exit_code == 0, r.output
    ts, partition, offset, headers, key, value = r.stdout.rstrip("\n").split("\t")
    assert ts.startswith("CreateTime:") and int(ts.split(":")[1]) > 0
    assert (partition, offset, key, value) == ("Partition:1", "Offset:0", "k1", "v1")
    assert headers == "src:cli,trace:abc,flag:null"


def test_null_marker_and_compression(kavka, create_topic):
    name = create_topic()
    r = kavka(
        [
            "produce",
            name,
            "--compression",
            "zstd",
            "--acks",
            "1",
            "--property",
            "parse.key=true",
            "--property",
            "null.marker=NULL",
        ],
        input="NULL\tv\nk\tNULL\n",
    )
    assert r.exit_code == 0, r.output
    r = kavka(
        [
            "consume",
            name,
            "--from-beginning",
            "--max-messages",
            "2",
            "--timeout-ms",
            "10000",
            "--property",
            "print.key=true",
            "--property",
            "null.literal=<null>",
        ]
    )
    assert r.stdout.splitlines() == ["<null>\tv", "k\t<null>"]


def test_produce_from_file_sync(kavka, create_topic, tmp_path):
    name = create_topic()
    path = tmp_path / "lines.txt"
    path.write_bytes(b"a\r\nb\nc")
    r = kavka(f"produce {name} --file {path} --sync")
    assert r.exit_code == 0, r.output
    r = kavka(f"consume {name} --from-beginning --max-messages 3 --timeout-ms 10000")
    assert r.stdout.splitlines() == ["a", "b", "c"]


def test_consume_offset_and_timeout(kavka, create_topic):
    name = create_topic()
    kavka(f"produce {name}", input="".join(f"m{i}\n" for i in range(5)))
    r = kavka(f"consume {name} --partition 0 --offset 3 --timeout-ms 1500")
    assert r.exit_code == 0
    assert r.stdout.splitlines() == ["m3", "m4"]
    assert "Processed a total of 2 messages" in r.stderr


def test_missing_key_separator_is_an_error(kavka, create_topic):
    name = create_topic()
    r = kavka(f"produce {name} --property parse.key=true", input="no separator here\n")
    assert r.exit_code == 1
    assert r.stderr.strip() == "Error: No key separator found on line number 1: 'no separator here'"


@pytest.mark.parametrize("command", ["consume {t} --offset 3", "consume {t} --partition 0 --offset 1 --from-beginning"])
def test_consume_usage_errors(kavka, create_topic, command):
    r = kavka(command.format(t=create_topic()))
    assert r.exit_code == 2


def test_unknown_partition(kavka, create_topic):
    name = create_topic(partitions=1)
    for command in (f"produce {name} --partition 5", f"consume {name} --partition 5"):
        r = kavka(command, input="x\n")
        assert r.exit_code == 1
        assert r.stderr.strip().startswith("Error: Partition 5 does not exist")


def test_consume_read_committed_flag(kavka, create_topic):
    name = create_topic()
    kavka(f"produce {name}", input="v\n")
    r = kavka(f"consume {name} --from-beginning --isolation-level read_committed --max-messages 1 --timeout-ms 10000")
    assert r.exit_code == 0 and r.stdout == "v\n"
