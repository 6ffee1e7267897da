/**
 * Benchmark: change data capture from MariaDB's binlog. N row changes (half inserts, half updates,
 * in transactions of 1000 rows) are written once; each round reads them from the same binlog
 * position to the end, either with MySQLBinaryLogSource → a sink counting rows (receipts, the
 * settled position stored in a file), or with a plain zongji loop counting the rows of the same
 * events (no pipeline). Rounds alternate which goes first; the median and range of rows/s, the
 * median and range of the per-round ratios, and this process's CPU time per row are reported.
 *
 *   node --import tsx bench/mysql-binlog.ts [scale=1] [rounds=5]
 *
 * Server: scripts/services/up mariadb (binlog on, as the service script starts it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import ZongJi, { type AnyBinlogEvent, type RowsEvent } from "@vlasky/zongji";
import { createConnection, type RowDataPacket } from "mysql2/promise";
import { BSPumpApplication, Config, Pipeline, Sink, type EventContext } from "../src/core/index.js";
import { MySQLBinaryLogSource, MySQLConnection, type BinlogRowsEvent } from "../src/mysql/index.js";

const scale = Number(process.argv[2] ?? 1);
const rounds = Number(process.argv[3] ?? 5);
const N = Math.round(100_000 * scale);
const DB = { host: "127.0.0.1", port: 3306, user: "bspump", password: "bspump", database: "bspump" };
const dir = mkdtempSync(join(tmpdir(), "bspump-bench-binlog-"));

const db = await createConnection(DB);
const table = `bench_binlog_${randomBytes(4).toString("hex")}`;
await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, host VARCHAR(40), status INT, bytes BIGINT, path VARCHAR(100))`);
const [status] = await db.query<RowDataPacket[]>("SHOW MASTER STATUS");
const from = { file: status[0]!.File as string, pos: Number(status[0]!.Position) };
for (let i = 0; i < N / 2; i += 1000) {
  const rows = Array.from({ length: Math.min(1000, N / 2 - i) }, (_, j) => [i + j, "web-1", 200, 1234 + j, "/api/v1/items/42"]);
  await db.query(`INSERT INTO ${table} VALUES ?`, [rows]);
}
for (let i = 0; i < N / 2; i += 1000) await db.query(`UPDATE ${table} SET bytes = bytes + 1 WHERE id BETWEEN ? AND ?`, [i, i + 999]);
let serverId = 1_000_000 + Math.floor(Math.random() * 1_000_000);

class CountingSink extends Sink {
  rows = 0;
  process(_c: EventContext, e: unknown): null {
    this.rows += (e as BinlogRowsEvent).rows.length;
    return null;
  }
}

/** CPU time of this process per row in the last round, µs (the reader decodes in this process in both). */
let cpuPerRow = 0;

async function pumpRound(): Promise<number> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("", "<bench>"), handleSignals: false });
  app.logs.defaultLevel = "error";
  app.pumpService.addConnection(new MySQLConnection(app, "C", { config: { host: DB.host, user: DB.user, password: DB.password, db: DB.database } }));
  const p = new Pipeline(app, "P");
  const sink = new CountingSink(app, p);
  const position = join(dir, `${serverId}.json`);
  p.build(new MySQLBinaryLogSource(app, p, "C", { config: { server_id: serverId++, log_file: from.file, log_pos: from.pos, only_tables: `${DB.database}.${table}`, position_file: position } }), sink);
  app.pumpService.addPipeline(p);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const running = app.run();
  while (sink.rows < N) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  cpuPerRow = (cpu.user + cpu.system) / N;
  app.stop();
  await running;
  if (sink.rows !== N) throw new Error(`pump: ${sink.rows} of ${N} rows`);
  return N / seconds;
}

async function plainRound(): Promise<number> {
  const z = new ZongJi({ host: DB.host, port: DB.port, user: DB.user, password: DB.password });
  let rows = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    z.on("error", reject);
    z.on("binlog", (e: AnyBinlogEvent) => {
      const name = e.getEventName();
      if (name === "writerows" || name === "updaterows") rows += (e as RowsEvent & { rows: unknown[] }).rows.length;
      if (rows >= N) resolve();
    });
    z.start({ serverId: serverId++, filename: from.file, position: from.pos, includeEvents: ["tablemap", "writerows", "updaterows", "deleterows", "xid", "mariadbgtid", "rotate"], includeSchema: { [DB.database]: [table] } });
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  cpuPerRow = (cpu.user + cpu.system) / N;
  z.stop();
  if (rows !== N) throw new Error(`plain: ${rows} of ${N} rows`);
  return N / seconds;
}

const plain: number[] = [];
const pumped: number[] = [];
const cpuPlain: number[] = [];
const cpuPump: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (const pump of r % 2 === 0 ? [false, true] : [true, false]) {
    (pump ? pumped : plain).push(pump ? await pumpRound() : await plainRound());
    (pump ? cpuPump : cpuPlain).push(cpuPerRow);
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const spread = (a: number[]): string => `${Math.round(Math.min(...a)).toLocaleString("en")}–${Math.round(Math.max(...a)).toLocaleString("en")}`;
const ratios = plain.map((x, i) => pumped[i]! / x);
console.log("| workload | changes | plain zongji rows/s (median, range) | pump rows/s (median, range) | ratio (median of rounds, range) | CPU µs/row, plain → pump (medians) |");
console.log("| --- | --- | --- | --- | --- | --- |");
console.log(
  `| mysql-binlog | ${N} | ${Math.round(median(plain)).toLocaleString("en")} (${spread(plain)}) | ${Math.round(median(pumped)).toLocaleString("en")} (${spread(pumped)}) | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) | ${median(cpuPlain).toFixed(1)} → ${median(cpuPump).toFixed(1)} |`,
);
await db.query(`DROP TABLE ${table}`);
await db.end();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
