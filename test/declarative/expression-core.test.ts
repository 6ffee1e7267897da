import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpressionBuilder, ExpressionError } from "../../src/declarative/index.js";
import { both, evaluate } from "./exprHelpers.js";

test("ITEM: scalar and mapping forms, defaults, None vs missing, nested context keys", () => {
  const ev = { name: "Frodo", none_key: null, list: [1, 2, 3], d: { a: { b: 7 } } };
  assert.equal(both("!ITEM EVENT name", ev), "Frodo");
  assert.equal(both("!ITEM EVENT missing", ev), null);
  assert.equal(both("!ITEM {with: !EVENT, item: missing, default: 42}", ev), 42);
  // A key that holds None is not missing: the default does not apply (Python's dict[key]).
  assert.equal(both("!ITEM {with: !EVENT, item: none_key, default: 42}", ev), null);
  assert.equal(both("!ITEM {with: !ITEM EVENT list, item: -1}", ev), 3);
  assert.equal(both("!ITEM {with: !ITEM EVENT list, item: 5, default: x}", ev), "x");
  assert.equal(both("!ITEM {with: !ITEM {with: !EVENT, item: d}, item: a}", ev, {}) instanceof Object, true);
  assert.equal(both("!ITEM CONTEXT source", {}, { source: "kafka" }), "kafka");
  // BSPump resolved `brain.idea` only after optimization; both forms do here.
  assert.equal(both("!ITEM CONTEXT brain.idea", {}, { brain: { idea: "yes" } }), "yes");
  assert.equal(both("!ITEM CONTEXT list.1.x", {}, { list: [{}, { x: 5 }] }), 5);
  assert.throws(() => both("!ITEM ARG key", {}, {}), /test.yaml:2:\d+: !ITEM: 'NoneType' object is not subscriptable/);
  assert.equal(evaluate("!ITEM ARG key", {}, {}, { arg: { key: 9 } }), 9);
  // Subscripting None is a TypeError in Python: a runtime error for the pipeline's error rules.
  assert.throws(() => evaluate("!ITEM {with: !ITEM EVENT nothing, item: x}", {}), /not subscriptable/);
});

test("arithmetic: folds left with Python semantics", () => {
  assert.equal(both("!ADD [1, 2, 3]"), 6);
  assert.equal(both('!ADD ["STRING1", "STRING2"]'), "STRING1STRING2");
  assert.deepEqual(both("!ADD [[1], [2, 3]]"), [1, 2, 3]);
  assert.equal(both("!ADD [!ITEM EVENT potatoes, !ITEM {with: !EVENT, item: carrots, default: 0}, 20]", { potatoes: 3 }), 23);
  assert.equal(both("!SUB [10, 2, 3]"), 5);
  assert.equal(both("!MUL [2, 3, 4]"), 24);
  assert.equal(both('!MUL ["ab", 3]'), "ababab");
  assert.equal(both("!DIV [7, 2]"), 3.5);
  assert.equal(both("!FLOORDIV [-7, 2]"), -4);
  assert.equal(both("!MOD [-7, 3]"), 2);
  assert.equal(both("!MOD [7, -3]"), -2);
  assert.equal(both("!POW [2, 10]"), 1024);
  assert.equal(both("!ADD [true, 1]"), 2);
  assert.throws(() => evaluate('!ADD [1, "a"]'), (e: Error) => e instanceof ExpressionError && /test.yaml:2:\d+: !ADD: unsupported operand/.test(e.message));
  assert.throws(() => evaluate("!DIV [1, 0]"), /division by zero/);
});

