/**
 * The dashboard served at `/`: one static page, no build step, no library. It listens to
 * `/bspump/v1/stream` (Server-Sent Events, one snapshot a second) and falls back to polling
 * `/bspump/v1/pipelines` every 2 s when the stream is not available. It draws the topology (each
 * pipeline a node; router, dead-letter and other downstream edges as arrows), and per pipeline its
 * components, counters, events/s in and out over the last 5 minutes as charts, who throttles it,
 * the error with a preview of the event and the clear-error action, and the tail of its log (each
 * component box shows the numbers its describe() gives, e.g. a Kafka source's lag per partition,
 * a Kafka sink's queued and delivered records, an Elasticsearch sink's bulks in flight) and a
 * TimeWindowAnalyzer's window as a heatmap of its busiest dimensions; then a tail of the recent
 * warnings and errors of every pipeline, and the lookups (size, last update, sync with their
 * source or master). Every string from the pump is escaped. Kept in a TS string so `tsc` output carries it.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>BSPump</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5em; background: #f6f7f9; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; } h2 { font-size: 1.05em; margin: 1.2em 0 .5em; }
  .meta { color: #666; font-size: .85em; margin-bottom: 1em; }
  .live { color: #2a2; } .polling { color: #b80; } .down { color: #d33; }
  #topology { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em; overflow-x: auto; }
  #topology svg text { font-size: 12px; }
  .node rect { fill: #eef; stroke: #99a; } .node.error rect { fill: #fee; stroke: #d33; } .node.throttled rect { fill: #ffd; stroke: #b80; }
  .node { cursor: pointer; } .edge { stroke: #778; stroke-width: 1.4; fill: none; }
  .edge.throttle { stroke: #e90; stroke-dasharray: 5 3; } .legend { font-size: .75em; color: #666; margin-top: .3em; }
  .heatmap { font-size: .75em; color: #555; margin-top: .5em; } .heatmap td { border: none; padding: 0 .3em 0 0; white-space: nowrap; }
  .heatmap svg { display: block; } .heatmap rect.open { stroke: #27a; stroke-width: .6; }
  #tail { font-size: .8em; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .4em .8em; max-height: 14em; overflow: auto; }
  #tail .warn { color: #b60; } #tail .error { color: #d33; } .ok { color: #2a2; } .bad { color: #d33; }
  .pipeline { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; margin-bottom: 1em; }
  .pipeline.error { border-color: #d33; }
  .head { display: flex; align-items: center; gap: .6em; }
  .dot { width: .8em; height: .8em; border-radius: 50%; display: inline-block; background: #bbb; }
  .dot.ready { background: #2a2; } .dot.error { background: #d33; } .dot.throttled { background: #e90; }
  .flow { display: flex; flex-wrap: wrap; align-items: center; gap: .3em; margin: .7em 0; }
  .box { border: 1px solid #99a; border-radius: 4px; padding: .3em .6em; background: #eef; font-size: .85em; }
  .box.source { background: #efe; } .box.sink { background: #fee; }
  .box small { display: block; color: #666; } .box small.facts { color: #345; font-size: .85em; }
  .arrow { color: #888; }
  .row { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
  .counters { display: grid; grid-template-columns: auto auto; gap: .1em 1em; font-size: .85em; }
  .counters b { font-variant-numeric: tabular-nums; text-align: right; }
  .chart { font-size: .75em; color: #666; } .chart svg { background: #fafbfc; border: 1px solid #eee; display: block; }
  .err { color: #d33; font-size: .85em; margin-top: .5em; }
  pre.preview { background: #fff5f5; border: 1px solid #f0caca; padding: .4em; font-size: .8em; white-space: pre-wrap; word-break: break-all; max-height: 8em; overflow: auto; }
  .log { font-size: .78em; color: #555; margin-top: .5em; } .log .warn { color: #b60; } .log .error { color: #d33; }
  button { font-size: .8em; }
  table { border-collapse: collapse; font-size: .85em; background: #fff; }
  td, th { border: 1px solid #ddd; padding: .2em .6em; text-align: left; }
</style>
</head>
<body>
<h1>BSPump</h1>
<div class="meta"><span id="conn">connecting…</span> · <span id="meta"></span></div>
<h2>Topology</h2>
<div id="topology"></div>
<h2>Pipelines</h2>
<div id="pipelines"></div>
<h2>Recent warnings and errors</h2>
<div id="tail"></div>
<h2>Lookups</h2>
<div id="lookups"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (v) => (typeof v === "number" ? (Math.round(v * 10) / 10).toLocaleString() : "–");
const HISTORY = 300; // samples per pipeline: 5 minutes at one a second
const history = new Map(); // pipeline id -> [{t, in, out}]

function stateOf(p) { return p.Error ? "error" : !p.Ready ? "throttled" : "ready"; }

function remember(pipelines, time) {
  for (const p of Object.values(pipelines)) {
    const m = p.Metrics || {};
    let h = history.get(p.Id);
    if (!h) history.set(p.Id, (h = []));
    if (h.length && h[h.length - 1].t === time) continue;
    h.push({ t: time, in: m["eps.in"] || 0, out: m["eps.out"] || 0 });
    if (h.length > HISTORY) h.shift();
  }
}

/** Pipelines in columns by their longest path from a pipeline nothing routes into. */
function layout(pipelines) {
  const ids = Object.keys(pipelines);
  const depth = new Map(ids.map((id) => [id, 0]));
  for (let pass = 0; pass < ids.length; pass++) {
    for (const id of ids) for (const d of pipelines[id].Downstream || []) {
      if (depth.has(d) && depth.get(d) < depth.get(id) + 1) depth.set(d, depth.get(id) + 1);
    }
  }
  const columns = [];
  for (const id of ids) (columns[depth.get(id)] ||= []).push(id);
  const at = new Map();
  columns.forEach((col, x) => col.forEach((id, y) => at.set(id, { x: 10 + x * 230, y: 10 + y * 64 })));
  return { at, width: 20 + columns.length * 230, height: 20 + Math.max(1, ...columns.map((c) => c.length)) * 64 };
}

