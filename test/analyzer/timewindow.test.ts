import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, Pipeline, type ConfigInput } from "../../src/core/index.js";
import { InternalSource } from "../../src/common/index.js";
import { TimeWindowAnalyzer, windowHeatmap, type WindowHeatmap } from "../../src/analyzer/index.js";
import { runPipeline, UnitTestSink } from "../../src/unittest/index.js";

type R = Record<string, unknown>;

function setup(config: ConfigInput, t = 0) {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.clock = () => t;
  const pipeline = new Pipeline(app, "P");
  const results: R[] = [];
  const a = new TimeWindowAnalyzer(app, pipeline, { id: "TW", config: { dimension_attr: "user", value_attr: "bytes", emit: "window", ...config }, sink: (e) => results.push(e) });
  const feed = (...events: unknown[]) => {
    for (const e of events) assert.equal(a.process({}, e), e, "the event passes unchanged");
  };
  return { app, pipeline, a, results, feed, setClock: (x: number) => (t = x) };
}

const ev = (ts: number, user: string, bytes: number) => ({ "@timestamp": ts, user, bytes });

test("tumbling event-time windows: hand-computed counts, sums, min, max, avg; each window emitted once", () => {
  const { a, results, feed } = setup({ resolution: 60, columns: 5 });
  feed(ev(1000, "a", 10), ev(1010, "b", 5), ev(1019, "a", 30)); // window [960, 1020)
  assert.equal(results.length, 0, "nothing closes before its end passed");
  feed(ev(1020, "a", 1)); // window [1020,1080): closes [960,1020)
  assert.equal(results.length, 1);
  assert.deepEqual(results[0], {
    "@timestamp": 1020,
    analyzer: "TW",
    window_start: 960,
    window_end: 1020,
    dimension_count: 2,
    dimensions: { a: { count: 2, sum: 40, avg: 20, min: 10, max: 30 }, b: { count: 1, sum: 5, avg: 5, min: 5, max: 5 } },
  });
  feed(ev(1079.5, "b", 7), ev(1081, "b", 3));
  assert.equal(results.length, 2);
  assert.deepEqual(results[1]!.dimensions, { a: { count: 1, sum: 1, avg: 1, min: 1, max: 1 }, b: { count: 1, sum: 7, avg: 7, min: 7, max: 7 } });
  assert.equal(results[1]!.window_start, 1020);
  a.flushWindows();
  assert.equal(results.length, 3);
  assert.deepEqual(results[2]!.dimensions, { b: { count: 1, sum: 3, avg: 3, min: 3, max: 3 } });
  a.flushWindows();
  assert.equal(results.length, 3, "flushing again emits nothing twice");
});

test("late events are counted (not stored), lateness keeps a window open, too-far-future events are counted", () => {
  const { a, results, feed } = setup({ resolution: 60, columns: 5, lateness: 10, max_future: 600 });
  feed(ev(1000, "a", 1), ev(1025, "a", 1)); // watermark 1025, window [960,1020) still open (lateness)
  assert.equal(results.length, 0);
  feed(ev(1015, "a", 100)); // out of order but within lateness: counted in [960,1020)
  feed(ev(1031, "a", 1)); // watermark − lateness = 1021 ≥ 1020: closes
  assert.equal(results.length, 1);
  assert.deepEqual(results[0]!.dimensions, { a: { count: 2, sum: 101, avg: 50.5, min: 1, max: 100 } });
  feed(ev(1019, "a", 1000)); // too late now
  assert.equal(a.late, 1);
  feed(ev(5000, "a", 1)); // > watermark + 600
  assert.equal(a.future, 1);
  assert.equal(a.counter.values.late, 1);
  assert.equal(a.counter.values.future, 1);
  a.flushWindows();
  assert.deepEqual(results[1]!.dimensions, { a: { count: 2, sum: 2, avg: 1, min: 1, max: 1 } }, "the late and future values are not in any window");
});

