// One topic: partitions (offsets, segments), configs (editable), delete with confirmation.
"use strict";
(() => {
  const { $, el, api, guard, ok, num, bytes, fill, td } = K;
  const name = document.body.dataset.topic;
  const base = `/api/topics/${encodeURIComponent(name)}`;
  $("#to-messages").href = `/messages?topic=${encodeURIComponent(name)}`;
  $("#to-explorer").href = `/explorer?topic=${encodeURIComponent(name)}`;
  let detail = null;

  function render(d) {
    detail = d;
    fill($("#partitions tbody"), d.partitions, (p) => el("tr", { class: p.under_replicated ? "bad" : null },
      td(p.partition, "num"), td(p.leader, "num"), td(p.replicas.join(", ")), td(p.isr.join(", ")),
      td(num(p.log_start_offset), "num"), td(num(p.high_watermark), "num"), td(num(p.log_end_offset), "num"),
      td(num(p.last_stable_offset), "num"), td(num(p.segments), "num"), td(bytes(p.size_bytes), "num")));
    const only = $("#only-overrides").checked;
    const rows = d.configs.filter((c) => !only || c.override);
    fill($("#configs tbody"), rows, (c) => el("tr", {},
      el("td", { class: c.override ? "override" : null, title: c.doc || "" }, c.name),
      el("td", { class: c.override ? "override" : null }, c.sensitive ? "(hidden)" : (c.value ?? "")),
      td(c.source),
      el("td", {},
        el("button", { type: "button", class: "secondary", "aria-label": `Edit ${c.name}`, onclick: () => {
          $("#cfg-name").value = c.name; $("#cfg-value").value = c.value ?? ""; $("#cfg-value").focus();
        } }, "Edit"),
        c.override ? el("button", { type: "button", class: "secondary", "aria-label": `Remove the override of ${c.name}`,
          onclick: guard(async () => {
            render(await api(`${base}/configs`, { method: "PATCH", body: { delete: [c.name] } }));
            ok(`${c.name} is back to its default.`);
          }) }, "Reset") : null)), d.configs_error || "No overrides: every config has its default.");
    const dl = $("#config-names");
    if (!dl.children.length) for (const c of d.configs) dl.append(el("option", { value: c.name }));
  }

  const load = guard(async () => render(await api(base)));
  $("#only-overrides").addEventListener("change", () => detail && render(detail));
  $("#set-config").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const key = $("#cfg-name").value.trim();
    render(await api(`${base}/configs`, { method: "PATCH", body: { set: { [key]: $("#cfg-value").value } } }));
    ok(`${key} set.`);
  }));
  $("#del-confirm").addEventListener("input", (ev) => { $("#del-button").disabled = ev.target.value !== name; });
  $("#delete").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    if ($("#del-confirm").value !== name) return;
    await api(base, { method: "DELETE" });
    location.href = "/topics";
  }));
  load();
  setInterval(() => guard(async () => { const d = await api(base); if (document.activeElement?.closest("#configs") == null) render(d); })(), 3000);
})();
