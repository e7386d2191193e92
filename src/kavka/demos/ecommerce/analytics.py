"""Analytics consumer (group ``analytics-group``): counts the orders' final states.

It reads ``notifications`` and keeps, per order, its final state, so a notification delivered twice
is counted once. It publishes nothing: its state is a function of the records up to its committed
offsets, so on start it replays ``notifications`` up to those offsets and then consumes from them.
It prints its counts as one line (``analytics: counts {...JSON...}``) when they change, at most twice a second.
"""

from __future__ import annotations

import json
import time

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import Service, committed_offsets, read_log, service_command

COUNTS_PREFIX = "analytics: counts "


def last_counts(output: str) -> dict[str, object]:
    """The last counts an analytics process printed in ``output`` (its log), or {}."""
    lines = [line for line in output.splitlines() if line.startswith(COUNTS_PREFIX)]
    return dict(json.loads(lines[-1].removeprefix(COUNTS_PREFIX))) if lines else {}


class Analytics(Service):
    name = "analytics"
    inputs = (ev.NOTIFICATIONS,)
    output = None

    def __init__(self, bootstrap: str, crash_after: int | None = None) -> None:
        super().__init__(bootstrap, crash_after)
        self.final: dict[str, str] = {}  # orderId -> state
        self.reasons: dict[str, int] = {}
        self.duplicates = 0
        self._dirty = True
        self._printed = 0.0

    def start(self) -> None:
        ends = committed_offsets(self.bootstrap, self.group, list(self.inputs))
        if ends:
            for msg in read_log(self.bootstrap, list(self.inputs), ends):
                self.handle(ev.decode(msg.value(), msg.headers()))
        self.report(force=True)

    def handle(self, event: ev.Event) -> list[ev.Event]:
        if event.type != ev.ORDER_NOTIFICATION:
            return []
        if event.order_id in self.final:
            self.duplicates += 1
            return []
        state = str(event.data.get("state"))
        self.final[event.order_id] = state
        if state == ev.CANCELLED:
            reason = str(event.data.get("reason", "")).split(":")[0] or "unknown"
            self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self._dirty = True
        return []

    def summary(self) -> dict[str, object]:
        counts = {ev.COMPLETED: 0, ev.CANCELLED: 0}
        for state in self.final.values():
            counts[state] = counts.get(state, 0) + 1
        return {**counts, "orders": len(self.final), "cancelled_by": dict(sorted(self.reasons.items()))}

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or (self._dirty and now - self._printed >= 0.5):
            print(f"{COUNTS_PREFIX}{json.dumps(self.summary(), sort_keys=True)}", flush=True)
            self._dirty = False
            self._printed = now

    def after_batch(self) -> None:
        self.report()

    def idle(self) -> None:
        self.report()


cli = service_command(Analytics)


if __name__ == "__main__":
    cli()
