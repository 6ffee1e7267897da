// @services mariadb
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { ConfigError, Pipeline, Sink, type EventContext, type Receipt } from "../../src/core/index.js";
import { MySQLBinaryLogSource, type BinlogRowsEvent } from "../../src/mysql/index.js";
import { BufferedSink, CollectSink, Fn, sleep, stopApps, until } from "../helpers/components.js";
import { rawUniqueName } from "../helpers/services.js";
import { client, DB, makeApp } from "./helpers.js";

let db: Connection;
const tables: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "bspump-binlog-"));
before(async () => {
  db = await client();
  const [rows] = await db.query<RowDataPacket[]>("SELECT @@log_bin AS on_, @@binlog_format AS f, @@binlog_row_image AS i");
  assert.deepEqual([rows[0]!.on_, rows[0]!.f, rows[0]!.i], [1, "ROW", "FULL"], "the test server runs with log_bin, binlog_format=ROW, binlog_row_image=FULL (scripts/services/mariadb/service.sh; a server started by an older script: scripts/services/down mariadb, then up mariadb)");
});
after(async () => {
  stopApps();
  for (const t of tables) await db.query(`DROP TABLE IF EXISTS ${t}`);
  await db.end();
});

async function table(prefix: string, columns = "id INT PRIMARY KEY, name VARCHAR(20), amount DECIMAL(10,2), at DATETIME(3), big BIGINT"): Promise<string> {
  const t = rawUniqueName(prefix);
  tables.push(t);
  await db.query(`CREATE TABLE ${t} (${columns})`);
  return t;
}

/** A replica id no other test uses. */
function serverId(): number {
  return 100_000 + Math.floor(Math.random() * 1_000_000_000);
}

function binlogApp(config: Record<string, string | number | boolean>, sink?: (app: ReturnType<typeof makeApp>["app"], p: Pipeline) => Sink) {
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "CDC");
  const source = new MySQLBinaryLogSource(app, pipeline, "MySQLConnection", { config: { server_id: serverId(), ...config } });
  const out = sink ? sink(app, pipeline) : new CollectSink(app, pipeline);
  pipeline.build(source, out);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink: out };
}

const rows = (sink: Sink): BinlogRowsEvent[] => (sink as CollectSink).events as BinlogRowsEvent[];
const rowCount = (sink: Sink): number => rows(sink).reduce((n, e) => n + e.rows.length, 0);

