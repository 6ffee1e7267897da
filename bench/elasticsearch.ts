/**
 * Benchmark: a file of JSON lines → ElasticSearchSink, documents/s, against a plain loop that
 * reads and parses the same file and sends the same documents with `_bulk` requests of the same
 * size, through the same HTTP client with the same number of concurrent requests, in one run.
 *
 *   node --import tsx bench/elasticsearch.ts [events=200000] [rounds=2] [--null-server]
 *
 * Env: ES_URL (default http://127.0.0.1:9200). Each round indexes into fresh indices
 * (1 shard, 0 replicas) that are deleted afterwards. Prints a JSON summary and a Markdown line.
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { BSPumpApplication, Config, Pipeline, RunOnceTrigger, TriggerSource } from "../src/core/index.js";
import { ElasticSearchClient, ElasticSearchConnection, ElasticSearchSink } from "../src/elasticsearch/index.js";

import { spawn } from "node:child_process";

/**
 * `--null-server`: instead of OpenSearch, a child process that reads each request and answers as
 * a bulk with no errors. It takes the server's indexing cost (and its noise on a shared machine)
 * out, leaving what the client side costs: the framework against the plain loop.
 */
const NULL_SERVER = process.argv.includes("--null-server");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));

async function startNullServer(): Promise<{ url: string; stop: () => void }> {
  const code = `
    const http = require("node:http");
    const s = http.createServer((req, res) => {
      req.on("data", () => {});
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" }).end('{"errors":false,"took":1,"acknowledged":true}');
      });
    });
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

const nullServer = NULL_SERVER ? await startNullServer() : null;
const ES_URL = nullServer?.url ?? process.env.ES_URL ?? "http://127.0.0.1:9200";
const EVENTS = Number(args[0] ?? 200_000);
const ROUNDS = Number(args[1] ?? 2);
const BULK_BYTES = 1024 * 1024;
const CONCURRENCY = 4; // loader_per_url × 1 node

const es = new ElasticSearchClient({ urls: [ES_URL], timeout: 300, maxSockets: CONCURRENCY * 2 + 4 });

function makeFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-es-"));
  const file = join(dir, "events.jsonl");
  const hosts = ["web-1", "web-2", "db-1", "cache-1"];
  let text = "";
  for (let i = 0; i < EVENTS; i++) {
    text += `${JSON.stringify({ "@timestamp": new Date(1_700_000_000_000 + i * 10).toISOString(), host: hosts[i % 4], status: 200 + (i % 5), bytes: (i * 7919) % 100_000, path: `/api/v1/items/${i % 1000}`, agent: "Mozilla/5.0 (X11; Linux x86_64)" })}\n`;
  }
  writeFileSync(file, text);
  return file;
}

async function freshIndex(name: string): Promise<void> {
  await es.request("DELETE", name);
  await es.json("PUT", name, { settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: "30s" } });
}

async function countOf(name: string): Promise<number> {
  if (NULL_SERVER) return EVENTS;
  await es.json("POST", `${name}/_refresh`);
  return (await es.json<{ count: number }>("GET", `${name}/_count`)).count;
}

/** The floor: read lines, parse, build bulks of BULK_BYTES, keep CONCURRENCY requests in flight. */
async function plainLoop(file: string, index: string): Promise<number> {
  const inFlight = new Set<Promise<void>>();
  const send = async (body: string): Promise<void> => {
    const res = await es.requestWithRetry("POST", `${index}/_bulk?filter_path=errors,took,items.*.error,items.*.status,items.*._id`, Buffer.from(body), { contentType: "application/x-ndjson", retries: 0 });
    const parsed = JSON.parse(res.body.toString("utf8")) as { errors: boolean };
    if (res.status !== 200 || parsed.errors) throw new Error(`bulk failed: ${res.status}`);
  };
  const t0 = performance.now();
  let body = "";
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === "") continue;
    const doc = JSON.parse(line) as Record<string, unknown>;
    body += `{"create":{}}\n${JSON.stringify(doc)}\n`;
    if (body.length >= BULK_BYTES) {
      const p = send(body).finally(() => inFlight.delete(p));
      inFlight.add(p);
      body = "";
      if (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
    }
  }
  if (body !== "") await send(body);
  await Promise.all(inFlight);
  return (performance.now() - t0) / 1000;
}

/** A minimal JSON-lines file source (the file family has its own; this keeps the bench self-contained). */
class JsonLinesSource extends TriggerSource {
  file = "";
  async cycle(): Promise<void> {
    for await (const line of createInterface({ input: createReadStream(this.file), crlfDelay: Infinity })) {
      if (line === "") continue;
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(JSON.parse(line));
    }
  }
}

async function pump(file: string, index: string): Promise<number> {
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[logging]\nlevel=warn\n", "<bench>"), handleSignals: false });
  app.pumpService.addConnection(
    new ElasticSearchConnection(app, "ES", { config: { url: ES_URL, bulk_out_max_size: BULK_BYTES, loader_per_url: CONCURRENCY } }),
  );
  const pipeline = new Pipeline(app, "Bench");
  const source = new JsonLinesSource(app, pipeline);
  source.file = file;
  source.on(new RunOnceTrigger(app));
  pipeline.build(source, new ElasticSearchSink(app, pipeline, "ES", { config: { index } }));
  app.pumpService.addPipeline(pipeline);
  const t0 = performance.now();
  const code = await app.run();
  if (code !== 0 || pipeline.isError()) throw new Error("pipeline failed");
  return (performance.now() - t0) / 1000;
}

const file = makeFile();
const results: { round: number; plain: number; pump: number; ratio: number; plain_cpu_us_per_doc: number; pump_cpu_us_per_doc: number }[] = [];
/** Client CPU (user + system) in µs per document: steadier than wall time on a shared machine. */
const cpu = { plain: 0, pump: 0 };
function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / EVENTS;
}
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const a = `bench-es-plain-${process.pid}`;
    const b = `bench-es-pump-${process.pid}`;
    // Alternate the order, so neither side always runs on a warmer (or busier) server.
    const runPlain = async (): Promise<number> => {
      await freshIndex(a);
      const c0 = process.cpuUsage();
      const t = await plainLoop(file, a);
      cpu.plain = cpuSince(c0);
      if ((await countOf(a)) !== EVENTS) throw new Error("plain loop lost documents");
      await es.request("DELETE", a);
      return t;
    };
    const runPump = async (): Promise<number> => {
      await freshIndex(b);
      const c0 = process.cpuUsage();
      const t = await pump(file, b);
      cpu.pump = cpuSince(c0);
      if ((await countOf(b)) !== EVENTS) throw new Error("pipeline lost documents");
      await es.request("DELETE", b);
      return t;
    };
    let tPlain: number;
    let tPump: number;
    if (round % 2 === 1) {
      tPlain = await runPlain();
      tPump = await runPump();
    } else {
      tPump = await runPump();
      tPlain = await runPlain();
    }
    const plain = EVENTS / tPlain;
    const pumped = EVENTS / tPump;
    results.push({ round, plain: Math.round(plain), pump: Math.round(pumped), ratio: Number((pumped / plain).toFixed(3)), plain_cpu_us_per_doc: Number(cpu.plain.toFixed(2)), pump_cpu_us_per_doc: Number(cpu.pump.toFixed(2)) });
    console.error(`round ${round}: plain ${Math.round(plain)} docs/s, ElasticSearchSink ${Math.round(pumped)} docs/s, ratio ${(pumped / plain).toFixed(2)}; client CPU ${cpu.plain.toFixed(1)} vs ${cpu.pump.toFixed(1)} µs/doc`);
  }
} finally {
  rmSync(join(file, ".."), { recursive: true, force: true });
  es.close();
  nullServer?.stop();
}
const best = (k: "plain" | "pump") => Math.max(...results.map((r) => r[k]));
const summary = {
  server: NULL_SERVER ? "null server (client cost only)" : ES_URL,
  events: EVENTS,
  bulk_bytes: BULK_BYTES,
  concurrency: CONCURRENCY,
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
  rounds: results,
  best_plain: best("plain"),
  best_pump: best("pump"),
  ratio_of_best: Number((best("pump") / best("plain")).toFixed(3)),
  median_round_ratio: [...results.map((r) => r.ratio)].sort((x, y) => x - y)[Math.floor(results.length / 2)],
};
console.log(JSON.stringify(summary, null, 2));
