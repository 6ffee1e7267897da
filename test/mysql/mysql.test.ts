// @services mariadb
import { BatchSource as SharedBatchSource, sleep, stopApps, until } from "../helpers/components.js";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { Pipeline, PubSubTrigger, RunOnceTrigger, Sink, type EventContext } from "../../src/core/index.js";
import { IteratorSource } from "../../src/common/index.js";
import { MySQLLookup, MySQLSink, MySQLSource } from "../../src/mysql/index.js";
import { rawUniqueName } from "../helpers/services.js";
import { client, makeApp } from "./helpers.js";

let db: Connection;
const tables: string[] = [];
before(async () => {
  db = await client();
});
after(async () => {
  stopApps();
  for (const t of tables) await db.query(`DROP TABLE IF EXISTS ${t}`);
  await db.end();
});

async function table(prefix: string, columns = "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, value DOUBLE, doc TEXT"): Promise<string> {
  const t = rawUniqueName(prefix);
  tables.push(t);
  await db.query(`CREATE TABLE ${t} (${columns})`);
  return t;
}

async function count(t: string): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t}`);
  return Number(rows[0]!.n);
}

/** The shared test source, in batches of 100. */
class BatchSource extends SharedBatchSource {
  override batchSize = 100;
}

class CollectSink extends Sink {
  readonly events: unknown[] = [];
  process(_c: EventContext, e: unknown): null {
    this.events.push(e);
    return null;
  }
}

test("round trip: MySQLSink writes every event in bulks, receipts settle after commit; MySQLSource streams them back as distinct objects", async () => {
  const t = await table("rt");
  const n = 5000;
  const events = Array.from({ length: n }, (_, i) => ({ id: i, name: `n${i}`, value: i / 2, doc: { i, tags: ["a", "b"] }, extra: "ignored" }));
  {
    const { app } = makeApp({ max_bulk_size: 400 });
    const pipeline = new Pipeline(app, "W");
    const source = new BatchSource(app, pipeline);
    source.events = events;
    source.batchSize = 250;
    const sink = new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name, value, doc) VALUES (%s, %s, %s, %s)`, data: "id, name, value, doc" } });
    pipeline.build(source, sink);
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    await until(() => source.outcomes.length === n / 250, 60_000, "all batches settled");
    app.stop();
    assert.equal(await running, 0);
    assert.ok(source.outcomes.every((e) => e === null));
    assert.equal(sink.counts.rows, n);
    assert.ok(sink.counts.bulks <= Math.ceil(n / 400) + 2 * (n / 250), `bulks ${sink.counts.bulks}`);
  }
  assert.equal(await count(t), n);
  const [sum] = await db.query<RowDataPacket[]>(`SELECT SUM(value) AS s FROM ${t}`);
  assert.equal(Number(sum[0]!.s), (n * (n - 1)) / 4);

  const { app } = makeApp();
  const pipeline = new Pipeline(app, "R");
  const source = new MySQLSource(app, pipeline, "MySQLConnection", { config: { query: `SELECT id, name, value, doc FROM ${t} ORDER BY id`, stream_buffer: 50 } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  source.on(new RunOnceTrigger(app));
  app.pumpService.addPipeline(pipeline);
  assert.equal(await app.run(), 0);
  assert.equal(sink.events.length, n);
  // A new object per row (BSPump reused one dict): every row keeps its own values.
  assert.equal(new Set(sink.events).size, n);
  sink.events.forEach((row, i) => {
    const r = row as { id: number; name: string; value: number; doc: string };
    assert.equal(r.id, i);
    assert.equal(r.name, `n${i}`);
    assert.equal(r.value, i / 2);
    assert.deepEqual(JSON.parse(r.doc), { i, tags: ["a", "b"] });
  });
  assert.equal(source.lastCycleRows, n);
});

