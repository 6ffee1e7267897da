import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { BSPumpApplication, Config } from "../../src/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";

// BSPump's own sample definitions, unchanged (see fixtures/bspump/etc/README.md for their origin).
const BSPUMP = join(import.meta.dirname, "fixtures/bspump");
const ETC = join(BSPUMP, "etc");
// The CLI from source: the sample's user module (TypeScript) imports the same classes from src/.
const CLI = join(import.meta.dirname, "../../src/cli/bspump.ts");

function quietApp(ini = ""): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "t.conf"), handleSignals: false });
  app.logs.writer = () => {};
  return app;
}

test("BSPump's etc/pipeline-builder-definition-test.json loads unchanged (connections, lookup, two pipelines, user module)", async () => {
  // What BSPump took from its defaults (a local Elasticsearch) or its site config comes from the INI.
  const app = quietApp("[connection:ESConnection]\nurl = http://127.0.0.1:9200\n[lookup:ESLookup]\nindex = teams\nkey = name\n");
  const builder = PumpBuilder.fromFile(join(ETC, "pipeline-builder-definition-test.json"));
  await builder.constructPump(app);
  const svc = app.pumpService;
  assert.deepEqual([...svc.connections.keys()], ["ESConnection", "AMQPConnection"]);
  assert.deepEqual([...svc.lookups.keys()], ["ESLookup"]);
  assert.deepEqual([...svc.pipelines.keys()], ["MyPipeline0", "MyPipeline1"]);
  const p1 = svc.locatePipeline("MyPipeline1")!;
  assert.deepEqual(
    p1.processors[0]!.map((p) => p.constructor.name),
    ["Processor10", "Processor11", "PPrintSink"],
  );
  assert.equal((p1.processors[0]![0] as unknown as { lookup: { id: string } }).lookup.id, "ESLookup", "args.lookup reached the user's construct()");
  assert.deepEqual(builder.notes, [], "empty pipeline args are no news");
});

test("BSPump's etc/pipeline-builder-definition-test1.json runs unchanged from BSPump's folder layout: CSV rows reach the sink", async () => {
  // `path: etc/test.csv` is relative to the working directory, as in BSPump.
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "run", "etc/pipeline-builder-definition-test1.json"], { cwd: BSPUMP, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const deadline = Date.now() + 20_000;
  while (!/bob/.test(stdout) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGTERM");
  assert.equal(await exited, 0, stderr);
  assert.match(stdout, /alice/);
  assert.match(stdout, /bob/);
  assert.equal(stdout.match(/!!!!!!/g)?.length, 2, "Processor00 from the user module saw both rows");
});

test("a pipeline's non-empty args are accepted with a note that they have no effect", async () => {
  const app = quietApp();
  const builder = new PumpBuilder("p.yaml", "pipelines:\n  - id: P\n    args: {foo: 1}\n    sources: [{class: random.RandomSource}]\n    sink: {class: common.NullSink}\n");
  await builder.constructPump(app);
  assert.deepEqual(builder.notes, ["p.yaml:3: pipeline 'P': 'args' has no effect (as in BSPump)"]);
  assert.ok(app.pumpService.locatePipeline("P"));
});

test("`bspump check` reports every error of a definition, each with its line, and exits 2", async () => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "bspump-check-"));
  const def = join(dir, "bad.yaml");
  writeFileSync(
    def,
    [
      "pipelines:",
      "  - id: P",
      "    sorces: []", // 3: misspelt key
      "  - id: Q",
      "    sources:",
      "      - class: random.RandomSorce", // 6: unknown class
      "      - class: random.RandomSource",
      "        config: {number: many}", // 8: bad value
      "      - class: random.RandomSource",
      "        id: R2",
      "        trigger: {class: PeriodicTrigger, args: {interval: -1}}", // 11: bad trigger argument
      "    sink: {class: common.NullSink}",
      "  - id: R",
      "    sources: [{class: random.RandomSource}]",
      "    sink: {class: common.NullSink}",
      "  - id: R", // 16: duplicate id
      "    sources: [{class: random.RandomSource}]",
      "    sink: {class: common.NullSink}",
      "",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [join(import.meta.dirname, "../../dist/src/cli/bspump.js"), "check", def], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 2);
  const lines = stderr.trim().split("\n");
  assert.deepEqual(
    lines.map((l) => /^bspump: configuration error: \S*bad\.yaml:(\d+): /.exec(l)?.[1]),
    ["3", "6", "8", "11", "16"],
    stderr,
  );
  assert.match(lines[0]!, /unknown key 'sorces'/);
  assert.match(lines[1]!, /unknown component 'random\.RandomSorce'/);
  assert.match(lines[2]!, /key 'number': expected an integer/);
  assert.match(lines[3]!, /trigger argument 'interval'/);
  assert.match(lines[4]!, /a pipeline 'R' is defined twice/);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
});

test("`bspump check` lists every bad key of one component too, INI and definition alike", async () => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "bspump-check-"));
  const def = join(dir, "p.yaml");
  writeFileSync(def, "pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSource\n        config: {number: many, numbr: 5}\n    sink: {class: common.NullSink}\n");
  const ini = join(dir, "p.conf");
  writeFileSync(ini, "[pipeline:P:RandomSource]\nfield = 7\nseed = x\nfeild = y\n");
  const child = spawn(process.execPath, [join(import.meta.dirname, "../../dist/src/cli/bspump.js"), "check", def, "-c", ini], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  assert.equal(await new Promise<number | null>((resolve) => child.on("exit", resolve)), 2);
  const where = stderr.trim().split("\n").map((l) => /(p\.(?:conf|yaml):\d+): /.exec(l)?.[1]);
  assert.deepEqual(where, ["p.conf:3", "p.conf:4", "p.yaml:5", "p.yaml:5"], stderr);
  assert.match(stderr, /key 'seed': expected an integer/);
  assert.match(stderr, /unknown key 'feild'/);
  assert.match(stderr, /key 'number': expected an integer/);
  assert.match(stderr, /unknown config key 'numbr'/);
});
