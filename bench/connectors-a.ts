/**
 * Benchmark: RabbitMQ, MySQL and InfluxDB connectors against plain client loops doing the same
 * work with the same client library and batch sizes, in one run (alternating which goes first).
 *
 *   node --import tsx bench/connectors-a.ts [amqp|mysql|influxdb|all] [scale=1] [rounds=2]
 *
 * - amqp: N messages queue → AMQPSource → AMQPSink → queue (ack after the broker confirmed the
 *   copy), against an amqplib loop: consume (prefetch 1000), publish on a confirm channel, ack each
 *   message when its copy is confirmed.
 * - mysql: N objects → MySQLSink (bulks of 1000) against a loop of `INSERT … VALUES ?` of 1000 rows.
 * - influxdb: N point objects → InfluxDBSink (1 MB buckets) against a loop that formats the same
 *   lines with the same writer and POSTs 1 MB bodies.
 * Every run's output count is checked. Servers: scripts/services/up rabbitmq mariadb influxdb.
 */
import { randomBytes } from "node:crypto";
import { connect } from "amqplib";
import { createConnection } from "mysql2/promise";
import { BSPumpApplication, Config, Pipeline, RunOnceTrigger } from "../src/core/index.js";
import { IteratorSource } from "../src/common/index.js";
import { AMQPConnection, AMQPSink, AMQPSource } from "../src/amqp/index.js";
import { MySQLConnection, MySQLSink } from "../src/mysql/index.js";
import { InfluxDBConnection, InfluxDBSink, pointLine } from "../src/influxdb/index.js";

const which = process.argv[2] ?? "all";
const scale = Number(process.argv[3] ?? 1);
const rounds = Number(process.argv[4] ?? 2);
const AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/";
const DB = { host: "127.0.0.1", port: 3306, user: "bspump", password: "bspump", database: "bspump" };
const INFLUX = "http://127.0.0.1:8086";
const uid = () => randomBytes(4).toString("hex");

function app(): BSPumpApplication {
  const a = new BSPumpApplication({ args: [], config: Config.fromString("", "<bench>"), handleSignals: false });
  a.logs.defaultLevel = "error";
  return a;
}

async function timed(fn: () => Promise<void>): Promise<{ seconds: number; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system };
}

// ---------------------------------------------------------------- amqp
async function amqpRound(n: number, pump: boolean): Promise<{ seconds: number; cpuUs: number }> {
  const admin = await connect(AMQP_URL);
  const ch = await admin.createConfirmChannel();
  const inQ = `bench-in-${uid()}`;
  const outQ = `bench-out-${uid()}`;
  await ch.assertQueue(inQ, { autoDelete: false });
  await ch.assertQueue(outQ, { autoDelete: false });
  const body = Buffer.from(JSON.stringify({ host: "web-1", status: 200, path: "/api/v1/items/42", bytes: 1234 }));
  for (let i = 0; i < n; i++) if (!ch.sendToQueue(inQ, body)) await new Promise((r) => ch.once("drain", r));
  await ch.waitForConfirms();
  const result = await timed(async () => {
    if (pump) {
      const a = app();
      a.pumpService.addConnection(new AMQPConnection(a, "C", { config: { url: AMQP_URL } }));
      const p = new Pipeline(a, "P");
      const sink = new AMQPSink(a, p, "C", { config: { exchange: "", routing_key: outQ } });
      p.build(new AMQPSource(a, p, "C", { config: { queue: inQ } }), sink);
      a.pumpService.addPipeline(p);
      const running = a.run();
      while (sink.counts.confirmed < n) await new Promise((r) => setTimeout(r, 5));
      a.stop();
      await running;
    } else {
      const model = await connect(AMQP_URL);
      const cin = await model.createChannel();
      const cout = await model.createConfirmChannel();
      await cin.prefetch(1000);
      let confirmed = 0;
      await new Promise<void>((resolve) => {
        void cin.consume(inQ, (m) => {
          if (m === null) return;
          cout.publish("", outQ, m.content, { contentType: "text/plain", deliveryMode: 2 }, (err) => {
            if (err) cin.nack(m);
            else cin.ack(m);
            if (++confirmed === n) resolve();
          });
        });
      });
      await model.close();
    }
  });
  const check = await ch.checkQueue(outQ);
  if (check.messageCount !== n) throw new Error(`amqp: ${check.messageCount} of ${n} arrived`);
  await ch.deleteQueue(inQ);
  await ch.deleteQueue(outQ);
  await admin.close();
  return result;
}

