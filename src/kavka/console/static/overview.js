// Overview: cluster facts, Kafka's health gauges, throughput, requests per API, log dirs.
// Everything, the throughput chart's history included, comes from /api/overview at once on load; the
// event stream's ticks then keep it current.
"use strict";
(() => {
  const { $, el, api, guard, num, bytes, perSec, duration, fill, td, stream, updated, chart } = K;
  const set = (k, v) => { const e = document.querySelector(`[data-k="${k}"]`); if (e) e.textContent = v; };

  function facts(o) {
    set("cluster_id", o.cluster_id);
    set("node_id", o.node_id);
    set("roles", o.roles.join(", "));
    set("mode", `${o.mode} (controller ${o.controller_id})`);
    set("version", `Kavka ${o.version}`);
    set("uptime", duration(o.uptime_s));
    set("listeners", o.listeners.map((l) => `${l.name} ${l.host}:${l.port}`).join("\n"));
    set("counts", `${num(o.topics)} / ${num(o.partitions)}`);
    const p = o.principal;  // who the broker's authorizer sees behind the console's actions
    set("principal", p.error ? `unknown: ${p.error}`
      : `${p.principal} from ${p.host}${p.authorizer ? "" : " (no authorizer: nothing is checked)"}`);
    fill($("#logdirs tbody"), o.log_dirs, (d) => el("tr", {}, td(d.path), td(num(d.partitions), "num"),
      td(bytes(d.log_bytes), "num"), td(d.disk_free == null ? "–" : `${bytes(d.disk_free)} of ${bytes(d.disk_total)}`, "num")));
  }

  function live(ov, history) {
    for (const [k, v] of Object.entries(ov.health)) {
      set(k, num(v));
      const e = document.querySelector(`[data-k="${k}"]`);
      if (e) e.classList.toggle("bad", (k === "UnderReplicatedPartitions" || k === "OfflinePartitionsCount") && v > 0);
    }
    set("BytesInPerSec", perSec(ov.rates.BytesInPerSec, bytes));
    set("BytesOutPerSec", perSec(ov.rates.BytesOutPerSec, bytes));
    set("MessagesInPerSec", perSec(ov.rates.MessagesInPerSec));
    set("connections", num(ov.connections));
    set("uptime", duration(ov.uptime_s));
    const reqs = Object.entries(ov.requests).sort((a, b) => b[1].count - a[1].count);
    fill($("#requests tbody"), reqs, ([name, r]) => el("tr", {}, td(name), td(num(r.count), "num"),
      td(perSec(r.rate), "num"), td(r.avg_ms == null ? "n/a" : `${r.avg_ms} ms`, "num")), "No requests yet.");
    if (history) {
      chart($("#throughput"), [
        { values: history.map((h) => h.BytesInPerSec), color: "--a" },
        { values: history.map((h) => h.BytesOutPerSec), color: "--b" },
      ], { format: bytes });
    }
  }

  guard(async () => {
    const o = await api("/api/overview");
    facts(o);
    const requests = {};
    for (const [k, v] of Object.entries(o.requests)) requests[k] = { count: v, rate: o.requests_rate[k] || 0, avg_ms: o.requests_avg_ms[k] };
    live({ health: o.health, rates: o.rates, connections: o.connections, uptime_s: o.uptime_s, requests }, o.history);
    updated();
  })();
  let n = 0;
  stream(["overview"], (tick) => {
    live(tick.overview, tick.history);
    if (++n % 10 === 0) guard(async () => facts(await api("/api/overview")))();
  });
})();
