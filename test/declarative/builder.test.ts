import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BSPumpApplication, Config, ConfigError } from "../../src/index.js";
import { componentsMarkdown, PumpBuilder } from "../../src/declarative/index.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../dist/src/cli/bspump.js");

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "bspump-decl-"));
}

function quietApp(ini = ""): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: Config.fromString(ini, "t.conf"), handleSignals: false });
  app.logs.defaultLevel = "error";
  return app;
}

test("a YAML definition builds and runs a pump: source with trigger, processors, sink", async () => {
  const dir = tmp();
  const out = join(dir, "out.jsonl");
  const yaml = `
pipelines:
  - id: Numbers
    sources:
      - class: random.RandomSource
        config: {field: value, number: 250, seed: 7, event_idle_time: 0}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    processors:
      - module: bspump.common
        class: FlattenDictProcessor
    sink:
      class: file.FileJSONSink
      config: {path: ${JSON.stringify(out)}, flush_period: 0}
`;
  const app = quietApp();
  await new PumpBuilder(join(dir, "app.yaml"), yaml).constructPump(app);
  const pipeline = app.pumpService.locatePipeline("Numbers")!;
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  assert.equal(await app.run(), 0);
  const lines = readFileSync(out, "utf8").trim().split("\n");
  assert.equal(lines.length, 250);
  assert.ok(lines.every((l) => Number.isInteger((JSON.parse(l) as { value: number }).value)));
  assert.equal(pipeline.eventOut, 250);
});

test("definition errors name the file and line, with what is allowed", async () => {
  const build = async (yaml: string) => new PumpBuilder("bad.yaml", yaml).constructPump(quietApp());
  await assert.rejects(build("pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSorce\n    sink: {class: common.NullSink}\n"), (e: Error) => e instanceof ConfigError && /^bad\.yaml:4: unknown component 'random\.RandomSorce'; did you mean random\.RandomSource/.test(e.message));
  await assert.rejects(build("pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSource\n        config:\n          numbr: 5\n    sink: {class: common.NullSink}\n"), /bad\.yaml:6: unknown config key 'numbr' for RandomSource \[pipeline:P:RandomSource\]; allowed keys: field, number/);
  await assert.rejects(build("pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSource\n        config: {number: many}\n    sink: {class: common.NullSink}\n"), /bad\.yaml:5: \[pipeline:P:RandomSource\] key 'number': expected an integer, got "many"/);
  await assert.rejects(build("pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSource\n"), /bad\.yaml:2: pipeline 'P' needs a 'sink'/);
  await assert.rejects(build("pipelines:\n  - id: P\n    sorces: []\n"), /bad\.yaml:3: unknown key 'sorces' in pipelines\.0; allowed: id, config, sources, processors, sink/);
  await assert.rejects(build("pipelines:\n  - id: P\n    sources:\n      - class: common.NullSink\n    sink: {class: common.NullSink}\n"), /bad\.yaml:4: 'common\.NullSink' is not a source/);
  await assert.rejects(build("pipelines: [\n"), /ConfigError: bad\.yaml:\d+: /);
});

test("the CLI: `check` validates, a bad definition or config is one clear message and a non-zero exit", async () => {
  const dir = tmp();
  const good = join(dir, "good.yaml");
  writeFileSync(good, "pipelines:\n  - id: P\n    sources: [{class: random.RandomSource}]\n    sink: {class: common.NullSink}\n");
  const ok = await run(process.execPath, [CLI, "check", good]);
  assert.match(ok.stdout, /good\.yaml: OK \(1 pipelines: P\)/);

  const badConf = join(dir, "bad.conf");
  writeFileSync(badConf, "[pipeline:P:RandomSource]\nnumber = lots\n");
  const failed = await run(process.execPath, [CLI, "check", good, "-c", badConf]).then(
    () => assert.fail("expected a failure"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(failed.code, 2);
  assert.equal(failed.stderr.trim().split("\n").length, 1, failed.stderr);
  assert.match(failed.stderr, /bad\.conf:2: \[pipeline:P:RandomSource\] key 'number': expected an integer/);

  const missing = await run(process.execPath, [CLI, "run", join(dir, "nope.yaml")]).then(
    () => assert.fail("expected a failure"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.notEqual(missing.code, 0);
});

test("the CLI runs a pump and stops gracefully on SIGTERM with exit 0, losing nothing", async () => {
  const dir = tmp();
  const out = join(dir, "out.jsonl");
  const def = join(dir, "app.yaml");
  writeFileSync(
    def,
    `pipelines:
  - id: P
    sources:
      - class: random.RandomSource
        config: {field: n, number: 100, event_idle_time: 0}
        trigger: {class: PeriodicTrigger, args: {interval: 0.05}}
    sink:
      class: file.FileJSONSink
      config: {path: ${JSON.stringify(out)}, flush_period: 0, buffer_size: 100000000}
`,
  );
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [CLI, "run", def, "-w", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // SIGTERM once a whole cycle went in (read over the web API), however slow the machine is.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /Web API listening on (http:\/\/[0-9.:]+)/.exec(stderr)?.[1];
    const eventIn = url ? await fetch(`${url}/bspump/v1/pipelines/P`).then((r) => r.json() as Promise<{ Metrics: Record<string, number> }>).then((p) => p.Metrics["event.in"]!, () => 0) : 0;
    if (eventIn >= 100) break;
    assert.ok(Date.now() < deadline, `the pump did not process a cycle in 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
  const lines = readFileSync(out, "utf8").trim().split("\n");
  // Whole cycles only: the buffered sink flushed everything it accepted before exiting.
  assert.ok(lines.length >= 100, `wrote ${lines.length}`);
  const metrics = stderr.match(/"msg":"Stopping"/);
  assert.ok(metrics, "the app logged its graceful stop");
});

test("docs/components.md is generated from the components' ConfigDefaults and up to date", () => {
  const committed = readFileSync(join(import.meta.dirname, "../../docs/components.md"), "utf8");
  assert.equal(committed, componentsMarkdown(), "run: node dist/src/cli/bspump.js components --markdown docs/components.md");
});
