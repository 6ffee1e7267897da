// Runs every (workload, system) several times, each run in its own child process, round-robin so
// that load from other processes spreads over all systems; writes bench/RESULTS.md.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { topFunctions } from "./profile.mjs";
import * as admin from "./servers-admin.mjs";

const { values: opt } = parseArgs({
  options: {
    dir: { type: "string", default: ".bench" },
    python: { type: "string", default: ".bench/venv/bin/python" },
    reps: { type: "string", default: "3" },
    bitswan: { type: "string", default: "?" },
    out: { type: "string", default: "bench/RESULTS.md" },
    // Server workloads (K1 Kafka, E1 OpenSearch): "auto" runs each one whose server answers,
    // "off" skips them; bench/run starts the servers first when asked (BENCH_SERVERS=1).
    servers: { type: "string", default: "auto" },
    "servers-started": { type: "boolean", default: false },
    "server-events": { type: "string", default: "200000" },
    // Only these workloads, e.g. --only K1,E1 (no profiles unless W1/W2 are in it, no micro-benchmark).
    only: { type: "string" },
  },
});
const REPS = Math.max(1, Number(opt.reps));
const DATA = join(opt.dir, "data");
const JSONL = join(DATA, "events.jsonl");
const CSV = join(DATA, "events.csv");
// W3x3: three hard links to the JSON lines file (the same bytes, no extra disk).
const W3X3 = join(DATA, "w3x3");
const W3X3_FILES = ["a", "b", "c"].map((name) => join(W3X3, `${name}.jsonl`));
// F1: a folder of many small files (made by bench/many-files.mjs).
const MANY = join(DATA, "many");
const started = Date.now();

const node = (script, ...args) => [process.execPath, [script, ...args]];
const py = (wl, file, idle) => [opt.python, ["bench/original.py", wl, file, String(idle)]];

