import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Pipeline, type ConfigInput } from "../../src/core/index.js";
import { DropToZeroDetector, SessionAnalyzer, TimeWindowAnalyzer, type WindowDetector } from "../../src/analyzer/index.js";
import { TimeWindowMatrix } from "../../src/matrix/index.js";

type R = Record<string, unknown>;
type Dims = Record<string, { count: number; sum: number }>;

function setup(config: ConfigInput, options: { matrixConfig?: ConfigInput; detectors?: WindowDetector[] } = {}) {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.clock = () => 0;
  const pipeline = new Pipeline(app, "P");
  const results: R[] = [];
  const matrix = new TimeWindowMatrix(app, {
    id: "TWMatrix",
    dtype: [["count", "f8"], ["sum", "f8"]],
    startTime: 0,
    config: { resolution: 60, columns: 5, ...options.matrixConfig },
  });
  const a = new TimeWindowAnalyzer(app, pipeline, {
    id: "TW",
    matrix,
    detectors: options.detectors,
    config: { dimension_attr: "user", value_attr: "bytes", aggregations: "count,sum", emit: "window", ...config },
    sink: (e) => results.push(e),
  });
  const feed = (ts: number, user: string, bytes: number) => assert.ok(a.process({}, { "@timestamp": ts, user, bytes }));
  return { app, a, m: matrix, results, feed };
}

/** The emitted windows as window_start → dimensions, with avg dropped (count and sum are what the tests compute). */
function byWindow(results: R[]): Map<number, Dims> {
  const out = new Map<number, Dims>();
  for (const r of results) {
    const dims: Dims = {};
    for (const [name, v] of Object.entries(r.dimensions as Record<string, { count: number; sum: number }>)) dims[name] = { count: v.count, sum: v.sum };
    assert.ok(!out.has(r.window_start as number), "each window is emitted once");
    out.set(r.window_start as number, dims);
  }
  return out;
}

test("always-new dimensions: rows stay bounded, every window's result is exact, idle rows are closed and reused", () => {
  // 200 windows of 60 s; in window w, 40 dimensions that never come back (`w<w>-<i>`), each with
  // i + 1 events of (w + i) bytes; plus one dimension present in every window.
  const { a, m, results, feed } = setup({ idle_timeout: 120 }, { matrixConfig: { max_closed_rows_capacity: 1 } });
  const WINDOWS = 200;
  const PER = 40;
  const expected = new Map<number, Dims>();
  let maxRows = 0;
  let rowsAt20 = 0;
  for (let w = 0; w < WINDOWS; w++) {
    if (w === 20) rowsAt20 = m.capacity;
    const dims: Dims = {};
    for (let i = 0; i < PER; i++) {
      for (let k = 0; k <= i; k++) feed(w * 60 + k * 0.5 + i * 0.01, `w${w}-${i}`, w + i);
      dims[`w${w}-${i}`] = { count: i + 1, sum: (i + 1) * (w + i) };
    }
    feed(w * 60 + 59, "always", 1);
    dims.always = { count: 1, sum: 1 };
    expected.set(w * 60, dims);
    maxRows = Math.max(maxRows, m.capacity);
  }
  a.flushWindows();
  assert.deepEqual(byWindow(results), expected);
  // 8,001 dimensions seen; at most the current window's, and those of the windows within idle_timeout, are open.
  // Growth doubles the matrix.
  assert.ok(maxRows <= 2 * (4 * PER + 1), `rows stayed bounded (max ${maxRows})`);
  assert.equal(m.capacity, rowsAt20, "after the first windows, freed rows are reused: the matrix no longer grows");
  assert.ok(m.openRows <= 4 * PER + 1, `open rows ${m.openRows}`);
  assert.ok(m.index.size <= 4 * PER + 1, `index size ${m.index.size}`);
  assert.ok(a.dimensionsClosed >= (WINDOWS - 4) * PER, `closed ${a.dimensionsClosed}`);
  assert.equal(m.getRowIndex("w0-0"), undefined, "a closed dimension is forgotten");
  assert.notEqual(m.getRowIndex("always"), undefined, "an active dimension is kept");
});