test("inserts, updates (before and after) and deletes arrive with column names, typed values and positions, in order", async () => {
  const t = await table("cdc");
  const { app, source, sink } = binlogApp({ only_tables: `${DB.database}.${t}`, position_file: join(dir, `${t}.json`) });
  const running = app.run();
  await until(() => source.settled !== null, 10_000, "the source to find its start");
  await sleep(200);
  await db.query(`INSERT INTO ${t} VALUES (1, 'a', 1.50, '2026-01-02 03:04:05.678', 9007199254740993), (2, 'b', 2, NULL, -5)`);
  await db.query(`UPDATE ${t} SET name = 'z', amount = amount + 1 WHERE id = 1`);
  await db.query(`DELETE FROM ${t} WHERE id = 2`);
  await db.beginTransaction();
  await db.query(`INSERT INTO ${t} (id, name) VALUES (3, 'c')`);
  await db.query(`UPDATE ${t} SET name = 'd' WHERE id = 3`);
  await db.commit();
  await until(() => rows(sink).length === 5, 10_000, "5 rows events");
  app.stop();
  assert.equal(await running, 0);

  const ev = rows(sink);
  assert.deepEqual(ev.map((e) => e.type), ["WriteRowsEvent", "UpdateRowsEvent", "DeleteRowsEvent", "WriteRowsEvent", "UpdateRowsEvent"]);
  for (const e of ev) {
    assert.equal(e.schema, DB.database);
    assert.equal(e.table, t);
    assert.equal(e.primary_key, "id");
    assert.match(e.log_file, /^mariadb-bin\.\d+$/);
    assert.match(e.gtid, /^\d+-\d+-\d+$/);
    assert.ok(Math.abs(e["@timestamp"] - Date.now() / 1000) < 60);
  }
  assert.deepEqual(ev[0]!.rows, [
    { values: { id: 1, name: "a", amount: "1.50", at: new Date(2026, 0, 2, 3, 4, 5, 678), big: "9007199254740993" } },
    { values: { id: 2, name: "b", amount: "2.00", at: null, big: -5 } },
  ]);
  assert.deepEqual(ev[1]!.rows, [
    {
      before_values: { id: 1, name: "a", amount: "1.50", at: new Date(2026, 0, 2, 3, 4, 5, 678), big: "9007199254740993" },
      after_values: { id: 1, name: "z", amount: "2.50", at: new Date(2026, 0, 2, 3, 4, 5, 678), big: "9007199254740993" },
    },
  ]);
  assert.deepEqual(ev[2]!.rows, [{ values: { id: 2, name: "b", amount: "2.00", at: null, big: -5 } }]);
  // The two statements of one transaction share its GTID; transactions' GTIDs and positions grow.
  assert.equal(ev[3]!.gtid, ev[4]!.gtid);
  assert.notEqual(ev[2]!.gtid, ev[3]!.gtid);
  for (let i = 1; i < ev.length; i++) assert.ok(ev[i]!.log_file > ev[i - 1]!.log_file || ev[i]!.log_position > ev[i - 1]!.log_position, "positions grow");
  assert.deepEqual(ev[4]!.rows, [{ before_values: { id: 3, name: "c", amount: null, at: null, big: null }, after_values: { id: 3, name: "d", amount: null, at: null, big: null } }]);
  // The stored position is the end of the last transaction, with its GTID.
  const stored = JSON.parse(readFileSync(join(dir, `${t}.json`), "utf8")) as { log_file: string; log_pos: number; gtid: string };
  assert.equal(stored.log_file, ev[4]!.log_file);
  assert.ok(stored.log_pos > ev[4]!.log_position);
  assert.equal(stored.gtid, ev[4]!.gtid);
});

test("a restart resumes at the stored position (file and position, or GTID): nothing lost, nothing twice", async () => {
  for (const auto of [false, true]) {
    const t = await table(auto ? "resumeg" : "resume", "id INT PRIMARY KEY, v INT");
    const file = join(dir, `${t}.json`);
    const config = { only_tables: `${DB.database}.${t}`, position_file: file, auto_position: auto, position_save_period: 0.05 };
    // First run: a sink that settles only when it flushes, at stop: the position stored at stop covers it.
    let a = binlogApp(config, (app, p) => new BufferedSink(app, p));
    let running = a.app.run();
    await until(() => a.source.settled !== null, 10_000, "the source to start");
    await db.query(`INSERT INTO ${t} VALUES (1, 1), (2, 2)`);
    await until(() => a.source.stats.rows === 2, 10_000, "2 rows");
    await sleep(100);
    a.app.stop();
    assert.equal(await running, 0);
    assert.equal((a.sink as BufferedSink).written.length, 1);
    // Changes while no pump runs.
    await db.query(`INSERT INTO ${t} VALUES (3, 3)`);
    await db.query(`UPDATE ${t} SET v = 10 WHERE id = 1`);
    a = binlogApp(config);
    running = a.app.run();
    await until(() => rowCount(a.sink) === 2, 10_000, "the 2 changes made while stopped");
    await db.query(`DELETE FROM ${t} WHERE id = 2`);
    await until(() => rowCount(a.sink) === 3, 10_000, "the delete");
    await sleep(200);
    a.app.stop();
    assert.equal(await running, 0);
    assert.deepEqual(rows(a.sink).map((e) => [e.type, e.rows]), [
      ["WriteRowsEvent", [{ values: { id: 3, v: 3 } }]],
      ["UpdateRowsEvent", [{ before_values: { id: 1, v: 1 }, after_values: { id: 1, v: 10 } }]],
      ["DeleteRowsEvent", [{ values: { id: 2, v: 2 } }]],
    ], auto ? "GTID resume" : "file and position resume");
    assert.equal(a.source.stats.reads, 1);
  }
});

