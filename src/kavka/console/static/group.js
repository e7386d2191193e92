// One consumer group: members and assignments, committed offsets and lag (live), reset offsets.
"use strict";
(() => {
  const { $, el, api, guard, ok, num, fill, td, stream, updated, chart } = K;
  const id = document.body.dataset.group;
  const set = (k, v) => { const e = document.querySelector(`#g-facts [data-k="${k}"]`); if (e) e.textContent = v; };
  let topicsShown = "";

  function render(g) {
    if (g.error) { set("state", g.error); return; }
    set("state", g.state);
    // the same words as `kavka groups describe` and the groups list: "none" when the group has none
    set("protocol_type", g.protocol_type || "none");
    set("assignor", g.protocol || "none");
    set("members", num(g.members.length));
    set("total_lag", num(g.total_lag));
    fill($("#members tbody"), g.members, (m) => el("tr", {}, td(m.member_id), td(m.client_id), td(m.client_host),
      td(Object.entries(m.assignment || {}).map(([t, ps]) => `${t}: [${ps.join(", ")}]`).join("; ") || "–")),
      "No members: the group is inactive.");
    fill($("#offsets tbody"), g.offsets, (o) => el("tr", {}, td(o.topic), td(o.partition, "num"),
      td(num(o.committed), "num"), td(num(o.high_watermark), "num"), td(num(o.lag), "num"), td(o.owner || "–")),
      "No committed offsets.");
    const topics = [...new Set(g.offsets.map((o) => o.topic))];
    if (topics.join() !== topicsShown) {
      topicsShown = topics.join();
      $("#r-topic").replaceChildren(...topics.map((t) => el("option", { value: t }, t)));
    }
    if (g.history) chart($("#lag-chart"), [{ values: g.history.map((h) => h.lag), color: "--a" }]);
  }

  $("#reset").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const parts = $("#r-parts").value.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    const res = await api(`/api/groups/${encodeURIComponent(id)}/reset`, { method: "POST", body: {
      topic: $("#r-topic").value, partitions: parts, to: $("#r-to").value, value: $("#r-value").value || null,
    } });
    ok(`Offsets reset: ${res.offsets.map((o) => `${o.topic}/${o.partition} → ${o.offset}`).join(", ")}.`);
    render(await api(`/api/groups/${encodeURIComponent(id)}`));
  }));

  // the API's answer carries the lag history the sampler keeps: the chart is drawn before the first tick
  guard(async () => { render(await api(`/api/groups/${encodeURIComponent(id)}`)); updated(); })();
  stream([`group:${id}`], (tick) => { const g = tick[`group:${id}`]; if (g) render(g); });
})();
