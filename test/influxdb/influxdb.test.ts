// @services influxdb
import { BatchSource as SharedBatchSource, sleep, stopApps, until } from "../helpers/components.js";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Pipeline } from "../../src/core/index.js";
import { InfluxDBSink } from "../../src/influxdb/index.js";
import { rawUniqueName } from "../helpers/services.js";
import { FaultProxy, makeApp, query } from "./helpers.js";

after(stopApps);

/** The shared test source, in batches of 100. */
class BatchSource extends SharedBatchSource {
  override batchSize = 100;
}

function pump(config: Record<string, string | number | boolean>, events: unknown[], batchSize = 100) {
  const { app, connection } = makeApp(config);
  const pipeline = new Pipeline(app, "P");
  const source = new BatchSource(app, pipeline);
  source.events = events;
  source.batchSize = batchSize;
  const sink = new InfluxDBSink(app, pipeline, "InfluxDBConnection");
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  return { app, connection, pipeline, source, sink, running, batches: Math.ceil(events.length / batchSize) };
}

test("round trip: every point written, escaping and types preserved, timestamps in the configured precision", async () => {
  const m = rawUniqueName("rt m");
  const n = 5000;
  const base = 1700000000;
  const events: unknown[] = Array.from({ length: n }, (_, i) => ({
    measurement: m,
    tags: { host: `h ${i % 3}`, "k=v": "a,b" },
    fields: { value: i / 4, count: BigInt(i), ok: i % 2 === 0, note: `say "${i}"` },
    time: base + i * 0.001,
  }));
  const p = pump({ precision: "ms", output_bucket_max_size: 50000 }, events, 500);
  await until(() => p.source.outcomes.length === p.batches, 60_000, "all settled");
  p.app.stop();
  assert.equal(await p.running, 0);
  assert.ok(p.source.outcomes.every((e) => e === null));
  assert.ok(p.sink.counts.buckets > 5, `buckets ${p.sink.counts.buckets}`);
  const esc = m.replace(/"/g, '\\"');
  const c = await query(`SELECT count("value") FROM "${esc}"`);
  assert.equal(c.values[0]![1], n);
  const one = await query(`SELECT "value", "count", "ok", "note", "host", "k=v" FROM "${esc}" WHERE time = ${base * 1000 + 1234}ms`, "ms");
  assert.deepEqual(one.columns, ["time", "value", "count", "ok", "note", "host", "k=v"]);
  assert.deepEqual(one.values, [[base * 1000 + 1234, 1234 / 4, 1234, true, 'say "1234"', "h 1", "a,b"]]);
});

test("BSPump tuples and raw lines; the tuple timestamp follows precision (BSPump always wrote ns)", async () => {
  const m = rawUniqueName("tuple");
  const events = [
    [m, "tag1=a,tag2=b", "field=12", 1234567890],
    `${m},tag1=raw field=13 1234567891`,
    Buffer.from(`${m},tag1=buf field=14 1234567892\n`),
  ];
  const p = pump({ precision: "s" }, events);
  await until(() => p.source.outcomes.length === 1, 20_000);
  p.app.stop();
  await p.running;
  assert.equal(p.source.outcomes[0], null);
  const r = await query(`SELECT "field", "tag1" FROM "${m}"`, "s");
  assert.deepEqual(r.values, [
    [1234567890, 12, "a"],
    [1234567891, 13, "raw"],
    [1234567892, 14, "buf"],
  ]);
});

test("a partly filled bucket is sent after flush_period while the pipeline runs", async () => {
  const m = rawUniqueName("time");
  const p = pump({ flush_period: 0.2 }, [{ measurement: m, fields: { v: 1 } }, { measurement: m, fields: { v: 2 }, time: 1 }]);
  try {
    await until(async () => (await query(`SELECT count("v") FROM "${m}"`)).values[0]?.[1] === 2, 20_000, "written by time");
    await until(() => p.source.outcomes.length === 1, 10_000);
    assert.equal(p.source.outcomes[0], null);
  } finally {
    p.app.stop();
    await p.running;
  }
});

test("4xx: the bucket fails with the server's message through the error rules (no silent loss)", async () => {
  // A database that does not exist: InfluxDB answers 404 "database not found".
  const p = pump({ db: rawUniqueName("nodb") }, [{ measurement: "m", fields: { v: 1 } }]);
  await until(() => p.source.outcomes.length === 1, 20_000);
  p.app.stop();
  await p.running;
  assert.match(String(p.source.outcomes[0]?.message), /404.*database not found/);
  assert.equal(p.pipeline.isError(), true);
  assert.match(p.pipeline.error!.error.message, /database not found/);

  // A field type conflict (400): soft errors count a warning and go on; the next bucket is written.
  const m = rawUniqueName("conflict");
  const { app } = makeApp({ flush_period: 0.05 });
  class Soft extends Pipeline {
    messages: string[] = [];
    override handleError(e: Error): boolean {
      this.messages.push(e.message);
      return true;
    }
  }
  const pipeline = new Soft(app, "S");
  const source = new BatchSource(app, pipeline);
  source.batchSize = 1;
  source.events = [{ measurement: m, fields: { v: 1.5 }, time: 10 }, `${m} v="text" 11000000000`, { measurement: m, fields: { v: 2.5 }, time: 12 }];
  const sink = new InfluxDBSink(app, pipeline, "InfluxDBConnection");
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => source.outcomes.length === 3, 20_000);
  app.stop();
  await running;
  assert.deepEqual(source.outcomes, [null, null, null]);
  assert.equal(pipeline.warnings >= 1, true);
  assert.match(pipeline.messages.join("\n"), /400.*field type conflict/);
  const r = await query(`SELECT "v" FROM "${m}"`);
  assert.deepEqual(r.values.map((v) => v[1]).sort(), [1.5, 2.5]);
});

