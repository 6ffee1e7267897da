// @services postgres
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { BatchSource, CollectSink, sleep, stopApps, until } from "../helpers/components.js";
import { ConfigError, Pipeline, PubSubTrigger, RunOnceTrigger, Sink, type EventContext } from "../../src/core/index.js";
import { PostgreSQLLookup, PostgreSQLSink, PostgreSQLSource } from "../../src/postgresql/index.js";
import { peakGrowthMB } from "../helpers/memory.js";
import { uniqueName } from "../helpers/services.js";
import { client, makeApp, psql, serverCertificate } from "./helpers.js";

let db: pg.Client;
const tables: string[] = [];
before(async () => {
  db = await client();
});
after(async () => {
  stopApps();
  for (const t of tables) await db.query(`DROP TABLE IF EXISTS ${t}`);
  await db.end();
});

async function table(prefix: string, columns = "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, value DOUBLE PRECISION, doc JSONB"): Promise<string> {
  const t = uniqueName(`bspump_${prefix}`);
  tables.push(t);
  await db.query(`CREATE TABLE ${t} (${columns})`);
  return t;
}

class SoftPipeline extends Pipeline {
  errorsSeen: string[] = [];
  override handleError(error: Error): boolean {
    this.errorsSeen.push(error.message);
    return true;
  }
}

test("round trip: PostgreSQLSink COPYs every event in bulks (checked with psql), PostgreSQLSource streams them back as distinct typed objects", async () => {
  const t = await table("rt", "id BIGINT PRIMARY KEY, name TEXT NOT NULL, value DOUBLE PRECISION, doc JSONB, at TIMESTAMPTZ, ok BOOLEAN");
  const n = 5000;
  const at = new Date("2026-01-02T03:04:05.678Z");
  const events = Array.from({ length: n }, (_, i) => ({ id: i, name: i % 7 === 0 ? `tab\there\nline \\ ${i}` : `n${i}`, value: i / 2, doc: { i, tags: ["a", "b"] }, at, ok: i % 2 === 0, extra: "ignored" }));
  {
    const { app } = makeApp({ max_bulk_size: 400 });
    const pipeline = new Pipeline(app, "W");
    const source = new BatchSource(app, pipeline);
    source.events = events;
    source.batchSize = 250;
    const sink = new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { query: `INSERT INTO ${t} (id, name, value, doc, at, ok) VALUES (%s, %s, %s, %s, %s, %s)`, data: "id, name, value, doc, at, ok" } });
    assert.ok(sink.plan.copy !== null, "a plain INSERT is written with COPY");
    pipeline.build(source, sink);
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    await until(() => source.outcomes.length === n / 250, 60_000, "all batches settled");
    app.stop();
    assert.equal(await running, 0);
    assert.ok(source.outcomes.every((e) => e === null));
    assert.equal(sink.counts.rows, n);
  }
  // psql, the stock client, sees what the sink wrote.
  assert.deepEqual(psql(`SELECT count(*), sum(value), count(*) FILTER (WHERE ok), min(at) FROM ${t}`), [`${n}|${(n * (n - 1)) / 4}|${n / 2}|2026-01-02 03:04:05.678+00`]);
  // Tab, newline and backslash survive COPY's escaping.
  assert.deepEqual(psql(`SELECT name = E'tab\\there\\nline \\\\ 7', doc->>'i', doc->'tags'->>1 FROM ${t} WHERE id = 7`), ["t|7|b"]);

  const { app } = makeApp();
  const pipeline = new Pipeline(app, "R");
  const source = new PostgreSQLSource(app, pipeline, "PostgreSQLConnection", { config: { query: `SELECT id, name, value, doc, at, ok FROM ${t} ORDER BY id`, stream_buffer: 300 } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  source.on(new RunOnceTrigger(app));
  app.pumpService.addPipeline(pipeline);
  assert.equal(await app.run(), 0);
  assert.equal(sink.events.length, n);
  assert.equal(new Set(sink.events).size, n);
  sink.events.forEach((row, i) => {
    assert.deepEqual(row, { id: i, name: events[i]!.name, value: i / 2, doc: { i, tags: ["a", "b"] }, at, ok: i % 2 === 0 });
  });
  assert.equal((sink.contexts[3] as EventContext)["postgresql:row"], 3);
  assert.equal(source.lastCycleRows, n);
});

test("upsert by key: later events update earlier rows, within one bulk and across bulks, last one wins (multi-row INSERT … ON CONFLICT)", async () => {
  const t = await table("up", "id INT PRIMARY KEY, name TEXT NOT NULL, value DOUBLE PRECISION");
  await db.query(`INSERT INTO ${t} VALUES (1, 'old', 0), (500, 'untouched', 0)`);
  const { app } = makeApp({ max_bulk_size: 64 });
  const pipeline = new Pipeline(app, "U");
  const source = new BatchSource(app, pipeline);
  // 1,000 events over 100 keys: each key written 10 times, the last with value 9.
  source.events = Array.from({ length: 1000 }, (_, i) => ({ id: i % 100, name: `v${Math.floor(i / 100)}`, value: Math.floor(i / 100) }));
  source.batchSize = 100;
  const sink = new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { table: t, data: "id, name, value", upsert_key: "id" } });
  assert.equal(sink.plan.copy, null);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => source.outcomes.length === 10, 30_000, "settled");
  app.stop();
  await running;
  assert.ok(source.outcomes.every((e) => e === null));
  assert.deepEqual(psql(`SELECT count(*), min(value), max(value), count(*) FILTER (WHERE name = 'v9') FROM ${t}`), ["101|0|9|100"]);
  assert.deepEqual(psql(`SELECT name FROM ${t} WHERE id IN (1, 500) ORDER BY id`), ["v9", "untouched"]);
});