test("sliding windows (3 columns sliding by 1) vs tumbling on the same series", () => {
  const series = [ev(0, "a", 1), ev(60, "a", 2), ev(120, "a", 4), ev(180, "a", 8), ev(240, "a", 16)];
  const slide = setup({ resolution: 60, columns: 8, window_type: "sliding", window_columns: 3, aggregations: "count,sum" });
  slide.feed(...series);
  slide.a.flushWindows();
  const sums = slide.results.map((r) => [r.window_start, r.window_end, (r.dimensions as Record<string, { sum: number; count: number }>).a!.sum]);
  // windows end at 60, 120, …, 300, each covering the 3 columns before its end
  assert.deepEqual(sums, [
    [-120, 60, 1],
    [-60, 120, 3],
    [0, 180, 7],
    [60, 240, 14],
    [120, 300, 28],
  ]);
  const tumble = setup({ resolution: 60, columns: 8, aggregations: "count,sum" });
  tumble.feed(...series);
  tumble.a.flushWindows();
  assert.deepEqual(
    tumble.results.map((r) => (r.dimensions as Record<string, { sum: number }>).a!.sum),
    [1, 2, 4, 8, 16],
  );
});

test("bad input is a counted warning; state is not touched; the analyzer goes on", () => {
  const { a, results, feed, pipeline } = setup({ resolution: 60, columns: 5 });
  feed(ev(1000, "a", 10), { user: "a", bytes: 1 }, { "@timestamp": 1001, bytes: 1 }, { "@timestamp": 1002, user: "a", bytes: "lots" }, ev(1003, "a", 5), "not an object", { "@timestamp": "garbage", user: "a", bytes: 1 });
  assert.equal(a.counter.values.missing_time, 2);
  assert.equal(a.counter.values.missing_dimension, 2);
  assert.equal(a.counter.values.bad_value, 1);
  assert.equal(pipeline.warnings, 5);
  a.flushWindows();
  assert.deepEqual(results[0]!.dimensions, { a: { count: 2, sum: 15, avg: 7.5, min: 5, max: 10 } });
});

test("numeric strings and ISO times are accepted (CSV input)", () => {
  const { results, feed, a } = setup({ resolution: 60, columns: 5 });
  feed({ "@timestamp": "1970-01-01T00:16:40Z", user: "a", bytes: "12" }, { "@timestamp": "1005", user: 7, bytes: 3 });
  a.flushWindows();
  assert.deepEqual(results[0]!.dimensions, { a: { count: 1, sum: 12, avg: 12, min: 12, max: 12 }, "7": { count: 1, sum: 3, avg: 3, min: 3, max: 3 } });
});

test("clock time: windows close on tick() as the app clock passes their end", () => {
  const { a, results, feed, setClock } = setup({ resolution: 10, columns: 4, time_source: "clock", emit: "dimension" }, 100);
  feed({ user: "a", bytes: 1 }, { user: "a", bytes: 2 });
  setClock(105);
  feed({ user: "b", bytes: 4 });
  a.tick();
  assert.equal(results.length, 0);
  setClock(110);
  a.tick();
  assert.deepEqual(
    results.map((r) => [r.dimension, r.window_start, r.count, r.sum]),
    [
      ["a", 100, 2, 3],
      ["b", 100, 1, 4],
    ],
  );
  setClock(135);
  a.tick(); // empty windows: nothing emitted
  assert.equal(results.length, 2);
});

test("bad input is dead-lettered when the pipeline has a dead-letter target", async () => {
  const input = [
    [null, ev(1000, "a", 1)],
    [null, { user: "a", bytes: 1 }],
    [null, ev(1001, "a", 2)],
  ] as const;
  const results: R[] = [];
  const dead: unknown[] = [];
  const r = await runPipeline(input, (app, pipeline) => {
    const deadSink = new UnitTestSink(app, pipeline, { id: "Dead" });
    deadSink.process = (_c, e) => {
      dead.push(e);
      return null;
    };
    pipeline.deadLetter = deadSink;
    return [new TimeWindowAnalyzer(app, pipeline, { config: { dimension_attr: "user", value_attr: "bytes", emit: "window" }, sink: (e) => results.push(e) }), new UnitTestSink(app, pipeline)];
  });
  assert.equal(r.events.length, 2, "good events pass through to the sink");
  assert.equal(dead.length, 1);
  assert.equal(r.pipeline.isError(), false);
  assert.deepEqual(results[0]!.dimensions, { a: { count: 2, sum: 3, avg: 1.5, min: 1, max: 2 } }, "flushed on stop");
});