test("bad events fail in process() and go to the pipeline's error rules", async () => {
  const p = pump({}, [{ measurement: "m", fields: {} }]);
  await until(() => p.pipeline.isError(), 20_000);
  p.app.stop();
  await p.running;
  assert.match(p.pipeline.error!.error.message, /no field values/);
});

test("5xx answers are retried with backoff while the pipeline is throttled; nothing is lost", async () => {
  const proxy = await FaultProxy.start();
  try {
    proxy.failNext = 3;
    const m = rawUniqueName("retry");
    let notReady = 0;
    const p = pump({ url: proxy.url, flush_period: 0.05 }, Array.from({ length: 50 }, (_, i) => ({ measurement: m, fields: { v: i }, time: 1000 + i })), 50);
    p.pipeline.pubsub.subscribe("bspump.pipeline.not_ready!", () => void notReady++);
    await until(() => p.source.outcomes.length === 1, 30_000);
    p.app.stop();
    await p.running;
    assert.equal(p.source.outcomes[0], null);
    assert.equal(p.sink.counts.retries, 3);
    assert.ok(notReady >= 1);
    assert.equal((await query(`SELECT count("v") FROM "${m}"`)).values[0]![1], 50);
  } finally {
    await proxy.close();
  }
});

test("network errors are retried too; with retry_enabled=false they fail the receipts", async () => {
  const proxy = await FaultProxy.start();
  const url = proxy.url;
  await proxy.close(); // nothing listens there now
  const p = pump({ url, retry_enabled: false }, [{ measurement: "m", fields: { v: 1 } }]);
  await until(() => p.source.outcomes.length === 1, 20_000);
  p.app.stop();
  await p.running;
  assert.match(String(p.source.outcomes[0]?.message), /InfluxDB refused the write \(0\)/);
});

test("the sink throttles while output_queue_max_size buckets wait, and drains after", async () => {
  const proxy = await FaultProxy.start();
  try {
    proxy.hold = true;
    const m = rawUniqueName("thr");
    const n = 400;
    const p = pump(
      { url: proxy.url, output_bucket_max_size: 300, output_queue_max_size: 3, flush_period: 0.05 },
      Array.from({ length: n }, (_, i) => ({ measurement: m, fields: { v: i }, time: 2000 + i })),
      10,
    );
    await until(() => !p.pipeline.isReady(), 20_000, "throttled");
    await sleep(300);
    const fed = p.source.fed;
    assert.ok(fed < n, `fed ${fed}`);
    await sleep(200);
    assert.equal(p.source.fed, fed, "the source waits while throttled");
    proxy.release();
    await until(() => p.source.outcomes.length === n / 10, 30_000, "all settled");
    p.app.stop();
    await p.running;
    assert.ok(p.source.outcomes.every((e) => e === null));
    assert.equal((await query(`SELECT count("v") FROM "${m}"`)).values[0]![1], n);
  } finally {
    await proxy.close();
  }
});
