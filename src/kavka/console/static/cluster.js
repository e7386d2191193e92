// Cluster: nodes (with stop / kill / pause / resume / restart on a `kavka cluster up` cluster), replication
// health, the guide's replication panel for one partition, and every partition's leader, ISR and offsets.
"use strict";
(() => {
  const { $, el, api, guard, ok, num, fill, td, stream } = K;
  const set = (k, v) => { const e = document.querySelector(`#c-health [data-k="${k}"]`); if (e) e.textContent = v; };
  const pick = $("#c-partition");
  let view = null;
  let live = null;

  const ACTIONS = [["stop", "Stop"], ["kill", "Kill"], ["pause", "Pause"], ["resume", "Resume"], ["restart", "Restart"]];

  async function act(node, action) {
    if ((action === "stop" || action === "kill") && !confirm(`${action} node ${node}?`)) return;
    const r = await api(`/api/cluster/nodes/${node}/${action}`, { method: "POST" });
    ok(r.requested ? `Restart of node ${node} requested.` : `Node ${node}: ${r.signal} sent to process ${r.pid}.`);
  }

  function nodeRow(n, brokers) {
    const b = brokers.get(n.node_id) || {};
    const actions = el("td", {});
    if (view.controllable) {
      for (const [a, label] of ACTIONS) {
        const idle = n.process !== "running" && n.process !== "paused";
        const disabled = (a === "restart") ? false : idle || (a === "resume" && n.process !== "paused")
          || (a === "pause" && (n.process === "paused" || n.this));
        actions.append(el("button", { type: "button", class: a === "kill" || a === "stop" ? "danger" : "secondary",
          disabled, "aria-label": `${label} node ${n.node_id}`, onclick: guard(() => act(n.node_id, a)) }, label), " ");
      }
    }
    const tr = el("tr", { class: b.state && b.state !== "running" ? "bad" : null },
      td(`${n.node_id}${n.this ? " (this node)" : ""}`, "num"), td(n.roles.join(", ")),
      td(b.state || (n.registered ? "" : "–")), td(b.epoch == null ? "–" : num(b.epoch), "num"),
      td(b.host ? `${b.host}:${b.port}` : "–"), td(b.rack || "–"), td(n.process || "–"),
      td(n.is_controller ? "active" : n.voter ? "voter" : "–"), actions);
    return tr;
  }

  function render(v) {
    view = v;
    const brokers = new Map(v.brokers.map((b) => [b.node_id, b]));
    $("#c-summary").textContent = `Cluster ${v.cluster_id}: ${v.brokers.length} broker(s), active controller `
      + `${v.active_controller_id} (epoch ${v.controller_epoch}), this console on node ${v.node_id}.`;
    fill($("#c-nodes tbody"), v.nodes, (n) => nodeRow(n, brokers));
    $("#c-control").textContent = v.controllable ? "Stop sends SIGTERM (controlled shutdown), kill SIGKILL, pause SIGSTOP, "
      + "resume SIGCONT; restart asks `kavka cluster up` to start the node again."
      : "Stopping, pausing and restarting nodes needs a cluster started by `kavka cluster up`.";
    for (const k of ["UnderReplicatedPartitions", "UnderMinIsrPartitionCount", "OfflinePartitionsCount", "LeaderCount", "FencedBrokerCount"]) {
      set(k, num(v.health[k]));
      const e = document.querySelector(`#c-health [data-k="${k}"]`);
      if (e) e.classList.toggle("bad", k !== "LeaderCount" && v.health[k] > 0);
    }
    set("isr", `${num(v.health.IsrShrinks)} / ${num(v.health.IsrExpands)}`);
    const internal = $("#c-internal").checked;
    const rows = v.partitions.filter((p) => internal || !p.internal);
    fill($("#c-partitions tbody"), rows, (p) => el("tr", { class: p.offline || p.under_replicated ? "bad" : null },
      td(p.topic), td(num(p.partition), "num"), td(p.leader < 0 ? "none" : p.leader, "num"), td(num(p.leader_epoch), "num"),
      td(p.replicas.join(", ")), td(p.isr.join(", ")), td(num(p.log_end_offset), "num"), td(num(p.high_watermark), "num"),
      td(p.replica_states.filter((r) => !r.is_leader).map((r) => `${r.node_id}: ${r.lag == null ? "?" : num(r.lag)}`).join(", ") || "–")),
      "No topics yet.");
    const current = pick.value;
    const keys = v.partitions.filter((p) => !p.internal).map((p) => `${p.topic}/${p.partition}`);
    if (keys.join() !== [...pick.options].map((o) => o.value).join()) {
      pick.replaceChildren(...keys.map((k) => el("option", { value: k }, k.replace(/\/(\d+)$/, "-$1"))));
      if (keys.includes(current)) pick.value = current;
      follow();
    }
  }

  function panel(p) {
    const boxes = $("#c-boxes");
    const status = $("#c-status");
    if (!p) { boxes.replaceChildren(); status.textContent = ""; return; }
    boxes.replaceChildren(...p.brokers.map((b) => el("section", {
      class: `replica${b.is_leader ? " leader" : ""}${b.in_isr ? "" : " out"}`, "aria-label": b.title },
    el("h3", {}, b.title),
    el("ol", {}, b.offsets.length ? b.offsets.map((o) => el("li", {},
      `offset ${o.offset} ${o.replicated == null ? "?" : o.replicated ? "✓" : "⏳"}${o.latest ? " (latest)" : ""}`))
      : el("li", {}, "no offsets yet")))));
    status.textContent = p.status;
    status.classList.toggle("bad", !p.healthy);
  }

  function follow() {
    const key = pick.value;
    const channels = ["cluster"].concat(key ? [`replication:${key}`] : []);
    if (live) live.set(channels); else live = stream(channels, (tick) => {
      if (tick.cluster) render(tick.cluster);
      panel(tick[`replication:${pick.value}`]);
    });
    if (key) guard(async () => panel(await api(`/api/cluster/partitions/${key}`)))();
  }

  pick.addEventListener("change", follow);
  $("#c-internal").addEventListener("change", () => view && render(view));
  guard(async () => { render(await api("/api/cluster")); K.updated(); if (!live) follow(); })();
})();