/** Who throttles whom across pipelines: a throttle named after another pipeline (a router's target not ready) or one of its components (an InternalSource's back pressure). */
function throttlers(p, pipelines) {
  const out = [];
  for (const t of p.Throttles || []) {
    for (const id of Object.keys(pipelines)) if (id !== p.Id && (t === id || String(t).startsWith(id + ".")) && !out.includes(id)) out.push(id);
  }
  return out;
}

function drawTopology(pipelines) {
  const { at, width, height } = layout(pipelines);
  const W = 190, H = 44;
  let edges = "", nodes = "";
  for (const p of Object.values(pipelines)) {
    const b = at.get(p.Id);
    for (const q of throttlers(p, pipelines)) {
      const a = at.get(q);
      // Drawn below the nodes, so that it never hides a routing edge.
      edges += '<path class="edge throttle" data-from="' + esc(q) + '" data-to="' + esc(p.Id) + '" marker-end="url(#arrow)" d="M' + (a.x + W / 2) + "," + (a.y + H) +
        " C" + (a.x + W / 2) + "," + (a.y + H + 28) + " " + (b.x + W / 2) + "," + (b.y + H + 28) + " " + (b.x + W / 2) + "," + (b.y + H) + '"><title>' + esc(q) + " throttles " + esc(p.Id) + "</title></path>";
    }
  }
  for (const p of Object.values(pipelines)) {
    const a = at.get(p.Id);
    for (const d of p.Downstream || []) {
      const b = at.get(d);
      if (!b) continue;
      edges += '<path class="edge" data-from="' + esc(p.Id) + '" data-to="' + esc(d) + '" marker-end="url(#arrow)" d="M' + (a.x + W) + "," + (a.y + H / 2) +
        " C" + (a.x + W + 25) + "," + (a.y + H / 2) + " " + (b.x - 25) + "," + (b.y + H / 2) + " " + b.x + "," + (b.y + H / 2) + '"/>';
    }
    const m = p.Metrics || {};
    nodes += '<g class="node ' + stateOf(p) + '" data-pipeline="' + esc(p.Id) + '" transform="translate(' + a.x + "," + a.y + ')">' +
      '<rect width="' + W + '" height="' + H + '" rx="5"/><text x="8" y="17" font-weight="bold">' + esc(p.Id) + "</text>" +
      '<text x="8" y="34" fill="#555">' + num(m["eps.in"]) + " in/s · " + num(m["eps.out"]) + " out/s</text></g>";
  }
  $("topology").innerHTML = '<svg width="' + width + '" height="' + (height + 24) + '" role="img" aria-label="pipelines and the edges between them">' +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#778"/></marker></defs>' +
    edges + nodes + "</svg>" + '<div class="legend">→ routes or dead-letters into · <span style="color:#e90">- - →</span> throttles · border: green ready, yellow throttled, red in error</div>';
}