test("comparisons are chained; EQ is Python's ==", () => {
  assert.equal(both("!LT [40, !ITEM EVENT x, 50]", { x: 45 }), true);
  assert.equal(both("!LT [40, !ITEM EVENT x, 50]", { x: 50 }), false);
  assert.equal(both("!LE [1, 1, 2]"), true);
  assert.equal(both("!GT [3, 2, 2]"), false);
  assert.equal(both("!GE [3, 2, 2]"), true);
  assert.equal(both("!EQ [1, 1.0, true]"), true);
  assert.equal(both("!EQ [[1, 2], [1, 2]]"), true);
  assert.equal(both('!EQ [!ITEM EVENT s, "200"]', { s: 200 }), false);
  assert.equal(both("!NE [1, 2]"), true);
  assert.equal(both('!LT ["a", "b"]'), true);
  assert.throws(() => evaluate('!LT [1, "a"]'), /'<' not supported between instances of 'int' and 'str'/);
  assert.equal(both("!IS [null, !ITEM EVENT x]", {}), true);
  assert.equal(both("!ISNOT [1, null]"), true);
});

test("logic: AND, OR, NOT with Python truthiness; IN", () => {
  assert.equal(both("!AND [true, 1, abc]"), true);
  assert.equal(both("!AND [true, !ITEM EVENT missing]"), false);
  assert.equal(both("!AND [true, []]"), false);
  assert.equal(both("!OR [0, '', null, {}]"), false);
  assert.equal(both("!OR [0, x]"), true);
  assert.equal(both("!NOT {what: 0}"), true);
  assert.equal(both("!NOT {what: [1]}"), false);
  assert.equal(both("!IN {what: !ITEM EVENT c, where: [CZ, SK]}", { c: "SK" }), true);
  assert.equal(both("!IN {what: !ITEM EVENT c, where: [CZ, SK]}", { c: "DE" }), false);
  assert.equal(both("!IN {what: key, where: !EVENT}", { key: 1 }), true);
  assert.equal(both("!IN {what: ell, where: hello}"), true);
  assert.equal(both("!IN {what: 1, where: [1.0, 2]}"), true);
});

test("IF, WHEN (None without else), MAP, FOR, FIRST, TRY", () => {
  assert.equal(both("!IF {test: !EQ [!ITEM EVENT a, 1], then: one, else: other}", { a: 1 }), "one");
  assert.equal(both("!IF {test: !ITEM EVENT a}", { a: 0 }), false);
  assert.equal(both("!IF {test: !ITEM EVENT a}", { a: 3 }), true);
  const when = `!WHEN
- test: !EQ [!ITEM EVENT status, 200]
  then: ok
- test: !EQ [!ITEM EVENT status, 404]
  then: not found
- test: !GE [!ITEM EVENT status, 500]
  then: server error`;
  assert.equal(both(when, { status: 404 }), "not found");
  assert.equal(both(when, { status: 503 }), "server error");
  assert.equal(both(when, { status: 301 }), null);
  assert.equal(both(when + "\n- else: other", { status: 301 }), "other");
  assert.throws(() => evaluate("!WHEN\n- test: true\n- then: x"), /test.yaml:3:3: !WHEN: each item must be/);
  assert.equal(both("!MAP {what: !ITEM EVENT t, in: {1: one, 2: !ADD [1, 1]}, else: many}", { t: 2 }), 2);
  assert.equal(both("!MAP {what: !ITEM EVENT t, in: {1: one}}", { t: 3 }), null);
  assert.deepEqual(both("!FOR {each: [1, 2, 3], do: !MUL [!ARG, 10]}"), [10, 20, 30]);
  assert.equal(both("!FIRST [!ITEM EVENT a, !ITEM EVENT b, c]", { b: 0 }), 0);
  assert.equal(both("!FIRST [!ITEM EVENT a]", {}), null);
  assert.equal(both('!TRY [!ADD [1, "x"], !ITEM EVENT a, fallback]', {}), "fallback");
});

test("DICT: with, set (None skipped), modify, add, update, unset, mandatory, flatten; DICT {} ", () => {
  assert.deepEqual(both("!DICT {}"), {});
  const decl = `!DICT
with: !EVENT
set:
  seen: true
  nothing: !ITEM EVENT missing
  count: !ADD [!ITEM EVENT potatoes, 20]
modify:
  name: !UPPER {what: !ARG}
add:
  potatoes: 1
  absent: 5
update: !DICT {set: {extra: !ITEM ARG count}}
unset: [drop]`;
  assert.deepEqual(both(decl, { potatoes: 2, name: "bilbo", drop: 1 }), { potatoes: 3, name: "BILBO", seen: true, count: 22, extra: 22 });
  assert.equal(both("!DICT {with: !ITEM EVENT missing, set: {a: 1}}", {}), null);
  assert.equal(both("!DICT {set: {a: 1}, mandatory: [a, b]}"), null);
  assert.deepEqual(both("!DICT {set: {a: 1}, mandatory: [a]}"), { a: 1 });
  assert.deepEqual(both("!DICT {flatten: {Params: !ITEM EVENT p}}", { p: [{ Name: "x", Value: 1 }, { Name: "y", Value: "z" }] }), { "Params.x": 1, "Params.y": "z" });
});

