// Live simulator: real Kafka clients (in the broker process, over the protocol) producing and consuming.
"use strict";
(() => {
  const { $, el, api, guard, ok, num, fill, td, stream, chart } = K;
  const lagHistory = [];
  let lastState = null;

  function stopButton(kind, id) {
    return el("button", { type: "button", class: "secondary", "aria-label": `Stop ${kind} ${id}`,
      onclick: guard(async () => { render(await api(`/api/simulator/clients/${id}`, { method: "DELETE" })); ok(`${kind} ${id} stopped.`); }) }, "Stop");
  }

  function render(s) {
    lastState = s;
    const running = (c) => c.running;
    fill($("#s-producers tbody"), s.producers.filter(running), (p) => el("tr", {},
      td(`producer ${p.id} → ${p.topic}`), td(`${p.rate}/s`, "num"), td(p.keys.length ? p.keys.join(", ") : "(no key)"),
      td(num(p.acked), "num"), td(Object.entries(p.per_partition).map(([k, v]) => `${k}: ${v}`).join(", ") || "–"),
      el("td", {}, stopButton("producer", p.id))), "No producers running.");
    fill($("#s-consumers tbody"), s.consumers.filter(running), (c) => el("tr", {},
      td(`consumer ${c.id}`), td(c.group), td(c.assigned.length ? `[${c.assigned.join(", ")}]` : "none"),
      td(Object.entries(c.positions).map(([k, v]) => `${k}@${v}`).join(", ") || "–"), td(num(c.total_lag), "num"),
      td(num(c.consumed), "num"), el("td", {}, stopButton("consumer", c.id))), "No consumers running.");

    const bars = $("#s-partitions");
    bars.replaceChildren();
    for (const [topic, parts] of Object.entries(s.partitions || {})) {
      const max = Math.max(1, ...Object.values(parts).map((p) => p.high_watermark));
      for (const [idx, p] of Object.entries(parts)) {
        const owners = s.consumers.filter((c) => c.running && c.topic === topic && c.assigned.includes(Number(idx)));
        const group = (s.groups || []).find((g) => g.topic === topic);
        const committed = group ? group.committed[idx] : null;
        const track = el("div", { class: "track", role: "img",
          "aria-label": `${topic} partition ${idx}: ${p.high_watermark} records, consumed to ${committed ?? "nothing"}` },
          el("div", { class: "fill", style: `width:${(100 * p.high_watermark) / max}%` }));
        if (committed != null) track.append(el("div", { class: "pos", style: `left:calc(${(100 * committed) / max}% - 2px)` }));
        bars.append(el("div", { class: "bar" }, el("span", {}, `${topic}/${idx}`), track,
          el("span", { class: "meta" }, `HW ${num(p.high_watermark)} · lag ${num(committed == null ? null : p.high_watermark - committed)}`,
            owners.length ? ` · consumer ${owners.map((c) => c.id).join(", ")}` : "")));
      }
    }
    if (!bars.children.length) bars.append(el("p", { class: "hint" }, "Start a producer to see records flow into partitions."));

    const log = $("#s-log");
    const hide = $("#s-hide-produce").checked;
    for (const e of s.events || []) {
      const li = el("li", { class: e.kind }, el("time", {}, new Date(e.t * 1000).toLocaleTimeString()), e.text);
      if (hide && e.kind === "produce") li.hidden = true;
      log.prepend(li);
    }
    while (log.children.length > 300) log.lastChild.remove();
  }

  function topic() {
    const t = $("#s-topic").value;
    if (!t) throw new Error("Choose a topic, or create the demo topic.");
    return t;
  }

  $("#s-producer").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const p = await api("/api/simulator/producers", { method: "POST", body: {
      topic: topic(), rate: Number($("#sp-rate").value), keys: $("#sp-keys").value } });
    ok(`Producer ${p.id} started.`);
  }));
  $("#s-consumer").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const c = await api("/api/simulator/consumers", { method: "POST", body: {
      topic: topic(), group: $("#sc-group").value, rate: Number($("#sc-rate").value) } });
    ok(`Consumer ${c.id} started in group ${c.group}.`);
  }));
  $("#s-stop-all").addEventListener("click", guard(async () => {
    render(await api("/api/simulator", { method: "DELETE" }));
    ok("Every simulated client stopped.");
  }));
  $("#s-demo").addEventListener("click", guard(async () => {
    try {
      await api("/api/topics", { method: "POST", body: { name: "orders", partitions: 3 } });
      ok("Topic orders created.");
    } catch (e) {
      if (!/already exists/i.test(e.message)) throw e;
    }
    await K.topicOptions($("#s-topic"), { selected: "orders" });
  }));
  $("#s-hide-produce").addEventListener("change", (ev) => {
    for (const li of document.querySelectorAll("#s-log li.produce")) li.hidden = ev.target.checked;
  });

  guard(async () => {
    await K.topicOptions($("#s-topic"), { selected: "orders" });
    render(await api("/api/simulator"));
  })();
  stream(["sim"], (tick) => {
    if (!tick.sim) return;
    render(tick.sim);
    lagHistory.push((tick.sim.groups || []).reduce((a, g) => a + g.lag, 0));
    if (lagHistory.length > 120) lagHistory.shift();
    chart($("#s-lag"), [{ values: lagHistory, color: "--a" }]);
  });
})();