test("rows the database refuses (type, NOT NULL, unique, check) go to the error rules with its message; the bulk is split so every good row lands", async () => {
  const t = await table("bad", "id INT PRIMARY KEY, name TEXT NOT NULL, qty INT CHECK (qty >= 0)");
  const events = Array.from({ length: 200 }, (_, i) => ({ id: i, name: `ok${i}`, qty: i }) as Record<string, unknown>);
  events[17] = { id: 17, name: null, qty: 1 }; // NOT NULL
  events[50] = { id: 50, name: "x", qty: "many" }; // type
  events[120] = { id: 3, name: "dup", qty: 1 }; // duplicate key of row 3
  events[199] = { id: 199, name: "neg", qty: -5 }; // check constraint
  for (const method of ["copy", "insert"]) {
    await db.query(`TRUNCATE ${t}`);
    const { app } = makeApp({ max_bulk_size: 1000, flush_period: 0.1 });
    const pipeline = new SoftPipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    source.events = events;
    source.batchSize = 200;
    const sink = new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { table: t, data: "id,name,qty", method } });
    pipeline.build(source, sink);
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    await until(() => source.outcomes.length === 1, 30_000);
    app.stop();
    await running;
    assert.equal(source.outcomes[0], null, method);
    assert.equal(pipeline.warnings, 4, method);
    const seen = pipeline.errorsSeen.join("\n");
    assert.match(seen, /null value in column "name".*23502/);
    assert.match(seen, /invalid input syntax for type integer: "many".*22P02/);
    assert.match(seen, /duplicate key value violates unique constraint.*23505/);
    assert.match(seen, /violates check constraint.*23514/);
    assert.equal(sink.counts.refused, 4);
    assert.deepEqual(psql(`SELECT count(*), sum(id) FROM ${t}`), [`196|${(199 * 200) / 2 - 17 - 50 - 120 - 199}`], method);
  }
  // Default rules: the refused row's receipt fails with the message, the pipeline stops.
  await db.query(`TRUNCATE ${t}`);
  const { app } = makeApp({ max_bulk_size: 100, flush_period: 0.1 });
  const pipeline = new Pipeline(app, "P");
  const source = new BatchSource(app, pipeline);
  source.events = events.slice(0, 20);
  source.batchSize = 20;
  pipeline.build(source, new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { table: t, data: "id,name,qty" } }));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => source.outcomes.length === 1, 20_000);
  app.stop();
  await running;
  assert.match(String(source.outcomes[0]?.message), /null value in column "name"/);
  assert.equal(pipeline.isError(), true);
  assert.deepEqual(psql(`SELECT count(*) FROM ${t}`), ["19"]);
});

test("a transient error (pg_terminate_backend of the sink's connection mid-write) is retried without loss or duplicates", async () => {
  const t = await table("term", "id INT PRIMARY KEY, name TEXT NOT NULL");
  const appName = uniqueName("sink");
  const blocker = await client();
  try {
    await blocker.query("BEGIN");
    await blocker.query(`LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE`);
    const { app, connection } = makeApp({ max_bulk_size: 500, flush_period: 0.05, application_name: appName });
    const pipeline = new Pipeline(app, "P");
    const source = new BatchSource(app, pipeline);
    source.events = Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `r${i}` }));
    source.batchSize = 100;
    pipeline.build(source, new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { table: t, data: "id,name" } }));
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    // The first COPYs wait for the lock; kill their backends.
    await until(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [appName])).rowCount! >= 1, 20_000, "sink waiting on the lock");
    const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [appName]);
    assert.ok(killed.rowCount! >= 1);
    await until(() => connection.retries >= 1, 20_000, "a retry");
    await blocker.query("ROLLBACK");
    await until(() => source.outcomes.length === 20, 30_000, "settled");
    app.stop();
    await running;
    assert.ok(source.outcomes.every((e) => e === null));
    assert.equal(pipeline.isError(), false);
    assert.deepEqual(psql(`SELECT count(*), count(DISTINCT id) FROM ${t}`), ["2000|2000"]);
  } finally {
    await blocker.query("ROLLBACK").catch(() => {});
    await blocker.end();
  }
});

class CountSink extends Sink {
  count = 0;
  sum = 0;
  process(_c: EventContext, e: unknown): null {
    this.count++;
    this.sum += (e as { i: number }).i;
    return null;
  }
}