test("a stored position the server no longer has is one clear error, not a retry loop", async () => {
  const file = join(dir, "purged.json");
  writeFileSync(file, JSON.stringify({ log_file: "mariadb-bin.999999", log_pos: 4, gtid: "" }));
  const { app, pipeline, source } = binlogApp({ position_file: file });
  const running = app.run();
  await until(() => pipeline.isError(), 10_000, "the pipeline's error");
  await sleep(1500);
  assert.equal(source.stats.reads, 1, "read once, no retries");
  assert.equal(source.running, false);
  assert.match(pipeline.error!.error.message, /mariadb-bin\.999999:4.*binary log.*errno 1236/is);
  app.stop();
  await running;
  // The stored position is left for the user to fix.
  assert.equal(JSON.parse(readFileSync(file, "utf8")).log_file, "mariadb-bin.999999");
});

test("a table dropped mid-stream does not stop the source (binlog metadata, or columns unknown: skipped with a warning)", async () => {
  const gone = await table("gone", "id INT PRIMARY KEY, v VARCHAR(10)");
  const gone2 = await table("gone2", "id INT PRIMARY KEY, v VARCHAR(10)");
  const stays = await table("stays", "id INT PRIMARY KEY, v VARCHAR(10)");
  const only = [gone, gone2, stays].map((x) => `${DB.database}.${x}`).join(",");
  // The changes are made before the pump starts: each table is gone when the reader gets to its rows.
  const [status] = await db.query<RowDataPacket[]>("SHOW MASTER STATUS");
  await db.query(`INSERT INTO ${gone} VALUES (1, 'x')`);
  await db.query(`DROP TABLE ${gone}`);
  // Without column names in the log (binlog_row_metadata other than FULL), the reader asks
  // INFORMATION_SCHEMA, which no longer knows the table.
  const root = await client();
  await root.query("SET GLOBAL binlog_row_metadata = NO_LOG");
  try {
    await db.query(`INSERT INTO ${gone2} VALUES (1, 'y')`);
  } finally {
    await root.query("SET GLOBAL binlog_row_metadata = FULL");
    await root.end();
  }
  await db.query(`DROP TABLE ${gone2}`);
  await db.query(`INSERT INTO ${stays} VALUES (1, 'z')`);
  const { app, pipeline, sink } = binlogApp({ only_tables: only, log_file: status[0]!.File as string, log_pos: Number(status[0]!.Position), position_file: join(dir, `${stays}.json`) });
  const running = app.run();
  await until(() => rows(sink).some((e) => e.table === stays), 15_000, "the row of the table that stays");
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(rows(sink).map((e) => [e.table, e.rows]), [
    [gone, [{ values: { id: 1, v: "x" } }]],
    [stays, [{ values: { id: 1, v: "z" } }]],
  ]);
  assert.equal(pipeline.warnings, 1, "one warning: the rows of gone2 skipped");
  assert.equal(pipeline.errors, 0);
});

/** Holds events and throttles the pipeline while it holds more than `high`; `release()` settles them. */
class HoldingSink extends Sink {
  override readonly settlesReceipts = true;
  readonly held: Receipt[] = [];
  received = 0;
  throttled = false;
  high = 20;
  process(context: EventContext, event: unknown): null {
    this.received += (event as BinlogRowsEvent).rows.length;
    if (context.receipt) this.held.push(context.receipt);
    if (!this.throttled && this.held.length > this.high) {
      this.throttled = true;
      this.pipeline.throttle(this, true);
    }
    return null;
  }
  release(): void {
    for (const r of this.held.splice(0)) r.settle();
    if (this.throttled) {
      this.throttled = false;
      this.pipeline.throttle(this, false);
    }
  }
  override async stop(): Promise<void> {
    this.release();
  }
}

