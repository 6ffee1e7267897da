import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes, formatDuration, formatProgress, ProgressLine } from "../../src/cli/progress.js";

// The progress line of finite runs: its format, its drawing on a terminal (and nothing elsewhere),
// and `bspump run` over a file on a RunOnceTrigger in a pseudo-terminal made by script(1) and
// through a pipe.

const CLI = fileURLToPath(new URL("../../dist/src/cli/bspump.js", import.meta.url));

/** A stand-in terminal: what is written, and whether it claims to be a TTY. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, columns: 200, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test("formatProgress: bytes of total, percent, events/s and the ETA from the rate", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(3 * 1024 * 1024), "3.00 MiB");
  assert.equal(formatDuration(75), "1:15");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(
    formatProgress("Ingest", "bytes", { done: 10 * 1024 * 1024, total: 40 * 1024 * 1024, events: 5 }, 1024 * 1024, 52300.4),
    "Ingest  10.0 MiB / 40.0 MiB  25%  52,300 events/s  ETA 0:30",
  );
  assert.equal(formatProgress("delete", "indices", { done: 3, total: 12 }, 1.5, null), "delete  3 / 12 indices  25%  ETA 0:06");
  assert.match(formatProgress("x", "bytes", { done: 0, total: 100 }, 0, null), /ETA –$/, "no rate yet: no ETA");
  assert.match(formatProgress("x", "items", { done: 5, total: 5 }, 0, null), /100%  ETA 0:00$/);
});

test("ProgressLine on a terminal: redraws in place at most once per interval, erases itself, output goes above it", () => {
  let now = 0;
  const { stream, written } = fakeStream(true);
  const line = new ProgressLine("load", { stream, unit: "objects", intervalMs: 200, now: () => now });
  line.update({ done: 0, total: 100 });
  now = 100;
  line.update({ done: 10, total: 100 }); // within the interval: not drawn
  now = 1000;
  line.update({ done: 50, total: 100 });
  assert.equal(written.length, 2);
  assert.equal(written[0], "\rload  0 / 100 objects  0%  ETA –\x1b[K");
  // 50 objects in 1 s: 50 left at 50/s.
  assert.equal(written[1], "\rload  50 / 100 objects  50%  ETA 0:01\x1b[K");
  const printed: string[] = [];
  line.print(() => printed.push("a log line"));
  assert.deepEqual(printed, ["a log line"]);
  assert.deepEqual(written.slice(2), ["\r\x1b[K", "\rload  50 / 100 objects  50%  ETA 0:01\x1b[K"], "erased, the other output, then drawn again");
  line.finish();
  assert.equal(written.at(-1), "\r\x1b[K");
});

test("ProgressLine not on a terminal writes nothing", () => {
  const { stream, written } = fakeStream(false);
  const line = new ProgressLine("load", { stream, unit: "bytes" });
  line.poll(() => ({ done: 1, total: 2 }));
  line.update({ done: 1, total: 2 }, true);
  let printed = 0;
  line.print(() => printed++);
  line.finish();
  assert.equal(line.active, false);
  assert.deepEqual(written, []);
  assert.equal(printed, 1, "other output still goes out");
});

/** A definition reading one file of `lines` lines, once, through a slow-ish processor into a JSON file. */
function finiteRun(lines: number): { def: string; input: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "bspump-progress-"));
  const input = join(dir, "in.log");
  const out = join(dir, "out.jsonl");
  writeFileSync(input, Array.from({ length: lines }, (_, i) => `line ${i} ${"x".repeat(80)}`).join("\n") + "\n");
  const def = join(dir, "pump.yaml");
  writeFileSync(
    def,
    `pipelines:
  - id: Ingest
    sources:
      - class: file.FileLineSource
        config: {path: ${JSON.stringify(input)}, post: noop, read_size: 65536}
        trigger: {class: RunOnceTrigger}
    processors:
      - class: common.FlattenDictProcessor
    sink:
      class: file.FileJSONSink
      config: {path: ${JSON.stringify(out)}}
`,
  );
  return { def, input, out };
}

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`timed out:\n${stdout}\n${stderr}`))), 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("exit", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

test("bspump run over a file on a RunOnceTrigger: a progress line in a terminal, none through a pipe", async () => {
  const LINES = 400_000;
  const tty = finiteRun(LINES);
  // script(1) gives the command a terminal; what it drew comes back on script's stdout.
  const inTerminal = await run("script", ["-qfec", `node ${CLI} run ${tty.def}`, "/dev/null"]);
  assert.equal(inTerminal.code, 0, inTerminal.stdout + inTerminal.stderr);
  const screen = inTerminal.stdout;
  const progress = [...screen.matchAll(/\rIngest {2}([0-9.]+ [KMG]?i?B) \/ ([0-9.]+ [KMG]?i?B) {2}(\d+)% {2}([0-9,]+) events\/s {2}ETA ([0-9:–]+)\x1b\[K/g)];
  assert.ok(progress.length >= 1, `a progress line was drawn:\n${JSON.stringify(screen.slice(0, 3000))}`);
  assert.match(progress[0]![2]!, /MiB$/, "the total is the file's size");
  assert.match(screen, /Ingest: [0-9.]+ MiB read, 400,000 events in [0-9.]+ s/, "a summary line at the end");

  const piped = finiteRun(LINES / 10);
  const plain = await run("node", [CLI, "run", piped.def]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(/ETA|\r|\x1b\[K|events\/s/.test(plain.stderr), false, `nothing of the progress line on a pipe:\n${plain.stderr}`);
});
