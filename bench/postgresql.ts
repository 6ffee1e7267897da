/**
 * Benchmark: PostgreSQLSink against a plain COPY loop with the same client (pg + pg-copy-streams)
 * and the same bulk size, in one run (alternating which goes first); and the CDC source's events/s.
 *
 *   node --import tsx bench/postgresql.ts [sink|cdc|all] [events=200000] [rounds=3]
 *
 * - sink: N objects (id, name, value, ts) → IteratorSource → PostgreSQLSink (COPY bulks of 5000)
 *   against a loop that formats the same rows as COPY text and pipes bulks of 5000 to `COPY … FROM
 *   STDIN` on one pg client. Each round writes into a fresh table; the row count is checked.
 * - cdc: N rows inserted in transactions of 1000 while a slot holds them, then
 *   PostgreSQLLogicalReplicationSource → a counting sink, timed from start to the last event,
 *   against pg-logical-replication's own service (pgoutput decoder, auto-acknowledge) counting the
 *   insert messages: the same decoding without receipts, events or a pipeline.
 * Server: scripts/services/up postgres.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline as streamPipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { LogicalReplicationService, PgoutputPlugin } from "pg-logical-replication";
import { BSPumpApplication, Config, Pipeline, RunOnceTrigger, Sink, type EventContext } from "../src/core/index.js";
import { IteratorSource } from "../src/common/index.js";
import { PostgreSQLConnection, PostgreSQLLogicalReplicationSource, PostgreSQLSink } from "../src/postgresql/index.js";

const which = process.argv[2] ?? "all";
const N = Number(process.argv[3] ?? 200000);
const rounds = Number(process.argv[4] ?? 3);
const DB = { host: "127.0.0.1", port: 5432, user: "bspump", password: "bspump", database: "bspump" };
const BULK = 5000;
const uid = () => randomBytes(4).toString("hex");

function app(): { a: BSPumpApplication } {
  const a = new BSPumpApplication({ args: [], config: Config.fromString("", "<bench>"), handleSignals: false });
  a.logs.defaultLevel = "error";
  a.pumpService.addConnection(new PostgreSQLConnection(a, "PG", { config: { user: DB.user, password: DB.password, db: DB.database, max_bulk_size: BULK } }));
  return { a };
}

function events(): { id: number; name: string; value: number; ts: string }[] {
  return Array.from({ length: N }, (_, i) => ({ id: i, name: `host-${i % 100}`, value: i * 0.5, ts: "2026-01-01T00:00:00.000Z" }));
}

async function sinkRound(pump: boolean, admin: pg.Client): Promise<number> {
  const t = `bench_pg_${uid()}`;
  await admin.query(`CREATE TABLE ${t} (id INT, name TEXT, value DOUBLE PRECISION, ts TIMESTAMPTZ)`);
  const data = events();
  const t0 = performance.now();
  if (pump) {
    const { a } = app();
    const p = new Pipeline(a, "P");
    const sink = new PostgreSQLSink(a, p, "PG", { config: { table: t, data: "id,name,value,ts", flush_period: 0.05 } });
    p.build(new IteratorSource(a, p, data).on(new RunOnceTrigger(a)), sink);
    a.pumpService.addPipeline(p);
    const running = a.run();
    while (sink.counts.rows < N) await new Promise((r) => setTimeout(r, 2));
    a.stop();
    await running;
  } else {
    const c = new pg.Client(DB);
    await c.connect();
    for (let i = 0; i < N; i += BULK) {
      let text = "";
      for (const e of data.slice(i, i + BULK)) text += `${e.id}\t${e.name}\t${e.value}\t${e.ts}\n`;
      await streamPipeline(Readable.from([text]), c.query(copyFrom(`COPY ${t} (id, name, value, ts) FROM STDIN`)));
    }
    await c.end();
  }
  const seconds = (performance.now() - t0) / 1000;
  const n = Number((await admin.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  await admin.query(`DROP TABLE ${t}`);
  if (n !== N) throw new Error(`${pump ? "pump" : "loop"} wrote ${n} of ${N}`);
  return N / seconds;
}

class CountSink extends Sink {
  count = 0;
  process(_c: EventContext, _e: unknown): null {
    this.count++;
    return null;
  }
}

async function cdcRound(admin: pg.Client, pump: boolean): Promise<number> {
  const t = `bench_cdc_${uid()}`;
  const slot = `bench_${uid()}`;
  await admin.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, name TEXT, value DOUBLE PRECISION)`);
  await admin.query(`CREATE PUBLICATION ${slot} FOR TABLE ${t}`);
  await admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  for (let i = 0; i < N; i += 1000) await admin.query(`INSERT INTO ${t} SELECT i, 'host-' || (i % 100), i * 0.5 FROM generate_series(${i}, ${Math.min(N, i + 1000) - 1}) AS i`);
  let seconds: number;
  if (pump) {
    const { a } = app();
    const p = new Pipeline(a, "C");
    const sink = new CountSink(a, p);
    p.build(new PostgreSQLLogicalReplicationSource(a, p, "PG", { config: { slot_name: slot } }), sink);
    a.pumpService.addPipeline(p);
    const t0 = performance.now();
    const running = a.run();
    while (sink.count < N) await new Promise((r) => setTimeout(r, 2));
    seconds = (performance.now() - t0) / 1000;
    a.stop();
    await running;
  } else {
    // The plain loop: pg-logical-replication's service with its pgoutput plugin, acknowledging as it reads.
    const service = new LogicalReplicationService(DB, { acknowledge: { auto: true, timeoutSeconds: 1 } });
    let count = 0;
    service.on("data", (_lsn: string, msg: { tag: string }) => {
      if (msg.tag === "insert") count++;
    });
    service.on("error", () => {});
    const t0 = performance.now();
    void service.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [slot] }), slot).catch(() => {});
    while (count < N) await new Promise((r) => setTimeout(r, 2));
    seconds = (performance.now() - t0) / 1000;
    await service.destroy();
  }
  // The walsender lets go of the slot a moment after the client left; a slot left behind keeps WAL.
  for (let i = 0; i < 100; i++) {
    if (await admin.query(`SELECT pg_drop_replication_slot($1)`, [slot]).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await admin.query(`DROP PUBLICATION ${slot}`);
  await admin.query(`DROP TABLE ${t}`);
  return N / seconds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

const admin = new pg.Client(DB);
await admin.connect();
if (which === "sink" || which === "all") {
  const pump: number[] = [];
  const loop: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first (the machine is shared and noisy).
    const [x, y] = r % 2 === 0 ? [await sinkRound(true, admin), await sinkRound(false, admin)] : (([b, a]) => [a, b])([await sinkRound(false, admin), await sinkRound(true, admin)]);
    pump.push(x!);
    loop.push(y!);
    ratios.push(x! / y!);
    console.log(`sink round ${r + 1}: pump ${fmt(x!)} ev/s, COPY loop ${fmt(y!)} ev/s, ratio ${(x! / y!).toFixed(2)}`);
  }
  console.log(`PostgreSQLSink: median ${fmt(median(pump))} ev/s; COPY loop median ${fmt(median(loop))} ev/s; ratio median ${median(ratios).toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}), ${N} events, bulks of ${BULK}`);
}
if (which === "cdc" || which === "all") {
  const rates: number[] = [];
  const loops: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const first = r % 2 === 0;
    const x = first ? await cdcRound(admin, true) : 0;
    const y = await cdcRound(admin, false);
    const z = first ? x : await cdcRound(admin, true);
    rates.push(z);
    loops.push(y);
    ratios.push(z / y);
    console.log(`cdc round ${r + 1}: pump ${fmt(z)} ev/s, pg-logical-replication loop ${fmt(y)} ev/s, ratio ${(z / y).toFixed(2)}`);
  }
  console.log(`PostgreSQLLogicalReplicationSource: median ${fmt(median(rates))} ev/s (range ${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}); plain loop median ${fmt(median(loops))} ev/s; ratio median ${median(ratios).toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}), ${N} inserts in transactions of 1000`);
}
await admin.end();
