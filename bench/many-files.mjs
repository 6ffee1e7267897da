// Many small files: FileLineSource reading a folder of N files (one cycle, files_per_cycle = 0)
// against a plain loop (readdir, sort, read each file whole, split lines). The cost measured is per
// file: scan, open-file check, lock (rename), open, read, post-processing.
// Usage: node bench/many-files.mjs [files=2000] [lines per file=100]: makes the folder, runs each
// side three times (each in its own process) and prints the medians and the ratio. `npm run bench`
// runs the sides itself (workload F1): `make <dir> <files> <lines>`, `pump <dir>`, `floor <dir>`,
// `floor-locked <dir>` (the floor plus the lease, the lock rename and the rename back: for scale).
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [side, dir] = process.argv.slice(2);

if (side === "pump") {
  const core = await import("../dist/src/core/index.js");
  const file = await import("../dist/src/file/index.js");
  class CountingSink extends core.Sink {
    count = 0;
    process() {
      this.count++;
      return null;
    }
  }
  const app = new core.BSPumpApplication({ args: [], handleSignals: false });
  const pipeline = new core.Pipeline(app, "ManyFiles");
  const sink = new CountingSink(app, pipeline);
  const source = new file.FileLineSource(app, pipeline, { config: { path: join(dir, "*.txt"), post: "noop", files_per_cycle: 0 } });
  source.on(new core.RunOnceTrigger(app));
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  let t0 = 0;
  let t1 = 0;
  let cpu0 = null;
  let cpu = null;
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_begin!", () => {
    if (t0 === 0) [t0, cpu0] = [performance.now(), process.cpuUsage()];
  });
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => {
    t1 = performance.now();
    cpu = process.cpuUsage(cpu0);
  });
  await app.run();
  process.stdout.write(JSON.stringify({ system: "pump", files: source.filesDone, events: sink.count, out: sink.count, seconds: (t1 - t0) / 1000, cpu_seconds: cpuSeconds(cpu), maxrss_kb: process.resourceUsage().maxRSS }) + "\n");
} else if (side === "floor") {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let events = 0;
  const names = readdirSync(dir).filter((name) => name.endsWith(".txt")).sort();
  for (const name of names) {
    const text = readFileSync(join(dir, name), "utf8");
    for (let at = 0, nl; (nl = text.indexOf("\n", at)) !== -1; at = nl + 1) if (text.slice(at, nl).length >= 0) events++;
  }
  process.stdout.write(JSON.stringify({ system: "floor", files: names.length, events, out: events, seconds: (performance.now() - t0) / 1000, cpu_seconds: cpuSeconds(process.cpuUsage(cpu0)), maxrss_kb: process.resourceUsage().maxRSS }) + "\n");
} else if (side === "floor-locked") {
  // The floor plus the file operations the pump may not skip, as plain synchronous calls: the
  // open-file check (the native lease, when built), the rename to -locked, the read, the rename
  // back (post = noop). What the filesystem costs whoever does it: a diagnostic row for scale.
  const { createRequire } = await import("node:module");
  let lease = null;
  try {
    lease = createRequire(import.meta.url)("../dist/native/openlease.node");
  } catch {
    // not built: no check, as a plain loop would do
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let events = 0;
  const names = readdirSync(dir).filter((name) => name.endsWith(".txt")).sort();
  for (const name of names) {
    const path = join(dir, name);
    if (lease !== null && lease.heldOpen(path, false) !== 0) continue;
    renameSync(path, path + "-locked");
    const text = readFileSync(path + "-locked", "utf8");
    for (let at = 0, nl; (nl = text.indexOf("\n", at)) !== -1; at = nl + 1) if (text.slice(at, nl).length >= 0) events++;
    renameSync(path + "-locked", path);
  }
  process.stdout.write(JSON.stringify({ system: "floor-locked", files: names.length, events, out: events, seconds: (performance.now() - t0) / 1000, cpu_seconds: cpuSeconds(process.cpuUsage(cpu0)), maxrss_kb: process.resourceUsage().maxRSS }) + "\n");
} else if (side === "make") {
  makeFolder(dir, Number(process.argv[4]), Number(process.argv[5]));
} else {
  const files = Number(process.argv[2] ?? 2000);
  const lines = Number(process.argv[3] ?? 100);
  const folder = join(tmpdir(), `bspump-many-files-${process.pid}`);
  try {
    makeFolder(folder, files, lines);
    const run = (which) => JSON.parse(execFileSync(process.execPath, [new URL(import.meta.url).pathname, which, folder], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n").pop());
    const results = [];
    for (let rep = 0; rep < 3; rep++) results.push(run("pump"), run("floor"), run("floor-locked"));
    const median = (which) => results.filter((r) => r.system === which).map((r) => r.seconds).sort((a, b) => a - b)[1];
    for (const r of results) if (r.events !== files * lines) throw new Error(`${r.system} read ${r.events} lines, expected ${files * lines}`);
    const pump = median("pump");
    const floor = median("floor");
    const locked = median("floor-locked");
    process.stdout.write(JSON.stringify({ files, lines, pumpSeconds: pump, floorSeconds: floor, floorLockedSeconds: locked, pumpFilesPerSecond: Math.round(files / pump), ratio: +(floor / pump).toFixed(2), ratioLocked: +(locked / pump).toFixed(2) }) + "\n");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** User + system CPU time of the process (every thread: the thread pool's too), in seconds; on a busy machine steadier than wall-clock time. */
function cpuSeconds(usage) {
  return usage === null ? null : (usage.user + usage.system) / 1e6;
}

/** `files` files of `lines` JSON lines each (~80 bytes a line), in a new folder `dir`. */
function makeFolder(dir, files, lines) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const body = Array.from({ length: lines }, (_, i) => `{"line":${i},"text":"${"x".repeat(60)}"}`).join("\n") + "\n";
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${String(i).padStart(6, "0")}.txt`), body);
}
