// @services postgres
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { CollectSink, sleep, stopApps, until } from "../helpers/components.js";
import { Pipeline } from "../../src/core/index.js";
import { PostgreSQLLogicalReplicationSource, type ChangeEvent } from "../../src/postgresql/index.js";
import { uniqueName } from "../helpers/services.js";
import { client, dropSlot, makeApp, psql } from "./helpers.js";

let db: pg.Client;
const cleanup: string[] = [];
const slots: string[] = [];
before(async () => {
  db = await client();
});
after(async () => {
  stopApps();
  for (const slot of slots) await dropSlot(db, slot);
  for (const sql of cleanup.reverse()) await db.query(sql).catch(() => {});
  await db.end();
});

async function setup(prefix: string, columns: string): Promise<{ t: string; slot: string }> {
  const t = uniqueName(`bspump_${prefix}`);
  const slot = uniqueName(prefix);
  await db.query(`CREATE TABLE ${t} (${columns})`);
  cleanup.push(`DROP TABLE IF EXISTS ${t}`, `DROP PUBLICATION IF EXISTS ${slot}`);
  slots.push(slot);
  return { t, slot };
}

function slotLsn(slot: string): string {
  return psql(`SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '${slot}'`)[0] ?? "";
}

test("CDC: inserts, updates, deletes and truncates as typed events, whole transactions in commit order; the slot confirms once they settled", async () => {
  const { t, slot } = await setup("cdc", "id BIGINT PRIMARY KEY, name TEXT, amount NUMERIC(10,2), doc JSONB, at TIMESTAMPTZ, ok BOOLEAN, big BIGINT");
  await db.query(`ALTER TABLE ${t} REPLICA IDENTITY FULL`);
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "CDC");
  const source = new PostgreSQLLogicalReplicationSource(app, pipeline, "PostgreSQLConnection", { config: { slot_name: slot, publication_tables: t, status_interval: 0.5 } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(() => psql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`)[0] === "1", 20_000, "slot created and streaming");
    await db.query("BEGIN");
    await db.query(`INSERT INTO ${t} VALUES (1, 'one', 12.50, '{"a": [1, 2]}', '2026-01-02T03:04:05Z', true, 9007199254740993), (2, NULL, 0, NULL, NULL, false, 5)`);
    await db.query(`UPDATE ${t} SET name = 'uno' WHERE id = 1`);
    await db.query("COMMIT");
    await db.query(`DELETE FROM ${t} WHERE id = 2`);
    await db.query(`TRUNCATE ${t}`);
    await until(() => sink.events.length === 5, 20_000, "5 changes");
    const ev = sink.events as ChangeEvent[];
    assert.deepEqual(ev.map((e) => e.op), ["insert", "insert", "update", "delete", "truncate"]);
    assert.ok(ev.every((e) => e.schema === "public" && e.table === t));
    assert.deepEqual(ev[0]!.after, { id: 1, name: "one", amount: "12.50", doc: { a: [1, 2] }, at: new Date("2026-01-02T03:04:05Z"), ok: true, big: "9007199254740993" });
    assert.equal(ev[0]!.before, null);
    assert.deepEqual(ev[1]!.after, { id: 2, name: null, amount: "0.00", doc: null, at: null, ok: false, big: 5 });
    assert.equal((ev[2]!.before as { name: string }).name, "one");
    assert.equal((ev[2]!.after as { name: string }).name, "uno");
    assert.deepEqual(ev[3]!.before, { id: 2, name: null, amount: "0.00", doc: null, at: null, ok: false, big: 5 });
    assert.equal(ev[3]!.after, null);
    // One transaction: same xid and commit; then two more, in commit order.
    assert.equal(new Set(ev.slice(0, 3).map((e) => e.xid)).size, 1);
    assert.equal(new Set(ev.slice(0, 3).map((e) => e.commit_lsn)).size, 1);
    assert.notEqual(ev[3]!.xid, ev[0]!.xid);
    const lsn = (s: string): bigint => BigInt("0x" + s.split("/")[0]) * 2n ** 32n + BigInt("0x" + s.split("/")[1]);
    for (let i = 1; i < ev.length; i++) assert.ok(lsn(ev[i]!.commit_lsn) >= lsn(ev[i - 1]!.commit_lsn));
    assert.ok(lsn(ev[1]!.lsn) > lsn(ev[0]!.lsn));
    assert.ok(!Number.isNaN(Date.parse(ev[0]!.commit_time)));
    assert.equal(sink.contexts[0]!["postgresql:lsn"], ev[0]!.lsn);
    // Settled → confirmed: the slot's confirmed_flush_lsn reaches the last commit.
    await until(() => lsn(slotLsn(slot)) >= lsn(ev[4]!.commit_lsn), 20_000, "slot confirmed");
  } finally {
    app.stop();
    await running;
  }
});

test("CDC: a throttled pipeline pauses reading but status updates keep going (the server, with wal_sender_timeout 2 s, keeps the connection for 5 s); on release every change arrives; a restart resumes from the slot", async () => {
  const { t, slot } = await setup("thr", "id INT PRIMARY KEY, v INT");
  const start = () => {
    const { app } = makeApp();
    const pipeline = new Pipeline(app, "CDC");
    // The server drops a consumer silent for 2 s: the throttled pause below lasts longer.
    const source = new PostgreSQLLogicalReplicationSource(app, pipeline, "PostgreSQLConnection", { config: { slot_name: slot, publication_tables: t, status_interval: 0.5, max_unsettled: 500, wal_sender_timeout: 2 } });
    const sink = new CollectSink(app, pipeline);
    pipeline.build(source, sink);
    app.pumpService.addPipeline(pipeline);
    return { app, pipeline, source, sink, running: app.run() };
  };
  const a = start();
  await until(() => psql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`)[0] === "1", 20_000, "streaming");
  a.pipeline.throttle("test", true);
  await db.query(`INSERT INTO ${t} SELECT i, 0 FROM generate_series(1, 5000) AS i`);
  const updates = a.source.counts.statusUpdates;
  await sleep(5000);
  assert.equal(a.sink.events.length, 0, "nothing while throttled");
  assert.ok(a.source.counts.statusUpdates >= updates + 5, `status updates while throttled: ${a.source.counts.statusUpdates - updates}`);
  assert.equal(a.source.counts.reconnects, 0, "the server kept the throttled connection (wal_sender_timeout 2 s)");
  a.pipeline.throttle("test", false);
  await until(() => a.sink.events.length === 5000, 20_000, "all 5000");
  a.app.stop();
  await a.running;
  // Changes made while no pump runs are kept by the slot and come after a restart, once.
  await db.query(`UPDATE ${t} SET v = 1 WHERE id <= 100`);
  const b = start();
  await until(() => b.sink.events.length >= 100, 20_000, "the updates after restart");
  await sleep(300);
  b.app.stop();
  await b.running;
  const ops = (b.sink.events as ChangeEvent[]).map((e) => e.op);
  assert.deepEqual([...new Set(ops)], ["update"], "the inserts were confirmed before the stop: not delivered again");
  assert.equal(ops.length, 100);
});

