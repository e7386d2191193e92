"""``kavka dump-log FILE...``: Kafka's ``kafka-dump-log.sh`` for a partition directory's files.

- ``.log``: one line per batch (offsets, sequence, producer id/epoch, leader epoch, transactional and
  control flags, position, timestamp, size, codec, CRC and whether it checks out); with
  ``--deep-iteration`` or ``--print-data-log`` one ``| offset: ...`` line per record, with keys and
  values (``--print-data-log``) and end-transaction markers.
- ``.index`` / ``.timeindex``: the entries, then a verification against the ``.log`` beside them
  (each offset entry must point at the batch holding its offset; time entries must increase and match
  the batch holding their offset); ``--verify-index-only`` prints only the problems.
- ``.txnindex``: the aborted transactions.

Reads files directly (no broker needed), through ``kavka.protocol`` for the batch format.
Exit code 1 if any file is corrupt or an index does not match its log.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

__all__ = ["dump_log"]

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_TXN_ENTRY = struct.Struct(">hqqqq")
_CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def _base_offset(path: str) -> int:
    stem = os.path.basename(path).split(".", 1)[0]
    try:
        return int(stem)
    except ValueError:
        raise click.ClickException(f"{path}: the file name must be a 20-digit base offset") from None


@contextmanager
def _mapped(path: str) -> Iterator[Any]:
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            yield m


def _text(b: bytes | None) -> str:
    return "null" if b is None else b.decode("utf-8", "backslashreplace")


class _Dumper:
    def __init__(self, print_data: bool, deep: bool, verify_only: bool, max_bytes: int) -> None:
        self.print_data = print_data
        self.deep = deep or print_data
        self.verify_only = verify_only
        self.max_bytes = max_bytes
        self.problems = 0

    def out(self, line: str) -> None:
        click.echo(line)

    def problem(self, line: str) -> None:
        self.problems += 1
        click.echo(line)

    # -- .log --------------------------------------------------------------------------------------

    def log(self, path: str) -> None:
        from kavka.protocol.batch import HEADER_SIZE, MAGIC, compute_crc, parse_header
        from kavka.protocol.records import ControlType, control_record_type, decode_batch, parse_end_txn_marker

        self.out(f"Log starting offset: {_base_offset(path)}")
        with _mapped(path) as buf:
            end = min(len(buf), self.max_bytes)
            pos = 0
            while pos < end:
                if end - pos < HEADER_SIZE:
                    self.problem(f"Found {end - pos} invalid bytes at the end of {os.path.basename(path)}")
                    break
                h = parse_header(buf, pos)
                if h.magic != MAGIC or h.batch_length < HEADER_SIZE - 12 or pos + h.size > len(buf):
                    self.problem(
                        f"Found {len(buf) - pos} invalid bytes at position {pos} of "
                        f"{os.path.basename(path)} (magic {h.magic}, batch length {h.batch_length})"
                    )
                    break
                valid = compute_crc(buf, pos, h.size) == h.crc
                ts_name = "LogAppendTime" if h.log_append_time else "CreateTime"
                self.out(
                    f"baseOffset: {h.base_offset} lastOffset: {h.last_offset} count: {h.records_count} "
                    f"baseSequence: {h.base_sequence} lastSequence: {h.last_sequence} "
                    f"producerId: {h.producer_id} producerEpoch: {h.producer_epoch} "
                    f"partitionLeaderEpoch: {h.partition_leader_epoch} "
                    f"isTransactional: {str(h.is_transactional).lower()} "
                    f"isControl: {str(h.is_control).lower()} position: {pos} "
                    f"{ts_name}: {h.max_timestamp} size: {h.size} magic: {h.magic} "
                    f"compresscodec: {_CODECS.get(h.compression, h.compression)} crc: {h.crc} "
                    f"isvalid: {str(valid).lower()}"
                )
                if not valid:
                    self.problems += 1
                if self.deep:
                    try:
                        _, records = decode_batch(buf, pos, check_crc=False)
                    except ValueError as e:
                        self.problem(f"| cannot decode the records of the batch at {pos}: {e}")
                        records = []
                    for _i, r in enumerate(records):
                        seq = -1 if h.base_sequence < 0 else (h.base_sequence + r.offset - h.base_offset) % 0x80000000
                        line = (
                            f"| offset: {r.offset} {ts_name}: {r.timestamp} "
                            f"keySize: {-1 if r.key is None else len(r.key)} "
                            f"valueSize: {-1 if r.value is None else len(r.value)} sequence: {seq} "
                            f"headerKeys: [{','.join(k for k, _ in r.headers)}]"
                        )
                        if h.is_control:
                            try:
                                _, ctype = control_record_type(r)
                                if ctype in (ControlType.ABORT, ControlType.COMMIT):
                                    marker = parse_end_txn_marker(r)
                                    line += (
                                        f" endTxnMarker: {'COMMIT' if marker.commit else 'ABORT'} "
                                        f"coordinatorEpoch: {marker.coordinator_epoch}"
                                    )
                                else:
                                    line += f" controlType: {ctype}"
                            except ValueError as e:
                                line += f" invalid control record: {e}"
                        elif self.print_data:
                            line += f" key: {_text(r.key)} payload: {_text(r.value)}"
                        self.out(line)
                pos += h.size

    def _batches(self, log_path: str) -> list[tuple[int, Any]]:
        from kavka.protocol.batch import CorruptRecordError, iter_headers

        if not os.path.exists(log_path):
            return []
        with _mapped(log_path) as buf:
            try:
                return list(iter_headers(buf))
            except CorruptRecordError:
                return []

    # -- indexes -----------------------------------------------------------------------------------

    def _entries(self, path: str, entry: struct.Struct, what: str) -> list[tuple[Any, ...]]:
        """Every whole entry of an index file; a trailing partial entry is a problem (and is skipped)."""
        with open(path, "rb") as f:
            data = f.read()
        if len(data) % entry.size:
            self.problem(f"{what} size {len(data)} is not a multiple of {entry.size}")
        return [entry.unpack_from(data, i * entry.size) for i in range(len(data) // entry.size)]

    def offset_index(self, path: str) -> None:
        base = _base_offset(path)
        before = self.problems
        entries = self._entries(path, _OFFSET_ENTRY, "Index file")
        log_path = path[: -len(".index")] + ".log"
        batches = {pos: h for pos, h in self._batches(log_path)}
        previous = -1
        count = len(entries)
        for rel, position in entries:
            offset = base + rel
            if not self.verify_only:
                self.out(f"offset: {offset} position: {position}")
            if offset <= previous:
                self.problem(f"Index offset {offset} is not above the previous entry's {previous}")
            previous = offset
            h = batches.get(position)
            if not os.path.exists(log_path):
                continue
            if h is None:
                self.problem(f"Index entry offset: {offset} position: {position} does not point at a batch")
            elif not (h.base_offset <= offset <= h.last_offset):
                self.problem(
                    f"Index offset: {offset}, log offset: {h.base_offset}..{h.last_offset} at position "
                    f"{position} do not match"
                )
        if not os.path.exists(log_path):
            self.out(f"(no {os.path.basename(log_path)} beside it: entries not verified)")
        elif self.problems == before:
            self.out(f"Index verification passed: {count} entries match {os.path.basename(log_path)}")

    def time_index(self, path: str) -> None:
        base = _base_offset(path)
        before = self.problems
        entries = self._entries(path, _TIME_ENTRY, "Time index file")
        log_path = path[: -len(".timeindex")] + ".log"
        headers = [h for _, h in self._batches(log_path)]
        prev_ts = prev_off = -1
        count = len(entries)
        for ts, rel in entries:
            offset = base + rel
            if not self.verify_only:
                self.out(f"timestamp: {ts} offset: {offset}")
            if ts < prev_ts or offset < prev_off:
                self.problem(
                    f"Time index entry timestamp: {ts} offset: {offset} goes back from timestamp: "
                    f"{prev_ts} offset: {prev_off}"
                )
            prev_ts, prev_off = ts, offset
            if headers:
                holding = next((h for h in headers if h.base_offset <= offset <= h.last_offset), None)
                max_so_far = max((h.max_timestamp for h in headers if h.base_offset <= offset), default=-1)
                if holding is None:
                    self.problem(f"Time index offset {offset} is in no batch of {os.path.basename(log_path)}")
                elif ts > max_so_far:
                    self.problem(
                        f"Time index timestamp {ts} at offset {offset} is above the log's largest "
                        f"timestamp up to there ({max_so_far})"
                    )
        if headers and self.problems == before:
            self.out(f"Time index verification passed: {count} entries match {os.path.basename(log_path)}")

    def txn_index(self, path: str) -> None:
        for version, pid, first, last, lso in self._entries(path, _TXN_ENTRY, "Transaction index"):
            self.out(
                f"version: {version} producerId: {pid} firstOffset: {first} lastOffset: {last} lastStableOffset: {lso}"
            )


@click.command(name="dump-log", short_help="Print the contents of Kafka log files.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--print-data-log", is_flag=True, help="Print each record's key and value (implies --deep-iteration).")
@click.option("--deep-iteration", is_flag=True, help="Print every record, not only batch headers.")
@click.option("--verify-index-only", is_flag=True, help="For index files: print only mismatches.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=2**31 - 1, help="Read at most this much of a .log.")
def dump_log(files, print_data_log, deep_iteration, verify_index_only, max_bytes):
    """Print the batches, records and index entries of Kafka log files (kafka-dump-log.sh).

    \b
    Examples:
      kavka dump-log data/orders-0/00000000000000000000.log
      kavka dump-log --print-data-log data/orders-0/00000000000000000000.log
      kavka dump-log data/orders-0/00000000000000000000.index data/orders-0/00000000000000000000.timeindex
    """
    dumper = _Dumper(print_data_log, deep_iteration, verify_index_only, max_bytes)
    for path in files:
        click.echo(f"Dumping {path}")
        try:
            if path.endswith(".log"):
                dumper.log(path)
            elif path.endswith(".index"):
                dumper.offset_index(path)
            elif path.endswith(".timeindex"):
                dumper.time_index(path)
            elif path.endswith(".txnindex"):
                dumper.txn_index(path)
            else:
                raise click.ClickException(f"{path}: not a .log, .index, .timeindex or .txnindex file")
        except OSError as e:
            raise click.ClickException(f"cannot read {path}: {e.strerror}") from None
    if dumper.problems:
        raise SystemExit(1)
