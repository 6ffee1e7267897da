import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, Pipeline, type Application, type LogRecord, type ProcessorBase } from "../../src/core/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { SubProcessSource } from "../../src/subprocess/index.js";
import { CollectSink, Fn, sleep, testApp, until } from "../helpers/components.js";

/** A running app: SubProcessSource with `config` → CollectSink; `logs` collects warn and error records. */
function run(config: Record<string, string | number>, processors: (app: Application, p: Pipeline) => ProcessorBase[] = () => []): { app: Application; pipeline: Pipeline; source: SubProcessSource; sink: CollectSink; logs: LogRecord[]; running: Promise<number> } {
  const app = testApp();
  const logs: LogRecord[] = [];
  app.logs.writer = (r) => void (r.level === "warn" || r.level === "error" ? logs.push(r) : undefined);
  const pipeline = new Pipeline(app, "SP");
  const source = new SubProcessSource(app, pipeline, { config });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, ...processors(app, pipeline), sink);
  app.pumpService.addPipeline(pipeline);
  return { app, pipeline, source, sink, logs, running: app.run() };
}

/**
 * Whether a live (not zombie) process of group `pgid` exists. Killed orphans stay zombies until
 * PID 1 reaps them (seconds, in some containers): dead, so not counted.
 */
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
  }
  return false;
}

test("SubProcessSource: each stdout line is one Buffer event, empty lines included, in order; the child's group is gone after stop", async () => {
  const { app, source, sink, pipeline, running } = run({ command: "seq 1 20000; echo; echo last; exec sleep 60" });
  await until(() => sink.events.length === 20002, 10000, "every line");
  assert.ok(sink.events.every((e) => Buffer.isBuffer(e)));
  const text = sink.events.map((e) => (e as Buffer).toString());
  assert.deepEqual(text.slice(0, 20000), Array.from({ length: 20000 }, (_, i) => String(i + 1)));
  assert.deepEqual(text.slice(20000), ["", "last"]);
  const pid = source.pid!;
  assert.ok(groupAlive(pid));
  app.stop();
  assert.equal(await running, 0);
  await until(() => !groupAlive(pid), 500, "no orphan left");
  assert.equal(source.stats.starts, 1);
  assert.equal(pipeline.errors, 0);
});

test("SubProcessSource: tail -F on a file follows appends and a rotation; decode gives strings; tail is stopped with the app", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-subprocess-"));
  const file = join(dir, "app.log");
  writeFileSync(file, "old line\n");
  const { app, source, sink, running } = run({ command: `tail -n 0 -F ${file}`, decode: "utf-8" });
  await until(() => source.pid !== null, 5000, "tail started");
  await sleep(300); // tail opened the file
  for (let i = 0; i < 500; i++) appendFileSync(file, `a${i} ž\n`);
  await until(() => sink.events.length === 500, 10000, "the appended lines");
  renameSync(file, `${file}.1`);
  writeFileSync(file, "");
  await sleep(1200); // tail -F checks the name once a second
  for (let i = 0; i < 100; i++) appendFileSync(file, `b${i}\n`);
  await until(() => sink.events.length === 600, 10000, "the lines after the rotation");
  assert.deepEqual(sink.events, [...Array.from({ length: 500 }, (_, i) => `a${i} ž`), ...Array.from({ length: 100 }, (_, i) => `b${i}`)]);
  const pid = source.pid!;
  app.stop();
  assert.equal(await running, 0);
  await until(() => !groupAlive(pid), 500, "tail gone (signals are delivered asynchronously)");
});

test("SubProcessSource: a throttled pipeline stops reading the pipe, so the command blocks; nothing lost once released", async () => {
  const lines = 300000; // about 2 MB of output
  const hold = {};
  // Throttled from the first line on, as by a slow sink.
  const { app, pipeline, source, sink, running } = run({ command: `seq 1 ${lines}`, ok_restart_delay: 60 }, (app, p) => [
    new Fn(app, p, (event) => {
      if ((event as Buffer).toString() === "1") p.throttle(hold, true);
      return event;
    }),
  ]);
  await until(() => sink.events.length > 0, 5000, "the first line");
  await sleep(500);
  // seq would be done in ~50 ms; it is blocked on a full pipe instead.
  assert.ok(source.pid !== null && groupAlive(source.pid), "the command is still running (blocked)");
  assert.ok(source.stats.bytes < 512 * 1024, `read ${source.stats.bytes} bytes while throttled`);
  assert.ok(sink.events.length < 1000, `${sink.events.length} lines handed over while throttled`);
  pipeline.throttle(hold, false);
  await until(() => sink.events.length === lines, 20000, "every line after the release");
  assert.equal((sink.events[0] as Buffer).toString(), "1");
  assert.equal((sink.events[lines - 1] as Buffer).toString(), String(lines));
  let ordered = true;
  for (let i = 0; i < lines; i++) if (Number((sink.events[i] as Buffer).toString()) !== i + 1) ordered = false;
  assert.ok(ordered);
  app.stop();
  assert.equal(await running, 0);
});

