"""The console producer's line reader and the consumer's formatter, and option parsing (no broker)."""

from __future__ import annotations

import click
import pytest

from kavka.cli.bench import percentile
from kavka.cli.common import parse_config_list, parse_time
from kavka.cli.consume import RecordFormatter
from kavka.cli.groups import _duration_ms
from kavka.cli.produce import LineFormatError, LineReader


def reader(**props: str) -> LineReader:
    return LineReader.from_properties(props)


def test_line_reader_plain_and_keys():
    assert reader().parse(b"a\tb", 1) == ([], None, b"a\tb")
    assert reader(**{"parse.key": "true"}).parse(b"k\tv\tw", 1) == ([], b"k", b"v\tw")
    assert reader(**{"parse.key": "true", "key.separator": "::"}).parse(b"k::v", 1) == ([], b"k", b"v")
    with pytest.raises(LineFormatError, match="No key separator found on line number 7"):
        reader(**{"parse.key": "true"}).parse(b"kv", 7)
    assert reader(**{"parse.key": "true", "ignore.error": "true"}).parse(b"kv", 1) == ([], None, b"kv")


def test_line_reader_headers_and_null_marker():
    r = reader(**{"parse.headers": "true", "parse.key": "true", "null.marker": "N"})
    assert r.parse(b"h1:x,h2,h3:N\tN\tv", 1) == ([("h1", b"x"), ("h2", None), ("h3", None)], None, b"v")
    with pytest.raises(click.BadParameter):
        reader(**{"nope": "1"})


class FakeMessage:
    def __init__(self, key, value, headers=None, ts=(1, 1700000000000), partition=2, offset=9):
        self._k, self._v, self._h, self._ts, self._p, self._o = key, value, headers, ts, partition, offset

    def key(self):
        return self._k

    def value(self):
        return self._v

    def headers(self):
        return self._h

    def timestamp(self):
        return self._ts

    def partition(self):
        return self._p

    def offset(self):
        return self._o


def test_formatter_order_and_separators():
    f = RecordFormatter.from_properties(
        {p: "true" for p in ("print.timestamp", "print.partition", "print.offset", "print.headers", "print.key")}
    )
    msg = FakeMessage(b"k", b"v", [("a", b"1"), ("b", None)])
    assert f.format(msg) == b"CreateTime:1700000000000\tPartition:2\tOffset:9\ta:1,b:null\tk\tv\n"
    f = RecordFormatter.from_properties({"print.key": "true", "key.separator": "=", "print.headers": "true"})
    assert f.format(FakeMessage(None, None, ts=(2, 5))) == b"NO_HEADERS=null=null\n"
    f = RecordFormatter.from_properties({"print.timestamp": "true", "print.value": "false"})
    assert f.format(FakeMessage(b"k", b"v", ts=(0, -1))) == b"NO_TIMESTAMP\n"


def test_config_list_syntax():
    assert parse_config_list(["a=1,b=[x,y],c="]) == {"a": "1", "b": "x,y", "c": ""}
    assert parse_config_list(["a=1", "b=2"]) == {"a": "1", "b": "2"}
    with pytest.raises(click.BadParameter):
        parse_config_list(["novalue"])


def test_times_and_durations():
    assert parse_time("1700000000000") == 1700000000000
    assert parse_time("2024-01-31T12:00:00Z") == 1706702400000
    assert parse_time("2024-01-31T12:00:00.000+01:00") == 1706698800000
    with pytest.raises(click.BadParameter):
        parse_time("yesterday")
    assert _duration_ms("PT1H30M") == 5_400_000
    assert _duration_ms("P1DT0.5S") == 86_400_500
    with pytest.raises(click.BadParameter):
        _duration_ms("P")


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 0.999)) == (50.0, 99.0, 100.0)
    assert percentile([], 0.5) == 0.0