test("results go to another pipeline through an InternalSource (target)", async () => {
  const input = [1000, 1010, 1070, 1080].map((t) => [null, ev(t, "u", 1)] as const);
  let outSink: UnitTestSink | undefined;
  await runPipeline(
    input,
    (app, pipeline) => [new TimeWindowAnalyzer(app, pipeline, { config: { dimension_attr: "user", value_attr: "bytes", emit: "window", target: "Out.*In" } }), new UnitTestSink(app, pipeline)],
    {
      prepare: (app) => {
        const out = new Pipeline(app, "Out");
        outSink = new UnitTestSink(app, out);
        out.build(new InternalSource(app, out, { id: "In" }), outSink);
        app.pumpService.addPipeline(out);
      },
    },
  );
  const got = outSink!.output.map(([, e]) => [(e as R).window_start, ((e as R).dimensions as Record<string, { count: number }>).u!.count]);
  assert.deepEqual(got, [
    [960, 2],
    [1020, 1],
    [1080, 1],
  ]);
});

test("persistence: a restarted analyzer continues its windows without emitting one twice", () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-tw-"));
  try {
    const cfg = { resolution: 60, columns: 5, persistent: true, path: dir, flush_on_stop: false };
    const first = setup(cfg);
    first.feed(ev(1000, "a", 1), ev(1030, "b", 2), ev(1050, "a", 3), ev(1025, "a", 4));
    assert.equal(first.results.length, 1); // [960,1020) closed
    first.a.matrix.save();
    const second = setup(cfg);
    assert.equal(second.a.closedUpTo, 1020);
    second.feed(ev(1010, "a", 99)); // belongs to an emitted window: late
    assert.equal(second.a.late, 1);
    second.feed(ev(1079, "b", 5), ev(1085, "a", 1));
    assert.equal(second.results.length, 1);
    assert.equal(second.results[0]!.window_start, 1020);
    assert.deepEqual(second.results[0]!.dimensions, { a: { count: 2, sum: 7, avg: 3.5, min: 3, max: 4 }, b: { count: 2, sum: 7, avg: 3.5, min: 2, max: 5 } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("persistence: idle tracking (lastActive) survives a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-tw-"));
  try {
    const cfg = { resolution: 60, columns: 5, persistent: true, path: dir, flush_on_stop: false, idle_timeout: 120, emit: "none" };
    const first = setup(cfg);
    first.feed(ev(1000, "gone", 1), ev(1001, "stay", 1), ev(1030, "stay", 1), ev(1090, "stay", 1)); // [960,1020) closed at 1090
    const m1 = first.a.matrix;
    assert.equal(m1.lastActive[m1.getRowIndex("gone")!], 1020);
    m1.save();
    const second = setup(cfg);
    const m2 = second.a.matrix;
    assert.equal(m2.lastActive[m2.getRowIndex("gone")!], 1020, "restored");
    second.feed(ev(1139, "stay", 1)); // closes [1020,1080): gone idle since 1020, 60 s < 120 s
    assert.notEqual(m2.getRowIndex("gone"), undefined);
    second.feed(ev(1150, "stay", 1)); // closes [1080,1140): idle 120 s → closed
    assert.equal(m2.getRowIndex("gone"), undefined);
    assert.notEqual(m2.getRowIndex("stay"), undefined);
    assert.equal(second.a.dimensionsClosed, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("config errors: lateness that does not fit the columns, unknown aggregation", () => {
  assert.throws(() => setup({ resolution: 60, columns: 3, lateness: 120 }), /lateness/);
  assert.throws(() => setup({ aggregations: "count,median" }), /median/);
});

test("a subclass predicate decides what the analyzer evaluates", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  const results: R[] = [];
  class OnlyBig extends TimeWindowAnalyzer {
    override predicate(_c: unknown, e: unknown): boolean {
      return ((e as { bytes: number }).bytes ?? 0) >= 10;
    }
  }
  const a = new OnlyBig(app, pipeline, { config: { dimension_attr: "user", value_attr: "bytes" }, sink: (e) => results.push(e) });
  for (const e of [ev(0, "a", 5), ev(1, "a", 10), ev(2, "a", 20)]) assert.equal(a.process({}, e), e);
  a.flushWindows();
  assert.deepEqual(
    [results[0]!.dimensions, results[0]!.count, results[0]!.sum, results[0]!.min, results[0]!.max],
    [["a"], [2], [30], [10], [20]],
  );
});

test("emit = columns (the default): one event per window with one value per dimension in arrays", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const results: R[] = [];
  const a = new TimeWindowAnalyzer(app, new Pipeline(app, "P"), { id: "TW", config: { dimension_attr: "user", value_attr: "bytes", resolution: 60, columns: 5 }, sink: (e) => results.push(e) });
  const feed = (...events: unknown[]) => events.forEach((e) => a.process({}, e));
  feed(ev(1000, "a", 10), ev(1010, "b", 5), ev(1019, "a", 30), ev(1020, "b", 1));
  assert.deepEqual(results, [
    {
      "@timestamp": 1020,
      analyzer: "TW",
      window_start: 960,
      window_end: 1020,
      dimension_count: 2,
      dimensions: ["a", "b"],
      count: [2, 1],
      sum: [40, 5],
      avg: [20, 5],
      min: [10, 5],
      max: [30, 5],
    },
  ]);
  a.flushWindows();
  assert.deepEqual(results[1], { "@timestamp": 1080, analyzer: "TW", window_start: 1020, window_end: 1080, dimension_count: 1, dimensions: ["b"], count: [1], sum: [1], avg: [1], min: [1], max: [1] });
});

test("describe(): the window's busiest dimensions per column, for the dashboard's heatmap", () => {
  // Clock 1000: the matrix's 5 columns of 60 s end at the column holding 1000, i.e. [780, 1080).
  const { a, feed } = setup({ resolution: 60, columns: 5, emit: "none" }, 1000);
  assert.equal((a.describe() as { Heatmap: WindowHeatmap }).Heatmap.ClosedUpTo, null, "no window closed yet");
  feed(ev(1000, "a", 1), ev(1001, "a", 1), ev(1002, "a", 1), ev(1010, "b", 1), ev(1015, "<c>", 1), ev(1020, "b", 1), ev(1021, "b", 1), ev(1022, "a", 1));
  const h = (a.describe() as { Heatmap: WindowHeatmap }).Heatmap;
  assert.equal(h.Columns, 5);
  assert.equal(h.Resolution, 60);
  assert.equal(h.Dimensions, 3);
  // Busiest first; counts per column, oldest first: [960, 1020) is column 3, [1020, 1080) column 4.
  assert.equal(h.Start + 3 * 60, 960);
  assert.deepEqual(h.Top, [
    { Dimension: "a", Counts: [0, 0, 0, 3, 1] },
    { Dimension: "b", Counts: [0, 0, 0, 1, 2] },
    { Dimension: "<c>", Counts: [0, 0, 0, 1, 0] },
  ]);
  assert.equal(h.ClosedUpTo, 1020, "the event at 1020 closed [960, 1020); [1020, 1080) is open");
  assert.deepEqual(windowHeatmap(a.matrix, a.closedUpTo, 1).Top.map((d) => d.Dimension), ["a"], "top 1");
  feed(ev(1100, "a", 1)); // closes [960, 1020) and [1020, 1080)
  assert.equal((a.describe() as { Heatmap: { ClosedUpTo: number } }).Heatmap.ClosedUpTo, 1080);
});
