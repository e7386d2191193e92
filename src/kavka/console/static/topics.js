// Topics: the list, and the create form.
"use strict";
(() => {
  const { $, el, api, guard, ok, num, bytes, fill, td, pairs } = K;

  const load = guard(async () => {
    const internal = $("#show-internal").checked;
    const data = await api("/api/topics" + (internal ? "" : "?internal=0"));
    fill($("#topics tbody"), data.topics, (t) => el("tr", {},
      el("td", {}, el("a", { href: `/topics/${encodeURIComponent(t.name)}` }, t.name)),
      td(num(t.partitions), "num"), td(num(t.replication_factor), "num"), td(bytes(t.size_bytes), "num"),
      td(num(t.records), "num"), td(t.cleanup_policy)), "No topics yet: create one below.");
  });

  $("#show-internal").addEventListener("change", load);
  $("#create").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const configs = Object.fromEntries(pairs(f.configs.value));
    const t = await api("/api/topics", { method: "POST", body: {
      name: f.name.value.trim(), partitions: f.partitions.value, replication_factor: f.replication_factor.value, configs,
    } });
    ok(`Topic ${t.name} created with ${t.partitions} partition(s).`);
    f.name.value = "";
    f.configs.value = "";
    await load();
  }));
  load();
  setInterval(load, 5000);
})();
