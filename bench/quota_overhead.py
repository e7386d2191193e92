#!/usr/bin/env python3
"""What client quotas cost per request, in the broker's own code: the dispatcher asks the request quota
for every request, Produce and Fetch also ask the byte-rate quota.

    .venv/bin/python bench/quota_overhead.py

Times, in-process and with a fixed clock, the calls a request makes (``request_quotas.record_request``
through a minimal request context, ``ByteRateQuotas.record``) in three cases: no quota in the metadata
image (the common case), quotas set for other clients only (the lookup is cached per client), and a
quota on this client (the rate is recorded). Prints nanoseconds per call, best of five runs. Not a
test: it prints figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kavka.broker.byte_rate_quotas import ByteRateQuotas
from kavka.broker.request_quotas import RequestQuotas, record_request

N = 200_000


@dataclass
class _Conn:
    principal: str = "User:ANONYMOUS"
    throttled_until: float = 0.0


@dataclass
class _Header:
    client_id: str = "bench-client"
    api_key: int = 3


@dataclass
class _Broker:
    quotas: dict
    request_quotas: RequestQuotas = field(init=False)

    def __post_init__(self) -> None:
        self.request_quotas = RequestQuotas(ByteRateQuotas(lambda: self.quotas))

    @staticmethod
    def clock_ms() -> int:
        return 1_000_000


@dataclass
class _Ctx:
    broker: _Broker
    conn: _Conn = field(default_factory=_Conn)
    header: _Header = field(default_factory=_Header)
    listener: str = "broker"
    received_ns: int = 0
    handled_ns: int = 50_000


def _best(fn) -> float:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for _ in range(N):
            fn()
        runs.append((time.perf_counter_ns() - t0) / N)
    return min(runs)


def main() -> None:
    cases = {
        "no quotas": {},
        "quotas for other clients": {(("client-id", f"other-{i}"),): {"request_percentage": 50.0} for i in range(100)},
        "a quota on this client": {
            (("client-id", "bench-client"),): {"request_percentage": 1e9, "producer_byte_rate": 1e12}
        },
    }
    print(f"{'case':28} {'record_request':>16} {'ByteRateQuotas.record':>22}")
    for name, quotas in cases.items():
        ctx = _Ctx(_Broker(quotas))
        rates = ByteRateQuotas(lambda q=quotas: q)
        request_ns = _best(lambda c=ctx: record_request(c))
        byte_ns = _best(lambda r=rates: r.record("producer_byte_rate", "ANONYMOUS", "bench-client", 16384, 1_000_000))
        print(f"{name:28} {request_ns:13.0f} ns {byte_ns:19.0f} ns")


if __name__ == "__main__":
    main()