test("a freed row is zeroed, then reused by the next new dimension, which starts from zero", () => {
  const { a, m, results, feed } = setup({ idle_timeout: 60 }, { matrixConfig: { max_closed_rows_capacity: 1 } });
  feed(10, "old", 1000);
  feed(20, "old", 2000);
  feed(30, "keep", 1);
  const oldRow = m.getRowIndex("old")!;
  // Window [0,60) closes at 60 (old last active then); [60,120) closes at 120: old idle for 60 s → closed.
  feed(70, "keep", 1);
  assert.equal(m.getRowIndex("old"), oldRow, "not closed before idle_timeout passed");
  feed(130, "keep", 1);
  assert.equal(m.getRowIndex("old"), undefined, "closed once idle for idle_timeout after its last window");
  assert.equal(a.dimensionsClosed, 1);
  for (const f of ["count", "sum"]) for (const col of m.numeric(f)) assert.equal(col[oldRow], 0, `${f} zeroed in every column`);
  feed(135, "new", 5);
  assert.equal(m.getRowIndex("new"), oldRow, "the new dimension reuses the freed row");
  feed(140, "new", 7);
  a.flushWindows();
  const got = byWindow(results);
  assert.deepEqual(got.get(0), { old: { count: 2, sum: 3000 }, keep: { count: 1, sum: 1 } });
  assert.deepEqual(got.get(120), { keep: { count: 1, sum: 1 }, new: { count: 2, sum: 12 } }, "no stale sums leak into the new dimension");
});

test("a dimension is not closed while a later (sliding) window still reads its data", () => {
  const { a, m, results, feed } = setup({ idle_timeout: 1, window_type: "sliding", window_columns: 3 }, { matrixConfig: { columns: 6, max_closed_rows_capacity: 1 } });
  feed(10, "x", 4); // column [0,60)
  for (let t = 30; t <= 330; t += 60) feed(t, "clock", 1);
  a.flushWindows();
  // Windows of 3 columns sliding by 1, closing at 60, 120, …: x is in those ending at 60, 120 and 180.
  const withX = results.filter((r) => (r.dimensions as Dims).x !== undefined).map((r) => [r.window_end, (r.dimensions as Dims).x!.count, (r.dimensions as Dims).x!.sum]);
  assert.deepEqual(withX, [
    [60, 1, 4],
    [120, 1, 4],
    [180, 1, 4],
  ]);
  assert.equal(m.getRowIndex("x"), undefined, "closed after its last window");
  assert.equal(a.dimensionsClosed, 1);
});

test("idle_timeout 0 never closes a dimension", () => {
  const { a, m, feed } = setup({ idle_timeout: 0 });
  for (let w = 0; w < 20; w++) feed(w * 60 + 1, `d${w}`, 1);
  a.flushWindows();
  assert.equal(m.openRows, 20);
  assert.equal(a.dimensionsClosed, 0);
});

test("rows freed with auto-compaction (max_closed_rows_capacity 0.2): still bounded and exact", () => {
  const { a, m, results, feed } = setup({ idle_timeout: 60 });
  const expected = new Map<number, Dims>();
  let maxRows = 0;
  for (let w = 0; w < 100; w++) {
    const dims: Dims = {};
    for (let i = 0; i < 25; i++) {
      feed(w * 60 + i, `w${w}-${i}`, i);
      feed(w * 60 + i + 0.5, `w${w}-${i}`, w);
      dims[`w${w}-${i}`] = { count: 2, sum: i + w };
    }
    expected.set(w * 60, dims);
    maxRows = Math.max(maxRows, m.capacity);
  }
  a.flushWindows();
  assert.deepEqual(byWindow(results), expected);
  assert.ok(maxRows <= 128, `rows stayed bounded (max ${maxRows})`);
});

test("detectors forget a closed dimension; it starts afresh when it comes back", () => {
  const drop = new DropToZeroDetector({ windows: 1 });
  const { a, results, feed } = setup({ idle_timeout: 120, emit: "none" }, { detectors: [drop] });
  const timeline: [number, string][] = [];
  for (let w = 0; w < 12; w++) {
    if (w === 0 || w === 7) feed(w * 60 + 5, "a", 1); // a: traffic in windows 0 and 7 only
    feed(w * 60 + 30, "clock", 1);
  }
  a.flushWindows();
  for (const r of results) timeline.push([r.window_start as number, r.dimension as string]);
  // One drop after window 0 (in window 1) and one after window 7 (in window 8); a was closed in between.
  assert.deepEqual(timeline, [
    [60, "a"],
    [480, "a"],
  ]);
  assert.ok(a.dimensionsClosed >= 2);
});

test("SessionAnalyzer: always-new session ids keep the matrix bounded (sessions close and free their rows)", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.clock = () => 0;
  const pipeline = new Pipeline(app, "P");
  const out: R[] = [];
  const a = new SessionAnalyzer(app, pipeline, { config: { idle_timeout: 30, max_length: 1000, scan_period: 5, sum_fields: "bytes" }, sink: (e) => out.push(e) });
  let maxRows = 0;
  for (let i = 0; i < 5000; i++) {
    a.process({}, { "@timestamp": i, session_id: `s${i}`, bytes: i });
    maxRows = Math.max(maxRows, a.matrix.capacity);
  }
  assert.ok(maxRows <= 128, `rows stayed bounded (max ${maxRows})`);
  assert.ok(out.length >= 5000 - 40, `sessions closed: ${out.length}`);
  for (const s of out) assert.equal(s.bytes, Number((s.session_id as string).slice(1)), "each session's own sum");
});