test("back-pressure: while the pipeline is throttled the source stops reading; nothing is lost", async () => {
  const t = await table("bp", "id INT PRIMARY KEY, pad CHAR(200)");
  const { app, source, sink } = binlogApp({ only_tables: `${DB.database}.${t}`, position_file: join(dir, `${t}.json`) }, (a, p) => new HoldingSink(a, p));
  const holding = sink as HoldingSink;
  const running = app.run();
  await until(() => source.settled !== null, 10_000, "the source to start");
  // 200 transactions of 50 rows (≈ 10 kB each): about 2 MB of log.
  const n = 200;
  for (let i = 0; i < n; i++) await db.query(`INSERT INTO ${t} VALUES ?`, [Array.from({ length: 50 }, (_, j) => [i * 50 + j, "p"])]);
  await until(() => holding.throttled, 10_000, "the sink to throttle");
  await sleep(500);
  const whileThrottled = holding.received;
  await sleep(500);
  assert.equal(holding.received, whileThrottled, "nothing read while throttled");
  assert.ok(holding.held.length <= holding.high + 50, `events handed over while throttled: ${holding.held.length}`);
  // Released again and again until everything arrived.
  await until(() => {
    holding.release();
    return holding.received === n * 50;
  }, 30_000, "every row");
  app.stop();
  assert.equal(await running, 0);
  assert.equal(source.stats.rows, n * 50);
});

test("bad config is a ConfigError naming the key", () => {
  const { app } = makeApp();
  const p = new Pipeline(app, "Bad");
  assert.throws(() => new MySQLBinaryLogSource(app, p, "MySQLConnection", { config: { extract_events: "WriteRowsEvent StopEvent" } }), (e: Error) => e instanceof ConfigError && /extract_events.*StopEvent/.test(e.message));
  assert.throws(() => new MySQLBinaryLogSource(app, p, "MySQLConnection", { config: { only_tables: "nodot" } }), (e: Error) => e instanceof ConfigError && /only_tables.*nodot/.test(e.message));
  assert.throws(() => new MySQLBinaryLogSource(app, p, "MySQLConnection", { config: { server_id: 0 } }), ConfigError);
});

test("a lost replication connection and a rotated log: read again from the settled position, nothing lost", async () => {
  const t = await table("lost", "id INT PRIMARY KEY, v INT");
  const file = join(dir, `${t}.json`);
  const { app, pipeline, source, sink } = binlogApp({ only_tables: `${DB.database}.${t}`, position_file: file, position_save_period: 0 });
  const running = app.run();
  await until(() => source.settled !== null && (source as unknown as { zongji: { connection: { threadId: number } | null } | null }).zongji?.connection?.threadId !== undefined, 10_000, "the replication connection");
  await db.query(`INSERT INTO ${t} VALUES (1, 1)`);
  await until(() => rowCount(sink) === 1, 10_000, "the first row");
  // The server ends the replication connection (as a restart or a network failure would).
  const threadId = (source as unknown as { zongji: { connection: { threadId: number } } }).zongji.connection.threadId;
  await db.query(`KILL ${threadId}`);
  await db.query(`INSERT INTO ${t} VALUES (2, 2)`);
  await db.query("FLUSH BINARY LOGS");
  await db.query(`INSERT INTO ${t} VALUES (3, 3)`);
  await until(() => rowCount(sink) >= 3, 15_000, "the rows after the reconnection");
  await sleep(300);
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(rows(sink).map((e) => e.rows[0]), [{ values: { id: 1, v: 1 } }, { values: { id: 2, v: 2 } }, { values: { id: 3, v: 3 } }]);
  assert.equal(source.stats.reads, 2, "one read again");
  assert.equal(pipeline.errors, 0);
  const [status] = await db.query<RowDataPacket[]>("SHOW MASTER STATUS");
  const stored = JSON.parse(readFileSync(file, "utf8")) as { log_file: string };
  assert.equal(stored.log_file, rows(sink)[2]!.log_file, "the position follows the rotation");
  assert.ok(stored.log_file <= (status[0]!.File as string));
  assert.notEqual(rows(sink)[0]!.log_file, rows(sink)[2]!.log_file);
});

