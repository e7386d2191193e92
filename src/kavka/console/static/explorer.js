// Partition explorer: each partition as a row of records coloured by key; murmur2 calculator.
// Keyboard: Tab into the blocks, arrows move between records (left/right) and partitions (up/down).
"use strict";
(() => {
  const { $, el, api, guard, num, time, keyColours, params, setParams, stream } = K;
  const colours = keyColours();
  let data = null;
  let selected = null; // [partition, offset]
  let target = null;
  let live = null;
  let lastOffsets = "";

  function describe(p, b) {
    const dl = $("#x-detail");
    const item = (k, v) => el("div", {}, el("dt", {}, k), el("dd", {}, v));
    dl.replaceChildren(item("Partition", String(p)), item("Offset", num(b.offset)), item("Key", b.key ?? "(none)"),
      item("Timestamp", `${time(b.timestamp)} (${b.timestamp})`),
      item("Headers", b.headers.length ? b.headers.map((h) => `${h.key}: ${h.value ?? "null"}`).join("\n") : "(none)"),
      item("Value", b.value ?? "(null)"));
  }

  function focusBlock(rowIdx, idx) {
    const rows = [...document.querySelectorAll("#rows .blocks")];
    const row = rows[Math.max(0, Math.min(rows.length - 1, rowIdx))];
    if (!row || !row.children.length) return;
    const blocks = [...row.children];
    const b = blocks[Math.max(0, Math.min(blocks.length - 1, idx))];
    document.querySelectorAll("#rows .block").forEach((x) => x.setAttribute("tabindex", "-1"));
    b.setAttribute("tabindex", "0");
    b.focus();
  }

  function legend() {
    const keys = new Set(data.partitions.flatMap((p) => p.blocks.map((b) => b.key)));
    $("#legend").replaceChildren(...[...keys].slice(0, 24).map((k) => el("li", {},
      el("span", { class: "block", style: `background:${colours.of(k)}` }), k ?? "(no key)")));
  }

  function render() {
    const rows = $("#rows");
    rows.replaceChildren();
    if (!data) return;
    colours.update(data.partitions.flatMap((p) => p.blocks.map((b) => b.key)));
    legend();
    if (data.truncated) rows.append(el("p", { class: "hint" }, `Showing the first ${data.partitions.length} of ${data.count} partitions.`));
    data.partitions.forEach((p, rowIdx) => {
      const blocks = el("div", { class: "blocks", role: "group", "aria-label": `Partition ${p.partition} records` });
      p.blocks.forEach((b, i) => {
        const isSel = selected && selected[0] === p.partition && selected[1] === b.offset;
        const btn = el("button", {
          type: "button", class: "block", tabindex: "-1", "aria-pressed": isSel ? "true" : "false",
          "aria-label": `offset ${b.offset}, key ${b.key ?? "none"}`, title: `offset ${b.offset} · key ${b.key ?? "none"}`,
          style: `background:${colours.of(b.key)}`,
          onclick: () => { selected = [p.partition, b.offset]; describe(p.partition, b); render(); focusBlock(rowIdx, i); },
          onkeydown: (ev) => {
            const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0], Home: [0, -1e9], End: [0, 1e9] };
            const m = moves[ev.key];
            if (!m) return;
            ev.preventDefault();
            focusBlock(rowIdx + m[0], i + m[1]);
          },
        });
        blocks.append(btn);
      });
      if (blocks.firstChild) (blocks.querySelector("[aria-pressed=true]") || blocks.lastChild).setAttribute("tabindex", "0");
      const label = el("div", { class: "row-label" }, `P${p.partition}`, el("br"),
        el("span", { class: "hint" }, `offsets ${num(p.log_start_offset)}–${num(p.high_watermark - 1)}`));
      rows.append(el("div", { class: `row${target === p.partition ? " target" : ""}`, "data-partition": p.partition },
        label, p.blocks.length ? blocks : el("span", { class: "hint" }, "empty")));
    });
  }

  const load = guard(async () => {
    const topic = $("#x-topic").value;
    if (!topic) { data = null; render(); return; }
    setParams({ topic });
    data = await api(`/api/topics/${encodeURIComponent(topic)}/explorer?per_partition=${$("#x-per").value || 60}`);
    if (document.activeElement?.classList.contains("block")) return; // do not move keyboard focus
    render();
  });

  let timer = null;
  const calc = () => {
    clearTimeout(timer);
    timer = setTimeout(guard(async () => {
      const key = $("#k-key").value;
      const out = $("#k-result");
      if (!key) { target = null; render(); out.textContent = "Type a key to see where it goes."; return; }
      const r = await api(`/api/partitioner?key=${encodeURIComponent(key)}&partitions=${$("#k-n").value || 1}`);
      target = r.partition;
      out.replaceChildren("murmur2(", el("code", {}, JSON.stringify(key)), `) = ${r.murmur2}; toPositive = ${r.positive}; `,
        `${r.positive} % ${r.partitions} = `, el("strong", {}, `partition ${r.partition}`));
      render();
    }), 150);
  };

  $("#x-topic").addEventListener("change", () => {
    const n = $("#x-topic").selectedOptions[0]?.dataset.partitions;
    if (n) $("#k-n").value = n;
    lastOffsets = "";
    if (live) live.set([`topic:${$("#x-topic").value}`]);
    load();
    calc();
  });
  $("#x-per").addEventListener("change", load);
  $("#x-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  $("#calc").addEventListener("submit", (ev) => { ev.preventDefault(); calc(); });
  $("#k-key").addEventListener("input", calc);
  $("#k-n").addEventListener("input", calc);

  guard(async () => {
    const topics = await K.topicOptions($("#x-topic"), { selected: params().get("topic") });
    if (!topics.length) return;
    const n = $("#x-topic").selectedOptions[0]?.dataset.partitions;
    if (n) $("#k-n").value = n;
    await load();
    K.updated();
    live = stream([`topic:${$("#x-topic").value}`], (tick) => {
      const offs = JSON.stringify(tick[`topic:${$("#x-topic").value}`]);
      if (offs !== lastOffsets) { lastOffsets = offs; load(); }
    });
  })();
})();
