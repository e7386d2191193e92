"""The live stream: a once-a-second sample of the broker, pushed to pages over server-sent events.

:class:`Sampler` wakes every ``interval`` seconds, turns counters into rates (BytesInPerSec,
MessagesInPerSec, IsrShrinksPerSec, IsrExpandsPerSec, requests per API) and keeps five minutes of history. Each subscriber (one
``EventSource`` on a page) names the channels it wants:

- ``overview``: rates, health gauges, connections, requests per API;
- ``sim``: the simulator's clients, new events, and per-partition high watermarks and lag;
- ``topic:NAME``: the high watermark of each partition of NAME;
- ``group:ID``: one consumer group's state, lag per partition and total;
- ``cluster``: the cluster view (:func:`kavka.console.cluster.cluster_view`);
- ``replication:TOPIC/P``: the replication panel of one partition.

A subscriber is a bounded queue: a page too slow to read loses ticks, never slows the broker.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

from kavka.console.state import ConsoleError, connection_count, health, request_counts, request_times
from kavka.server.tasks import cancel_and_wait

__all__ = ["Sampler", "Subscriber"]

log = logging.getLogger(__name__)

HISTORY = 300


class Subscriber:
    def __init__(self, channels: set[str]):
        self.channels = channels
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=8)
        self.sim_seq = 0

    def offer(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            pass

    def close(self) -> None:
        """Tell the stream handler to end its response: ``None`` next in the queue, never dropped."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Sampler:
    def __init__(self, console, interval: float = 1.0):
        self.console = console
        self.interval = interval
        self.subscribers: set[Subscriber] = set()
        self.history: collections.deque = collections.deque(maxlen=HISTORY)
        self.group_history: dict[str, collections.deque] = {}
        self._prev: tuple | None = None
        self.latest: dict = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        for sub in list(self.subscribers):
            sub.close()

    async def _run(self) -> None:
        while True:
            try:
                self.sample()
                if self.subscribers:
                    await self._publish()
            except Exception:  # noqa: BLE001 - keep sampling; the failure is logged
                log.exception("console sampler failed")
            await asyncio.sleep(self.interval)

    def sample(self) -> dict:
        server = self.console.server
        broker = server.broker
        rm = broker.replica_manager
        metrics = rm.topic_metrics
        now = time.monotonic()
        h = health(broker)
        counts = (rm.bytes_in, rm.bytes_out, rm.messages_in, h["IsrShrinks"], h["IsrExpands"])
        reqs = request_counts(server)
        times = request_times(server)
        topics = {t: (c.bytes_in, c.messages_in, c.bytes_out) for t, c in metrics.topics.items()}
        rates = {
            "BytesInPerSec": 0.0,
            "BytesOutPerSec": 0.0,
            "MessagesInPerSec": 0.0,
            "IsrShrinksPerSec": 0.0,
            "IsrExpandsPerSec": 0.0,
        }
        req_rates: dict[str, float] = {}
        topic_rates: dict[str, dict] = {}
        if self._prev is not None:
            t0, c0, r0, tp0 = self._prev
            dt = max(now - t0, 1e-6)
            for name, a, b in zip(rates, counts, c0):
                rates[name] = round((a - b) / dt, 2)
            req_rates = {k: round((v - r0.get(k, 0)) / dt, 2) for k, v in reqs.items()}
            for t, vals in topics.items():
                before = tp0.get(t, (0, 0, 0))
                topic_rates[t] = {
                    "BytesInPerSec": round((vals[0] - before[0]) / dt, 2),
                    "MessagesInPerSec": round((vals[1] - before[1]) / dt, 2),
                }
        self._prev = (now, counts, reqs, topics)
        self.history.append({"t": time.time(), **rates})
        self.latest = {
            "t": time.time(),
            "rates": rates,
            "totals": {"BytesIn": counts[0], "BytesOut": counts[1], "MessagesIn": counts[2]},
            "requests": {
                k: {
                    "count": v,
                    "rate": req_rates.get(k, 0.0),
                    "avg_ms": round(times[k].sum_ms / times[k].count, 2) if k in times and times[k].count else None,
                }
                for k, v in reqs.items()
            },
            "topic_rates": topic_rates,
            "health": h,
            "connections": connection_count(server),
            "uptime_s": round(time.time() - server.started_at, 1) if server.started_at else None,
        }
        return self.latest

    def topic_offsets(self, name: str) -> dict | None:
        broker = self.console.server.broker
        topic = broker.image.topics_by_name.get(name)
        if topic is None or not self.console.access.visible_topics([name]):  # as the topic's page: 404
            return None
        out = {}
        for index in sorted(topic.partitions):
            p = broker.replica_manager.get(name, index)
            if p is not None:
                out[index] = {"high_watermark": p.log.high_watermark, "log_start_offset": p.log.log_start_offset}
        return out

    def lag_history(self, group_id: str, lag: int) -> list[dict]:
        """The group's lag history for a page that opens now: what the stream's ticks have kept, or,
        for a group no page has watched yet, a first point (``lag`` now) that the ticks continue."""
        hist = self.group_history.setdefault(group_id, collections.deque(maxlen=HISTORY))
        if not hist:
            hist.append({"t": time.time(), "lag": lag})
        return list(hist)

    async def group_tick(self, group_id: str) -> dict:
        try:
            desc = await self.console.groups.describe(group_id)
        except ConsoleError as e:
            return {"error": e.message}
        hist = self.group_history.setdefault(group_id, collections.deque(maxlen=HISTORY))
        hist.append({"t": time.time(), "lag": desc["total_lag"]})
        desc["history"] = list(hist)
        return desc

    async def _publish(self) -> None:
        wanted = set().union(*(s.channels for s in self.subscribers))
        extra: dict[str, object] = {}
        view = None
        if "cluster" in wanted or any(ch.startswith("replication:") for ch in wanted):
            from kavka.console.cluster import cluster_view

            view = self.console.access.visible_view(await cluster_view(self.console.broker, self.console.control))
            extra["cluster"] = view
        for ch in wanted:
            if ch.startswith("replication:") and view is not None:
                from kavka.console.cluster import replication_panel

                topic, _, index = ch[12:].rpartition("/")
                extra[ch] = replication_panel(view, topic, int(index)) if index.isdigit() else None
            elif ch.startswith("topic:"):
                extra[ch] = self.topic_offsets(ch[6:])
            elif ch.startswith("group:"):
                extra[ch] = await self.group_tick(ch[6:])
        sim_state = self.console.sim_snapshot() if "sim" in wanted else None
        for sub in list(self.subscribers):
            tick: dict[str, object] = {}
            if "overview" in sub.channels:
                tick["overview"] = self.latest
                tick["history"] = list(self.history)[-120:]
            if sim_state is not None and "sim" in sub.channels:
                state = dict(sim_state)
                sim = self.console.simulator
                state["events"] = sim.events_since(sub.sim_seq) if sim is not None else []
                if state["events"]:
                    sub.sim_seq = state["events"][-1]["seq"]
                tick["sim"] = state
            for ch in sub.channels:
                if ch in extra:
                    tick[ch] = extra[ch]
            sub.offer(tick)
