/**
 * The dashboard served at `/`: one static page, no build step. It polls
 * `/bspump/v1/pipelines` and `/bspump/v1/lookup` every 2 s and draws each pipeline as
 * source → processors → sink with live counters (events/s in and out, drops, warnings, errors,
 * throttles) and the lookups. Kept in a TS string so `tsc` output carries it.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>BSPump</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5em; background: #f6f7f9; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  .meta { color: #666; font-size: .85em; margin-bottom: 1em; }
  .pipeline { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; margin-bottom: 1em; }
  .pipeline.error { border-color: #d33; }
  .head { display: flex; align-items: center; gap: .6em; }
  .dot { width: .8em; height: .8em; border-radius: 50%; display: inline-block; background: #bbb; }
  .dot.ready { background: #2a2; } .dot.error { background: #d33; }
  .flow { display: flex; flex-wrap: wrap; align-items: center; gap: .3em; margin: .7em 0; }
  .box { border: 1px solid #99a; border-radius: 4px; padding: .3em .6em; background: #eef; font-size: .85em; }
  .box.source { background: #efe; } .box.sink { background: #fee; }
  .box small { display: block; color: #666; }
  .arrow { color: #888; }
  .counters { display: flex; flex-wrap: wrap; gap: 1.2em; font-size: .85em; }
  .counters b { font-variant-numeric: tabular-nums; }
  .err { color: #d33; font-size: .85em; }
  button { font-size: .8em; }
  table { border-collapse: collapse; font-size: .85em; background: #fff; }
  td, th { border: 1px solid #ddd; padding: .2em .6em; text-align: left; }
</style>
</head>
<body>
<h1>BSPump</h1>
<div class="meta" id="meta">loading…</div>
<div id="pipelines"></div>
<h2 style="font-size:1.1em">Lookups</h2>
<div id="lookups"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (v) => (typeof v === "number" ? (Math.round(v * 10) / 10).toLocaleString() : "–");
function box(kind, c) { return '<span class="box ' + kind + '">' + esc(c.Id) + '<small>' + esc(c.Class) + '</small></span>'; }
function drawPipeline(p) {
  const m = p.Metrics || {};
  const parts = [];
  parts.push((p.Sources || []).map((s) => box("source", s)).join(" "));
  (p.Processors || []).forEach((depth, d) => {
    depth.forEach((c, i) => {
      const last = d === p.Processors.length - 1 && i === depth.length - 1;
      parts.push(box(last ? "sink" : "proc", c));
    });
  });
  const state = p.Error ? "error" : p.Ready ? "ready" : "";
  return '<div class="pipeline ' + (p.Error ? "error" : "") + '">' +
    '<div class="head"><span class="dot ' + state + '"></span><b>' + esc(p.Id) + '</b>' +
    (p.Error ? ' <button data-clear="' + esc(p.Id) + '">clear error</button>' : "") + '</div>' +
    '<div class="flow">' + parts.join('<span class="arrow">→</span>') + '</div>' +
    '<div class="counters">' +
    '<span>in <b>' + num(m["event.in"]) + '</b> (' + num(m["eps.in"]) + '/s)</span>' +
    '<span>out <b>' + num(m["event.out"]) + '</b> (' + num(m["eps.out"]) + '/s)</span>' +
    '<span>drop <b>' + num(m["event.drop"]) + '</b></span>' +
    '<span>warnings <b>' + num(m.warning) + '</b></span>' +
    '<span>errors <b>' + num(m.error) + '</b></span>' +
    '<span>ready <b>' + num((m["dutycycle.ready"] || 0) * 100) + '%</b></span>' +
    '<span>throttled by <b>' + esc((p.Throttles || []).join(", ") || "–") + '</b></span>' +
    '</div>' + (p.Error ? '<div class="err">' + esc(p.Error) + '</div>' : "") + '</div>';
}
async function refresh() {
  try {
    const [pipelines, lookups] = await Promise.all([
      fetch("bspump/v1/pipelines").then((r) => r.json()),
      fetch("bspump/v1/lookup").then((r) => (r.ok ? r.json() : [])),
    ]);
    $("pipelines").innerHTML = Object.values(pipelines).map(drawPipeline).join("") || "<p>No pipelines.</p>";
    $("lookups").innerHTML = lookups.length === 0 ? "<p>No lookups.</p>" :
      '<table><tr><th>Id</th><th>Class</th><th>Size</th><th>Master</th><th>ETag</th></tr>' +
      lookups.map((l) => '<tr><td>' + esc(l.Id) + '</td><td>' + esc(l.Class) + '</td><td>' + num(l.Size) + '</td><td>' +
        (l.Master ? "master" : esc(l.MasterURL || "slave")) + '</td><td>' + esc(l.ETag || "") + '</td></tr>').join("") + '</table>';
    $("meta").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("meta").textContent = "cannot reach the pump: " + e;
  }
}
document.addEventListener("click", async (ev) => {
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
  refresh();
});
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