test("TUPLE, LIST, SET, CONTEXT.SET, CAST and typed values", () => {
  assert.deepEqual(both("!TUPLE [1, !ITEM EVENT a]", { a: "x" }), [1, "x"]);
  assert.deepEqual(both("!LIST {with: !ITEM EVENT l, append: [3, 4]}", { l: [1] }), [1, 3, 4]);
  assert.deepEqual(both("!LIST {with: notalist, append: [3]}"), [3]);
  assert.deepEqual([...(both("!SET [1, 2, 1]") as Set<number>)], [1, 2]);
  const ctx: Record<string, unknown> = {};
  assert.equal(evaluate("!CONTEXT.SET {set: {a: 1, b: !ITEM EVENT missing}, what: done}", {}, ctx), "done");
  assert.deepEqual(ctx, { a: 1 });
  assert.equal(both('!CAST {what: "12", type: int}'), 12);
  assert.equal(both('!CAST {what: "1.5", type: int, default: -1}'), -1);
  assert.equal(both("!CAST {what: 1.9, type: int}"), 1);
  assert.equal(both('!CAST {what: " 2.5e1 ", type: fp64}'), 25);
  assert.equal(both("!CAST {what: 12, type: str}"), "12");
  assert.equal(both("!CAST {what: null, type: str}"), "None");
  assert.equal(both("!CAST {what: true, type: str}"), "True");
  assert.equal(both("!CAST {what: [], type: bool}"), false);
  assert.equal(both("!CAST {what: abc, type: ui64, default: 0}"), 0);
  assert.equal(evaluate("!CAST int", {}, {}, { arg: "7" }), 7);
  assert.equal(both("!!ui8 5"), 5);
  assert.equal(both("!!fp32 1.5"), 1.5);
  assert.equal(both("!!si32 {what: !ITEM EVENT n}", { n: "-3" }), -3);
  assert.throws(() => evaluate("!CAST {what: 1, type: int7}"), /unknown type 'int7'/);
});

test("SELF recurses; INCLUDE from an in-memory library; CONFIG at load time", () => {
  const fact = "!IF {test: !LE [!ITEM EVENT n, 1], then: 1, else: !MUL [!ITEM EVENT n, !SELF {event: !DICT {set: {n: !SUB [!ITEM EVENT n, 1]}}}]}";
  assert.equal(both(fact, { n: 5 }), 120);
  const builder = new ExpressionBuilder(null, { "/include/greet.yaml": "---\n!JOIN {items: [hello, !ITEM EVENT name]}\n---\n!NOW" });
  builder.addConfigValue("suffix", "!");
  assert.equal(both("!ADD [!INCLUDE greet, !CONFIG suffix]", { name: "Sam" }, {}, builder), "hello Sam!");
  assert.equal(both("!CONFIG unknown", {}, {}, builder), null);
  // A declaration can be an identifier in the library.
  assert.equal(builder.parse("greet")[0]!.call({}, { name: "Pip" }), "hello Pip");
  assert.throws(() => builder.parse("---\n!INCLUDE nope"), /test.yaml|<declaration>:2:\d+: !INCLUDE: declaration 'nope' not found/);
  const cyc = new ExpressionBuilder(null, { "/include/a.yaml": "---\n!INCLUDE b", "/include/b.yaml": "---\n!INCLUDE a" });
  assert.throws(() => cyc.parse("---\n!INCLUDE a"), /include cycle: <declaration> → a → b → a/);
});
