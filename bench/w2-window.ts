/**
 * Benchmark W2 "csv-window": 1,000,000 events, count and sum(bytes) per user (10,000 users) per
 * 60-second tumbling window of event time — TimeWindowAnalyzer in a pipeline against a plain Node
 * loop doing the same aggregation with a Map, in the same run. Checks that the results are
 * identical, prints events/s and the ratio, and the memory of a 10,000 × 60 TimeWindowMatrix.
 * The analyzer runs with both window result shapes, interleaved: `emit = columns` (the default:
 * arrays, one value per dimension) and `emit = window` (an object with a key per dimension).
 *
 *   node --expose-gc --import tsx bench/w2-window.ts [events] [users]
 *
 * Prints one JSON line at the end (`{"workload":"w2-csv-window",...}`) for the bench runner.
 */
import { BSPumpApplication, Config, Pipeline } from "../src/core/index.js";
import { NullSink } from "../src/common/index.js";
import { TimeWindowAnalyzer } from "../src/analyzer/index.js";
import { ArraySource, RESOLUTION, generate, plainLoop, type Ev, type Result } from "./w2-events.js";
import { TimeWindowMatrix } from "../src/matrix/index.js";

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const USERS = Number(process.argv[3] ?? 10_000);


/** `emit = columns` (the default: arrays, one value per user) or `window` (`dimensions` = {user: {count, sum, avg}}). */
type EmitMode = "window" | "columns";

