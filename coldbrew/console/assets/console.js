// coldbrew's live console: polls /console/state twice a second and draws hand-made SVG.
"use strict";
(function () {
  const KEEP = 180;            // points of history per revision (90 s at 2 polls/s)
  const POLL_MS = 500;
  const history = new Map();   // revision key -> [{t, standard, reserve, stable, panic, target, rps, latency}]
  const tails = new Map();     // "*" or "ns/name" -> [{p50, p99}]: the gateways' last 10 s
  let selected = "*";          // "*": all services, else "ns/name"
  let last = null;
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";

  function remember(state) {
    const seen = new Set();
    for (const svc of state.services) {
      for (const r of svc.revisions) {
        seen.add(r.key);
        let h = history.get(r.key);
        if (!h) { h = []; history.set(r.key, h); }
        h.push({ t: state.time, standard: r.standard, reserve: r.reserve, stable: r.stable,
                 panic: r.panic, target: r.target, rps: r.rps, latency: r.latencyMs });
        if (h.length > KEEP) h.shift();
      }
    }
    for (const key of history.keys()) if (!seen.has(key)) history.delete(key);
    const sel = new Set(["*"]);
    const keep = (key, src) => {
      let h = tails.get(key);
      if (!h) { h = []; tails.set(key, h); }
      h.push({ p50: src.p50Ms, p99: src.p99Ms });
      if (h.length > KEEP) h.shift();
    };
    keep("*", state.totals);
    for (const svc of state.services) {
      const key = `${svc.namespace}/${svc.name}`;
      sel.add(key);
      keep(key, svc);
    }
    for (const key of tails.keys()) if (!sel.has(key)) tails.delete(key);
  }

  // The selection's latency points: mean (from the revisions' series) with p50 and p99.
  function latencies(pts, key) {
    const tail = tails.get(key) || [];
    const n = Math.max(pts.length, tail.length);
    const out = [];
    for (let i = 0; i < n; i++) {
      const p = pts[pts.length - n + i], q = tail[tail.length - n + i];
      out.push({ latency: p ? p.latency : null, p50: q ? q.p50 : null, p99: q ? q.p99 : null });
    }
    return out;
  }

  function ms(v) { return v === null || v === undefined ? "-" : `${v.toFixed(v < 10 ? 1 : 0)} ms`; }

  // The series of the selection: sums over its revisions, aligned on the newest points.
  function series(keys) {
    const lists = keys.map((k) => history.get(k) || []);
    const n = Math.max(0, ...lists.map((l) => l.length));
    const out = [];
    for (let i = 0; i < n; i++) {
      const p = { standard: 0, reserve: 0, stable: 0, panic: 0, target: 0, rps: 0, latency: null };
      let weight = 0;
      for (const l of lists) {
        const q = l[l.length - n + i];
        if (!q) continue;
        p.standard += q.standard; p.reserve += q.reserve; p.stable += q.stable;
        p.panic += q.panic; p.rps += q.rps;
        p.target = Math.max(p.target, q.target);
        if (q.latency !== null) { p.latency = (p.latency || 0) + q.latency * q.rps; weight += q.rps; }
      }
      if (p.latency !== null) p.latency = weight > 0 ? p.latency / weight : null;
      out.push(p);
    }
    return out;
  }

  function el(name, attrs) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }

  function path(points, w, h, max, base) {
    if (points.length === 0) return "";
    const dx = w / Math.max(KEEP - 1, 1), x0 = w - dx * (points.length - 1);
    return points.map((v, i) => {
      const y = h - (h - 4) * (v / max);
      return `${i ? "L" : "M"}${(x0 + i * dx).toFixed(1)},${y.toFixed(1)}`;
    }).join("") + (base === undefined ? "" : `L${w},${h}L${x0.toFixed(1)},${h}Z`);
  }

  function axis(svg, w, h, max) {
    svg.appendChild(el("line", { x1: 0, y1: 4, x2: w, y2: 4, stroke: "#eee" }));
    const label = el("text", { x: 4, y: 14, "font-size": 11, fill: "#888" });
    label.textContent = String(Math.round(max * 100) / 100);
    svg.appendChild(label);
  }

  function drawPods(pts) {
    const svg = $("pods-chart"), w = 600, h = 160;
    svg.replaceChildren();
    const max = Math.max(1, ...pts.map((p) => p.standard + p.reserve));
    axis(svg, w, h, max);
    // stacked: reserve at the bottom, standard on top (the seed article's picture)
    svg.appendChild(el("path", { d: path(pts.map((p) => p.reserve + p.standard), w, h, max, 0),
                                 fill: "#6f4e37", "fill-opacity": 0.85 }));
    svg.appendChild(el("path", { d: path(pts.map((p) => p.reserve), w, h, max, 0),
                                 fill: "#d9a066", "fill-opacity": 0.95 }));
    const now = pts[pts.length - 1] || { standard: 0, reserve: 0 };
    const total = now.standard + now.reserve;
    if (String(total) !== svg.dataset.latestTotal && pts.length > 1) {
      svg.dataset.changes = String(Number(svg.dataset.changes) + 1);
    }
    svg.dataset.latestStandard = String(now.standard);
    svg.dataset.latestReserve = String(now.reserve);
    svg.dataset.latestTotal = String(total);
    svg.dataset.maxTotal = String(Math.max(Number(svg.dataset.maxTotal || 0), total));
    svg.dataset.points = String(pts.length);
  }

  function drawLines(id, pts, lines, h) {
    const svg = $(id), w = 600;
    svg.replaceChildren();
    let max = 1;
    for (const [field] of lines) for (const p of pts) if (p[field] !== null) max = Math.max(max, p[field]);
    axis(svg, w, h, max);
    for (const [field, color, dash] of lines) {
      const vals = pts.map((p) => (p[field] === null ? 0 : p[field]));
      const attrs = { d: path(vals, w, h, max), fill: "none", stroke: color, "stroke-width": 1.5 };
      if (dash) attrs["stroke-dasharray"] = "4 3";
      svg.appendChild(el("path", attrs));
    }
    const now = pts[pts.length - 1];
    if (now) for (const [field] of lines) svg.dataset[field] = String(now[field]);
  }

  function money(v, cur) { return `${v.toFixed(4)} ${cur || ""}`.trim(); }

  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }

  function renderServices(state) {
    const body = $("services").tBodies[0];
    const filter = $("filter").value.trim().toLowerCase();
    const rows = [];
    const all = document.createElement("tr");
    all.dataset.service = "*";
    cell(all, `all (${state.services.length})`); cell(all, ""); cell(all, "");
    cell(all, `${state.totals.standard}+${state.totals.reserve}`); cell(all, state.totals.rps.toFixed(0));
    cell(all, ms(state.totals.p50Ms)); cell(all, ms(state.totals.p99Ms));
    rows.push(all);
    for (const svc of state.services) {
      const key = `${svc.namespace}/${svc.name}`;
      if (filter && !key.toLowerCase().includes(filter)) continue;
      const tr = document.createElement("tr");
      tr.dataset.service = key;
      tr.dataset.ready = svc.ready;
      const std = svc.revisions.reduce((a, r) => a + r.standard, 0);
      const res = svc.revisions.reduce((a, r) => a + r.reserve, 0);
      const rps = svc.revisions.reduce((a, r) => a + r.rps, 0);
      cell(tr, svc.namespace === "default" ? svc.name : key);
      cell(tr, svc.ready === "True" ? "✓" : svc.reason || svc.ready);
      cell(tr, svc.traffic.map((t) => `${t.revision}${t.tag ? " (" + t.tag + ")" : ""} ${t.percent}%`).join(", "));
      cell(tr, `${std}+${res}`);
      cell(tr, rps.toFixed(0));
      cell(tr, ms(svc.p50Ms)).dataset.p50 = String(svc.p50Ms);
      cell(tr, ms(svc.p99Ms)).dataset.p99 = String(svc.p99Ms);
      rows.push(tr);
    }
    for (const tr of rows) tr.setAttribute("aria-selected", String(tr.dataset.service === selected));
    body.replaceChildren(...rows);
    body.dataset.count = String(state.services.length);
  }

  function renderDetail(state) {
    const svcs = selected === "*" ? state.services
      : state.services.filter((s) => `${s.namespace}/${s.name}` === selected);
    if (selected !== "*" && svcs.length === 0) selected = "*";
    const revs = svcs.flatMap((s) => s.revisions.map((r) => ({ ...r, svc: s })));
    $("selected-name").textContent = selected === "*" ? "all services" : selected;
    $("selected-url").textContent = selected === "*" ? "" : (svcs[0] && svcs[0].url) || "";
    const pts = series(revs.map((r) => r.key));
    drawPods(pts);
    drawLines("concurrency-chart", pts, [["stable", "#2b6cb0"], ["panic", "#c53030"], ["target", "#999", true]], 120);
    drawLines("rps-chart", pts, [["rps", "#2f855a"]], 120);
    drawLines("latency-chart", latencies(pts, selected),
              [["latency", "#805ad5"], ["p50", "#dd6b20"], ["p99", "#c53030", true]], 120);
    const body = $("revisions").tBodies[0];
    const shown = revs.filter((r) => selected !== "*" || r.standard + r.reserve > 0 || r.rps > 0).slice(0, 50);
    body.replaceChildren(...shown.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.revision = r.key;
      const share = r.svc.traffic.filter((t) => t.revision === r.name).reduce((a, t) => a + t.percent, 0);
      cell(tr, r.key);
      const td = cell(tr, "");
      const bar = document.createElement("span");
      bar.className = "bar"; bar.style.width = `${share / 2}px`;
      td.append(bar, `${share}%`);
      cell(tr, `${r.standard}/${r.reserve}/${r.desired}`);
      cell(tr, `${r.stable.toFixed(1)} / ${r.panic.toFixed(1)}${r.panicking ? " (panic)" : ""} / ${r.target}`);
      cell(tr, r.rps.toFixed(0));
      cell(tr, ms(r.latencyMs));
      cell(tr, `${ms(r.p50Ms)} / ${ms(r.p99Ms)}`);
      cell(tr, String(r.coldStarts));
      cell(tr, money(r.cost, r.currency));
      return tr;
    }));
  }

  function render(state) {
    const t = state.totals;
    $("total-standard").textContent = t.standard;
    $("total-reserve").textContent = t.reserve;
    $("total-rps").textContent = t.rps.toFixed(0);
    for (const q of ["p50", "p99"]) {
      const v = t[`${q}Ms`];
      $(`total-${q}`).textContent = ms(v);
      $(`total-${q}`).dataset.ms = v === null ? "" : String(v);
    }
    $("total-cold").textContent = t.coldStarts;
    $("total-cost").textContent = money(t.cost, t.currency);
    renderServices(state);
    renderDetail(state);
  }

  async function poll() {
    try {
      const resp = await fetch("/console/state", { cache: "no-store" });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      last = await resp.json();
      remember(last);
      render(last);
      $("status").dataset.state = "live";
      $("status").textContent = `live ${new Date(last.time * 1000).toLocaleTimeString()}`;
    } catch (err) {
      $("status").dataset.state = "down";
      $("status").textContent = `disconnected (${err.message})`;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  $("services").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-service]");
    if (!tr) return;
    selected = tr.dataset.service;
    if (last) render(last);
  });
  $("filter").addEventListener("input", () => { if (last) renderServices(last); });
  poll();
})();
