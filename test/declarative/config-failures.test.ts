import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, ConfigError, Pipeline } from "../../src/index.js";
import { UnitTestSink, UnitTestSource } from "../../src/unittest/index.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/bspump.js");
const dir = mkdtempSync(join(tmpdir(), "bspump-cfgfail-"));
const GOOD = join(dir, "good.yaml");
writeFileSync(GOOD, "pipelines:\n  - id: P\n    sources: [{class: file.FileLineSource, config: {path: /nonexistent/*.log}}]\n    sink: {class: common.NullSink}\n");

/**
 * Runs the CLI with a small heap (a failure must not need memory) and a time limit; answers the
 * exit code and stderr.
 */
function cli(args: string[], seconds = 20): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--max-old-space-size=256", CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    }),
  );
}

/** One `bspump: configuration error: <where>: …` line, exit 2, no stack trace. */
function oneError(r: { code: number | null; stderr: string }, where: RegExp, what: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^bspump: configuration error: /);
  assert.match(lines[0]!, where);
  assert.match(lines[0]!, what);
}

function conf(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("values check rejects at once, with file:line, for check and run: stop_timeout = abc, read_size = -5 / 0, a huge read_ahead", async () => {
  for (const command of ["check", "run"]) {
    oneError(await cli([command, GOOD, "-c", conf("t.conf", "[general]\nstop_timeout = abc\n")]), /t\.conf:2: \[general\] key 'stop_timeout'/, /expected a number/);
  }
  oneError(await cli(["check", GOOD, "-c", conf("t0.conf", "[general]\nstop_timeout = 0\n")]), /t0\.conf:2: /, /from 0\.001 to 86400/);
  oneError(await cli(["check", GOOD, "-c", conf("rs.conf", "[pipeline:P:FileLineSource]\nread_size = -5\n")]), /rs\.conf:2: \[pipeline:P:FileLineSource\] key 'read_size'/, /from 1 to/);
  oneError(await cli(["check", GOOD, "-c", conf("rs0.conf", "[pipeline:P:FileLineSource]\n\nread_size = 0\n")]), /rs0\.conf:3: /, /read_size/);
  oneError(await cli(["check", GOOD, "-c", conf("ra.conf", "[pipeline:P:FileLineSource]\nread_ahead = 100000000000000000000\n")]), /ra\.conf:2: /, /read_ahead': expected an integer/);
  oneError(await cli(["check", GOOD, "-c", conf("ra2.conf", "[pipeline:P:FileLineSource]\nread_ahead = 1e20\n")]), /ra2\.conf:2: /, /expected an integer/);
  oneError(await cli(["check", GOOD, "-c", conf("mi.conf", "[metrics]\ninterval = often\n")]), /mi\.conf:2: \[metrics\] key 'interval'/, /expected a number/);
  oneError(await cli(["check", GOOD, "-c", conf("web.conf", "[web]\nlisten = 127.0.0.1:0\nmax_body = lots\n")]), /web\.conf:3: \[web\] key 'max_body'/, /expected an integer/);
});

test("a 50-million-digit chillout is one error, in bounded time and heap (256 MB)", async () => {
  const path = join(dir, "chill.conf");
  const out = createWriteStream(path);
  out.write("[pipeline:P]\nchillout = ");
  const block = "9".repeat(1_000_000);
  for (let i = 0; i < 50; i++) out.write(block);
  out.write("\n");
  await new Promise<void>((r) => out.end(() => r()));
  const r = await cli(["check", GOOD, "-c", path], 30);
  assert.equal(r.code, 2, r.stderr.slice(0, 500));
  assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
  assert.match(r.stderr, /chill\.conf:2: \[pipeline:P\] key 'chillout'/);
  assert.ok(r.stderr.length < 200_000, "the message does not echo 50 MB back"); // JSON.stringify of the value would
});

test("[pipeline:Q] for a pipeline that does not exist: check and run refuse with file:line; an app refuses to run()", async () => {
  oneError(await cli(["check", GOOD, "-c", conf("q.conf", "[general]\nstop_timeout = 5\n\n[pipeline:Q]\nchillout = 5\n")]), /q\.conf:4: \[pipeline:Q\]/, /pipeline 'Q', which does not exist \(pipelines: P\)/);
  oneError(await cli(["run", GOOD, "-c", conf("q2.conf", "[pipeline:Q:FileLineSource]\npath = /x\n")]), /q2\.conf:1: /, /does not exist/);
  const app = new BSPumpApplication({ args: [], config: Config.fromString("[pipeline:Typo]\nchillout = 5\n", "app.conf"), handleSignals: false });
  const p = new Pipeline(app, "Real");
  p.build(new UnitTestSource(app, p), new UnitTestSink(app, p));
  app.pumpService.addPipeline(p);
  await assert.rejects(app.run(), (e: Error) => e instanceof ConfigError && /^app\.conf:1: \[pipeline:Typo\]/.test(e.message));
});

test("an include cycle, a missing or directory config, a missing or directory definition: one file:line message, exit 2", async () => {
  const self = conf("self.conf", "[general]\ninclude = self.conf\n");
  oneError(await cli(["check", GOOD, "-c", self]), /self\.conf:2: \[general\] include: /, /includes itself/);
  conf("b.conf", "[web]\n\n[general]\ninclude = a.conf\n");
  const a = conf("a.conf", "[general]\ninclude = b.conf\n");
  oneError(await cli(["check", GOOD, "-c", a]), /b\.conf:4: \[general\] include: /, /includes itself/);
  oneError(await cli(["check", GOOD, "-c", conf("inc.conf", "[general]\ninclude = nope.conf\n")]), /inc\.conf:2: \[general\] include: /, /Cannot read config file/);
  oneError(await cli(["check", GOOD, "-c", join(dir, "missing.conf")]), /missing\.conf/, /Cannot read config file/);
  mkdirSync(join(dir, "folder.yaml"));
  oneError(await cli(["check", join(dir, "folder.yaml")]), /folder\.yaml: /, /is a directory/);
  oneError(await cli(["run", join(dir, "nope.yaml")]), /nope\.yaml: /, /no such file/);
  oneError(await cli(["check", conf("bad.yaml", "pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSource\n        trigger: {class: PubSubTrigger, args: {message_types: [1]}}\n    sink: {class: common.NullSink}\n")]), /bad\.yaml:5: /, /trigger argument 'message_types'/);
});

test("duplicate pipeline ids, bad trigger arguments, [logging] values, keys that do not fit together, out-of-range file keys: one file:line message each, for check and run", async () => {
  const dup = conf("dup.yaml", "pipelines:\n  - id: P\n    sources: [{class: random.RandomSource}]\n    sink: {class: common.NullSink}\n  - id: P\n    sources: [{class: random.RandomSource}]\n    sink: {class: common.NullSink}\n");
  for (const command of ["check", "run"]) oneError(await cli([command, dup]), /dup\.yaml:5: /, /pipeline 'P' is defined twice/);
  const trig = conf("trig.yaml", "pipelines:\n  - id: P\n    sources:\n      - class: random.RandomSource\n        trigger: {class: PeriodicTrigger, args: {interval: -1}}\n    sink: {class: common.NullSink}\n");
  for (const command of ["check", "run"]) oneError(await cli([command, trig]), /trig\.yaml:5: /, /trigger argument 'interval'/);
  // [logging] keys are declared (choices), not checked by hand: the message names file and line.
  for (const command of ["check", "run"]) oneError(await cli([command, GOOD, "-c", conf("lv.conf", "[logging]\nlevel = loud\n")]), /lv\.conf:2: \[logging\] key 'level'/, /'debug', 'info', 'warn', 'error'/);
  oneError(await cli(["check", GOOD, "-c", conf("lf.conf", "[logging]\n\nformat = xml\n")]), /lf\.conf:3: \[logging\] key 'format'/, /'json', 'human'/);
  oneError(await cli(["check", GOOD, "-c", conf("ls.conf", "[logging]\nlevels = bspump.x\n")]), /ls\.conf:2: \[logging\] key 'levels'/, /logger\.name = level/);
  // A CSV dialect no parser can read, set in an INI file: its line there, not the definition's.
  const csv = conf("csv.yaml", "pipelines:\n  - id: P\n    sources: [{class: file.FileCSVSource, config: {path: /nonexistent/*.csv}}]\n    sink: {class: common.NullSink}\n");
  for (const command of ["check", "run"]) oneError(await cli([command, csv, "-c", conf("dl.conf", "[pipeline:P:FileCSVSource]\n\ndelimiter = ab\n")]), /dl\.conf:3: \[pipeline:P:FileCSVSource\] key 'delimiter'/, /one ASCII character/);
  oneError(await cli(["check", csv, "-c", conf("qt.conf", "[pipeline:P:FileCSVSource]\nquoting = 7\n")]), /qt\.conf:2: .*key 'quoting'/, /from 0 to 3/);
  const bounds: [string, string, RegExp][] = [
    ["max_line_length", "0", /from 1 to 1073741824/],
    ["files_per_cycle", "-1", />= 0/],
    ["event_idle_time", "-1", />= 0/],
    ["follow_symlinks", "maybe", /boolean/],
  ];
  for (const [key, value, what] of bounds) {
    oneError(await cli(["check", GOOD, "-c", conf(`${key}.conf`, `[pipeline:P:FileLineSource]\n${key} = ${value}\n`)]), new RegExp(`^bspump: configuration error: \\S*/${key}\\.conf:2: \\[pipeline:P:FileLineSource\\] key '${key}': `), what);
  }
  const sink = conf("sink.yaml", "pipelines:\n  - id: P\n    sources: [{class: random.RandomSource}]\n    sink: {class: file.FileLineSink, config: {path: /tmp/never-written.log}}\n");
  oneError(await cli(["check", sink, "-c", conf("bs.conf", "[pipeline:P:FileLineSink]\nbuffer_size = 0\n")]), /bs\.conf:2: .*key 'buffer_size'/, />= 1/);
  oneError(await cli(["run", sink, "-c", conf("fp.conf", "[pipeline:P:FileLineSink]\nflush_period = -1\n")]), /fp\.conf:2: .*key 'flush_period'/, />= 0/);
  const random = conf("random.yaml", "pipelines:\n  - id: P\n    sources: [{class: random.RandomSource}]\n    processors: [{class: random.RandomDrop}]\n    sink: {class: common.NullSink}\n");
  oneError(await cli(["check", random, "-c", conf("rn.conf", "[pipeline:P:RandomSource]\nnumber = -4\n")]), /rn\.conf:2: \[pipeline:P:RandomSource\] key 'number'/, />= 0/);
  oneError(await cli(["check", random, "-c", conf("rd.conf", "[pipeline:P:RandomDrop]\nthreshold = 2\n")]), /rd\.conf:2: \[pipeline:P:RandomDrop\] key 'threshold'/, /from 0 to 1/);
  oneError(await cli(["check", GOOD, "-c", conf("acl.conf", "[pipeline:P]\nasync_concurency_limit = 0\n")]), /acl\.conf:2: \[pipeline:P\] key 'async_concurency_limit'/, />= 1/);
});
