import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BSPumpApplication, Config, ConfigError, Pipeline, runsInEveryWorker, workerSettings, type Source } from "../../src/index.js";
import { InternalSource, NullSink } from "../../src/common/index.js";
import { FileLineSource } from "../../src/file/index.js";
import { KafkaConnection, KafkaSource } from "../../src/kafka/index.js";
import { Analyzer } from "../../src/analyzer/index.js";
import { RandomSource } from "../../src/random/index.js";
import { childPids, CLI, countLines, scrape, startPump, until } from "./workers-helpers.js";

const DIST = pathToFileURL(join(import.meta.dirname, "../../dist/src/index.js")).href;

function configWith(text: string): Config {
  const dir = mkdtempSync(join(tmpdir(), "bspump-workers-"));
  writeFileSync(join(dir, "c.conf"), text);
  const config = new Config();
  config.loadFile(join(dir, "c.conf"));
  return config;
}

test("workers: bad counts are a ConfigError naming [bspump] workers; auto is the cores", () => {
  for (const bad of ["0", "lots", "-2", "1.5", "100000"]) {
    assert.throws(() => new BSPumpApplication({ args: [], config: configWith(`[bspump]\nworkers = ${bad}\n`), handleSignals: false }), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /c\.conf:2: \[bspump\] key 'workers'/);
      return true;
    });
  }
  assert.equal(workerSettings(configWith("[bspump]\nworkers = auto\n")).workers, availableParallelism());
  assert.equal(workerSettings(configWith("[bspump]\nworkers = 3\n")).workers, 3);
  assert.equal(workerSettings(new Config()).workers, 1);
  // The CLI flag sets the same key, checked the same way.
  assert.throws(() => new BSPumpApplication({ args: ["--workers", "lots"], handleSignals: false }), /\[bspump\] key 'workers'.*'lots'/);
  assert.equal(new BSPumpApplication({ args: ["--workers", "1"], handleSignals: false }).supervisor, null);
});

test("workers: which pipelines every worker runs, and which only worker 0", () => {
  const app = new BSPumpApplication({ args: [], handleSignals: false });
  const kafka = new KafkaConnection(app, "K", { config: { bootstrap_servers: "127.0.0.1:9" } });
  app.pumpService.addConnection(kafka);
  const build = (id: string, source: (p: Pipeline) => unknown, analyzer: boolean): Pipeline => {
    const p = new Pipeline(app, id);
    p.build(source(p) as Source, ...(analyzer ? [new Analyzer(app, p), new NullSink(app, p)] : [new NullSink(app, p)]));
    return p;
  };
  assert.equal(runsInEveryWorker(build("files", (p) => new FileLineSource(app, p, { config: { path: "/x/*" } }), false)), true);
  // An analyzer on shared (non-partitioned) input would see part of each key: worker 0 only.
  assert.equal(runsInEveryWorker(build("filesAnalyzed", (p) => new FileLineSource(app, p, { config: { path: "/x/*" } }), true)), false);
  // Kafka partitions decide the worker of a key: an analyzer there runs everywhere.
  assert.equal(runsInEveryWorker(build("kafkaAnalyzed", (p) => new KafkaSource(app, p, kafka, { config: { topic: "t" } }), true)), true);
  assert.equal(runsInEveryWorker(build("internal", (p) => new InternalSource(app, p), true)), true);
  // A source that cannot share (the default) runs once.
  assert.equal(runsInEveryWorker(build("random", (p) => new RandomSource(app, p), false)), false);
});

/** `n` files of `lines` lines each (`f<i>-<j>`), written aside and renamed into `dir` whole. */
function makeFiles(dir: string, n: number, lines: number): number {
  mkdirSync(dir + ".tmp", { recursive: true });
  for (let i = 0; i < n; i++) {
    let text = "";
    for (let j = 0; j < lines; j++) text += `f${i}-${j}\n`;
    const name = `f${String(i).padStart(4, "0")}.log`;
    writeFileSync(join(dir + ".tmp", name), text);
    renameSync(join(dir + ".tmp", name), join(dir, name));
  }
  return n * lines;
}

/** Waits until the supervisor reports every worker ready (the files come after: all three share them). */
async function allReady(url: string): Promise<void> {
  await until(async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { workers: { state: string }[] };
    return health.workers.every((w) => w.state === "ready");
  }, 200_000, "every worker ready");
}

