import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Pipeline, type ConfigInput } from "../../src/core/index.js";
import { DropToZeroDetector, OutlierDetector, QuantileClassifier, ThresholdDetector, TimeWindowAnalyzer, quantile, type WindowDetector } from "../../src/analyzer/index.js";

type R = Record<string, unknown>;

/** Feeds per-window counts: `counts[w][dim]` events of dimension `dim` in window w (60 s each). */
function run(detector: WindowDetector, counts: Record<string, number>[], config: ConfigInput = {}): R[] {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  const out: R[] = [];
  const a = new TimeWindowAnalyzer(app, pipeline, { id: "TW", config: { dimension_attr: "d", resolution: 60, columns: 6, emit: "none", ...config }, detectors: [detector], sink: (e) => out.push(e) });
  counts.forEach((window, w) => {
    for (const [dim, n] of Object.entries(window)) for (let i = 0; i < n; i++) a.process({}, { "@timestamp": w * 60 + i * 0.01, d: dim });
    a.process({}, { "@timestamp": w * 60 + 30, d: "_clock" }); // keeps every window non-empty in time
  });
  a.flushWindows();
  return out.filter((e) => e.dimension !== "_clock");
}

test("quantile is numpy's linear interpolation", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.9), 46);
});

test("OutlierDetector: robust z-score flags the dimension far from the median", () => {
  // counts 10,11,12,13,14 and 60 (+ _clock with 1): median 11.5 → only 'e' is far out
  const out = run(new OutlierDetector({ threshold: 3.5 }), [{ a: 10, b: 11, c: 12, d: 13, e: 60, f: 14 }]);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.type, "outlier");
  assert.equal(out[0]!.dimension, "e");
  assert.equal(out[0]!.value, 60);
  assert.equal(out[0]!.window_start, 0);
  assert.equal(out[0]!.window_end, 60);
  // median of {1,10,11,12,13,14,60} = 12; |dev| = {11,2,1,0,1,2,48} → MAD 2; z = 0.6745·48/2
  assert.ok(Math.abs((out[0]!.score as number) - (0.6745 * 48) / 2) < 1e-9);
});

test("OutlierDetector: no verdict with too few dimensions or zero spread", () => {
  assert.equal(run(new OutlierDetector(), [{ a: 1, b: 50 }]).length, 0);
  assert.equal(run(new OutlierDetector({ minDimensions: 3 }), [{ a: 1, b: 1, c: 1, d: 1 }]).length, 0);
});

test("QuantileClassifier: buckets by the window's quantiles, then only changes", () => {
  const c = new QuantileClassifier({ quantiles: [0.5] });
  const out = run(c, [
    { a: 1, b: 2, c: 3, d: 4 },
    { a: 1, b: 2, c: 3, d: 4 },
    { a: 9, b: 2, c: 3, d: 4 },
  ]);
  // window 0 values {a1,b2,c3,d4,_clock1}: median 2 → a,b class 0; c,d class 1
  const w0 = out.filter((e) => e.window_start === 0).map((e) => [e.dimension, e.class]);
  assert.deepEqual(w0, [["a", 0], ["b", 0], ["c", 1], ["d", 1]]);
  assert.equal(out.filter((e) => e.window_start === 60).length, 0, "no change, nothing emitted");
  const w2 = out.filter((e) => e.window_start === 120).map((e) => [e.dimension, e.class, e.previous_class, e.value]);
  // window 2 values {_clock1,b2,c3,d4,a9}: median 3 → a:1 (was 0), c: 0 (was 1)
  assert.deepEqual(w2, [["a", 1, 0, 9], ["c", 0, 1, 3]]);
});

test("DropToZeroDetector: had traffic, then none for N windows → one event", () => {
  const out = run(new DropToZeroDetector({ windows: 2 }), [{ a: 5, b: 1 }, { b: 1 }, { b: 1 }, { b: 1 }, { b: 1 }, { a: 2 }]);
  assert.equal(out.length, 1);
  assert.deepEqual([out[0]!.type, out[0]!.dimension, out[0]!.window_start, out[0]!.value, out[0]!.last_value], ["drop_to_zero", "a", 120, 0, 5]);
});

test("ThresholdDetector: values above upper or below lower", () => {
  const out = run(new ThresholdDetector({ metric: "count", lower: 2, upper: 5 }), [{ a: 6, b: 3 }, { a: 5, b: 1 }]);
  assert.deepEqual(
    out.map((e) => [e.dimension, e.window_start, e.value, e.bound]),
    [
      ["a", 0, 6, "upper"],
      ["_clock", 0, 1, "lower"],
      ["b", 60, 1, "lower"],
      ["_clock", 60, 1, "lower"],
    ].filter((x) => x[0] !== "_clock"),
  );
  assert.throws(() => new ThresholdDetector({}));
});