// ---------------------------------------------------------------- mysql
async function mysqlRound(n: number, pump: boolean): Promise<{ seconds: number; cpuUs: number }> {
  const db = await createConnection(DB);
  const t = `bench_${uid()}`;
  await db.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, host VARCHAR(20), status INT, bytes INT, path VARCHAR(64))`);
  const events = Array.from({ length: n }, (_, i) => ({ id: i, host: `web-${i % 4}`, status: 200 + (i % 5), bytes: (i * 7919) % 100000, path: `/api/v1/items/${i % 1000}` }));
  const result = await timed(async () => {
    if (pump) {
      const a = app();
      a.pumpService.addConnection(new MySQLConnection(a, "C", { config: { host: DB.host, user: DB.user, password: DB.password, db: DB.database, max_bulk_size: 1000, connection_pool_maxsize: 4 } }));
      const p = new Pipeline(a, "P");
      p.build(
        new IteratorSource(a, p, events).on(new RunOnceTrigger(a)),
        new MySQLSink(a, p, "C", { config: { query: `INSERT INTO ${t} (id, host, status, bytes, path) VALUES (%s, %s, %s, %s, %s)`, data: "id,host,status,bytes,path" } }),
      );
      a.pumpService.addPipeline(p);
      await a.run();
    } else {
      const conn = await createConnection(DB);
      for (let i = 0; i < n; i += 1000) {
        const rows = events.slice(i, i + 1000).map((e) => [e.id, e.host, e.status, e.bytes, e.path]);
        await conn.query(`INSERT INTO ${t} (id, host, status, bytes, path) VALUES ?`, [rows]);
      }
      await conn.end();
    }
  });
  const [rows] = (await db.query(`SELECT COUNT(*) AS c FROM ${t}`)) as unknown as [{ c: number }[]];
  if (Number(rows[0]!.c) !== n) throw new Error(`mysql: ${rows[0]!.c} of ${n} rows`);
  await db.query(`DROP TABLE ${t}`);
  await db.end();
  return result;
}

// ---------------------------------------------------------------- influxdb
async function influxRound(n: number, pump: boolean): Promise<{ seconds: number; cpuUs: number }> {
  const m = `bench_${uid()}`;
  const base = 1_700_000_000;
  const events = Array.from({ length: n }, (_, i) => ({ measurement: m, tags: { host: `web-${i % 4}`, region: "eu" }, fields: { bytes: (i * 7919) % 100000, status: 200 + (i % 5), ok: i % 3 !== 0 }, time: base + i * 0.001 }));
  const result = await timed(async () => {
    if (pump) {
      const a = app();
      a.pumpService.addConnection(new InfluxDBConnection(a, "C", { config: { url: INFLUX, db: "bspump", precision: "ms" } }));
      const p = new Pipeline(a, "P");
      p.build(new IteratorSource(a, p, events).on(new RunOnceTrigger(a)), new InfluxDBSink(a, p, "C"));
      a.pumpService.addPipeline(p);
      await a.run();
    } else {
      let body = "";
      const send = async (b: string) => {
        const r = await fetch(`${INFLUX}/write?db=bspump&precision=ms`, { method: "POST", body: b });
        await r.text();
        if (!r.ok) throw new Error(`influx ${r.status}`);
      };
      for (const e of events) {
        body += pointLine(e, "ms", "bigint");
        if (body.length >= 1_000_000) {
          await send(body);
          body = "";
        }
      }
      if (body) await send(body);
    }
  });
  const r = (await (await fetch(`${INFLUX}/query?db=bspump&q=${encodeURIComponent(`SELECT count("bytes") FROM "${m}"`)}`)).json()) as { results: { series: { values: number[][] }[] }[] };
  const count = r.results[0]!.series[0]!.values[0]![1];
  if (count !== n) throw new Error(`influxdb: ${count} of ${n} points`);
  await fetch(`${INFLUX}/query?db=bspump&q=${encodeURIComponent(`DROP MEASUREMENT "${m}"`)}`, { method: "POST" });
  return result;
}

const workloads: Record<string, { n: number; round: (n: number, pump: boolean) => Promise<{ seconds: number; cpuUs: number }> }> = {
  amqp: { n: Math.round(20000 * scale), round: amqpRound },
  mysql: { n: Math.round(100000 * scale), round: mysqlRound },
  influxdb: { n: Math.round(100000 * scale), round: influxRound },
};

for (const [name, w] of Object.entries(workloads)) {
  if (which !== "all" && which !== name) continue;
  const plain: number[] = [];
  const pumped: number[] = [];
  const cpuPlain: number[] = [];
  const cpuPump: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const pump of r % 2 === 0 ? [false, true] : [true, false]) {
      const res = await w.round(w.n, pump);
      (pump ? pumped : plain).push(w.n / res.seconds);
      (pump ? cpuPump : cpuPlain).push(res.cpuUs / w.n);
    }
  }
  const best = (a: number[]) => Math.max(...a);
  const fmt = (a: number[]) => a.map((x) => x.toFixed(1)).join("/");
  console.log(
    `| ${name} | ${w.n} | ${Math.round(best(plain)).toLocaleString("en")} | ${Math.round(best(pumped)).toLocaleString("en")} | ${(best(pumped) / best(plain)).toFixed(2)} | ${fmt(cpuPlain)} → ${fmt(cpuPump)} |`,
  );
}
process.exit(0);