test("CDC bad setup: a missing publication (creation off), a missing slot (creation off) and a slot dropped under the source are one clear error each, no retry loop", async () => {
  const { t, slot } = await setup("bad", "id INT PRIMARY KEY");
  const run = async (config: Record<string, string | number | boolean>): Promise<{ message: string; reconnects: number; src: PostgreSQLLogicalReplicationSource; stop: () => Promise<void>; pipeline: Pipeline }> => {
    const { app } = makeApp();
    const pipeline = new Pipeline(app, "CDC");
    const src = new PostgreSQLLogicalReplicationSource(app, pipeline, "PostgreSQLConnection", { config: { slot_name: slot, ...config } });
    pipeline.build(src, new CollectSink(app, pipeline));
    app.pumpService.addPipeline(pipeline);
    const running = app.run();
    const stop = async () => {
      app.stop();
      await running;
    };
    await until(() => pipeline.isError(), 20_000, "pipeline error").catch(async (e) => {
      await stop();
      throw e;
    });
    return { message: pipeline.error!.error.message, reconnects: src.counts.reconnects, src, stop, pipeline };
  };
  let r = await run({ create_publication: false });
  await r.stop();
  assert.match(r.message, new RegExp(`publication ${slot} does not exist \\(create_publication is off\\)`));
  assert.equal(r.reconnects, 0);
  r = await run({ publication_tables: t, create_slot: false });
  await r.stop();
  assert.match(r.message, new RegExp(`replication slot ${slot} does not exist \\(create_slot is off\\)`));
  // Streaming, then the slot is dropped (its walsender terminated first).
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "CDC");
  const src = new PostgreSQLLogicalReplicationSource(app, pipeline, "PostgreSQLConnection", { config: { slot_name: slot, publication_tables: t } });
  pipeline.build(src, new CollectSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(() => psql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`)[0] === "1", 20_000, "streaming");
    await until(async () => {
      await db.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active`, [slot]);
      return db.query(`SELECT pg_drop_replication_slot($1)`, [slot]).then(() => true, () => false);
    }, 20_000, "slot dropped");
    await until(() => pipeline.isError(), 20_000, "pipeline error");
    assert.match(pipeline.error!.error.message, /was dropped while streaming/);
    const reconnects = src.counts.reconnects;
    await sleep(500);
    assert.equal(src.counts.reconnects, reconnects, "no retry loop");
    assert.equal(psql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}'`)[0], "0", "not silently recreated");
  } finally {
    app.stop();
    await running;
  }
});

test("CDC: the walsender terminated mid-stream (pg_terminate_backend): the source reconnects and resumes from the slot, nothing lost", async () => {
  const { t, slot } = await setup("rec", "id INT PRIMARY KEY, v INT");
  const { app, connection } = makeApp();
  const pipeline = new Pipeline(app, "CDC");
  const source = new PostgreSQLLogicalReplicationSource(app, pipeline, "PostgreSQLConnection", { config: { slot_name: slot, publication_tables: t, status_interval: 0.2 } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  try {
    await until(() => psql(`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`)[0] === "1", 20_000, "streaming");
    for (let k = 0; k < 10; k++) await db.query(`INSERT INTO ${t} SELECT i, 0 FROM generate_series(${k * 100 + 1}, ${k * 100 + 100}) AS i`);
    await until(() => sink.events.length >= 300, 20_000, "some changes");
    await db.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    for (let k = 10; k < 20; k++) await db.query(`INSERT INTO ${t} SELECT i, 0 FROM generate_series(${k * 100 + 1}, ${k * 100 + 100}) AS i`);
    await until(() => new Set((sink.events as ChangeEvent[]).map((e) => e.after!.id)).size === 2000, 30_000, "all 2000 after the reconnect");
    assert.ok(source.counts.reconnects >= 1, "reconnected");
    assert.equal(pipeline.isError(), false);
    assert.ok(connection.retries >= 1);
  } finally {
    app.stop();
    await running;
  }
});
