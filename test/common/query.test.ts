import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError } from "../../src/core/index.js";
import { compileQuery, matchQuery, QueryError, validateQuery, type Query } from "../../src/common/index.js";

const EVENTS = [
  { id: 1, user: "ann", level: "error", code: 500, tags: ["db", "slow"], geo: { country: "CZ", city: "Brno" }, items: [{ sku: "a", qty: 2 }, { sku: "b", qty: 5 }], msg: "Disk FULL on /var" },
  { id: 2, user: "bob", level: "warn", code: 404, tags: ["web"], geo: { country: "DE" }, items: [], msg: "not found", note: null },
  { id: 3, user: "cid", level: "info", code: "200", tags: [], geo: null, msg: 42 },
  { id: 4, level: "error", code: 503.5, tags: ["db"], items: [{ sku: "a", qty: 1 }] },
];

/** The ids of the events a query matches. */
function ids(query: Query): number[] {
  const m = compileQuery(query);
  return EVENTS.filter((e) => m(e)).map((e) => e.id);
}

test("query: equality, dotted paths, lists (contains) and nested mappings as mongoquery", () => {
  assert.deepEqual(ids({}), [1, 2, 3, 4]);
  assert.deepEqual(ids({ level: "error" }), [1, 4]);
  assert.deepEqual(ids({ level: "error", code: 500 }), [1]);
  assert.deepEqual(ids({ "geo.country": "CZ" }), [1]);
  assert.deepEqual(ids({ tags: "db" }), [1, 4], "a list field matches when it contains the value");
  assert.deepEqual(ids({ tags: ["web"] }), [2], "or equals it");
  assert.deepEqual(ids({ "items.sku": "b" }), [1], "a name maps over a list of dicts");
  assert.deepEqual(ids({ "items.0.qty": 2 }), [1], "a number indexes a list");
  assert.deepEqual(ids({ geo: { country: "DE" } }), [2], "a mapping is a sub-query on the value (mongoquery)");
  assert.deepEqual(ids({ note: null }), [2]);
  assert.deepEqual(ids({ code: "200" }), [3], "no type coercion");
  assert.deepEqual(ids({ constructor: { $exists: true } }), [], "inherited members are not fields");
});

test("query: comparison operators; values of another type or missing never match (no crash)", () => {
  assert.deepEqual(ids({ code: { $gt: 404 } }), [1, 4]);
  assert.deepEqual(ids({ code: { $gte: 404, $lt: 503 } }), [1, 2]);
  assert.deepEqual(ids({ code: { $lte: 404 } }), [2]);
  assert.deepEqual(ids({ user: { $gt: "b" } }), [2, 3]);
  assert.deepEqual(ids({ "items.qty": { $gt: 4 } }), [1], "any element of a list");
  assert.deepEqual(ids({ code: { $eq: 500 } }), [1]);
  assert.deepEqual(ids({ level: { $ne: "error" } }), [2, 3]);
  assert.deepEqual(ids({ user: { $ne: "ann" } }), [2, 3, 4], "a missing field is not equal");
  assert.deepEqual(ids({ level: { $in: ["warn", "info"] } }), [2, 3]);
  assert.deepEqual(ids({ tags: { $in: ["web", "slow"] } }), [1, 2]);
  assert.deepEqual(ids({ geo: { $in: [{ country: "DE" }, null] } }), [2, 3], "$in with mappings compares structurally");
  assert.deepEqual(ids({ level: { $nin: ["error"] } }), [2, 3]);
});

test("query: logical, element, evaluation and array operators", () => {
  assert.deepEqual(ids({ $or: [{ level: "warn" }, { code: { $gte: 503 } }] }), [2, 4]);
  assert.deepEqual(ids({ $and: [{ level: "error" }, { tags: "slow" }] }), [1]);
  assert.deepEqual(ids({ $nor: [{ level: "error" }, { user: "bob" }] }), [3]);
  assert.deepEqual(ids({ code: { $not: { $gt: 404 } } }), [2, 3]);
  assert.deepEqual(ids({ user: { $exists: false } }), [4]);
  assert.deepEqual(ids({ note: { $exists: true } }), [2], "null exists");
  assert.deepEqual(ids({ "geo.city": { $exists: true } }), [1]);
  assert.deepEqual(ids({ "geo.country": null }), [3], "a path through null is null (mongoquery)");
  assert.equal(matchQuery({ "b.a": { $exists: true } }, { b: [1, 2] }), false, "a path through scalars does not exist");
  assert.equal(matchQuery({ "b.a": { $exists: true } }, { b: [1, { a: 0 }] }), true);
  assert.equal(matchQuery({ "b.a": { $exists: false } }, { b: [1, { a: 0 }] }), false);
  assert.equal(matchQuery({ "b.0": { $exists: true, $gt: 1 } }, { b: [2] }), true);
  assert.equal(matchQuery({ "b.1": { $exists: true } }, { b: [2] }), false);
  assert.deepEqual(ids({ code: { $type: "string" } }), [3]);
  assert.deepEqual(ids({ code: { $type: "int" } }), [1, 2]);
  assert.deepEqual(ids({ code: { $type: "number" } }), [1, 2, 4]);
  assert.deepEqual(ids({ geo: { $type: 10 } }), [3]);
  assert.deepEqual(ids({ tags: { $type: "array" } }), [1, 2, 3, 4]);
  assert.deepEqual(ids({ code: { $mod: [100, 0] } }), [1]);
  assert.equal(matchQuery({ n: { $mod: [3, 2] } }, { n: -1 }), true, "Python's modulo: -1 % 3 == 2");
  assert.deepEqual(ids({ msg: { $regex: "/full/i" } }), [1]);
  assert.deepEqual(ids({ msg: { $regex: "/^not/" } }), [2]);
  assert.deepEqual(ids({ msg: { $regex: "/4/" } }), [], "a number is not searched");
  assert.deepEqual(ids({ tags: { $all: ["db", "slow"] } }), [1]);
  assert.deepEqual(ids({ items: { $elemMatch: { sku: "a", qty: { $gte: 2 } } } }), [1]);
  assert.deepEqual(ids({ tags: { $size: 1 } }), [2, 4]);
  assert.deepEqual(ids({ tags: { $size: { $gte: 1, $lt: 2 } } }), [2, 4], "mongoquery's query on the length");
  assert.deepEqual(ids({ level: "warn", $comment: "why" }), [2]);
});

