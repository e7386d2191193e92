#!/usr/bin/env python3
"""Record-body decoding speed: ``kavka.protocol.records`` decoding whole batches, in process.

Measures, for uncompressed batches of N records (keys of 10 bytes, values of SIZE bytes, optionally two
headers per record):

- ``decode_batch``: header, CRC and every record as a ``Record`` (what tools, coordinators and the
  metadata log replay use);
- ``scan_records``: the log cleaner's lean view (offset, key, spans; values and headers skipped).

Prints records/s per case (best of ``--repeat`` runs), so a change to the decoder can be compared
before and after on the same machine::

    .venv/bin/python bench/record_decode.py
    .venv/bin/python bench/record_decode.py --records 1000 --size 1000

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import time

from benchlib import machine
from kavka.protocol.batch import parse_header
from kavka.protocol.records import Record, build_batch, decode_batch

try:
    from kavka.protocol.records import records_section, scan_records
except ImportError:  # an older tree, before the cleaner's scan moved into protocol: decode_batch only
    scan_records = None


def _batch(records: int, size: int, headers: bool) -> bytes:
    hdrs = [("trace", b"0123456789abcdef"), ("kind", b"x")] if headers else []
    return build_batch(
        [Record(i, 1_700_000_000_000 + i, b"key-%06d" % (i % 1000), b"v" * size, hdrs) for i in range(records)]
    )


def _best(fn, repeat: int, loops: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - t0) / loops)
    return best


def main() -> None:
    print(f"machine: {machine()}")  # with the commit measured (git describe)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=500, help="records per batch")
    ap.add_argument("--size", type=int, default=100, help="value size in bytes")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--loops", type=int, default=40)
    args = ap.parse_args()
    for headers in (False, True):
        batch = _batch(args.records, args.size, headers)
        label = f"{args.records} x {args.size} B, {'2 headers' if headers else 'no headers'}"
        t = _best(lambda: decode_batch(batch), args.repeat, args.loops)
        print(f"decode_batch  {label:32} {args.records / t:12,.0f} rec/s  {t * 1e6:9.1f} us/batch")
        if scan_records is not None:
            header = parse_header(batch)
            data = records_section(batch, 0, header)
            t = _best(lambda: scan_records(data, header), args.repeat, args.loops)
            print(f"scan_records  {label:32} {args.records / t:12,.0f} rec/s  {t * 1e6:9.1f} us/batch")


if __name__ == "__main__":
    main()