/** Workloads, each with its systems; `ref` marks the rows the ratios are computed against. */
const ONLY = opt.only ? new Set(opt.only.split(",").map((x) => x.trim())) : null;
const picked = (w) => !ONLY || ONLY.has(w.id);
const WORKLOADS = [
  {
    id: "W1", title: "W1 json-enrich — lines → JSON parse → kb = bytes/1024 → drop action == \"noop\" → counting sink",
    systems: [
      { id: "pump", label: "pump (FileLineSource → StdJsonToDictParser → Processor → Sink)", cmd: node("bench/pump.mjs", "W1", JSONL), pump: true },
      { id: "pump-core", label: "pump, harness line source (diagnostic: core engine only)", cmd: node("bench/pump.mjs", "W1", JSONL, "core") },
      { id: "floor", label: "floor (plain loop: 1 MiB reads decoded in 64 KiB pieces, a string per line, JSON.parse)", cmd: node("bench/floor.mjs", "W1", JSONL), ref: "floor" },
      { id: "floor-bytes", label: "floor, a toString per line instead (for scale)", cmd: node("bench/floor.mjs", "W1bytes", JSONL) },
      { id: "orig", label: "original (event_idle_time 0.01, as shipped)", cmd: py("W1", JSONL, 0.01), ref: "orig" },
      { id: "orig0", label: "original (event_idle_time 0)", cmd: py("W1", JSONL, 0), ref: "orig0" },
    ],
    targets: { floor: 0.9, orig: 3.5 },
  },
  {
    id: "C1", title: "C1 content-filter — lines → JSON parse → ContentFilter `{action: {$in: [purchase, login, click]}, bytes: {$gte: 100000}}`, on_miss drop → counting sink",
    systems: [
      { id: "pump", label: "pump (FileLineSource → StdJsonToDictParser → ContentFilter → Sink)", cmd: node("bench/pump.mjs", "C1", JSONL), pump: true },
      { id: "pump-if", label: "pump, a hand-written `if` Processor instead of the ContentFilter", cmd: node("bench/pump.mjs", "C1", JSONL, "if") },
      { id: "floor", label: "floor (the W1 plain loop, JSON.parse and the hand-written `if`)", cmd: node("bench/floor.mjs", "C1", JSONL), ref: "floor" },
    ],
    // Issue 18: the ContentFilter pump at least 0.7× a hand-written `if` in a plain loop.
    targets: { floor: 0.7 },
  },
  {
    id: "W2", title: "W2 csv-window — CSV → count and sum(bytes) per user per 60 s tumbling window of event time",
    systems: [
      { id: "pump", label: "pump (FileCSVSource → TimeWindowAnalyzer → Sink)", cmd: node("bench/pump.mjs", "W2", CSV), pump: true },
      { id: "floor", label: "floor (plain loop: bspump's CSVRowParser fed 1 MiB chunks, an object per row, Map aggregation)", cmd: node("bench/floor.mjs", "W2", CSV), ref: "floor" },
      { id: "floor-csvparse", label: "floor, csv-parse instead (for scale)", cmd: node("bench/floor.mjs", "W2csvParse", CSV) },
      { id: "floor-split", label: "floor, hand-written comma split of 3 fields, no object (for scale)", cmd: node("bench/floor.mjs", "W2split", CSV) },
      { id: "orig", label: "original (FileCSVSource → TimeWindowAnalyzer, idle 0.01 as shipped)", cmd: py("W2", CSV, 0.01), ref: "orig" },
      { id: "orig0", label: "original (event_idle_time 0)", cmd: py("W2", CSV, 0), ref: "orig0" },
    ],
    targets: { floor: 0.8, orig: 4 },
  },
  {
    id: "W2read", title: "W2 csv-read — CSV → dict per row → counting sink",
    systems: [
      { id: "pump", label: "pump (FileCSVSource → Sink)", cmd: node("bench/pump.mjs", "W2read", CSV), pump: true },
      { id: "floor", label: "floor (plain loop: bspump's CSVRowParser fed 1 MiB chunks, an object per row)", cmd: node("bench/floor.mjs", "W2read", CSV), ref: "floor" },
      { id: "floor-csvparse", label: "floor, csv-parse fed 1 MiB chunks, columns: true (for scale)", cmd: node("bench/floor.mjs", "W2readCsvParse", CSV) },
      { id: "orig", label: "original (FileCSVSource, idle 0.01 as shipped)", cmd: py("W2read", CSV, 0.01), ref: "orig" },
      { id: "orig0", label: "original (event_idle_time 0)", cmd: py("W2read", CSV, 0), ref: "orig0" },
    ],
    targets: null,
  },
  {
    id: "W3", title: "W3 passthrough — lines → counting sink",
    systems: [
      // A run lasts ~0.07 s: three runs per round (interleaved) for a steadier median.
      { id: "pump", label: "pump (FileLineSource → Sink)", cmd: node("bench/pump.mjs", "W3", JSONL), pump: true, runsPerRep: 3 },
      { id: "pump-nocheck", label: "pump, `check_open = false` (diagnostic: what the open-file lease check costs)", cmd: node("bench/pump.mjs", "W3", JSONL, "nocheck"), runsPerRep: 3 },
      { id: "pump-procwalk", label: "pump, the open-file check by a /proc walk (`BSPUMP_NO_NATIVE=1`: as without the native module)", cmd: node("bench/pump.mjs", "W3", JSONL, "procwalk"), runsPerRep: 3 },
      { id: "pump-core", label: "pump, harness line source (diagnostic: core engine only)", cmd: node("bench/pump.mjs", "W3", JSONL, "core") },
      { id: "floor", label: "floor (plain loop: 1 MiB reads decoded in 64 KiB pieces, a string per line)", cmd: node("bench/floor.mjs", "W3text", JSONL), ref: "floor", runsPerRep: 3 },
      { id: "floor-bytes", label: "floor, a Buffer view per line instead (for scale)", cmd: node("bench/floor.mjs", "W3", JSONL) },
      { id: "orig", label: "original (event_idle_time 0.01, as shipped)", cmd: py("W3", JSONL, 0.01), ref: "orig" },
      { id: "orig0", label: "original (event_idle_time 0)", cmd: py("W3", JSONL, 0), ref: "orig0" },
    ],
    targets: { floor: 0.8, orig: 4 },
  },
  {
    id: "W3x3", title: "W3 over three files — the same 1,000,000 lines three times (3,000,000 lines per run: start-up and JIT warm-up weigh less)",
    systems: [
      { id: "pump", label: "pump (FileLineSource → Sink, the three files in one cycle)", cmd: node("bench/pump.mjs", "W3", join(W3X3, "*.jsonl"), "files"), pump: true, runsPerRep: 3 },
      { id: "floor", label: "floor (the W3 loop over the three files)", cmd: node("bench/floor.mjs", "W3text", ...W3X3_FILES), ref: "floor", runsPerRep: 3 },
    ],
    targets: null,
  },
  {
    id: "F1", title: "F1 many small files — 2,000 files of 100 JSON lines → counting sink (per file: scan, open-file check, lock, read, post-processing)",
    systems: [
      { id: "pump", label: "pump (FileLineSource, `files_per_cycle = 0`, `post = noop` → Sink)", cmd: node("bench/many-files.mjs", "pump", MANY), pump: true },
      { id: "floor", label: "floor (readdir, sort, readFileSync and split each file; no locking, open-file check or post-processing)", cmd: node("bench/many-files.mjs", "floor", MANY), ref: "floor" },
      { id: "floor-locked", label: "floor plus the file operations the pump may not skip, as plain synchronous calls: lease check, rename to -locked, read, rename back (for scale)", cmd: node("bench/many-files.mjs", "floor-locked", MANY) },
    ],
    // Renames in a folder untouched for ~30 s (its metadata written back meanwhile) take about twice
    // as long for the first process that renames there again (bench/NOTES.md, "F1: the first run
    // after a pause"): whichever system runs first in a round would pay it. An untimed run first.
    warmup: node("bench/many-files.mjs", "floor-locked", MANY),
    targets: null,
  },
].filter(picked);