test("query: a malformed query is a QueryError (a ConfigError) when compiled, naming the place", () => {
  const bad: [unknown, RegExp][] = [
    [{ a: { $foo: 1 } }, /a: unknown operator '\$foo'/],
    [{ $foo: 1 }, /unknown operator '\$foo'/],
    [{ a: { $in: null } }, /a: \$in needs a list, got null/],
    [{ a: { $nin: "x" } }, /\$nin needs a list/],
    [{ $or: { a: 1 } }, /\$or needs a list of queries/],
    [{ $and: [1] }, /\$and\[0\] is not a query/],
    [{ a: { $gt: null } }, /\$gt needs a number or a string/],
    [{ a: { $regex: "x" } }, /\$regex must be a string of the form "\/pattern\/flags"/],
    [{ a: { $regex: "/(/" } }, /is not a valid pattern/],
    [{ a: { $regex: "/x/g" } }, /flag 'g' is not supported/],
    [{ a: { $mod: [0, 1] } }, /\$mod needs \[divisor, remainder\] with a non-zero divisor/],
    [{ a: { $type: "uuid" } }, /\$type has an unknown type "uuid"/],
    [{ a: { $size: "2" } }, /\$size needs an integer or a query/],
    [{ a: { $elemMatch: 3 } }, /\$elemMatch needs a query/],
    [{ $where: "this.a > 1" }, /'\$where' is not supported/],
    [{ a: { $text: "x" } }, /'\$text' is not supported/],
    [{ a: { b: { $in: 1 } } }, /a\.b: \$in needs a list/],
    [[{ a: 1 }], /a query must be a mapping/],
    ["a == 1", /a query must be a mapping/],
  ];
  for (const [query, message] of bad) {
    assert.throws(() => compileQuery(query, "[pipeline:P:F] query"), (e: Error) => e instanceof QueryError && e instanceof ConfigError && /^\[pipeline:P:F\] query: /.test(e.message) && message.test(e.message), JSON.stringify(query));
    assert.throws(() => validateQuery(query), QueryError);
  }
});

test("query: any event shape is matched without throwing", () => {
  const m = compileQuery({ "a.b": { $gt: 1 }, c: { $regex: "/x/" }, d: { $elemMatch: { e: 1 } }, f: { $size: 0 } });
  for (const event of [null, undefined, 5, "text", [], [1, 2], Buffer.from("x"), { a: 5 }, { a: [null, { b: 2 }] }, { a: { b: "3" } }]) {
    assert.equal(m(event), false);
  }
  assert.equal(m({ a: { b: 2 }, c: "xx", d: [{ e: 1 }], f: [] }), true);
});

test("query: the generated fast path agrees with the closure matcher on random events (fast-check)", () => {
  const queries: Query[] = [
    { action: "login" },
    { action: { $in: ["login", "click", 3, null, true] }, bytes: { $gte: 100 } },
    { action: { $nin: ["a", "b"] }, n: { $lt: 5, $gt: -2.5 }, s: { $gte: "m" } },
    { n: { $ne: 2 }, s: { $exists: true }, x: { $exists: false } },
    { n: null, s: { $eq: "b" } },
    { a: { b: 1 }, "a.b": { $lte: 3 }, $or: [{ n: 1 }, { s: "a" }] },
    { n: { $in: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18] } },
    { l: [1, 2], n: { $not: { $gt: 2 } }, s: { $regex: "/^[ab]/" } },
    { constructor: { $exists: false }, toString: null, n: { $type: "int" } },
    { n: { $mod: [2, 1] }, l: { $size: 2 }, m: { $all: [1] } },
    { l: { $elemMatch: { $gt: 1 } }, $nor: [{ s: "z" }], $comment: "c" },
  ];
  const value = fc.oneof(fc.constantFrom("a", "b", "m", "z", "login", "click", ""), fc.integer({ min: -3, max: 20 }), fc.double({ min: -3, max: 3, noNaN: true }), fc.boolean(), fc.constant(null));
  const field = fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.dictionary(fc.constantFrom("b", "c"), value, { maxKeys: 2 }));
  const event = fc.oneof(
    { weight: 8, arbitrary: fc.dictionary(fc.constantFrom("action", "bytes", "n", "s", "x", "a", "l", "m"), field, { maxKeys: 6 }) },
    { weight: 1, arbitrary: fc.oneof(value, fc.array(field, { maxLength: 2 })) },
  );
  for (const q of queries) {
    const fast = compileQuery(q);
    const slow = compileQuery(q, "", { generate: false });
    fc.assert(fc.property(event, (e) => fast(e) === slow(e)), { numRuns: 800, seed: 18 });
  }
  // It can tell: some events match and some do not, for the bench query.
  const m = compileQuery(queries[1]!);
  assert.equal(m({ action: "click", bytes: 100 }), true);
  assert.equal(m({ action: ["x", null], bytes: [1, 200] }), true);
  assert.equal(m({ action: "view", bytes: 100 }), false);
  assert.equal(m({ action: "login", bytes: "100" }), false);
});
