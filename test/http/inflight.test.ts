import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { Pipeline } from "../../src/core/index.js";
import { WebServiceSource } from "../../src/http/index.js";
import { BufferedSink, testApp, until } from "../helpers/components.js";

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