test("SubProcessSource: a bad exit restarts with a growing delay; an ok code (ok_return_codes) restarts after ok_restart_delay", async () => {
  const { app, source, sink, logs, running } = run({ command: "echo run; exit 3", restart_delay: 0.1, max_restart_delay: 0.4 });
  await sleep(1400);
  // Delays 0.1, 0.2, 0.4, 0.4, …: about 5 runs in 1.4 s (not hundreds).
  const starts = source.stats.starts;
  assert.ok(starts >= 3 && starts <= 7, `${starts} starts`);
  assert.equal(sink.events.length, starts);
  const warnings = logs.filter((r) => /exited with code 3; starting it again in/.test(r.msg));
  assert.equal(warnings.length, source.stats.bad_exits);
  app.stop();
  assert.equal(await running, 0);

  const ok = run({ command: "echo run; exit 3", ok_return_codes: "0, 3", ok_restart_delay: 0.2, restart_delay: 10 });
  await sleep(700);
  assert.ok(ok.source.stats.starts >= 3 && ok.source.stats.starts <= 5, `${ok.source.stats.starts} starts`);
  assert.equal(ok.source.stats.bad_exits, 0);
  assert.equal(ok.logs.length, 0);
  ok.app.stop();
  assert.equal(await ok.running, 0);
});

test("SubProcessSource: a command that does not exist is a clear warning and a backoff, not a crash loop; stderr is logged, rate-limited", async () => {
  const { app, pipeline, source, logs, running } = run({ command: "no-such-command-bspump-test", restart_delay: 0.2, max_restart_delay: 10 });
  await sleep(1000);
  // 0.2 + 0.4 s of delay in 1 s: at most 3 attempts.
  assert.ok(source.stats.starts >= 2 && source.stats.starts <= 3, `${source.stats.starts} starts`);
  const exits = logs.filter((r) => r.msg.includes("exited with code 127 (command not found)"));
  assert.equal(exits.length, source.stats.bad_exits);
  assert.ok(logs.some((r) => /stderr \(pid \d+\): .*no-such-command-bspump-test.*not found/.test(r.msg)));
  assert.equal(pipeline.errors, 0);
  assert.ok(app.isRunning);
  app.stop();
  assert.equal(await running, 0);

  const chatty = run({ command: "for i in $(seq 1 500); do echo noise $i >&2; done; echo out; exec sleep 60" });
  await until(() => chatty.sink.events.length === 1, 5000, "the stdout line");
  await until(() => chatty.source.stats.bytes > 0 && chatty.pipeline.warnings >= 500, 5000, "every stderr line counted");
  const stderrLogged = chatty.logs.filter((r) => r.msg.startsWith("stderr"));
  assert.equal(stderrLogged.length, 10);
  chatty.app.stop();
  assert.equal(await chatty.running, 0);
  // The lines left out are summed up in one line when the output ends.
  assert.ok(chatty.logs.some((r) => r.msg === "490 more stderr lines not logged (at most 10 per 10 s)"));
});

test("SubProcessSource: a command that ignores SIGTERM is killed with SIGKILL after kill_timeout, with what it started", async () => {
  const { app, source, sink, running } = run({ command: "trap '' TERM; echo up; sleep 60 & sleep 60; wait", kill_timeout: 0.3 });
  await until(() => sink.events.length === 1, 5000, "the first line");
  const pid = source.pid!;
  const started = Date.now();
  app.stop();
  assert.equal(await running, 0);
  assert.ok(Date.now() - started >= 250, "waited for the grace period");
  await until(() => !groupAlive(pid), 500, "the shell and both sleeps gone (signals are delivered asynchronously)");
});

test("SubProcessSource: a line over line_len_limit is bad input (a warning), the lines around it arrive", async () => {
  const { app, pipeline, source, sink, running } = run({ command: "echo before; head -c 5000 /dev/zero | tr '\\\\0' x; echo; echo after; exec sleep 60", line_len_limit: 1000 });
  await until(() => sink.events.length === 2, 5000, "the short lines");
  assert.deepEqual(sink.events.map((e) => (e as Buffer).toString()), ["before", "after"]);
  assert.equal(source.stats.long_lines, 1);
  assert.ok(pipeline.warnings >= 1);
  assert.equal(pipeline.errors, 0);
  app.stop();
  assert.equal(await running, 0);
});

test("SubProcessSource: config checked at start (no command, a bad ok code), and registered for YAML pipelines", async () => {
  const app = testApp();
  const pipeline = new Pipeline(app, "C");
  assert.throws(() => new SubProcessSource(app, pipeline, { config: {} }), ConfigError);
  assert.throws(() => new SubProcessSource(app, pipeline, { config: { command: "true", ok_return_codes: "0,x" } }), /ok_return_codes/);

  const yamlApp = testApp();
  const yaml = `
pipelines:
  - id: Lines
    sources:
      - class: subprocess.SubProcessSource
        config: {command: "printf 'a\\\\nb\\\\n'; exec sleep 60", decode: utf-8}
    sink:
      class: common.NullSink
`;
  await new PumpBuilder("sp.yaml", yaml).constructPump(yamlApp);
  const built = yamlApp.pumpService.locatePipeline("Lines")!;
  const running = yamlApp.run();
  await until(() => built.eventOut === 2, 5000, "two lines through the YAML pipeline");
  yamlApp.stop();
  assert.equal(await running, 0);
});