/** A file pump: every file of `in/` to `out/w<worker>.txt`, files deleted once written. */
function filePump(dir: string, sinkKeys = ""): string[] {
  writeFileSync(
    join(dir, "pump.yaml"),
    `pipelines:
  - id: Files
    sources: [{class: file.FileLineSource, config: {path: "${dir}/in/*.log", post: delete, files_per_cycle: 0}, trigger: {class: PeriodicTrigger, args: {interval: 0.2}}}]
    sink: {class: file.FileLineSink}
  - id: Once
    sources: [{class: random.RandomSource, config: {number: 5}, trigger: {class: PeriodicTrigger, args: {interval: 0.5}}}]
    sink: {class: common.NullSink}
`,
  );
  writeFileSync(join(dir, "pump.conf"), `[pipeline:Files:FileLineSink]\npath = ${dir}/out/w\${BSPUMP_WORKER}.txt\n${sinkKeys}[bspump]\nworker_restart_delay = 0.2\n`);
  mkdirSync(join(dir, "out"), { recursive: true });
  mkdirSync(join(dir, "in"), { recursive: true });
  return [CLI, "run", join(dir, "pump.yaml"), "-c", join(dir, "pump.conf"), "--workers", "3", "-w", "127.0.0.1:0"];
}

test("workers: 500 files shared by 3 workers, every line exactly once; one web API; SIGTERM drains (exit 0)", { timeout: 400_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-workers-"));
  try {
    const pump = startPump(filePump(dir));
    const url = await pump.url();
    await allReady(url);
    const total = makeFiles(join(dir, "in"), 500, 40);
    await until(() => readdirSync(join(dir, "in")).length === 0 && countLines(join(dir, "out"), "w").size === total, 200_000, "every line written");
    let metrics = await scrape(url);
    await until(async () => (metrics = await scrape(url)).get('bspump_pipeline_event_out_total{pipeline="Files"}') === total, 30_000, "the metrics' total").catch((e: Error) => {
      throw new Error(`${e.message}: ${[...metrics].filter(([k]) => k.includes("event_out")).join(" ")}`);
    });
    const perWorker = [0, 1, 2].map((w) => metrics.get(`bspump_pipeline_event_in_total{pipeline="Files",worker="${w}"}`));
    assert.ok(perWorker.every((n) => n !== undefined), `a series per worker: ${perWorker.join(", ")}`);
    assert.equal(perWorker.reduce((a, b) => a! + b!, 0), total);
    // The single-instance pipeline (RandomSource) runs in worker 0 only.
    const once = metrics.get('bspump_pipeline_event_in_total{pipeline="Once"}')!;
    assert.ok(once >= 5 && once % 5 === 0, `Once: ${once}`);
    assert.equal(metrics.get('bspump_pipeline_event_in_total{pipeline="Once",worker="0"}'), once);
    assert.equal(metrics.get('bspump_pipeline_event_in_total{pipeline="Once",worker="1"}'), undefined);
    const pipelines = (await (await fetch(`${url}/bspump/v1/pipelines`)).json()) as Record<string, { Workers: Record<string, unknown>; Metrics: Record<string, number> }>;
    assert.deepEqual(Object.keys(pipelines.Files!.Workers).sort(), ["0", "1", "2"]);
    assert.deepEqual(Object.keys(pipelines.Once!.Workers), ["0"]);
    assert.equal(pipelines.Files!.Metrics["event.in"], total);
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; workers: { state: string }[] };
    assert.equal(health.status, "ok");
    assert.deepEqual(health.workers.map((w) => w.state), ["ready", "ready", "ready"]);

    pump.child.kill("SIGTERM");
    assert.equal(await pump.exited, 0, pump.output().slice(-3000));
    const lines = countLines(join(dir, "out"), "w");
    assert.equal(lines.size, total, "every line arrived");
    assert.deepEqual([...lines.values()].filter((n) => n !== 1), [], "no line twice");
    assert.deepEqual(readdirSync(join(dir, "in")), [], "every file taken and deleted");
    process.stdout.write(`# lines per worker: ${perWorker.join(" / ")}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workers: a worker SIGKILLed mid-run is restarted; every line arrives, duplicates only from its unsettled files", { timeout: 400_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-workers-"));
  try {
    const pump = startPump(filePump(dir, "buffer_size = 65536\n"));
    const url = await pump.url();
    await allReady(url);
    const total = makeFiles(join(dir, "in"), 120, 5000);
    // Kill a worker once it has written some lines: 1 or 2 preferably (0 also runs the
    // single-instance pipeline); which worker takes which files is a race.
    let victim = 0;
    let index = 0;
    await until(async () => {
      const health = (await (await fetch(`${url}/health`)).json()) as { workers: { worker: number; pid: number | null; state: string }[] };
      const m = await scrape(url);
      for (const i of [1, 2, 0]) {
        const w = health.workers[i]!;
        if (victim === 0 && w.state === "ready" && (m.get(`bspump_pipeline_event_in_total{pipeline="Files",worker="${i}"}`) ?? 0) > 20_000) [victim, index] = [w.pid!, i];
      }
      return victim !== 0;
    }, 120_000, "a worker busy");
    assert.ok(childPids(pump.child.pid!).includes(victim));
    process.kill(victim, "SIGKILL");
    const restarted = new RegExp(`Worker ${index} \\(pid \\d+\\) is ready[\\s\\S]*Worker ${index} \\(pid \\d+\\) is ready`);
    await until(() => restarted.test(pump.output()), 60_000, `worker ${index} restarted`);
    assert.match(pump.output(), new RegExp(`Worker ${index} \\(pid \\d+\\) died \\(signal SIGKILL\\); starting it again in 0\\.2 s`));
    await until(() => readdirSync(join(dir, "in")).length === 0, 120_000, "every file taken");
    await until(() => countLines(join(dir, "out"), "w").size === total, 60_000, "every line written");
    pump.child.kill("SIGTERM");
    assert.equal(await pump.exited, 0, pump.output().slice(-3000));

    const lines = countLines(join(dir, "out"), "w");
    assert.equal(lines.size, total, "every line arrived");
    const twice = [...lines].filter(([, n]) => n > 1);
    assert.ok(twice.every(([, n]) => n === 2), "no line more than twice");
    // Duplicates: the files the killed worker had locked and not settled, read again by its successor.
    const files = new Set(twice.map(([line]) => line.split("-")[0]));
    assert.ok(files.size <= 4, `duplicates from ${files.size} files`);
    assert.match(pump.output(), files.size > 0 ? /Recovered '.*', left locked by an earlier run/ : /./);
    process.stdout.write(`# duplicated lines after SIGKILL: ${twice.length} from ${files.size} file(s)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("workers: a worker that dies at start every time: backoff, a clear message, exit 1 after worker_start_tries", { timeout: 200_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-workers-"));
  try {
    // A program whose workers fail while starting (a service that throws: an unreachable database, say).
    writeFileSync(
      join(dir, "crash.mjs"),
      `import cluster from "node:cluster";
import { BSPumpApplication } from ${JSON.stringify(DIST)};
const app = new BSPumpApplication({ args: ["--workers", "2", "-c", ${JSON.stringify(join(dir, "c.conf"))}] });
app.addService("boom", { async initialize() { if (cluster.isWorker) throw new Error("cannot reach the database"); } });
process.exitCode = await app.run();
`,
    );
    writeFileSync(join(dir, "c.conf"), "[bspump]\nworker_restart_delay = 0.05\nworker_start_tries = 3\n");
    const started = Date.now();
    const pump = startPump([join(dir, "crash.mjs")]);
    assert.equal(await pump.exited, 1, pump.output().slice(-3000));
    const out = pump.output();
    assert.match(out, /cannot reach the database/);
    assert.match(out, /Worker \d died before it was ready 3 times in a row \(last: exit code 1\); giving up \(\[bspump\] worker_start_tries = 3\)/);
    // Backoff: 0.05 s, then 0.1 s; at most 3 starts per worker (2 workers), no fork bomb.
    assert.match(out, /starting it again in 0\.05 s/);
    assert.match(out, /starting it again in 0\.1 s/);
    assert.ok((out.match(/starting it again/g) ?? []).length <= 4, out);
    assert.ok(Date.now() - started < 180_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
