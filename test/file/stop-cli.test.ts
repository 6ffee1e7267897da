import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { withTempDir } from "./helpers.js";

/** The CLI as users run it (built by `npx tsc -p tsconfig.json`). */
const CLI = join(import.meta.dirname, "../../dist/src/cli/bspump.js");
const DIST = pathToFileURL(join(import.meta.dirname, "../../dist/src/index.js")).href;

/** A sparse file of `bytes` zero bytes: no newline anywhere, and no disk used. */
function sparse(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

function runCLI(args: string[]): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal === null ? null : -1))));
  return { child, exited, output: () => output };
}

/** The child's peak resident memory (VmHWM) in MB. */
function peakRssMB(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for `exited`, killing the child after `ms`; answers the exit code and how long it took. */
async function exitWithin(run: ReturnType<typeof runCLI>, ms: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const killer = setTimeout(() => run.child.kill("SIGKILL"), ms);
  try {
    const code = await run.exited;
    return { code, ms: Date.now() - started };
  } finally {
    clearTimeout(killer);
  }
}

test("the CLI on 64 GiB files with no newline (line, multi-line, JSON lines, CSV sources): SIGTERM stops it within seconds, exit 0, memory bounded, every file gets its name back", async () => {
  await withTempDir(async (dir) => {
    const GiB = 1024 * 1048576;
    const kinds = [
      { id: "Lines", cls: "file.FileLineSource", ext: "txt", config: "" },
      { id: "Multi", cls: "file.FileMultiLineSource", ext: "log", config: ", separator: '#'" },
      { id: "JSON", cls: "file.FileJSONSource", ext: "jsonl", config: ", format: lines" },
      { id: "CSV", cls: "file.FileCSVSource", ext: "csv", config: ", fieldnames: a" },
    ];
    let yaml = "pipelines:\n";
    for (const k of kinds) {
      mkdirSync(join(dir, k.id));
      sparse(join(dir, k.id, `huge.${k.ext}`), 64 * GiB);
      yaml += `  - id: ${k.id}
    sources:
      - class: ${k.cls}
        config: {path: ${JSON.stringify(join(dir, k.id, "*." + k.ext))}, max_line_length: 4194304${k.config}}
        trigger: {class: PubSubTrigger, args: {message_types: "Application.run!"}}
    sink: {class: common.NullSink}
`;
    }
    writeFileSync(join(dir, "app.yaml"), yaml);
    // A stop timeout far above the bound asserted: the sources must really stop, not be given up on.
    writeFileSync(join(dir, "app.conf"), "[general]\nstop_timeout = 60\n");
    const run = runCLI(["run", join(dir, "app.yaml"), "-c", join(dir, "app.conf")]);
    try {
      // Every source is inside its one endless line (the file is locked, the line already reported too long).
      await until(() => kinds.every((k) => readdirSync(join(dir, k.id)).some((f) => f.endsWith("-locked"))), 20_000, `every file locked: ${run.output()}`);
      await until(() => (run.output().match(/(line|row) longer than/g) ?? []).length >= kinds.length, 20_000, `a too-long report per source: ${run.output()}`);
      await new Promise((r) => setTimeout(r, 1000));
      const peak = peakRssMB(run.child.pid!);
      run.child.kill("SIGTERM");
      const { code, ms } = await exitWithin(run, 30_000);
      assert.equal(code, 0, run.output().slice(-2000));
      assert.ok(ms < 10_000, `exited ${ms} ms after SIGTERM`);
      console.log(`no newline, CLI: peak RSS ${peak.toFixed(0)} MB over 4 sources, exit ${ms} ms after SIGTERM`);
      // Four sources, each holding at most max_line_length (4 MiB) and its reads: not gigabytes.
      assert.ok(peak < 400, `peak RSS ${peak.toFixed(0)} MB`);
      for (const k of kinds) assert.deepEqual(readdirSync(join(dir, k.id)), [`huge.${k.ext}`], `${k.id}: the file is unlocked`);
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});

test("the CLI exits when run() gives up after stop_timeout, though a component is still running (exit 1)", async () => {
  await withTempDir(async (dir) => {
    // A source that never stops and keeps the event loop busy (as a read that ignores stop would).
    writeFileSync(
      join(dir, "stubborn.mjs"),
      `import { Source } from ${JSON.stringify(DIST)};
export class StubbornSource extends Source {
  async main() {
    for (;;) {
      const until = Date.now() + 5;
      while (Date.now() < until);
      await new Promise((r) => setImmediate(r));
    }
  }
}
`,
    );
    writeFileSync(
      join(dir, "app.yaml"),
      "pipelines:\n  - id: P\n    sources:\n      - module: ./stubborn.mjs\n        class: StubbornSource\n    sink: {class: common.NullSink}\n",
    );
    writeFileSync(join(dir, "app.conf"), "[general]\nstop_timeout = 1\n");
    const run = runCLI(["run", join(dir, "app.yaml"), "-c", join(dir, "app.conf")]);
    try {
      await until(() => run.output().includes("is ready"), 20_000, `the pump running: ${run.output()}`);
      run.child.kill("SIGTERM");
      const { code, ms } = await exitWithin(run, 15_000);
      assert.equal(code, 1, run.output().slice(-2000));
      assert.match(run.output(), /Graceful stop did not finish within 1 s/);
      assert.ok(ms < 5000, `exited ${ms} ms after SIGTERM (stop_timeout 1 s)`);
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
