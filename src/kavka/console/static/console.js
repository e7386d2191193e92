// Kavka console: helpers shared by every page. Hand-written, no dependencies, no build step.
// Data is always written with textContent (never innerHTML), so record contents cannot inject markup.
"use strict";

const K = (() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k === "style") e.style.cssText = v; // CSSOM: allowed by the page's CSP, unlike the attribute
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids.flat()) {
      if (c == null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  async function api(path, { method = "GET", body } = {}) {
    const opts = { method, headers: { Accept: "application/json" } };
    // Every change is sent as JSON, even with no body: the console refuses anything else (415).
    if (method !== "GET") opts.headers["Content-Type"] = "application/json";
    if (body !== undefined) opts.body = JSON.stringify(body);
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new Error(`The console cannot reach the broker (${e.message}).`);
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) throw new Error((data && data.error) || `${resp.status} ${resp.statusText}`);
    return data;
  }

  function say(msg, kind = "error") {
    const box = $("#messages");
    const p = el("p", { class: kind, role: kind === "ok" ? "status" : null }, el("span", {}, msg));
    p.append(el("button", { type: "button", class: "close", "aria-label": "Dismiss message", onclick: () => p.remove() }, "×"));
    box.append(p);
    if (kind === "ok") setTimeout(() => p.remove(), 8000);
  }
  const ok = (msg) => say(msg, "ok");
  const guard = (fn) => async (...args) => {
    try { await fn(...args); } catch (e) { say(e.message); }
  };

  const nf = new Intl.NumberFormat("en");
  const num = (n) => (n == null ? "–" : nf.format(n));
  function bytes(n) {
    if (n == null) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${i || !Number.isInteger(n) ? n.toFixed(1) : n} ${units[i]}`;
  }
  const perSec = (n, fmt = num) => (n == null ? "–" : `${fmt(Math.round(n * 10) / 10)}/s`);
  function time(ms) {
    if (ms == null || ms < 0) return "–";
    return new Date(ms).toISOString().replace("T", " ").replace("Z", "").slice(0, 23);
  }
  function duration(s) {
    if (s == null) return "–";
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return (d ? `${d}d ` : "") + (d || h ? `${h}h ` : "") + `${m}m ${Math.floor(s % 60)}s`;
  }

  function fill(tbody, rows, render, empty = "Nothing here yet.") {
    tbody.replaceChildren();
    if (!rows.length) {
      const cols = tbody.closest("table").tHead.rows[0].cells.length;
      tbody.append(el("tr", {}, el("td", { colspan: cols, class: "empty" }, empty)));
      return;
    }
    for (const r of rows) tbody.append(render(r));
  }
  const td = (v, cls) => el("td", { class: cls }, v);

  // Server-sent events from /api/events; the header says whether the stream is live. Until it is, a
  // page shows what it fetched on load and says when (`updated`), rather than an empty "connecting…".
  let streaming = false;
  function updated(ms = Date.now()) {
    if (streaming) return;
    const state = $("#live-state");
    state.textContent = `updated ${new Date(ms).toTimeString().slice(0, 8)}`;
    state.className = "live";
  }

  function stream(channels, onTick) {
    const state = $("#live-state");
    let es = null;
    function open() {
      es = new EventSource("/api/events?channels=" + encodeURIComponent(channels.join(",")));
      // the server answers at once (before its first tick): the stream is live from then on
      es.onopen = () => { streaming = true; state.textContent = "live"; state.className = "live on"; };
      es.addEventListener("tick", (ev) => {
        try { onTick(JSON.parse(ev.data)); } catch (e) { console.error(e); }
      });
      es.onerror = () => { streaming = false; state.textContent = "reconnecting…"; state.className = "live off"; };
    }
    open();
    window.addEventListener("beforeunload", () => es && es.close());
    return {
      set(chs) { channels = chs; es.close(); open(); },
      close() { es.close(); },
    };
  }

  // A small line chart on a canvas: series = [{values: [...], color}]
  function chart(canvas, series, { format = num } = {}) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 34;
    const css = getComputedStyle(document.documentElement);
    ctx.clearRect(0, 0, w, h);
    const all = series.flatMap((s) => s.values).filter((v) => v != null);
    const max = Math.max(1, ...all);
    ctx.strokeStyle = "#d8dde3";
    ctx.fillStyle = "#5b6673";
    ctx.font = "12px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (let i = 0; i <= 2; i++) {
      const y = pad / 2 + ((h - pad) * i) / 2;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w, y); ctx.stroke();
      ctx.fillText(format(max * (1 - i / 2)), 2, y - 2);
    }
    for (const s of series) {
      const n = s.values.length;
      if (!n) continue;
      ctx.strokeStyle = ctx.fillStyle = css.getPropertyValue(s.color || "--a").trim() || "#1f5fbf";
      ctx.lineWidth = 2;
      if (n === 1) { // the first sample: a dot where the line will start
        ctx.beginPath();
        ctx.arc(pad, pad / 2 + (h - pad) * (1 - (s.values[0] || 0) / max), 3, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      s.values.forEach((v, i) => {
        const x = pad + ((w - pad) * i) / (Math.max(n, 60) - 1);
        const y = pad / 2 + (h - pad) * (1 - (v || 0) / max);
        if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      });
      ctx.stroke();
    }
  }

  async function topicOptions(select, { selected = null, internal = false, blank = null } = {}) {
    const data = await api("/api/topics" + (internal ? "" : "?internal=0"));
    select.replaceChildren();
    if (blank) select.append(el("option", { value: "" }, blank));
    for (const t of data.topics) {
      select.append(el("option", { value: t.name, selected: t.name === selected, "data-partitions": t.partitions }, t.name));
    }
    if (!data.topics.length && !blank) select.append(el("option", { value: "" }, "(no topics yet)"));
    return data.topics;
  }

  // "name=value" lines -> [[name, value], ...]
  function pairs(text) {
    return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const i = l.indexOf("=");
      if (i < 1) throw new Error(`"${l}" is not name=value`);
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
  }

  // Colours for the keys on screen. Hashing keys into a fixed palette makes different keys share a
  // colour, so instead each key shown gets its own, in order of first appearance, and keeps it while it
  // stays on screen (a key that leaves frees its colour for the next new one): 20 hand-picked colours,
  // then generated hues (golden-angle steps, so neighbours differ). Records with no key are grey.
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#bcbd22", "#393b79", "#ad494a", "#637939", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                   "#c5b0d5", "#f7b6d2", "#dbdb8d", "#9edae5"];
  const NO_KEY = "#c3c9d0";
  const colourAt = (i) => (i < PALETTE.length ? PALETTE[i]
    : `hsl(${Math.round((i * 137.508) % 360)}, 70%, ${i % 2 ? 40 : 58}%)`);
  function keyColours() {
    const index = new Map(); // key -> colour index, for the keys on screen
    return {
      // keys: every key on screen now, in order of appearance (repeats and null allowed)
      update(keys) {
        const shown = new Set(keys);
        for (const k of [...index.keys()]) if (!shown.has(k)) index.delete(k);
        const used = new Set(index.values());
        let free = 0;
        for (const k of keys) {
          if (k == null || index.has(k)) continue;
          while (used.has(free)) free++;
          index.set(k, free);
          used.add(free);
        }
      },
      of: (key) => (key == null || !index.has(key) ? NO_KEY : colourAt(index.get(key))),
    };
  }
  const params = () => new URLSearchParams(location.search);

  function setParams(values) {
    const p = params();
    for (const [k, v] of Object.entries(values)) {
      if (v == null || v === "") p.delete(k); else p.set(k, v);
    }
    history.replaceState(null, "", `${location.pathname}?${p}`);
  }

  return { $, el, api, say, ok, guard, num, bytes, perSec, time, duration, fill, td, stream, updated, chart, topicOptions,
           pairs, keyColours, params, setParams };
})();
