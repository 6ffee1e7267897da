import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { BSPumpApplication, Config, Pipeline } from "../../src/core/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";
import { UnitTestSink, UnitTestSource } from "../../src/unittest/index.js";
import { parseListen, WebService } from "../../src/web/index.js";
import { parsePrometheus } from "./promparse.js";

let app: BSPumpApplication;
let web: WebService;
let running: Promise<number>;
let base: string;
let broken: Pipeline;

before(async () => {
  const ini = "[web]\nlisten=127.0.0.1:0\ntoken=s3cret\nmax_body=1024\n";
  app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "<web test>"), handleSignals: false });
  for (const id of ["Main", "Broken"]) {
    const p = new Pipeline(app, id);
    const src = new UnitTestSource(app, p);
    src.input = [[null, { a: 1 }], [null, { a: 2 }]];
    p.build(src, new UnitTestSink(app, p));
    app.pumpService.addPipeline(p);
  }
  broken = app.pumpService.locatePipeline("Broken")!;
  const lookup = app.pumpService.addLookup(new DictionaryLookup(app, "Teams"));
  lookup.replace({ alice: "red", bob: "blue" });
  const started = new Promise<void>((resolve) => app.pubsub.subscribe("Application.run!", () => resolve()));
  running = app.run();
  await started;
  web = app.getService<WebService>("bspump.WebService");
  assert.ok(web instanceof WebService);
  assert.notEqual(web.port, 0, "port 0 → the bound port is readable");
  base = `http://127.0.0.1:${web.port}`;
});