function runOnce([cmd, args], timeoutMs = 180_000) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").reverse().find((l) => l.startsWith('{"system"'));
      if (line) {
        try {
          return resolve(JSON.parse(line));
        } catch {}
      }
      const lines = (err.trim() || out.trim()).split("\n");
      const why = lines.find((l) => /\b\w*(Error|Exception)\b/.test(l)) ?? lines.slice(-3).join(" | ");
      resolve({ error: `exit ${code}: ${(why || "no output").trim().slice(0, 300)}` });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => (n === undefined || n === null || !Number.isFinite(n) ? "—" : Math.round(n).toLocaleString("en-US"));
const mb = (kb) => (kb ? `${(kb / 1024).toFixed(0)} MB` : "—");
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "—");

// ------------------------------------------------------------------ run
const loadBefore = os.loadavg();
const runs = new Map(); // "W1/pump" → results
for (const w of WORKLOADS) for (const s of w.systems) runs.set(`${w.id}/${s.id}`, []);
if (WORKLOADS.some((w) => w.id === "W3x3")) {
  rmSync(W3X3, { recursive: true, force: true });
  mkdirSync(W3X3, { recursive: true });
  for (const path of W3X3_FILES) linkSync(JSONL, path);
}
if (WORKLOADS.some((w) => w.id === "F1")) execFileSync(process.execPath, ["bench/many-files.mjs", "make", MANY, "2000", "100"]);
for (let rep = 1; rep <= REPS; rep++) {
  for (const w of WORKLOADS) {
    // Systems with runsPerRep > 1 (short runs) run again, still interleaved with the others.
    const rounds = Math.max(...w.systems.map((s) => s.runsPerRep ?? 1));
    if (w.warmup) await runOnce(w.warmup);
    for (let round = 0; round < rounds; round++) {
      for (const s of w.systems) {
        if (round >= (s.runsPerRep ?? 1)) continue;
        const key = `${w.id}/${s.id}`;
        const prev = runs.get(key);
        if (prev.some((r) => r.pending || r.error)) continue; // pending or broken: do not retry
        const r = await runOnce(s.cmd);
        prev.push(r);
        const eps = r.seconds ? (r.events ?? expectedEvents(w.id)) / r.seconds : null;
        process.stdout.write(`[rep ${rep}/${REPS}] ${key.padEnd(16)} ${r.pending ? `pending: ${r.pending}` : r.error ? `ERROR ${r.error}` : `${fmt(eps).padStart(10)} ev/s  ${mb(r.maxrss_kb)}`}\n`);
      }
    }
  }
}