function chart(samples, key, color, label) {
  const w = 240, h = 50;
  const max = Math.max(1, ...samples.map((s) => s[key]));
  const span = Math.max(60, samples.length) - 1; // a minute wide at first, 5 minutes at most
  const pts = samples.map((s, i) => (w * i / span).toFixed(1) + "," + (h - 2 - (h - 4) * s[key] / max).toFixed(1)).join(" ");
  return '<div class="chart" data-chart="' + key + '">' + label + " (max " + num(max) + '/s)<svg width="' + w + '" height="' + h + '">' +
    '<polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' + pts + '"/></svg></div>';
}

const HIDDEN = new Set(["Id", "Class", "Config", "PipelineId", "Running"]);
/** What a component tells about itself beyond its config (describe()): its numbers and flags, and a Kafka source's lag per partition. */
function details(c) {
  const facts = Object.entries(c).filter(([k, v]) => !HIDDEN.has(k) && (typeof v === "number" || typeof v === "boolean"))
    .slice(0, 6).map(([k, v]) => esc(k) + " " + (typeof v === "number" ? num(v) : v ? "yes" : "no"));
  if (Array.isArray(c.Lag) && c.Lag.length > 0) {
    facts.push("lag " + c.Lag.map((p) => esc(p.topic) + "/" + esc(p.partition) + ": " + (typeof p.lag === "number" ? num(p.lag) : "not read yet")).join(", "));
  }
  return facts.length ? '<small class="facts">' + facts.join(" · ") + "</small>" : "";
}
/** A TimeWindowAnalyzer's window: its busiest dimensions × time columns, darker for more events; columns of windows not closed yet outlined. */
function heatmap(c) {
  const h = c.Heatmap;
  if (!h || !Array.isArray(h.Top)) return "";
  const cols = Number(h.Columns) || 0, cw = Math.max(4, Math.min(16, Math.floor(360 / Math.max(1, cols)))), ch = 12;
  const max = Math.max(1, ...h.Top.flatMap((d) => d.Counts));
  const rows = h.Top.map((d, r) => "<tr><td>" + esc(d.Dimension) + '</td><td><svg width="' + cw * cols + '" height="' + ch + '">' +
    d.Counts.map((v, i) => {
      const open = h.ClosedUpTo === null || h.Start + i * h.Resolution >= h.ClosedUpTo;
      const title = esc(d.Dimension) + " · " + new Date((h.Start + i * h.Resolution) * 1000).toISOString().slice(11, 19) + " · " + num(v);
      return '<rect x="' + i * cw + '" width="' + (cw - 1) + '" height="' + (ch - 1) + '" fill="rgba(34,119,170,' + (v > 0 ? 0.12 + 0.88 * v / max : 0.04).toFixed(2) + ')"' +
        (open ? ' class="open"' : "") + "><title>" + title + "</title></rect>";
    }).join("") + "</svg></td><td>" + num(d.Counts.reduce((a, b) => a + b, 0)) + "</td></tr>").join("");
  return '<div class="heatmap" data-heatmap="' + esc(c.Id) + '">' + esc(c.Id) + ": top " + h.Top.length + " of " + num(h.Dimensions) + " dimensions, " +
    cols + " columns of " + num(h.Resolution) + " s (outlined: windows still open; max " + num(max) + ")<table>" + rows + "</table></div>";
}