test("a partly filled bulk is written after flush_period while the pipeline keeps running (BSPump waited forever)", async () => {
  const t = await table("time");
  const { app } = makeApp({ max_bulk_size: 1000, flush_period: 0.3 });
  const pipeline = new Pipeline(app, "P");
  const source = new BatchSource(app, pipeline);
  source.events = Array.from({ length: 7 }, (_, i) => ({ id: i, name: `t${i}` }));
  source.batchSize = 7;
  pipeline.build(source, new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name) VALUES (%s, %s)`, data: "id,name" } }));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(async () => (await count(t)) === 7, 20_000, "7 rows written by time");
    await until(() => source.outcomes.length === 1, 10_000, "receipt settled");
    assert.equal(source.outcomes[0], null);
    assert.equal(pipeline.isReady(), true);
  } finally {
    app.stop();
    await running;
  }
});

test("rows the server refuses go to the error rules one by one; the good rows of the bulk are written", async () => {
  const t = await table("bad");
  const events = [
    { id: 1, name: "ok" },
    { id: 2, name: null }, // NOT NULL
    { id: 3, name: "ok" },
    { id: 1, name: "dup" }, // duplicate key
    { id: 4, name: "ok" },
  ];
  // Soft errors: counted as warnings, the rest written, receipts settled.
  {
    const { app } = makeApp({ max_bulk_size: 100, flush_period: 0.1 });
    class Soft extends Pipeline {
      errorsSeen: string[] = [];
      override handleError(error: Error): boolean {
        this.errorsSeen.push(error.message);
        return true;
      }
    }
    const pipeline = new Soft(app, "P");
    const source = new BatchSource(app, pipeline);
    source.events = events;
    const sink = new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name) VALUES (%s, %s)`, data: "id,name" } });
    pipeline.build(source, sink);
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    await until(() => source.outcomes.length === 1, 20_000);
    app.stop();
    await running;
    assert.equal(source.outcomes[0], null);
    assert.equal(pipeline.warnings, 2);
    assert.equal(pipeline.errorsSeen.length, 2);
    assert.match(pipeline.errorsSeen.join("\n"), /cannot be null/i);
    assert.match(pipeline.errorsSeen.join("\n"), /Duplicate entry/i);
    const [rows] = await db.query<RowDataPacket[]>(`SELECT id, name FROM ${t} ORDER BY id`);
    assert.deepEqual(rows.map((r) => [r.id, r.name]), [[1, "ok"], [3, "ok"], [4, "ok"]]);
  }
  // Default rules: the receipt fails (the source would redeliver) and the pipeline stops with the server's message.
  await db.query(`DELETE FROM ${t}`);
  {
    const { app } = makeApp({ max_bulk_size: 100, flush_period: 0.1 });
    const pipeline = new Pipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    source.events = events.slice(0, 3);
    pipeline.build(source, new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name) VALUES (%s, %s)`, data: "id,name" } }));
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    await until(() => source.outcomes.length === 1, 20_000);
    app.stop();
    await running;
    assert.match(String(source.outcomes[0]?.message), /cannot be null/i);
    assert.equal(pipeline.isError(), true);
  }
  // An event that is not an object fails in process(), synchronously, as any processor error.
  {
    const { app } = makeApp();
    const pipeline = new Pipeline(app, "P");
    const sink = new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name) VALUES (%s, %s)`, data: "id,name" } });
    pipeline.build(new IteratorSource(app, pipeline, ["not an object"]).on(new RunOnceTrigger(app)), sink);
    app.pumpService.addPipeline(pipeline);
    await app.run();
    assert.equal(pipeline.isError(), true);
    assert.match(pipeline.error!.error.message, /expects an object event/);
  }
});