test("changes that failed in the pipeline are read again once its error is cleared", async () => {
  const t = await table("fail", "id INT PRIMARY KEY, v INT");
  let failures = 1;
  const { app } = makeApp();
  const pipeline = new Pipeline(app, "CDC");
  const source = new MySQLBinaryLogSource(app, pipeline, "MySQLConnection", { config: { server_id: serverId(), only_tables: `${DB.database}.${t}`, position_file: join(dir, `${t}.json`) } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(
    source,
    new Fn(app, pipeline, (e) => {
      if ((e as BinlogRowsEvent).rows.some((r) => "values" in r && r.values.id === 2) && failures-- > 0) throw new Error("refused once");
      return e;
    }),
    sink,
  );
  app.pumpService.addPipeline(pipeline);
  const running = app.run();
  await until(() => source.settled !== null, 10_000, "the source to start");
  await db.query(`INSERT INTO ${t} VALUES (1, 1)`);
  await db.query(`INSERT INTO ${t} VALUES (2, 2)`);
  await db.query(`INSERT INTO ${t} VALUES (3, 3)`);
  await until(() => pipeline.isError() && !source.running, 10_000, "the error, and the source stopped");
  assert.deepEqual(rows(sink).map((e) => e.rows[0]), [{ values: { id: 1, v: 1 } }]);
  pipeline.setError(null, null, null);
  await until(() => rowCount(sink) === 3, 10_000, "the rows after the clear");
  app.stop();
  assert.equal(await running, 0);
  assert.deepEqual(rows(sink).map((e) => e.rows[0]), [{ values: { id: 1, v: 1 } }, { values: { id: 2, v: 2 } }, { values: { id: 3, v: 3 } }]);
  assert.equal(source.stats.reads, 2);
});

test("other event types on request: GTID, annotate rows (the statement), table map, rows and Xid of one transaction, in log order", async () => {
  const t = await table("types", "id INT PRIMARY KEY, v VARCHAR(10)");
  const { app, source, sink } = binlogApp({
    only_tables: `${DB.database}.${t}`,
    position_file: join(dir, `${t}.json`),
    extract_events: "GtidEvent MariadbAnnotateRowsEvent\nTableMapEvent WriteRowsEvent XidEvent",
  });
  const running = app.run();
  await until(() => source.settled !== null, 10_000, "the source to start");
  await db.query(`INSERT INTO ${t} VALUES (1, 'one')`);
  const all = (): Array<Record<string, unknown>> => (sink as CollectSink).events as Array<Record<string, unknown>>;
  await until(() => all().some((e) => e.type === "WriteRowsEvent"), 10_000, "the rows event");
  const gtid = all().find((e) => e.type === "WriteRowsEvent")!.gtid;
  await until(() => all().some((e) => e.type === "XidEvent" && e.gtid === gtid), 10_000, "its Xid");
  app.stop();
  assert.equal(await running, 0);
  // The server's other transactions (other tests) pass too: only this one is looked at.
  const mine = all().filter((e) => e.gtid === gtid);
  assert.deepEqual(mine.map((e) => e.type), ["GtidEvent", "MariadbAnnotateRowsEvent", "TableMapEvent", "WriteRowsEvent", "XidEvent"]);
  assert.equal(mine[0]!.GTID_NEXT, gtid);
  assert.equal(mine[0]!.commit, true);
  assert.match(String(mine[1]!.sql_statement), new RegExp(`INSERT INTO ${t} VALUES \\(1, 'one'\\)`));
  assert.deepEqual([mine[2]!.table, mine[2]!.columns], [t, ["id", "v"]]);
  assert.equal(typeof mine[4]!.transaction_id, "number");
  for (let i = 1; i < mine.length; i++) assert.ok((mine[i]!.log_position as number) >= (mine[i - 1]!.log_position as number));
});