after(async () => {
  app.stop();
  assert.equal(await running, 0);
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers; json: () => unknown }> {
  const res = await fetch(base + path, init);
  const body = await res.text();
  return { status: res.status, body, headers: res.headers, json: () => JSON.parse(body) };
}

function expectJsonError(r: { status: number; headers: Headers; json: () => unknown }, status: number): void {
  assert.equal(r.status, status);
  assert.match(r.headers.get("content-type") ?? "", /application\/json/);
  const body = r.json() as { error: string; status: number };
  assert.equal(body.status, status);
  assert.equal(typeof body.error, "string");
}

test("listen syntax; default bind 127.0.0.1", () => {
  assert.deepEqual(parseListen("8080"), { host: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen(":8080"), { host: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("0.0.0.0:9"), { host: "0.0.0.0", port: 9 });
  assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
  assert.throws(() => parseListen("nope"), /listen/);
  assert.throws(() => parseListen("1.2.3.4:99999"), /listen/);
});

test("GET /bspump/v1/pipelines and /pipelines/<id>", async () => {
  const all = await call("/bspump/v1/pipelines");
  assert.equal(all.status, 200);
  const pipelines = all.json() as Record<string, { Id: string; Metrics: Record<string, number>; Sources: unknown[]; Processors: unknown[][] }>;
  assert.deepEqual(Object.keys(pipelines).sort(), ["Broken", "Main"]);
  assert.equal(pipelines.Main!.Id, "Main");
  assert.equal(pipelines.Main!.Sources.length, 1);
  const one = await call("/bspump/v1/pipelines/Main");
  assert.equal(one.status, 200);
  const main = one.json() as { Id: string; Metrics: Record<string, number> };
  assert.equal(main.Id, "Main");
  assert.equal(main.Metrics["event.in"], 2);
  expectJsonError(await call("/bspump/v1/pipelines/Nope"), 404);
  expectJsonError(await call("/bspump/v1/pipelines", { method: "DELETE" }), 405);
});

test("POST clear-error: token required (401 missing, 403 wrong), then clears", async () => {
  broken.setError(null, null, new Error("boom"));
  assert.equal(broken.isError(), true);
  const path = "/bspump/v1/pipelines/Broken/clear-error";
  const missing = await call(path, { method: "POST" });
  expectJsonError(missing, 401);
  assert.match(missing.headers.get("www-authenticate") ?? "", /Bearer/);
  expectJsonError(await call(path, { method: "POST", headers: { Authorization: "Bearer wrong" } }), 403);
  assert.equal(broken.isError(), true, "still in error after refused requests");
  const health = await call("/health");
  assert.equal(health.status, 503);
  assert.equal((health.json() as { pipelines: Record<string, string> }).pipelines.Broken, "error");
  const ok = await call(path, { method: "POST", headers: { Authorization: "Bearer s3cret" } });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json(), { ok: true, pipeline: "Broken", cleared: true });
  assert.equal(broken.isError(), false);
  const again = await call(path, { method: "POST", headers: { Authorization: "Bearer s3cret", "Content-Type": "application/json" }, body: "{}" });
  assert.deepEqual(again.json(), { ok: true, pipeline: "Broken", cleared: false });
  expectJsonError(await call("/bspump/v1/pipelines/Nope/clear-error", { method: "POST", headers: { Authorization: "Bearer s3cret" } }), 404);
  expectJsonError(await call(path), 405);
});

test("oversized and malformed requests get 4xx; the pump keeps running", async () => {
  const auth = { Authorization: "Bearer s3cret" };
  expectJsonError(await call("/bspump/v1/pipelines/Main/clear-error", { method: "POST", headers: auth, body: "x".repeat(5000) }), 413);
  expectJsonError(await call("/bspump/v1/pipelines/Main/clear-error", { method: "POST", headers: auth, body: "{not json" }), 400);
  expectJsonError(await call("/bspump/v1/pipelines/Main/clear-error", { method: "POST", headers: auth, body: "[1]" }), 400);
  expectJsonError(await call("/bspump/v1/pipelines/%E0%A4%A"), 400);
  expectJsonError(await call("/bspump/v2/whatever"), 404);
  expectJsonError(await call("/nothing"), 404);
  // A chunked body that grows past the limit.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request(`${base}/bspump/v1/pipelines/Main/clear-error`, { method: "POST", headers: { ...auth, "Transfer-Encoding": "chunked" } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    for (let i = 0; i < 10; i++) req.write("y".repeat(500));
    req.end();
  });
  assert.equal(chunked, 413);
  // Garbage that is not HTTP at all.
  const raw = await new Promise<string>((resolve) => {
    const socket = connect(web.port, "127.0.0.1", () => socket.write("\x00\x01GARBAGE\r\n\r\n"));
    let data = "";
    socket.on("data", (d) => (data += d.toString()));
    socket.on("close", () => resolve(data));
    socket.on("error", () => resolve(data));
  });
  assert.match(raw, /^HTTP\/1\.1 400/);
  const health = await call("/health");
  assert.equal(health.status, 200);
  assert.equal((health.json() as { status: string }).status, "ok");
  assert.equal(app.isRunning, true);
});