function box(kind, c) { return '<span class="box ' + kind + '" data-component="' + esc(c.Id) + '">' + esc(c.Id) + "<small>" + esc(c.Class) + "</small>" + details(c) + "</span>"; }

function drawPipeline(p) {
  const m = p.Metrics || {};
  const parts = [(p.Sources || []).map((s) => box("source", s)).join(" ")];
  (p.Processors || []).forEach((depth, d) => depth.forEach((c, i) => parts.push(box(d === p.Processors.length - 1 && i === depth.length - 1 ? "sink" : "proc", c))));
  const counters = [["in", m["event.in"]], ["out", m["event.out"]], ["drop", m["event.drop"]], ["warnings", m.warning], ["errors", m.error],
    ["dead letters", m["event.dead_letter"]], ["ready", Math.round((m["dutycycle.ready"] || 0) * 100) + " %"], ["in flight", m["async.in_flight"]]];
  const h = history.get(p.Id) || [];
  const log = (p.Log || []).slice(-6).reverse().map((r) => '<div class="' + esc(r.level) + '">' + esc(r.time) + " " + esc(r.level) + " " + esc(r.msg) + "</div>").join("");
  return '<div class="pipeline ' + (p.Error ? "error" : "") + '" id="pipeline-' + esc(p.Id) + '" data-pipeline="' + esc(p.Id) + '">' +
    '<div class="head"><span class="dot ' + stateOf(p) + '"></span><b>' + esc(p.Id) + "</b> <small>" + esc(p.Class) + "</small>" +
    (p.Error ? ' <button data-clear="' + esc(p.Id) + '">clear error</button>' : "") + "</div>" +
    '<div class="flow">' + parts.join('<span class="arrow">→</span>') + "</div>" +
    '<div class="row"><div class="counters">' + counters.map(([k, v]) => "<span>" + k + '</span><b data-counter="' + k + '">' + (typeof v === "string" ? esc(v) : num(v)) + "</b>").join("") +
    "<span>throttled by</span><b>" + esc((p.Throttles || []).join(", ") || "–") + "</b>" +
    "<span>downstream</span><b>" + esc((p.Downstream || []).join(", ") || "–") + "</b></div>" +
    chart(h, "in", "#27a", "events/s in") + chart(h, "out", "#2a5", "events/s out") + "</div>" +
    (p.Error ? '<div class="err">' + esc(p.Error) + "</div>" + (p.ErrorEvent !== undefined ? '<pre class="preview">' + esc(p.ErrorEvent) + "</pre>" : "") : "") +
    (p.Processors || []).flat().map(heatmap).join("") +
    (log ? '<div class="log">' + log + "</div>" : "") + "</div>";
}

/** The last warnings and errors of every pipeline, newest first. */
function drawTail(pipelines) {
  const all = [];
  for (const p of Object.values(pipelines)) for (const r of p.Log || []) if (r.level === "warn" || r.level === "error") all.push([p.Id, r]);
  all.sort((a, b) => (a[1].time < b[1].time ? 1 : a[1].time > b[1].time ? -1 : 0));
  $("tail").innerHTML = all.length === 0 ? "<p>None.</p>" : all.slice(0, 30).map(([id, r]) =>
    '<div class="' + esc(r.level) + '" data-tail="' + esc(id) + '">' + esc(r.time) + " " + esc(id) + " " + esc(r.level) + " " + esc(r.msg) + "</div>").join("");
}

