import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { BSPumpApplication, Config, Pipeline, type LogRecord } from "../../src/core/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";
import { UnitTestSink, UnitTestSource } from "../../src/unittest/index.js";
import { WebService } from "../../src/web/index.js";
// Loading the web family registers the web API with BSPumpApplication.
import "../../src/web/index.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real HTTP request with exactly the headers given (fetch would not let us set Host). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers, setHost: false }, (res) => {
      let data = "";
      res.on("data", (d: Buffer) => (data += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function startApp(ini: string): Promise<{ app: BSPumpApplication; web: WebService; pipeline: Pipeline; logs: LogRecord[]; stop: () => Promise<number> }> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "<guard test>"), handleSignals: false });
  const logs: LogRecord[] = [];
  app.logs.writer = (r) => logs.push(r);
  const pipeline = new Pipeline(app, "P");
  pipeline.build(new UnitTestSource(app, pipeline), new UnitTestSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  app.pumpService.addLookup(new DictionaryLookup(app, "Teams")).replace({ alice: "red" });
  const started = new Promise<void>((resolve) => app.pubsub.subscribe("Application.run!", () => resolve()));
  const running = app.run();
  await started;
  const web = app.getService<WebService>("bspump.WebService");
  return {
    app,
    web,
    pipeline,
    logs,
    stop: () => {
      app.stop();
      return running;
    },
  };
}

test("Host is checked: a DNS-rebinding name is refused for every endpoint, local names, IPs and allowed_hosts pass", async () => {
  const { web, stop } = await startApp("[web]\nlisten = 127.0.0.1:0\nallowed_hosts = pump.example.org\n");
  try {
    const host = (h: string) => ({ Host: `${h}:${web.port}` });
    for (const path of ["/bspump/v1/pipelines", "/bspump/v1/lookup/Teams", "/", "/metrics"]) {
      const evil = await send(web.port, "GET", path, host("attacker.example"));
      assert.equal(evil.status, 403, path);
      assert.doesNotMatch(evil.body, /alice|"P"/, "nothing leaks in the refusal");
    }
    for (const name of ["localhost", "127.0.0.1", "[::1]", "pump.example.org", "10.1.2.3"]) {
      assert.equal((await send(web.port, "GET", "/bspump/v1/pipelines", host(name))).status, 200, name);
    }
  } finally {
    assert.equal(await stop(), 0);
  }
});

test("without a token, cross-origin state changes are refused: text/plain, no body, a foreign Origin", async () => {
  const { web, pipeline, stop } = await startApp("[web]\nlisten = 127.0.0.1:0\n");
  try {
    const path = "/bspump/v1/pipelines/P/clear-error";
    const own = `127.0.0.1:${web.port}`;
    pipeline.setError(null, null, new Error("boom"));
    // What a form or a no-preflight fetch from another origin can send.
    assert.equal((await send(web.port, "POST", path, { Host: own, "Content-Type": "text/plain", Origin: "http://attacker.example" }, "{}")).status, 403);
    assert.equal((await send(web.port, "POST", path, { Host: own, "Content-Type": "text/plain" }, "{}")).status, 415);
    assert.equal((await send(web.port, "POST", path, { Host: own })).status, 415);
    assert.equal((await send(web.port, "POST", path, { Host: own, "Content-Type": "application/x-www-form-urlencoded" }, "a=1")).status, 415);
    assert.equal((await send(web.port, "POST", path, { Host: own, "Content-Type": "application/json", Origin: "null" }, "{}")).status, 403);
    assert.equal((await send(web.port, "POST", path, { Host: own, "Content-Type": "application/json", Origin: "http://attacker.example" }, "{}")).status, 403);
    assert.equal(pipeline.isError(), true, "none of those cleared the error");
    // The dashboard's own request: same origin, JSON.
    const ok = await send(web.port, "POST", path, { Host: own, "Content-Type": "application/json", Origin: `http://${own}` }, "{}");
    assert.equal(ok.status, 200, ok.body);
    assert.equal(pipeline.isError(), false);
    // curl with JSON and no Origin.
    pipeline.setError(null, null, new Error("boom"));
    assert.equal((await send(web.port, "POST", path, { Host: own, "Content-Type": "application/json; charset=utf-8" }, "{}")).status, 200);
    assert.equal(pipeline.isError(), false);
  } finally {
    assert.equal(await stop(), 0);
  }
});

test("every response says nosniff and may not be framed: dashboard, JSON, errors, lookup bytes, 304", async () => {
  const { web, stop } = await startApp("[web]\nlisten = 127.0.0.1:0\n");
  try {
    const base = `http://127.0.0.1:${web.port}`;
    const data = await fetch(`${base}/bspump/v1/lookup/Teams`);
    await data.arrayBuffer();
    const responses = [
      await fetch(`${base}/`),
      await fetch(`${base}/bspump/v1/pipelines`),
      await fetch(`${base}/nothing`),
      data,
      await fetch(`${base}/bspump/v1/lookup/Teams`, { headers: { "If-None-Match": data.headers.get("etag")! } }),
    ];
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 404, 200, 304]);
    for (const r of responses) {
      assert.equal(r.headers.get("x-content-type-options"), "nosniff", r.url);
      assert.equal(r.headers.get("content-security-policy"), "frame-ancestors 'none'", r.url);
      await r.arrayBuffer().catch(() => undefined);
    }
  } finally {
    assert.equal(await stop(), 0);
  }
});

test("listening beyond loopback without a token is a loud warning; with a token, or on loopback, none", async () => {
  const warnings = async (ini: string) => {
    const { logs, stop } = await startApp(ini);
    assert.equal(await stop(), 0);
    return logs.filter((r) => r.level === "warn" && /^SECURITY:/.test(r.msg));
  };
  const open = await warnings("[web]\nlisten = 0.0.0.0:0\n");
  assert.equal(open.length, 1);
  assert.match(open[0]!.msg, /no \[web\] token/);
  assert.deepEqual(await warnings("[web]\nlisten = 0.0.0.0:0\ntoken = t\n"), []);
  assert.deepEqual(await warnings("[web]\nlisten = 127.0.0.1:0\n"), []);
});

test("with a token, a foreign Origin is still refused; the token alone (no JSON) is enough from curl", async () => {
  const { web, pipeline, stop } = await startApp("[web]\nlisten = 127.0.0.1:0\ntoken = s3cret\n");
  try {
    const path = "/bspump/v1/pipelines/P/clear-error";
    const own = `127.0.0.1:${web.port}`;
    pipeline.setError(null, null, new Error("boom"));
    const auth = { Host: own, Authorization: "Bearer s3cret" };
    assert.equal((await send(web.port, "POST", path, { ...auth, Origin: "http://attacker.example", "Content-Type": "application/json" }, "{}")).status, 403);
    assert.equal(pipeline.isError(), true);
    assert.equal((await send(web.port, "POST", path, auth)).status, 200);
    assert.equal(pipeline.isError(), false);
  } finally {
    assert.equal(await stop(), 0);
  }
});