test("the sink throttles the pipeline while its queue is full (table locked) and drains when it can write", async () => {
  const t = await table("thr");
  const locker = await client();
  try {
    await locker.query(`LOCK TABLES ${t} WRITE`);
    const { app } = makeApp({ max_bulk_size: 10, output_queue_max_size: 4, connection_pool_maxsize: 2, flush_period: 0.1 });
    const pipeline = new Pipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    const n = 200;
    source.events = Array.from({ length: n }, (_, i) => ({ id: i, name: `x${i}` }));
    source.batchSize = 10;
    pipeline.build(source, new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name) VALUES (%s, %s)`, data: "id,name" } }));
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    await until(() => !pipeline.isReady() && pipeline.getThrottles().size > 0, 20_000, "throttled");
    await sleep(300);
    // Throttled: the source stopped feeding well before the end.
    assert.ok(source.fed < n, `fed ${source.fed}`);
    assert.ok(source.fed <= 10 * 5 + 10, `fed ${source.fed}`);
    await locker.query("UNLOCK TABLES");
    await until(() => source.outcomes.length === n / 10, 30_000, "all settled");
    app.stop();
    await running;
    assert.ok(source.outcomes.every((e) => e === null));
    assert.equal(await count(t), n);
  } finally {
    await locker.query("UNLOCK TABLES").catch(() => {});
    await locker.end();
  }
});

test("MySQLSource runs on each trigger, bounded by the pipeline: a throttled pipeline pauses the stream", async () => {
  const t = await table("src", "id INT PRIMARY KEY");
  await db.query(`INSERT INTO ${t} (id) SELECT seq FROM seq_0_to_19999`).catch(async () => {
    const rows = Array.from({ length: 20000 }, (_, i) => [i]);
    await db.query(`INSERT INTO ${t} (id) VALUES ?`, [rows]);
  });
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "P");
  const source = new MySQLSource(app, pipeline, "MySQLConnection", { config: { query: `SELECT id FROM ${t} ORDER BY id`, stream_buffer: 100 } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  source.on(new PubSubTrigger(app, "test.go!"));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await sleep(50);
    app.pubsub.publish("test.go!");
    await until(() => sink.events.length >= 1000, 20_000);
    pipeline.throttle("test", true);
    await sleep(200);
    const at = sink.events.length;
    await sleep(300);
    assert.equal(sink.events.length, at, "no rows while throttled");
    assert.ok(at < 20000);
    pipeline.throttle("test", false);
    await until(() => sink.events.length === 20000, 30_000);
    await until(() => source.cycles === 1, 10_000);
    app.pubsub.publish("test.go!");
    await until(() => sink.events.length === 40000, 30_000, "second cycle");
  } finally {
    app.stop();
    await running;
  }
  assert.deepEqual((sink.events.slice(0, 3) as { id: number }[]).map((r) => r.id), [0, 1, 2]);
});

test("MySQLLookup: rows by key from a bounded cache, misses cached too, count on load", async () => {
  const t = await table("lk", "code VARCHAR(10) PRIMARY KEY, label VARCHAR(40)");
  await db.query(`INSERT INTO ${t} VALUES ('a','Alpha'),('b','Beta'),('c','Gamma')`);
  const { app, connection } = makeApp();
  const lookup = new MySQLLookup(app, connection, "codes", { config: { from: t, key: "code", cache_size: 2 } });
  await lookup.load();
  assert.equal(lookup.count, 3);
  const a = lookup.lookup("a");
  assert.ok(a instanceof Promise);
  assert.deepEqual(await a, { code: "a", label: "Alpha" });
  assert.deepEqual(lookup.lookup("a"), { code: "a", label: "Alpha" }); // cached: synchronous
  assert.equal(await lookup.lookup("zzz"), undefined);
  assert.equal(lookup.has("zzz"), true); // the miss is cached
  assert.deepEqual(await lookup.getAsync("b"), { code: "b", label: "Beta" });
  assert.equal(lookup.size, 2); // bounded
  assert.equal(lookup.mysqlCounts.success, 2);
  assert.equal(lookup.mysqlCounts.notFound, 1);
  const all: string[] = [];
  for await (const [k] of lookup.iterate()) all.push(k);
  assert.deepEqual(all.sort(), ["a", "b", "c"]);
  await connection.finalize();
});

test("a transient error (lock wait timeout) is retried with backoff until the bulk commits; nothing lost, no error", async () => {
  const t = await table("lock");
  const blocker = await client();
  try {
    await blocker.beginTransaction();
    await blocker.query(`INSERT INTO ${t} (id, name) VALUES (5, 'blocker')`);
    const { app, connection } = makeApp({ max_bulk_size: 10, flush_period: 0.05 });
    connection.pool.pool.on("connection", (c) => void c.query("SET SESSION innodb_lock_wait_timeout = 1"));
    const pipeline = new Pipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    source.events = Array.from({ length: 10 }, (_, i) => ({ id: i + 100 * (i === 5 ? 0 : 1), name: `r${i}` }));
    source.batchSize = 10;
    pipeline.build(source, new MySQLSink(app, pipeline, "MySQLConnection", { config: { query: `INSERT INTO ${t} (id, name) VALUES (%s, %s)`, data: "id,name" } }));
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    // Row 5 waits for the blocker's lock: 1205 after 1 s, retried.
    await until(() => connection.retries >= 1, 20_000, "a retry");
    await blocker.rollback();
    await until(() => source.outcomes.length === 1, 30_000, "settled");
    app.stop();
    await running;
    assert.equal(source.outcomes[0], null);
    assert.equal(pipeline.isError(), false);
    assert.equal(pipeline.warnings, 0);
    assert.equal(await count(t), 10);
  } finally {
    await blocker.rollback().catch(() => {});
    await blocker.end();
  }
});
