import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { ConfigError, Pipeline } from "../../src/core/index.js";
import { WebServiceSource } from "../../src/http/index.js";
import { NullSink } from "../../src/common/index.js";
import { BufferedSink, testApp, until } from "../helpers/components.js";
import { peakGrowthMB } from "../helpers/memory.js";

const MiB = 1024 * 1024;

/** A chunked upload (no Content-Length): the bound must hold without a declared size too. */
function chunkedPost(url: string, chunks: number, size: number): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "Transfer-Encoding": "chunked" } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined });
    });
    req.on("error", reject);
    const chunk = Buffer.alloc(size, 0x61);
    for (let i = 0; i < chunks; i++) req.write(chunk);
    req.end();
  });
}

test("WebServiceSource bounds the bytes in flight over concurrent requests: 40 × 1 MiB against max_in_flight 4 MiB", async () => {
  const app = testApp();
  const pipeline = new Pipeline(app, "Web");
  const source = new WebServiceSource(app, pipeline, { config: { listen: "127.0.0.1 0", path: "/in", format: "bytes", max_body: 2 * MiB, max_in_flight: 4 * MiB, retry_after: 3 } });
  // The sink keeps what it got until flush(): the admitted requests stay in flight meanwhile.
  const sink = new BufferedSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(() => source.port !== 0);
    const url = `http://127.0.0.1:${source.port}/in`;
    const body = Buffer.alloc(MiB, 0x62); // one buffer for all uploads: the client's memory stays flat
    const started = Date.now();
    const answers: number[] = [];
    const burst = Array.from({ length: 40 }, () =>
      fetch(url, { method: "POST", body }).then(async (r) => {
        answers.push(r.status);
        if (r.status !== 200) assert.equal(r.headers.get("retry-after"), "3");
        await r.arrayBuffer();
        return r.status;
      }),
    );
    await until(() => answers.length === 36, 20_000);
    assert.ok(Date.now() - started < 20_000);
    assert.deepEqual(new Set(answers), new Set([503]), "the refused get not_ready_status with Retry-After");
    assert.equal(pipeline.eventIn, 4, "exactly max_in_flight / body size requests were admitted");
    assert.ok(source.bytesInFlight.peak <= 4 * MiB, `peak ${source.bytesInFlight.peak}`);
    assert.equal(source.bytesInFlight.now, 4 * MiB);
    // A chunked upload while full is refused too, though it declares no size.
    assert.deepEqual(await chunkedPost(url, 8, 64 * 1024), { status: 503, retryAfter: "3" });
    sink.flush();
    const statuses = await Promise.all(burst);
    assert.equal(statuses.filter((s) => s === 200).length, 4);
    assert.equal(source.bytesInFlight.now, 0, "released once answered");
    // Capacity is back: a chunked upload is taken.
    const later = chunkedPost(url, 8, 64 * 1024);
    await until(() => pipeline.eventIn === 5);
    sink.flush();
    assert.equal((await later).status, 200);
    assert.ok(source.bytesInFlight.peak <= 4 * MiB);
    assert.equal(source.stats.over_capacity, 37);
  } finally {
    app.stop();
    assert.equal(await running, 0);
  }
});

/** One upload with node:http (the body written from a shared Buffer); a refusal mid-upload may reset the socket. */
function post(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": String(body.length) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(-1)); // refused before the body was sent: the server closed the connection
    req.end(body);
  });
}

test("40 parallel 10 MB JSON uploads with the defaults: memory bounded by max_in_flight (was 1.35 GB), every request answered", async () => {
  // A 10 MB JSON array of small objects, under the default max_body (10 MiB).
  const item = '{"host":"web-01","path":"/index.html","status":200,"bytes":5120,"agent":"Mozilla/5.0"}';
  const count = Math.floor(10_000_000 / (item.length + 1));
  const body = Buffer.from(`[${Array.from({ length: count }, () => item).join(",")}]`);
  assert.ok(body.length <= 10 * 1024 * 1024 && body.length > 9_900_000);
  const app = testApp();
  const pipeline = new Pipeline(app, "Web");
  const source = new WebServiceSource(app, pipeline, { config: { listen: "127.0.0.1 0", path: "/in", format: "json" } });
  pipeline.build(source, new NullSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(() => source.port !== 0);
    const url = `http://127.0.0.1:${source.port}/in`;
    let statuses: number[] = [];
    const started = Date.now();
    const growth = await peakGrowthMB(async () => {
      statuses = await Promise.all(Array.from({ length: 40 }, () => post(url, body)));
    });
    const seconds = (Date.now() - started) / 1000;
    const ok = statuses.filter((s) => s === 200).length;
    console.log(`40 × 10 MB JSON: ${ok} taken, ${40 - ok} refused, peak RSS growth ${growth.toFixed(0)} MB, ${seconds.toFixed(1)} s; bytes in flight peak ${(source.bytesInFlight.peak / MiB).toFixed(1)} MiB`);
    assert.ok(statuses.every((s) => s === 200 || s === 503 || s === -1), `statuses ${statuses}`);
    assert.ok(ok >= 1, "some uploads were taken");
    assert.equal(pipeline.eventIn, ok * count, "every item of every taken upload became an event");
    assert.ok(source.bytesInFlight.peak <= 64 * MiB);
    assert.equal(source.bytesInFlight.now, 0);
    assert.ok(growth < 400, `RSS grew by ${growth.toFixed(0)} MB`);
    assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
  } finally {
    app.stop();
    assert.equal(await running, 0);
  }
});

test("WebServiceSource's limits are declared bounds: 0 bytes in flight, a 200 'not ready' status, a negative Retry-After are config errors", () => {
  const app = testApp();
  const pipeline = new Pipeline(app, "Web");
  for (const [key, value, range] of [
    ["max_in_flight", 0, ">= 1"],
    ["max_body", -1, ">= 1"],
    ["not_ready_status", 200, "from 400 to 599"],
    ["retry_after", -1, "from 0 to 86400"],
    ["response_timeout", 0, "from 0.001 to 86400"],
  ] as const) {
    assert.throws(
      () => new WebServiceSource(app, pipeline, { config: { listen: "127.0.0.1 0", [key]: value } }),
      (e: Error) => e instanceof ConfigError && e.message.includes(`key '${key}'`) && e.message.includes(range),
      key,
    );
  }
});