async function framework(events: Ev[], emit: EmitMode): Promise<{ result: Result; seconds: number; analyzer: TimeWindowAnalyzer }> {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.logs.defaultLevel = "warn";
  const pipeline = new Pipeline(app, "W2Pipeline");
  const source = new ArraySource(app, pipeline);
  source.events = events;
  const emitted: Record<string, unknown>[] = [];
  const analyzer = new TimeWindowAnalyzer(app, pipeline, {
    id: "W2Window",
    config: { resolution: RESOLUTION, columns: 60, dimension_attr: "user", value_attr: "bytes", aggregations: "count,sum", lateness: 10, max_future: 3600, emit },
    sink: (ev) => emitted.push(ev),
  });
  pipeline.build(source, analyzer, new NullSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  let t0 = 0;
  let t1 = 0;
  source.done = () => app.stop();
  app.pubsub.subscribe("Application.run!", () => {
    t0 = performance.now();
  });
  await app.run();
  // The clock stops after the stop flushed the last window.
  t1 = performance.now();
  // Converted to the plain loop's shape after the clock stopped.
  const result: Result = new Map();
  for (const ev of emitted) {
    const users = new Map<string, { count: number; sum: number }>();
    if (emit === "columns") {
      const names = ev.dimensions as string[];
      const count = ev.count as number[];
      const sum = ev.sum as number[];
      for (let i = 0; i < names.length; i++) users.set(names[i]!, { count: count[i]!, sum: sum[i]! });
    } else {
      const dims = ev.dimensions as Record<string, { count: number; sum: number }>;
      for (const name in dims) users.set(name, { count: dims[name]!.count, sum: dims[name]!.sum });
    }
    result.set(ev.window_start as number, users);
  }
  return { result, seconds: (t1 - t0) / 1000, analyzer };
}

function same(a: Result, b: Result): string | null {
  if (a.size !== b.size) return `window count ${a.size} vs ${b.size}`;
  for (const [w, ua] of a) {
    const ub = b.get(w);
    if (!ub) return `window ${w} missing`;
    if (ua.size !== ub.size) return `window ${w}: ${ua.size} vs ${ub.size} users`;
    for (const [u, ca] of ua) {
      const cb = ub.get(u);
      if (!cb || cb.count !== ca.count || cb.sum !== ca.sum) return `window ${w} user ${u}: ${JSON.stringify(ca)} vs ${JSON.stringify(cb)}`;
    }
  }
  return null;
}

/** Memory of a 10,000-dimension × 60-column matrix with count, sum, min, max: its typed arrays, and the process's growth. */
function matrixMemory(): { arraysMB: number; processMB: number } {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  globalThis.gc?.();
  const before = process.memoryUsage();
  const m = new TimeWindowMatrix(app, { id: "Mem", dtype: [["count", "f8"], ["sum", "f8"], ["min", "f8"], ["max", "f8"]], config: { columns: 60 } });
  for (let i = 0; i < 10_000; i++) m.addRow(`user${i}`);
  globalThis.gc?.();
  const after = process.memoryUsage();
  if (m.openRows !== 10_000) throw new Error("matrix rows");
  // Per row besides the cells: the warm-up clock and lastActive (8 bytes each), the open flag (1).
  let arrays = m.capacity * (8 + 8 + 1);
  for (const f of m.fields) for (const col of m.numeric(f.name)) arrays += col.byteLength;
  return { arraysMB: arrays / 1e6, processMB: (after.rss - before.rss) / 1e6 };
}

const mem = matrixMemory();
const events = generate(EVENTS, USERS);
// Warm up both paths on a slice, then measure; best of 5 for each.
plainLoop(events.slice(0, 100_000));
let plainBest = Infinity;
let plain: Result = new Map();
// Each timed run starts after a full GC (with --expose-gc), so that a major GC left over from
// earlier runs (the heap holds the 1,000,000 events) does not land in one run by chance.
for (let i = 0; i < 5; i++) {
  globalThis.gc?.();
  const t0 = performance.now();
  plain = plainLoop(events);
  plainBest = Math.min(plainBest, (performance.now() - t0) / 1000);
}
const fw: { best: Record<EmitMode, number>; diff: Record<EmitMode, string | null>; lateCount: number } = {
  best: { window: Infinity, columns: Infinity },
  diff: { window: null, columns: null },
  lateCount: 0,
};
// Interleaved: window, columns, window, columns, …
for (let i = 0; i < 5; i++) {
  for (const mode of ["window", "columns"] as const) {
    globalThis.gc?.();
    const r = await framework(events, mode);
    fw.best[mode] = Math.min(fw.best[mode], r.seconds);
    fw.diff[mode] ??= same(plain, r.result);
    fw.lateCount = r.analyzer.late + r.analyzer.future;
  }
}
const plainEps = EVENTS / plainBest;
const colEps = EVENTS / fw.best.columns;
const winEps = EVENTS / fw.best.window;
const ok = (d: string | null) => (d === null ? "yes" : `NO: ${d}`);
console.log(`plain Map loop:                               ${Math.round(plainEps).toLocaleString()} events/s (${plainBest.toFixed(3)} s)`);
console.log(`TimeWindowAnalyzer, emit=columns (default):   ${Math.round(colEps).toLocaleString()} events/s (${fw.best.columns.toFixed(3)} s)`);
console.log(`TimeWindowAnalyzer, emit=window:              ${Math.round(winEps).toLocaleString()} events/s (${fw.best.window.toFixed(3)} s)`);
console.log(`ratio framework/plain: emit=columns ${(colEps / plainEps).toFixed(2)} (target >= 0.7), emit=window ${(winEps / plainEps).toFixed(2)}`);
console.log(`results identical:    columns ${ok(fw.diff.columns)}, window ${ok(fw.diff.window)} (${plain.size} windows; late/future ${fw.lateCount})`);
console.log(`matrix 10,000 x 60 (count,sum,min,max): typed arrays ${mem.arraysMB.toFixed(1)} MB, process RSS growth ${mem.processMB.toFixed(1)} MB (target < 50 MB)`);
const identical = fw.diff.window === null && fw.diff.columns === null;
console.log(
  JSON.stringify({
    workload: "w2-csv-window",
    events: EVENTS,
    users: USERS,
    plain_eps: Math.round(plainEps),
    framework_eps: Math.round(colEps),
    ratio: +(colEps / plainEps).toFixed(3),
    window_eps: Math.round(winEps),
    ratio_window: +(winEps / plainEps).toFixed(3),
    identical,
    matrix_mb: +mem.arraysMB.toFixed(1),
    matrix_rss_mb: +mem.processMB.toFixed(1),
  }),
);
if (!identical) process.exitCode = 1;
