// F1's file operations moved off the main thread, without the framework: does running the renames
// elsewhere beat doing them synchronously? (bench/NOTES.md, "F1: renames on the thread pool".)
// Usage: node bench/f1-offload.mjs <mode> <dir> [ahead=16] [post in flight=16], with <dir> made by
// `node bench/many-files.mjs make <dir> 2000 100`. WORK=<µs> adds that much busy work per file (the
// pump's framing and events cost ~60–80 µs a file), so there is something to overlap with.
// Modes, each: lease check, rename to -locked, open, read, close, rename back (post = noop):
//   sync        all on the main thread (bench/many-files.mjs floor-locked, plus open/close)
//   post-pool   lock synchronously; the rename back through the libuv pool, ≤ [post] in flight
//   ahead-pool  lock renames [ahead] files ahead and renames back, all through the pool (callbacks)
//   worker      lease, lock, open ahead and close, rename back on one worker thread (no pool wake-ups:
//               it runs through its queue; SharedArrayBuffer + Atomics to talk, fds shared)
import { closeSync, openSync, readdirSync, readSync, rename, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const [mode, dir, aheadArg = "16", postArg = "16"] = process.argv.slice(2);
const ahead = Number(aheadArg);
const postMax = Number(postArg);
const leasePath = createRequire(import.meta.url).resolve("../dist/native/openlease.node");
const lease = createRequire(import.meta.url)(leasePath);
const WORK_MS = Number(process.env.WORK ?? 0) / 1000;
const buffer = Buffer.allocUnsafe(65536);

/** Reads an open file, counts its lines, spends WORK_MS. */
function consume(fd) {
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  const text = buffer.toString("utf8", 0, n);
  let lines = 0;
  for (let at = 0, nl; (nl = text.indexOf("\n", at)) !== -1; at = nl + 1) if (text.slice(at, nl).length >= 0) lines++;
  for (const until = performance.now() + WORK_MS; performance.now() < until; );
  return lines;
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
let events = 0;
const paths = readdirSync(dir).filter((n) => n.endsWith(".txt")).sort().map((n) => join(dir, n));

if (mode === "sync") {
  for (const p of paths) {
    if (lease.heldOpen(p, false) !== 0) continue;
    renameSync(p, p + "-locked");
    const fd = openSync(p + "-locked", "r");
    events += consume(fd);
    closeSync(fd);
    renameSync(p + "-locked", p);
  }
} else if (mode === "post-pool" || mode === "ahead-pool") {
  await new Promise((done) => {
    const locks = [];
    let next = 0;
    let posting = 0;
    let waiting = null;
    const issue = () => {
      while (locks.length < ahead && next < paths.length) {
        const p = paths[next++];
        if (lease.heldOpen(p, false) !== 0) continue;
        const lock = { p, ok: mode === "post-pool" };
        locks.push(lock);
        if (mode === "post-pool") renameSync(p, p + "-locked");
        else rename(p, p + "-locked", () => {
          lock.ok = true;
          if (waiting === lock) step();
        });
      }
    };
    const step = () => {
      waiting = null;
      for (;;) {
        if (locks.length === 0) return posting === 0 ? done() : void (waiting = "end");
        if (posting >= postMax) return void (waiting = "post");
        const lock = locks[0];
        if (!lock.ok) return void (waiting = lock);
        locks.shift();
        const fd = openSync(lock.p + "-locked", "r");
        events += consume(fd);
        closeSync(fd);
        posting++;
        rename(lock.p + "-locked", lock.p, () => {
          posting--;
          if (waiting === "post" || (waiting === "end" && posting === 0)) step();
        });
        issue();
      }
    };
    issue();
    step();
  });
} else if (mode === "worker") {
  // ctl: [0] locks wanted up to, [1] releases queued, [2] no more, [3] change counter (the worker waits on it)
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const result = new Int32Array(new SharedArrayBuffer(4 * paths.length)); // 0 pending, fd + 1, or < 0 skipped
  const released = new Int32Array(new SharedArrayBuffer(4 * paths.length));
  const code = `
    const { workerData: { paths, ctl, result, released, leasePath } } = require("node:worker_threads");
    const { renameSync, openSync, closeSync } = require("node:fs");
    const lease = require(leasePath);
    let next = 0, done = 0;
    for (;;) {
      const seq = Atomics.load(ctl, 3);
      let busy = false;
      for (const upTo = Atomics.load(ctl, 1); done < upTo; done++, busy = true) {
        const i = released[done];
        closeSync(result[i] - 1);
        renameSync(paths[i] + "-locked", paths[i]);
      }
      if (next < paths.length && next < Atomics.load(ctl, 0)) {
        const p = paths[next];
        let r = -1;
        if (lease.heldOpen(p, false) === 0) { renameSync(p, p + "-locked"); r = openSync(p + "-locked", "r") + 1; }
        Atomics.store(result, next, r);
        Atomics.notify(result, next);
        next++;
        busy = true;
      }
      if (Atomics.load(ctl, 2) === 1 && done === Atomics.load(ctl, 1)) break;
      if (!busy) Atomics.wait(ctl, 3, seq);
    }`;
  const worker = new Worker(code, { eval: true, workerData: { paths, ctl, result, released, leasePath } });
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  const poke = () => {
    Atomics.add(ctl, 3, 1);
    Atomics.notify(ctl, 3);
  };
  let releases = 0;
  for (let i = 0; i < paths.length; i++) {
    Atomics.store(ctl, 0, i + ahead);
    poke();
    if (Atomics.load(result, i) === 0) {
      const wait = Atomics.waitAsync(result, i, 0);
      if (wait.async) await wait.value;
    }
    const r = Atomics.load(result, i);
    if (r <= 0) continue;
    events += consume(r - 1);
    released[releases++] = i;
    Atomics.store(ctl, 1, releases);
    poke();
  }
  Atomics.store(ctl, 2, 1);
  poke();
  await exited;
} else {
  throw new Error(`unknown mode ${mode}`);
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ mode, ahead, postMax, work_us: WORK_MS * 1000, events, seconds: (performance.now() - t0) / 1000, cpu_seconds: (cpu.user + cpu.system) / 1e6 }) + "\n");