test("a million-row query streams with a cursor: RSS grows < 100 MB, and a throttled pipeline stops the reading", async () => {
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "M");
  const source = new PostgreSQLSource(app, pipeline, "PostgreSQLConnection", { config: { query: "SELECT i, md5(i::text) AS h, repeat('x', 100) AS pad FROM generate_series(1, 1000000) AS i" } });
  const sink = new CountSink(app, pipeline);
  pipeline.build(source, sink);
  source.on(new PubSubTrigger(app, "test.go!"));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  const growth = await peakGrowthMB(async () => {
    await sleep(50);
    app.pubsub.publish("test.go!");
    await until(() => sink.count >= 10_000, 30_000);
    pipeline.throttle("test", true);
    await sleep(200);
    const at = sink.count;
    await sleep(300);
    assert.equal(sink.count, at, "no rows while throttled");
    pipeline.throttle("test", false);
    await until(() => source.cycles === 1, 120_000, "the cycle ended");
  });
  app.stop();
  await running;
  assert.equal(sink.count, 1_000_000);
  assert.equal(sink.sum, 500000500000);
  assert.ok(growth < 100, `RSS grew ${growth.toFixed(1)} MB`);
});

test("PostgreSQLLookup: rows by key from the bounded cache, misses cached too, count on load, iterate with a cursor", async () => {
  const t = await table("lk", "code TEXT PRIMARY KEY, label TEXT");
  await db.query(`INSERT INTO ${t} VALUES ('a','Alpha'),('b','Beta'),('c','Gamma')`);
  const { app, connection } = makeApp();
  const lookup = new PostgreSQLLookup(app, connection, "codes", { config: { from: t, key: "code", cache_size: 2 } });
  await lookup.load();
  assert.equal(lookup.count, 3);
  const a = lookup.lookup("a");
  assert.ok(a instanceof Promise);
  assert.deepEqual(await a, { code: "a", label: "Alpha" });
  assert.deepEqual(lookup.lookup("a"), { code: "a", label: "Alpha" });
  assert.equal(await lookup.lookup("zzz"), undefined);
  assert.equal(lookup.has("zzz"), true);
  assert.deepEqual(await lookup.getAsync("b"), { code: "b", label: "Beta" });
  assert.equal(lookup.size, 2);
  assert.deepEqual(lookup.postgresCounts, { success: 2, notFound: 1 });
  const all: string[] = [];
  for await (const [k] of lookup.iterate()) all.push(k);
  assert.deepEqual(all.sort(), ["a", "b", "c"]);
  await connection.finalize();
});

test("bad config is a ConfigError naming the key; a failing source query is an error of the cycle, not a crash", async () => {
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "C");
  assert.throws(() => new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { data: "a" } }), (e: unknown) => e instanceof ConfigError && /query or table/.test(e.message));
  assert.throws(() => new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { query: "INSERT INTO t (a) VALUES (%s)", data: "a, b" } }), (e: unknown) => e instanceof ConfigError && /1 %s placeholders/.test(e.message));
  assert.throws(() => new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { table: "t", data: "a, b", upsert_key: "a", method: "copy" } }), ConfigError);
  assert.throws(() => new PostgreSQLSink(app, pipeline, "PostgreSQLConnection", { config: { table: "t", data: "a, b", upsert_key: "c" } }), /upsert_key column c/);
  const source = new PostgreSQLSource(app, pipeline, "PostgreSQLConnection", { config: { query: "SELECT * FROM no_such_table_here" } });
  await assert.rejects(source.cycle(), /relation "no_such_table_here" does not exist/);
  // The connection was given back: the pool still answers.
  assert.deepEqual(await (source.connection.query("SELECT 1 AS one")), [{ one: 1 }]);
  await source.connection.finalize();
});

test("TLS: sslmode require encrypts; verify-full checks the server's certificate against sslrootcert (the right CA connects, another is refused)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-pg-tls-"));
  try {
    const ca = join(dir, "server.crt");
    writeFileSync(ca, await serverCertificate());
    const sslOf = async (config: Record<string, string>): Promise<unknown> => {
      const { connection } = makeApp(config);
      try {
        return (await connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))[0]?.ssl;
      } finally {
        await connection.finalize();
      }
    };
    assert.equal(await sslOf({ sslmode: "disable" }), false);
    assert.equal(await sslOf({ sslmode: "require" }), true);
    assert.equal(await sslOf({ sslmode: "verify-full", sslrootcert: ca }), true);
    assert.equal(await sslOf({ sslmode: "verify-ca", sslrootcert: ca }), true);
    // Another CA (a fresh self-signed certificate): refused.
    const other = join(dir, "other.crt");
    execFileSync("openssl", ["req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=other", "-keyout", join(dir, "other.key"), "-out", other], { stdio: "ignore" });
    await assert.rejects(sslOf({ sslmode: "verify-full", sslrootcert: other }), /self[- ]signed certificate|unable to verify/i);
    // A CA file that cannot be read: a ConfigError naming the key.
    assert.throws(() => makeApp({ sslmode: "verify-full", sslrootcert: join(dir, "missing.crt") }), (e: unknown) => e instanceof ConfigError && /sslrootcert: cannot read/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