/** "12 s ago" from seconds since the epoch. */
function ago(t) {
  if (typeof t !== "number") return "never";
  const s = Math.max(0, Date.now() / 1000 - t);
  return s < 90 ? Math.round(s) + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : new Date(t * 1000).toLocaleString();
}

/** Master, or a slave of its master; whether its source last answered. */
function syncOf(l) {
  if (l.Problem) return '<span class="bad">' + esc(l.Problem) + "</span>";
  const p = l.Provider;
  if (!p) return l.Master ? "master" : "–";
  return '<span class="ok">' + (l.MasterURL ? "in sync with the master" : "loaded") + "</span>, answered " + ago(p.AnsweredAt);
}

function drawLookups(lookups) {
  $("lookups").innerHTML = !lookups ? "<p>Lookups need the lookup token.</p>" : lookups.length === 0 ? "<p>No lookups.</p>" :
    "<table><tr><th>Id</th><th>Class</th><th>Size</th><th>Role</th><th>Last update</th><th>Sync</th><th>ETag</th></tr>" +
    lookups.map((l) => '<tr data-lookup="' + esc(l.Id) + '"><td>' + esc(l.Id) + "</td><td>" + esc(l.Class) + "</td><td>" + num(l.Size) + "</td><td>" +
      (l.Master ? "master" : "slave of " + esc(l.MasterURL || "?")) + "</td><td>" + ago(l.Updated) + "</td><td>" + syncOf(l) + "</td><td>" + esc(l.ETag || "") + "</td></tr>").join("") + "</table>";
}

function draw(snapshot) {
  const pipelines = snapshot.pipelines || {};
  remember(pipelines, snapshot.time);
  drawTopology(pipelines);
  $("pipelines").innerHTML = Object.values(pipelines).map(drawPipeline).join("") || "<p>No pipelines.</p>";
  drawTail(pipelines);
  drawLookups(snapshot.lookups);
  $("meta").textContent = "updated " + new Date(snapshot.time * 1000).toLocaleTimeString();
}

function setConn(text, cls) { const c = $("conn"); c.textContent = text; c.className = cls; }

let pollTimer = null;
async function poll() {
  try {
    const [pipelines, lookups] = await Promise.all([
      fetch("bspump/v1/pipelines").then((r) => r.json()),
      fetch("bspump/v1/lookup").then((r) => (r.ok ? r.json() : undefined)),
    ]);
    draw({ time: Date.now() / 1000, pipelines, lookups });
    setConn("polling", "polling");
  } catch (e) {
    setConn("cannot reach the pump: " + e, "down");
  }
}

function listen() {
  if (!window.EventSource) { poll(); pollTimer = setInterval(poll, 2000); return; }
  const source = new EventSource("bspump/v1/stream");
  let opened = false;
  source.addEventListener("snapshot", (ev) => { opened = true; setConn("live", "live"); draw(JSON.parse(ev.data)); });
  source.onerror = () => {
    if (opened) { setConn("reconnecting…", "down"); return; } // EventSource retries by itself
    source.close();
    if (!pollTimer) { poll(); pollTimer = setInterval(poll, 2000); }
  };
}

document.addEventListener("click", async (ev) => {
  const node = ev.target.closest && ev.target.closest("g.node");
  if (node) { const el = document.getElementById("pipeline-" + node.getAttribute("data-pipeline")); if (el) el.scrollIntoView(); return; }
  const id = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-clear");
  if (!id) return;
  // JSON, so that the API can tell this page from a cross-origin form post.
  const headers = { "Content-Type": "application/json" };
  let token = sessionStorage.getItem("bspump-token");
  for (let attempt = 0; attempt < 2; attempt++) {
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch("bspump/v1/pipelines/" + encodeURIComponent(id) + "/clear-error", { method: "POST", headers, body: "{}" });
    if (r.status !== 401 && r.status !== 403) break;
    token = prompt("Token for mutating endpoints");
    if (!token) break;
    sessionStorage.setItem("bspump-token", token);
  }
  if (pollTimer) poll();
});
listen();
</script>
</body>
</html>`;
