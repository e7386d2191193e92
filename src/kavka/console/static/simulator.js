// Live simulator: real Kafka clients (in the broker process, over the protocol) producing and consuming.
"use strict";
(() => {
  const { $, el, api, guard, ok, num, fill, td, stream, chart, updated } = K;
  const lagHistory = [];
  let lastState = null;
  // The simulator's own topic (GET /api/simulator says which): offered first, created by the button.
  const demo = { name: "simulator-orders", partitions: 3 };

  // Clients are shown by name ("consumer 1": numbered per kind) and stopped by their API id (unique).
  function stopButton(client) {
    return el("button", { type: "button", class: "secondary", "aria-label": `Stop ${client.name}`,
      onclick: guard(async () => {
        render(await api(`/api/simulator/clients/${client.id}`, { method: "DELETE" }));
        ok(`${client.name} stopped.`);
      }) }, "Stop");
  }

  // A position for each assigned partition, and for no other: "0@12, 1@–" (– until its first fetch).
  const positions = (c) => c.assigned.map((p) => `${p}@${c.positions[p] ?? "–"}`).join(", ") || "–";

  function render(s) {
    lastState = s;
    const running = (c) => c.running;
    fill($("#s-producers tbody"), s.producers.filter(running), (p) => el("tr", {},
      td(`${p.name} → ${p.topic}`), td(`${p.rate}/s`, "num"), td(p.keys.length ? p.keys.join(", ") : "(no key)"),
      td(num(p.acked), "num"), td(Object.entries(p.per_partition).map(([k, v]) => `${k}: ${v}`).join(", ") || "–"),
      el("td", {}, stopButton(p))), "No producers running.");
    fill($("#s-consumers tbody"), s.consumers.filter(running), (c) => el("tr", {},
      td(c.name), td(c.group), td(c.assigned.length ? `[${c.assigned.join(", ")}]` : "none"),
      td(positions(c)), td(num(c.total_lag), "num"),
      td(num(c.consumed), "num"), el("td", {}, stopButton(c))), "No consumers running.");

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
            owners.length ? ` · consumer ${owners.map((c) => c.number).join(", ")}` : "")));
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
    if (!t) throw new Error(`Choose a topic, or create “${demo.name}”.`);
    return t;
  }

  // Fill the topic list, selecting `selected` if it exists (else a blank choice: never whatever sorts
  // first, such as the README's `orders`), and offer the create button only while the demo topic is missing.
  async function loadTopics(selected) {
    const select = $("#s-topic");
    const topics = await K.topicOptions(select, { selected });
    if (topics.length && !topics.some((t) => t.name === selected)) {
      select.prepend(el("option", { value: "" }, "(choose a topic)"));
      select.value = "";
    }
    const found = topics.find((t) => t.name === demo.name);
    const plural = (n) => `${n} partition${n === 1 ? "" : "s"}`;
    $("#s-demo-box").replaceChildren(found
      ? el("span", { class: "hint" }, `Topic ${demo.name} exists (${plural(found.partitions)}).`)
      : el("button", { type: "button", id: "s-demo", onclick: guard(createDemo) },
        `Create topic “${demo.name}” (${plural(demo.partitions)})`));
    return topics;
  }

  async function createDemo() {
    // The topic may have appeared since the page loaded: say so rather than send a create that fails.
    const topics = await loadTopics(demo.name);
    if (topics.some((t) => t.name === demo.name)) {
      ok(`Topic ${demo.name} already exists.`);
      return;
    }
    try {
      await api("/api/topics", { method: "POST", body: { name: demo.name, partitions: demo.partitions } });
    } catch (e) {
      await loadTopics(demo.name).catch(() => {}); // the button and the list show what is there now
      throw e; // and guard shows why on the page
    }
    ok(`Topic ${demo.name} created.`);
    await loadTopics(demo.name);
  }

  $("#s-producer").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const p = await api("/api/simulator/producers", { method: "POST", body: {
      topic: topic(), rate: Number($("#sp-rate").value), keys: $("#sp-keys").value } });
    ok(`Producer ${p.number} started.`);
  }));
  $("#s-consumer").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const c = await api("/api/simulator/consumers", { method: "POST", body: {
      topic: topic(), group: $("#sc-group").value, rate: Number($("#sc-rate").value) } });
    ok(`Consumer ${c.number} started in group ${c.group}.`);
  }));
  $("#s-stop-all").addEventListener("click", guard(async () => {
    render(await api("/api/simulator", { method: "DELETE" }));
    ok("Every simulated client stopped.");
  }));
  $("#s-hide-produce").addEventListener("change", (ev) => {
    for (const li of document.querySelectorAll("#s-log li.produce")) li.hidden = ev.target.checked;
  });

  guard(async () => {
    const s = await api("/api/simulator");
    demo.name = s.default_topic;
    demo.partitions = s.default_partitions;
    await loadTopics(demo.name);
    render(s);
    updated();
  })();
  stream(["sim"], (tick) => {
    if (!tick.sim) return;
    render(tick.sim);
    lagHistory.push((tick.sim.groups || []).reduce((a, g) => a + g.lag, 0));
    if (lagHistory.length > 120) lagHistory.shift();
    chart($("#s-lag"), [{ values: lagHistory, color: "--a" }]);
  });
})();