// ------------------------------------------------------------------ server workloads (after W1–W3)
// Kafka and OpenSearch, each only when its server answers on 127.0.0.1. The data: the same
// generator and seed, its own file of --server-events events; one output topic / index per run.
const SN_WANTED = Math.max(1, Number(opt["server-events"]));
const SDATA = join(opt.dir, "data-servers");
const SJSONL = join(SDATA, "events.jsonl");
const RUN = `${Date.now().toString(36)}_${process.pid.toString(36)}`;
const START_HINT = "`bash scripts/services/up kafka opensearch`, or run `BENCH_SERVERS=1 npm run bench`, which starts them first";
const pyModule = (mod) => {
  try {
    execFileSync(opt.python, ["-c", `import ${mod}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: opt.dir });
    return null;
  } catch (e) {
    const lines = String(e.stderr ?? e.message).trim().split("\n");
    return lines.findLast((l) => /Error|Exception/.test(l)) ?? lines.at(-1);
  }
};
// Every system of a server workload takes the same arguments, `args(c)` of the run's context:
// `node bench/servers.mjs <workload> <system> …args`, or `bench/original_servers.py <workload> …args`
// for "orig". `ref` marks the rows the ratios are computed against.
const serverCmd = (w, s, c) =>
  s.id === "orig" ? [opt.python, ["bench/original_servers.py", w.id, ...w.args(c)]] : node("bench/servers.mjs", w.id, s.id, ...w.args(c));
// The Kafka workloads read the same input topic (every line of the data file, keyed by user),
// filled once per bench run by whichever sets up first.
let kafkaInput = null;
const fillKafkaInput = async (c) => {
  kafkaInput ??= admin.fillTopic(`bench_k1_${RUN}_in`, SJSONL).then((n) => ({ input: `bench_k1_${RUN}_in`, n }));
  Object.assign(c, await kafkaInput);
};
/** A fresh output topic (3 partitions) and/or consumer group per run, deleted by the clean-up. */
const kafkaRun = (w, { topic, group }) => async (c, sys, rep) => {
  const name = `bench_${w}_${RUN}_${sys.id}_${rep}`;
  if (topic) await admin.createTopic(name);
  if (group) admin.noteGroup(name);
  return { ...c, output: name, group: name };
};
// Transactional output (pump-eos) is counted as a read_committed consumer sees it: high watermarks
// also count the transaction markers, and aborted records would be counted too.
const countOutput = {
  what: "messages in each run's output topic (pump-eos: as a read_committed consumer reads them)",
  count: (c, _r, sys) => (sys?.id === "pump-eos" ? admin.committedCount(c.output) : admin.topicCount(c.output)),
};
const kafkaTargets = { issue: 14, floor: 1.0, orig: 1.3, rssMb: 150 };
const SERVER_WORKLOADS = [
  {
    id: "K1", server: "kafka", where: admin.KAFKA_BROKER, pyModule: "bspump.kafka",
    title: `K1 kafka-enrich — Kafka (${admin.K1_PARTITIONS} partitions) → JSON parse → add a field → JSON → Kafka`,
    args: (c) => [admin.KAFKA_BROKER, c.input, c.output, c.group, String(c.n)],
    systems: [
      { id: "pump", label: "pump (KafkaSource → StdJsonToDictParser → Processor → DictToJsonBytesParser → KafkaSink)", pump: true },
      { id: "pump-eos", label: "pump with exactly_once = true on KafkaSource and KafkaSink (transactions of ≤ 20,000 records / 200 ms; timed until every offset is committed in its transaction; issue 15 target ≥ 0.7 × pump)" },
      { id: "floor", label: "floor (plain loop, @confluentinc/kafka-javascript native API in the patch's batch forms, as the pump: `consumePacked(100)` → parse, add field, serialise → idempotent `produce()`, acks=all, until every delivery report)", ref: "floor" },
      { id: "floor-stock", label: "floor in the client's stock forms (an object per record, a JavaScript call per delivery report: the plain loop without the project's patch; for scale)" },
      { id: "floor-kafkajs", label: "floor with the old client (plain kafkajs loop: eachBatch → parse, add field, serialise → idempotent `producer.send`, acks=all; for scale)" },
      { id: "orig", label: "original (bspump.kafka KafkaSource → StdJsonToDictParser → Processor → DictToJsonBytesParser → KafkaSink, confluent-kafka)", ref: "orig" },
    ],
    targets: kafkaTargets,
    setup: fillKafkaInput,
    before: kafkaRun("k1", { topic: true, group: true }),
    check: countOutput,
    cleanup: admin.kafkaCleanup,
  },
  {
    id: "K1-consume", server: "kafka", where: admin.KAFKA_BROKER, pyModule: "bspump.kafka",
    title: `K1-consume — Kafka (${admin.K1_PARTITIONS} partitions) → counting sink`,
    args: (c) => [admin.KAFKA_BROKER, c.input, c.group, String(c.n)],
    systems: [
      { id: "pump", label: "pump (KafkaSource → Sink that counts)", pump: true },
      { id: "floor", label: "floor (plain loop, @confluentinc/kafka-javascript native API in the patch's batch form: `consumePacked(100)`, counting)", ref: "floor" },
      { id: "floor-stock", label: "floor in the client's stock form (`consume(100)`: an object per record; for scale)" },
      { id: "orig", label: "original (bspump.kafka KafkaSource → bspump.Sink that counts, confluent-kafka)", ref: "orig" },
    ],
    targets: null,
    setup: fillKafkaInput,
    before: kafkaRun("k1c", { group: true }),
    check: { what: "events counted by the sink in each run", count: (_c, r) => r.events },
    cleanup: admin.kafkaCleanup,
  },
  {
    id: "K1-produce", server: "kafka", where: admin.KAFKA_BROKER, pyModule: "bspump.kafka",
    title: `K1-produce — file of JSON lines → Kafka (${admin.K1_PARTITIONS} partitions)`,
    args: (c) => [admin.KAFKA_BROKER, SJSONL, c.output, String(c.n)],
    systems: [
      { id: "pump", label: "pump (FileLineSource `mode = rb`, as the original's default → KafkaSink)", pump: true },
      { id: "floor", label: "floor (plain loop: 1 MiB reads, a Buffer view per line → native idempotent `produce()`, acks=all, until every delivery report, reports in the patch's runs)", ref: "floor" },
      { id: "floor-stock", label: "floor with the client's stock delivery reports (a JavaScript call per record; for scale)" },
      { id: "orig", label: "original (bspump.file FileLineSource → bspump.kafka KafkaSink, confluent-kafka)", ref: "orig" },
    ],
    targets: null,
    setup: countLines,
    before: kafkaRun("k1p", { topic: true }),
    check: countOutput,
    cleanup: admin.kafkaCleanup,
  },
  {
    id: "E1", server: "opensearch", where: admin.OPENSEARCH_URL, pyModule: "bspump.elasticsearch",
    title: "E1 es-sink — file of JSON lines → JSON parse → Elasticsearch/OpenSearch `_bulk` (1 MiB bulks, 4 in flight)",
    args: (c) => [admin.OPENSEARCH_URL, SJSONL, c.index, String(c.n)],
    systems: [
      { id: "pump", label: "pump (FileLineSource → StdJsonToDictParser → ElasticSearchSink)", pump: true },
      { id: "floor", label: "floor (plain loop: 1 MiB reads, JSON.parse/stringify, `_bulk` through the same HTTP client)", ref: "floor" },
      { id: "orig", label: "original (bspump.file FileLineSource → StdJsonToDictParser → bspump.elasticsearch ElasticSearchSink, aiohttp)", ref: "orig" },
    ],
    targets: { issue: 6, floor: 0.8 },
    setup: countLines,
    async before(c, sys, rep) {
      const index = `bench_e1_${RUN}_${sys.id}_${rep}`;
      await admin.createIndex(index);
      return { ...c, index };
    },
    check: {
      what: "documents in each run's index",
      async count(c) {
        const count = await admin.indexCount(c.index);
        await admin.deleteIndex(c.index);
        return count;
      },
    },
    cleanup: admin.esCleanup,
  },
].filter(picked);
/** The events of a workload that reads the data file: its lines. */
async function countLines(c) {
  c.n = readFileSync(SJSONL, "utf8").split("\n").filter((l) => l !== "").length;
}
const serverCtx = {};
for (const w of SERVER_WORKLOADS) {
  for (const s of w.systems) runs.set(`${w.id}/${s.id}`, []);
  if (opt.servers === "off") w.skipped = "skipped: BENCH_SERVERS=0";
  else if (!admin.serverUp(w.server)) {
    w.skipped = `skipped: ${w.server === "kafka" ? "Kafka" : "OpenSearch"} is not running on ${w.where}` +
      (opt["servers-started"] ? " (bench/run tried to start it: see its output)" : `; start it with ${START_HINT}`);
  }
  if (w.skipped) {
    process.stdout.write(`${w.id}: ${w.skipped}\n`);
    continue;
  }
  const missing = pyModule(w.pyModule);
  if (missing) w.origMissing = `import ${w.pyModule} in ${opt.python} fails: ${missing}`;
}
const serverStarted = Date.now();
const active = SERVER_WORKLOADS.filter((w) => !w.skipped);
if (active.length) {
  execFileSync(process.execPath, ["bench/gen.mjs", SDATA, String(Math.min(SN_WANTED, expectedEvents("W1")))], { stdio: "inherit" });
  for (const w of active) {
    serverCtx[w.id] = {};
    try {
      await w.setup(serverCtx[w.id]);
    } catch (e) {
      w.setupError = `set-up failed: ${e instanceof Error ? e.message : String(e)}`;
      process.stdout.write(`${w.id}: ${w.setupError}\n`);
    }
  }
  try {
    for (let rep = 1; rep <= REPS; rep++) {
      for (const w of active) {
        if (w.setupError) continue;
        for (const s of w.systems) {
          const key = `${w.id}/${s.id}`;
          const prev = runs.get(key);
          if (prev.some((r) => r.error)) continue;
          if (s.ref === "orig" && w.origMissing) {
            prev.push({ error: w.origMissing, unavailable: true });
            continue;
          }
          let r;
          try {
            const c = await w.before(serverCtx[w.id], s, rep);
            r = await runOnce(serverCmd(w, s, c), 90_000);
            // A file source killed mid-read leaves its file renamed (BSPump's FileABCSource: "-locked").
            if (!existsSync(SJSONL) && existsSync(`${SJSONL}-locked`)) renameSync(`${SJSONL}-locked`, SJSONL);
            if (!r.error) r.out = await w.check.count(c, r, s);
          } catch (e) {
            r = { error: e instanceof Error ? e.message : String(e) };
          }
          prev.push(r);
          const eps = r.seconds ? serverCtx[w.id].n / r.seconds : null;
          process.stdout.write(`[rep ${rep}/${REPS}] ${key.padEnd(16)} ${r.error ? `ERROR ${r.error}` : `${fmt(eps).padStart(10)} ev/s  ${mb(r.maxrss_kb)}  (check: ${fmt(r.out)})`}\n`);
        }
      }
    }
  } finally {
    // Once per server (the Kafka workloads share theirs).
    for (const cleanup of new Set(active.map((w) => w.cleanup))) await cleanup().catch((e) => process.stdout.write(`clean-up failed: ${e.message}\n`));
  }
}
const serverMinutes = ((Date.now() - serverStarted) / 60000).toFixed(1);
const loadAfter = os.loadavg();

function expectedEvents(wl) {
  const count = Number(readFileSync(join(DATA, "DONE"), "utf8").match(/"count":(\d+)/)[1]);
  return count; // every workload reads every event (CSV: rows after the header)
}

// ------------------------------------------------------------------ CPU profiles of the pump (W1, W2)
const profiles = {};
for (const [wl, file] of [["W1", JSONL], ["W2", CSV]]) {
  if (ONLY && !ONLY.has(wl)) continue;
  const profDir = join(opt.dir, `prof-${wl}`);
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const pumpRuns = runs.get(`${wl}/pump`);
  if (pumpRuns.some((r) => r.pending || r.error)) {
    if (wl !== "W1") continue;
  }
  const variant = pumpRuns.some((r) => r.pending || r.error) ? "core" : "file";
  const r = await runOnce([process.execPath, ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "bench/pump.mjs", wl, file, variant]]);
  const prof = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (prof && !r.error) profiles[wl] = { variant, seconds: r.seconds, ...topFunctions(join(profDir, prof), 15) };
}

// ------------------------------------------------------------------ core cost per event
const micro = ONLY ? {} : await runOnce([process.execPath, ["bench/core-micro.mjs"]]);

// ------------------------------------------------------------------ summarise
const summary = {};
for (const w of WORKLOADS) {
  summary[w.id] = {};
  for (const s of w.systems) {
    const rs = runs.get(`${w.id}/${s.id}`);
    const ok = rs.filter((r) => r.seconds);
    const eps = ok.map((r) => (r.events ?? expectedEvents(w.id)) / r.seconds);
    summary[w.id][s.id] = {
      label: s.label,
      pending: rs.find((r) => r.pending)?.pending,
      error: rs.find((r) => r.error)?.error,
      median: eps.length ? median(eps) : null,
      min: eps.length ? Math.min(...eps) : null,
      max: eps.length ? Math.max(...eps) : null,
      rss: ok.length ? Math.max(...ok.map((r) => r.maxrss_kb)) : null,
      outs: [...new Set(ok.map((r) => r.out))],
      checks: [...new Set(ok.filter((r) => r.check?.windows !== undefined).map((r) => JSON.stringify({ windows: r.check.windows, count: r.check.count, sum: r.check.sum })))],
      runs: ok.length,
    };
  }
}

function cpuModel() {
  try {
    return readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? os.cpus()[0]?.model;
  } catch {
    return os.cpus()[0]?.model ?? "?";
  }
}
const pyVersion = (() => {
  try {
    return execFileSync(opt.python, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
})();
const old = existsSync(join(opt.dir, "bspump-21.11.txt")) ? readFileSync(join(opt.dir, "bspump-21.11.txt"), "utf8").trim() : "not tried";
const minutes = ((Date.now() - started) / 60000).toFixed(1);

let md = `# Benchmark results

Written by \`npm run bench\` (bench/run → bench/main.mjs); do not edit by hand.

- Date: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; the runs took ${minutes} min.
- Machine: ${cpuModel()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}.
- Node ${process.version}; ${pyVersion}; the original: PyPI \`bitswan==${opt.bitswan}\` (BSPump engine with ASAB bundled).
- **The machine was shared** with other engineers' builds and tests (load average ${loadBefore.map((x) => x.toFixed(1)).join(" / ")} before,
  ${loadAfter.map((x) => x.toFixed(1)).join(" / ")} after, on ${os.cpus().length} cores): absolute numbers are noisy. Runs are interleaved round-robin
  (${REPS} per system; ${3 * REPS} for the short W3 and W3x3 runs marked in bench/main.mjs), so the **ratios from the same run** are what to compare.
  F1 starts each round with an untimed run over its folder (renames in a folder untouched for ~30 s cost the first process about twice: bench/NOTES.md).
- Data: ${fmt(expectedEvents("W1"))} events, generated with a fixed seed (bench/gen.mjs): JSON lines of ~217 bytes
  (ts, user of 10,000, ip, action of 8 incl. "noop", bytes, duration, url) and the same events as CSV.
- events/s = events read ÷ processing time, measured inside each process from the source's cycle start to its end
  (interpreter start-up and imports excluded for every system). Peak RSS is the largest \`maxrss\` of the runs, each run in its own process.
- The old \`bspump==21.11\` package: ${old.replace(/\n/g, " ")}

`;

for (const w of WORKLOADS) {
  const S = summary[w.id];
  md += `## ${w.title}\n\n| system | events/s (median) | min – max | peak RSS | ÷ floor | ÷ original (shipped / idle 0) |\n| --- | ---: | ---: | ---: | ---: | ---: |\n`;
  const pump = S.pump;
  for (const s of w.systems) {
    const x = S[s.id];
    if (x.pending) md += `| ${x.label} | pending | | | | |\n`;
    else if (x.error) md += `| ${x.label} | failed | | | | |\n`;
    else {
      const vsOrig = s.ref === "orig" || s.ref === "orig0" || !S.orig ? "" : `${ratio(x.median, S.orig.median)} / ${ratio(x.median, S.orig0.median)}`;
      md += `| ${x.label} | ${fmt(x.median)} | ${fmt(x.min)} – ${fmt(x.max)} | ${mb(x.rss)} | ${s.ref === "floor" ? "" : ratio(x.median, S.floor.median)} | ${vsOrig} |\n`;
    }
  }
  md += "\n";
  if (pump.pending) md += `Pump: **pending** — ${pump.pending}.\n\n`;
  if (pump.error) md += `Pump failed: \`${pump.error}\`\n\n`;
  for (const s of w.systems) if (S[s.id].error && !s.pump) md += `${S[s.id].label} failed: \`${S[s.id].error}\`\n\n`;
  if (w.targets && pump.median && w.targets.orig === undefined) {
    // A workload measured against the floor only (no run of the original).
    const f = pump.median / S.floor.median;
    md += `Targets: pump ÷ floor **${f.toFixed(2)}×** (target ≥ ${w.targets.floor}×: ${f >= w.targets.floor ? "met" : "**missed**"})`;
    if (S["pump-if"]?.median) md += `; ContentFilter ÷ hand-written \`if\` in the pump **${(pump.median / S["pump-if"].median).toFixed(2)}×**`;
    md += `; pump peak RSS ${mb(pump.rss)}.\n\n`;
  } else if (w.targets && pump.median) {
    const f = pump.median / S.floor.median;
    const o = pump.median / S.orig.median;
    const o0 = pump.median / S.orig0.median;
    const rssOk = pump.rss <= 100 * 1024;
    md += `Targets: pump ÷ floor **${f.toFixed(2)}×** (target ≥ ${w.targets.floor}×: ${f >= w.targets.floor ? "met" : "**missed**"}); ` +
      `pump ÷ original **${o.toFixed(2)}×** as shipped, **${o0.toFixed(2)}×** with idle 0 (target ≥ ${w.targets.orig}×: ${o >= w.targets.orig ? "met" : "**missed**"} / ${o0 >= w.targets.orig ? "met" : "**missed**"}); ` +
      `pump peak RSS ${mb(pump.rss)} (target ≤ 100 MB: ${rssOk ? "met" : "**missed**"}).\n\n`;
  }
  // Same answers from every system?
  const outs = new Set(w.systems.flatMap((s) => S[s.id].outs));
  const checks = new Set(w.systems.flatMap((s) => S[s.id].checks));
  md += `Check: events reaching the sink ${[...outs].map(fmt).join(" / ")}${outs.size > 1 ? " — **systems disagree**" : " in every system"}`;
  if (checks.size) md += `; window totals ${[...checks].join(" / ")}${checks.size > 1 ? " — **systems disagree**" : " in every system"}`;
  md += ".\n\n";
}

md += `## Server workloads (Kafka, OpenSearch)

Run after the file workloads, only when their server answers on 127.0.0.1 (\`scripts/services/status\`);
\`BENCH_SERVERS=1 npm run bench\` starts them first (\`scripts/services/up kafka opensearch\`), \`BENCH_SERVERS=0\` skips them.
${active.length ? `Data: ${fmt(serverCtx[active[0].id]?.n)} events from the same generator and seed (\`${SDATA.replace(process.cwd() + "/", "")}/events.jsonl\`, ~217 bytes each); ` +
  `one fresh output topic, consumer group or index per run (unique names, deleted afterwards); the Kafka workloads read one input topic filled once; ${REPS} interleaved run${REPS > 1 ? "s" : ""} per system (${serverMinutes} min in all). ` +
  "events/s = events ÷ time from the first event (from Kafka: consumed; from the file: the file source's cycle start) until the server acknowledged the last one (K1-consume: until the sink counted it). " +
  "Every system uses the same settings where the components share them: Kafka producers `linger.ms = 5`, E1 `bulk_out_max_size = 1 MiB`, `loader_per_url = 4`; " +
  "otherwise defaults as shipped (Kafka: the pump's producer and the floors are idempotent with acks=all, the original's librdkafka producer uses its defaults, acks=all, not idempotent; " +
  "the floors' consumers commit nothing, the pump and the original commit offsets). " +
  "The servers run on the same 2 cores as the clients, so a client that uses less CPU leaves more to the server; the ratios are of wall-clock rates.\n\n" +
  "The original needs two harness settings to finish at all (bench/original_servers.py): its pipeline never becomes ready again after it was throttled " +
  "(\`Pipeline.inject()\` leaves every event in the error slot that \`_evaluate_ready()\` checks), so the Kafka workloads set the KafkaSink watermarks (and librdkafka's queue size) and E1 the connection's " +
  "\`output_queue_max_size\` above what a run reaches — it runs **without back-pressure** (hence its RSS in E1); and E1 starts the file source with a one-shot " +
  "PubSub message instead of \`RunOnceTrigger\`, whose application stop at the end of the file lost documents not yet uploaded (189,970 of 200,000 indexed in a trial)." : ""}

`;
for (const w of SERVER_WORKLOADS) {
  md += `### ${w.title}\n\n`;
  if (w.skipped) {
    md += `**${w.skipped}.**\n\n`;
    continue;
  }
  if (w.setupError) {
    md += `**${w.setupError}**\n\n`;
    continue;
  }
  const n = serverCtx[w.id].n;
  const S = {};
  for (const s of w.systems) {
    const rs = runs.get(`${w.id}/${s.id}`);
    const ok = rs.filter((r) => r.seconds && !r.error);
    const eps = ok.map((r) => n / r.seconds);
    S[s.id] = {
      label: s.label, error: rs.find((r) => r.error)?.error, unavailable: rs.some((r) => r.unavailable),
      median: eps.length ? median(eps) : null, min: eps.length ? Math.min(...eps) : null, max: eps.length ? Math.max(...eps) : null,
      rss: ok.length ? Math.max(...ok.map((r) => r.maxrss_kb)) : null, outs: [...new Set(ok.map((r) => r.out))],
    };
  }
  md += "| system | events/s (median) | min – max | peak RSS | ÷ floor | ÷ original |\n| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const s of w.systems) {
    const x = S[s.id];
    if (x.unavailable) md += `| ${x.label} | not available | | | | |\n`;
    else if (x.error) md += `| ${x.label} | failed | | | | |\n`;
    else md += `| ${x.label} | ${fmt(x.median)} | ${fmt(x.min)} – ${fmt(x.max)} | ${mb(x.rss)} | ${s.ref === "floor" ? "" : ratio(x.median, S.floor.median)} | ${s.ref === "orig" ? "" : ratio(x.median, S.orig.median)} |\n`;
  }
  md += "\n";
  for (const s of w.systems) if (S[s.id].error) md += `${S[s.id].label} ${S[s.id].unavailable ? "cannot run" : "failed"}: \`${S[s.id].error}\`\n\n`;
  const pump = S.pump;
  const t = w.targets;
  if (t && pump.median) {
    const verdict = (ok) => (ok ? "met" : "**missed**");
    const parts = [];
    for (const ref of ["floor", "orig"]) {
      if (t[ref] === undefined) continue;
      const x = S[ref].median ? pump.median / S[ref].median : null;
      const name = ref === "floor" ? "floor" : "original";
      parts.push(x === null ? `pump ÷ ${name} — (no ${name} result; target ≥ ${t[ref].toFixed(1)}×)` : `pump ÷ ${name} **${x.toFixed(2)}×** (≥ ${t[ref].toFixed(1)}×: ${verdict(x >= t[ref])})`);
    }
    if (t.rssMb) parts.push(`pump peak RSS ${mb(pump.rss)} (≤ ${t.rssMb} MB: ${verdict(pump.rss <= t.rssMb * 1024)})`);
    md += `Targets (issue ${t.issue}): ${parts.join("; ")}.\n\n`;
  }
  const what = w.check.what;
  const wrong = w.systems.filter((s) => S[s.id].outs.some((o) => o !== n));
  if (w.systems.some((s) => S[s.id].outs.length)) {
    md += wrong.length === 0
      ? `Check: ${what} ${fmt(n)} in every run.\n\n`
      : `Check: ${what} — **expected ${fmt(n)}**: ${wrong.map((s) => `${s.id} ${S[s.id].outs.map(fmt).join(" / ")}`).join("; ")}.\n\n`;
  }
}

md += `## Where the time goes in the pump (CPU profiles)\n\n`;
for (const [wl, profile] of Object.entries(profiles)) {
  md += `**${wl}**: \`node --cpu-prof bench/pump.mjs ${wl} … ${profile.variant}\` (one run, ${profile.totalMs.toFixed(0)} ms sampled including start-up; processing ${profile.seconds?.toFixed(2)} s). Top functions by self time (\`JSON.parse\` is inlined into its caller):\n\n| self % | self ms | function |\n| ---: | ---: | --- |\n`;
  for (const t of profile.top) md += `| ${t.pct.toFixed(1)} | ${t.ms.toFixed(0)} | \`${t.fn}\` |\n`;
  md += "\n";
}
if (!profiles.W1 && !ONLY) md += "The W1 profile run failed.\n\n";
if (micro.nsPerEvent) {
  md += "Cost of the core engine per event (bench/core-micro.mjs: 5,000,000 events in one process, best of 3; a string event and a `{filename}` context per event):\n\n| path | ns/event |\n| --- | ---: |\n";
  for (const [k, v] of Object.entries(micro.nsPerEvent)) md += `| ${k} | ${v.toFixed(1)} |\n`;
  md += "\n";
}
md += "NOTES\n";

const notesPath = "bench/NOTES.md";
if (existsSync(notesPath)) md = md.replace("NOTES\n", readFileSync(notesPath, "utf8"));
else md = md.replace("NOTES\n", "");
writeFileSync(opt.out, md);
process.stdout.write(`\nwrote ${opt.out} (${minutes} min)\n`);
