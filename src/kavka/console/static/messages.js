// Messages: browse a partition (from an offset or a time, oldest or newest first), live tail, produce.
"use strict";
(() => {
  const { $, el, api, guard, ok, say, num, bytes, time, pairs, params, setParams } = K;
  let tail = null;
  let nextOffset = null;
  let shownTo = null; // the high watermark when the table was last read: a live tail goes on from there

  function valueCell(v) {
    const tag = el("span", { class: `tag ${v.type}` }, v.type);
    if (v.type === "null") return el("td", {}, tag);
    return el("td", {}, tag, v.truncated ? el("span", { class: "tag" }, `cut, ${bytes(v.size)}`) : null, el("pre", {}, v.text));
  }

  function row(r) {
    const headers = r.headers.length
      ? el("pre", {}, r.headers.map((h) => `${h.key}: ${h.value.text ?? "null"}`).join("\n")) : "–";
    const ts = el("td", {}, time(r.timestamp), el("br"), el("span", { class: "tag" }, r.timestamp_type),
      r.control ? el("span", { class: "tag" }, `control ${r.control_type || ""}`) : null,
      r.transactional && !r.control ? el("span", { class: "tag" }, "transactional") : null);
    return el("tr", {}, el("td", { class: "num" }, num(r.offset)), ts, valueCell(r.key), valueCell(r.value),
      el("td", {}, headers), el("td", { class: "num" }, bytes(r.size)));
  }

  async function partitionsOf(topic) {
    const opt = [...$("#m-topic").options].find((o) => o.value === topic);
    return opt ? Number(opt.dataset.partitions) : 0;
  }

  async function fillPartitions() {
    const n = await partitionsOf($("#m-topic").value);
    const want = params().get("partition") || "0";
    $("#m-partition").replaceChildren(...Array.from({ length: n }, (_, i) =>
      el("option", { value: i, selected: String(i) === want }, String(i))));
    $("#p-partition").replaceChildren(el("option", { value: "" }, "by key (murmur2) or round-robin"),
      ...Array.from({ length: n }, (_, i) => el("option", { value: i }, String(i))));
  }

  function query(fromOffset) {
    const mode = document.querySelector("input[name=from]:checked").value;
    const q = new URLSearchParams({ partition: $("#m-partition").value, limit: $("#m-limit").value || 50 });
    q.set("order", mode === "newest" ? "newest" : "oldest");
    if (fromOffset != null) q.set("offset", fromOffset);
    else if (mode === "offset") q.set("offset", $("#m-offset").value || 0);
    else if (mode === "timestamp") {
      const t = $("#m-time").value;
      if (!t) throw new Error("Choose a time to start from.");
      q.set("timestamp", new Date(t).getTime());
    }
    return q;
  }

  async function show(fromOffset = null, append = false) {
    const topic = $("#m-topic").value;
    if (!topic) { say("Choose a topic (or create one on the Topics page)."); return; }
    setParams({ topic, partition: $("#m-partition").value });
    const q = query(fromOffset);
    const data = await api(`/api/topics/${encodeURIComponent(topic)}/messages?${q}`);
    const body = $("#records tbody");
    if (!append) body.replaceChildren();
    for (const r of data.records) body.append(row(r));
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No records here.")));
    $("#m-range").textContent = `Partition ${data.partition}: offsets ${num(data.log_start_offset)} to ` +
      `${num(data.high_watermark - 1)} readable (high watermark ${num(data.high_watermark)}).`;
    nextOffset = data.next_offset;
    shownTo = data.high_watermark;
    $("#m-more").hidden = nextOffset == null;
  }

  function stopTail() {
    if (tail) { tail.close(); tail = null; }
    $("#m-tail").setAttribute("aria-pressed", "false");
    $("#m-tail").textContent = "Live tail";
  }

  function startTail() {
    const topic = $("#m-topic").value, p = $("#m-partition").value;
    if (!topic) return;
    // from the shown high watermark, so a record written meanwhile is not missed (on reconnect, the
    // browser's Last-Event-ID resumes after the last record received)
    const from = shownTo == null ? "" : `?from=${shownTo}`;
    tail = new EventSource(`/api/topics/${encodeURIComponent(topic)}/partitions/${p}/tail${from}`);
    $("#m-tail").setAttribute("aria-pressed", "true");
    $("#m-tail").textContent = "Stop tail";
    $("#live-state").textContent = `tailing ${topic}/${p}`;
    $("#live-state").className = "live on";
    tail.addEventListener("record", (ev) => {
      const body = $("#records tbody");
      const empty = body.querySelector("td.empty");
      if (empty) empty.parentElement.remove();
      body.prepend(row(JSON.parse(ev.data)));
      while (body.children.length > 500) body.lastChild.remove();
    });
    tail.addEventListener("error", (ev) => {
      if (ev.data) say(JSON.parse(ev.data).error);
      $("#live-state").textContent = "tail reconnecting…";
      $("#live-state").className = "live off";
    });
  }

  $("#browse").addEventListener("submit", guard(async (ev) => { ev.preventDefault(); stopTail(); await show(); }));
  $("#m-more").addEventListener("click", guard(() => show(nextOffset, true)));
  $("#m-topic").addEventListener("change", guard(async () => { stopTail(); await fillPartitions(); await show(); }));
  $("#m-partition").addEventListener("change", guard(async () => { stopTail(); await show(); }));
  $("#m-tail").addEventListener("click", guard(async () => {
    if (tail) { stopTail(); return; }
    document.querySelector("input[name=from][value=newest]").checked = true;
    await show();
    startTail();
  }));
  $("#produce").addEventListener("submit", guard(async (ev) => {
    ev.preventDefault();
    const topic = $("#m-topic").value;
    if (!topic) throw new Error("Choose a topic first.");
    const headers = pairs($("#p-headers").value).map(([key, value]) => ({ key, value }));
    const part = $("#p-partition").value;
    const res = await api(`/api/topics/${encodeURIComponent(topic)}/messages`, { method: "POST", body: {
      key: $("#p-key").value || null, value: $("#p-value").value, headers, partition: part === "" ? null : Number(part),
    } });
    ok(`Sent to ${res.topic} partition ${res.partition} at offset ${res.offset}.`);
    if (!tail && String(res.partition) === $("#m-partition").value) await show();
  }));

  guard(async () => {
    const wanted = params().get("topic");
    const topics = await K.topicOptions($("#m-topic"), { selected: wanted, internal: (wanted || "").startsWith("__") });
    if (!topics.length) return;
    await fillPartitions();
    await show();
  })();
})();