test("lookup endpoints: list, meta, data with a standard ETag and 304", async () => {
  const list = await call("/bspump/v1/lookup");
  assert.equal(list.status, 200);
  const lookups = list.json() as { Id: string; Size: number; Master: boolean }[];
  assert.deepEqual(lookups.map((l) => [l.Id, l.Size, l.Master]), [["Teams", 2, true]]);
  const meta = await call("/bspump/v1/lookup/Teams/meta");
  assert.equal(meta.status, 200);
  assert.equal((meta.json() as { Class: string }).Class, "DictionaryLookup");
  const data = await call("/bspump/v1/lookup/Teams");
  assert.equal(data.status, 200);
  assert.equal(data.headers.get("content-type"), "application/octet-stream");
  assert.deepEqual(JSON.parse(data.body), { alice: "red", bob: "blue" });
  const etag = data.headers.get("etag")!;
  assert.match(etag, /^"[0-9a-f]{40}"$/, "a quoted (standard) ETag");
  const notModified = await call("/bspump/v1/lookup/Teams", { headers: { "If-None-Match": `W/"other", ${etag}` } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body, "");
  const stale = await call("/bspump/v1/lookup/Teams", { headers: { "If-None-Match": '"0000"' } });
  assert.equal(stale.status, 200);
  expectJsonError(await call("/bspump/v1/lookup/Nope"), 404);
  expectJsonError(await call("/bspump/v1/lookup/Nope/meta"), 404);
  const counts = web.lookupCounts.get("Teams")!;
  assert.deepEqual({ ...counts }, { served: 2, not_modified: 1 });
});

test("GET /bspump/v1/manifest, /health, dashboard at /", async () => {
  const manifest = await call("/bspump/v1/manifest");
  assert.equal(manifest.status, 200);
  const m = manifest.json() as Record<string, string>;
  assert.equal(typeof m.BSPUMP_VERSION, "string");
  assert.ok(!Number.isNaN(Date.parse(m.LAUNCHED_AT!)));
  const health = await call("/health");
  assert.equal(health.status, 200);
  assert.deepEqual((health.json() as { pipelines: unknown }).pipelines, { Main: "ready", Broken: "ready" });
  const dash = await call("/");
  assert.equal(dash.status, 200);
  assert.match(dash.headers.get("content-type") ?? "", /text\/html/);
  assert.match(dash.body, /bspump\/v1\/pipelines/);
  assert.match(dash.body, /<script>/);
});

test("GET /metrics parses as Prometheus text format", async () => {
  const r = await call("/metrics");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(r.body);
  const eventIn = families.get("bspump_pipeline_event_in_total");
  assert.ok(eventIn, "pipeline event.in exported");
  assert.equal(eventIn.type, "counter");
  const main = eventIn.samples.find((s) => s.labels.pipeline === "Main");
  assert.equal(main?.value, 2);
  assert.equal(families.get("bspump_lookup_size")?.samples.find((s) => s.labels.lookup === "Teams")?.value, 2);
  assert.ok((families.get("bspump_web_requests_total")?.samples[0]?.value ?? 0) > 5);
  assert.throws(() => parsePrometheus('x{a="1} 1\n'), /unterminated|bad/, "the parser is strict");
});

test("the lookup token protects the lookup endpoints", async () => {
  const ini = "[web]\nlisten=:0\nlookup_token=lt\n";
  const app2 = new BSPumpApplication({ args: [], config: Config.fromString(ini, "<t>"), handleSignals: false });
  app2.pumpService.addLookup(new DictionaryLookup(app2, "L"));
  const started = new Promise<void>((resolve) => app2.pubsub.subscribe("Application.run!", () => resolve()));
  const run2 = app2.run();
  await started;
  const port = app2.getService<WebService>("bspump.WebService").port;
  assert.equal(app2.getService<WebService>("bspump.WebService").host, "127.0.0.1");
  assert.equal((await fetch(`http://127.0.0.1:${port}/bspump/v1/lookup/L`)).status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${port}/bspump/v1/lookup/L`, { headers: { Authorization: "Bearer no" } })).status, 403);
  assert.equal((await fetch(`http://127.0.0.1:${port}/bspump/v1/lookup/L`, { headers: { Authorization: "Bearer lt" } })).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${port}/bspump/v1/pipelines`)).status, 200, "read-only pipeline view needs no token");
  app2.stop();
  assert.equal(await run2, 0);
});

test("-w on the command line starts the web API", async () => {
  const app3 = new BSPumpApplication({ args: ["-w", "127.0.0.1:0"], config: Config.fromString("", "<t>"), handleSignals: false });
  const started = new Promise<void>((resolve) => app3.pubsub.subscribe("Application.run!", () => resolve()));
  const run3 = app3.run();
  await started;
  const port = app3.getService<WebService>("bspump.WebService").port;
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(r.status, 200);
  assert.deepEqual(((await r.json()) as { pipelines: unknown }).pipelines, {});
  app3.stop();
  assert.equal(await run3, 0);
});
