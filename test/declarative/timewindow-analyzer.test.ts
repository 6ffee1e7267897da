import { test } from "node:test";
import assert from "node:assert/strict";
import { BSPumpApplication, Config, Pipeline } from "../../src/core/index.js";
import { DeclarationError, DeclarativeTimeWindowAnalyzer } from "../../src/declarative/index.js";

const DECLARATION = `---
define:
  dimension: !LOWER {what: !ITEM EVENT user}
  columns: {count: 5, resolution: 60, item: !ITEM EVENT ts}
predicate: !EQ [!ITEM EVENT action, login]
evaluate: !MUL [!ITEM EVENT bytes, 2]
`;

test("DeclarativeTimeWindowAnalyzer: predicate, dimension, time and value are declarations", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const pipeline = new Pipeline(app, "P");
  const results: Record<string, unknown>[] = [];
  const a = new DeclarativeTimeWindowAnalyzer(app, pipeline, { id: "DTW", declaration: DECLARATION, config: { emit: "window" }, sink: (e) => results.push(e) });
  assert.equal(a.resolution, 60);
  assert.equal(a.columns, 5);
  const events = [
    { ts: 1000, user: "Ann", action: "login", bytes: 5 },
    { ts: 1010, user: "ann", action: "login", bytes: 1 },
    { ts: 1015, user: "Bob", action: "logout", bytes: 100 },
    { ts: 1019, user: "BOB", action: "login", bytes: 3 },
    { ts: 1020, user: "x", action: "login", bytes: 0 },
  ];
  for (const e of events) assert.equal(a.process({}, e), e, "the event passes unchanged");
  assert.equal(results.length, 1);
  assert.equal(results[0]!.window_start, 960);
  assert.deepEqual(results[0]!.dimensions, { ann: { count: 2, sum: 12, avg: 6, min: 2, max: 10 }, bob: { count: 1, sum: 6, avg: 6, min: 6, max: 6 } });
});

test("DeclarativeTimeWindowAnalyzer: errors in its declaration are DeclarationErrors with places", () => {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  const make = (declaration: string) => () => new DeclarativeTimeWindowAnalyzer(app, new Pipeline(app, "P"), { declaration });
  assert.throws(make("---\n!ADD [1, 2]"), /<declaration>:2:1: expected a mapping with `define`/);
  assert.throws(make("---\ndefine: {columns: {count: 5}}\n"), /`define: dimension:` is required/);
  assert.throws(make("---\ndefine:\n  dimension: !NOPE x\npredicate: !LT [1]\n"), (e: Error) => e instanceof DeclarationError && e.errors.length === 2 && /3:14: Unknown declarative expression '!NOPE'/.test(e.message) && /4:12: !LT: expected at least 2 items/.test(e.message));
});
