import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, ConfigError, Pipeline, type ConfigInput } from "../../src/core/index.js";
import { CardinalityAnalyzer } from "../../src/analyzer/index.js";

type R = Record<string, unknown>;

function setup(config: ConfigInput) {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.clock = () => 0;
  const pipeline = new Pipeline(app, "P");
  const results: R[] = [];
  const a = new CardinalityAnalyzer(app, pipeline, { id: "HLL", config: { dimension_attr: "server", distinct_attr: "user", emit: "window", ...config }, sink: (e) => results.push(e) });
  const feed = (...events: unknown[]) => {
    for (const e of events) assert.equal(a.process({}, e), e, "the event passes unchanged");
  };
  return { app, pipeline, a, results, feed };
}

type Dims = Record<string, { count: number; distinct: number }>;

test("distinct users per server per tumbling window, beside the count; repeated users count once", () => {
  const { results, feed, a } = setup({ resolution: 60, columns: 5, precision: 12 });
  for (let i = 0; i < 3000; i++) feed({ "@timestamp": 1000 + (i % 19), server: "s1", user: `u${i % 700}` });
  for (let i = 0; i < 40; i++) feed({ "@timestamp": 1001, server: "s2", user: i % 2 === 0 ? 5 : `u${i}` }); // 1 numeric + 20 strings
  feed({ "@timestamp": 1030, server: "s1", user: "next" }); // closes [960, 1020)
  assert.equal(results.length, 1);
  const d = results[0]!.dimensions as Dims;
  assert.equal(d.s1!.count, 3000);
  assert.ok(Math.abs(d.s1!.distinct - 700) <= 700 * 0.03, String(d.s1!.distinct));
  assert.deepEqual(d.s2, { count: 40, distinct: 21 });
  feed({ "@timestamp": 1085, server: "s1", user: "u1" }); // closes [1020, 1080)
  a.flushWindows();
  assert.equal(results.length, 3);
  assert.deepEqual(results[1]!.dimensions as Dims, { s1: { count: 1, distinct: 1 } });
  assert.deepEqual(results[2]!.dimensions as Dims, { s1: { count: 1, distinct: 1 } }, "a new window starts from empty sketches (u1 was also in the first)");
});

test("sliding windows merge their columns' sketches: a user seen in two columns counts once", () => {
  const { results, feed, a } = setup({ resolution: 60, columns: 6, window_type: "sliding", window_columns: 2, emit: "dimension" });
  feed({ "@timestamp": 0, server: "s", user: "a" }, { "@timestamp": 1, server: "s", user: "b" });
  feed({ "@timestamp": 60, server: "s", user: "a" }, { "@timestamp": 61, server: "s", user: "c" });
  feed({ "@timestamp": 120, server: "s", user: "d" });
  a.flushWindows();
  const rows = results.map((r) => [r.window_start, r.window_end, r.count, r.distinct]);
  assert.deepEqual(rows, [
    [-60, 60, 2, 2],
    [0, 120, 4, 3],
    [60, 180, 3, 3],
  ]);
});

test("emit = columns: a `distinct` array aligned with `dimensions`", () => {
  const { results, feed, a } = setup({ emit: "columns", resolution: 10, columns: 4 });
  feed({ "@timestamp": 1, server: "x", user: "1" }, { "@timestamp": 2, server: "y", user: "1" }, { "@timestamp": 3, server: "y", user: "2" }, { "@timestamp": 4, server: "y", user: "2" });
  a.flushWindows();
  assert.equal(results.length, 1);
  assert.deepEqual(results[0]!.dimensions, ["x", "y"]);
  assert.deepEqual(results[0]!.count, [1, 3]);
  assert.deepEqual(results[0]!.distinct, [1, 2]);
});

test("an event without the counted field is bad input: counted, a warning, not in the window; with a dead-letter target it goes there", () => {
  const { results, feed, a, pipeline } = setup({ resolution: 60, columns: 4 });
  feed({ "@timestamp": 1, server: "x", user: "u" }, { "@timestamp": 2, server: "x" }, { "@timestamp": 3, server: "x", user: "" }, { "@timestamp": 4, server: "x", user: null });
  a.flushWindows();
  assert.deepEqual((results[0]!.dimensions as Dims).x, { count: 1, distinct: 1 });
  assert.equal(a.counter.values.bad_value, 3);
  assert.equal(pipeline.warnings, 3);

  // With a dead-letter target the analyzer throws, so that the pipeline's error rules dead-letter the event.
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const p = new Pipeline(app, "P2");
  p.deadLetter = new Pipeline(app, "DL");
  const b = new CardinalityAnalyzer(app, p, { config: { dimension_attr: "server", distinct_attr: "user" } });
  assert.throws(() => b.process({}, { "@timestamp": 1, server: "x" }), /no 'user' to count/);
  assert.equal(b.counter.values.bad_value, 1);
});

test("dimensions closed as idle give their row to a new dimension with empty sketches; compaction keeps the sketches with their rows", () => {
  const { results, feed, a } = setup({ resolution: 10, columns: 4, idle_timeout: 10, emit: "dimension" });
  // 10 dimensions in the first window; only d9 stays active.
  for (let i = 0; i < 10; i++) for (let u = 0; u <= i; u++) feed({ "@timestamp": 1, server: `d${i}`, user: `u${u}` });
  for (let t = 11; t < 100; t += 10) feed({ "@timestamp": t, server: "d9", user: `late${t}` }, { "@timestamp": t, server: "d9", user: "same" });
  // New dimensions reuse rows; their counts start from nothing.
  for (let i = 0; i < 5; i++) feed({ "@timestamp": 101, server: `n${i}`, user: "only" });
  a.flushWindows();
  const first = results.filter((r) => r.window_end === 10).map((r) => [r.dimension, r.distinct]);
  assert.deepEqual(first, Array.from({ length: 10 }, (_, i) => [`d${i}`, i + 1]));
  const last = results.filter((r) => r.window_end === 110).map((r) => [r.dimension, r.count, r.distinct]);
  assert.deepEqual(last, [["n0", 1, 1], ["n1", 1, 1], ["n2", 1, 1], ["n3", 1, 1], ["n4", 1, 1]]);
  assert.ok(a.dimensionsClosed >= 9);
  const d9 = results.filter((r) => r.dimension === "d9" && (r.window_end as number) > 10).map((r) => r.distinct);
  assert.ok(d9.length >= 8 && d9.every((x) => x === 2), JSON.stringify(d9));
});

test("config: distinct_attr is required, precision 4 … 18, no persistence", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const p = new Pipeline(app, "P");
  assert.throws(() => new CardinalityAnalyzer(app, p, { id: "A", config: {} }), ConfigError);
  assert.throws(() => new CardinalityAnalyzer(app, p, { id: "B", config: { distinct_attr: "u", precision: 20 } }), /precision/);
  assert.throws(() => new CardinalityAnalyzer(app, p, { id: "C", config: { distinct_attr: "u", persistent: true, path: "/tmp/x" } }), /persist/);
});
