// BSPump's Mongo-style event queries (the `mongoquery` library that ContentFilter and
// LatchAnalyzer use), compiled once: the whole query is checked when it is compiled — a malformed
// one is a QueryError at construction, never a crash on an event — into a tree of closures, whose
// top level queryCodegen.ts then turns into one generated function; per event, a few property
// reads and comparisons, no walk of the query object.
import { ConfigError } from "../core/index.js";
import { generateMatcher } from "./queryCodegen.js";

/** An invalid query (BSPump's `QueryError`): a ConfigError, raised when the query is compiled. */
export class QueryError extends ConfigError {
  override name = "QueryError";
}

/** A Mongo-style query: `{field: value}`, `{"a.b": {$gt: 3}}`, `{$or: [...]}`. */
export type Query = Readonly<Record<string, unknown>>;

/** A compiled query: true when the event matches. */
export type Matcher = (event: unknown) => boolean;

type Test = (value: unknown) => boolean;

/** The operators understood, as in mongoquery; the others are refused by name. */
export const QUERY_OPERATORS: readonly string[] = [
  "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
  "$and", "$or", "$nor", "$not", "$exists", "$type", "$mod", "$regex",
  "$all", "$elemMatch", "$size", "$comment",
];
const UNSUPPORTED = new Set(["$options", "$text", "$where", "$near", "$nearSphere", "$geoWithin", "$geoIntersects", "$expr", "$jsonSchema"]);

const always: Test = () => true;

/** The place in the query an error message starts with ("" at the top). */
function at(where: string): string {
  return where ? `${where}: ` : "";
}

function child(where: string, name: string): string {
  return where ? `${where}.${name}` : name;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}

function show(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}

/** Structural equality of JSON-like values (Python's `==` on dicts and lists). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** A path `a.b.0.c` → a reader; undefined is "missing". Lists are walked like mongoquery: a number indexes, a name maps over the items. */
function compilePath(path: string): (value: unknown) => unknown {
  const parts = path.split(".");
  if (parts.length === 1) {
    const key = path;
    return (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return Array.isArray(v) ? extract(v, parts, 0) : undefined;
      const x = (v as Record<string, unknown>)[key];
      // An inherited member (`constructor`, `toString`) is not a field of the event.
      return typeof x === "function" ? undefined : x;
    };
  }
  return (v) => extract(v, parts, 0);
}

function extract(v: unknown, parts: readonly string[], i: number): unknown {
  for (; i < parts.length; i++) {
    // As mongoquery: a path through null is null (`{"geo.city": null}` matches `{geo: null}`);
    // `$exists` on a path asks `pathExists` instead.
    if (v === null || v === undefined) return v;
    const part = parts[i]!;
    if (Array.isArray(v)) {
      if (/^-?\d+$/.test(part)) {
        const n = Number(part);
        v = v[n < 0 ? v.length + n : n];
        continue;
      }
      const rest = i;
      return v.map((item) => extract(item, parts, rest));
    }
    if (typeof v !== "object" || v instanceof Uint8Array) return undefined;
    const x = (v as Record<string, unknown>)[part];
    v = typeof x === "function" ? undefined : x;
  }
  return v;
}

/** Whether a dotted path leads somewhere (mongoquery's `_path_exists`): a name tries every item of a list. */
function pathExists(v: unknown, parts: readonly string[], i: number): boolean {
  for (; i < parts.length; i++) {
    const part = parts[i]!;
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(part)) {
        const from = i;
        return v.some((item) => pathExists(item, parts, from));
      }
      const n = Number(part);
      if (n >= v.length) return false;
      v = v[n];
      continue;
    }
    if (typeof v !== "object" || v === null || v instanceof Uint8Array || !Object.prototype.hasOwnProperty.call(v, part)) return false;
    v = (v as Record<string, unknown>)[part];
  }
  return true;
}

/** Equality as mongoquery: a list value matches when it contains the operand (or, as in MongoDB, equals it). */
function equalsTest(operand: unknown): Test {
  if (operand === null || typeof operand !== "object") {
    // The common case: a string, number or boolean. `===`, and `includes` for a list value.
    return (v) => v === operand || (Array.isArray(v) && v.includes(operand));
  }
  return (v) => deepEqual(v, operand) || (Array.isArray(v) && v.some((x) => deepEqual(x, operand)));
}

type Ordered = number | string;

function orderTest(op: string, operand: unknown, where: string): Test {
  if (typeof operand !== "number" && typeof operand !== "string") {
    throw new QueryError(`${at(where)}${op} needs a number or a string, got ${show(operand)}`);
  }
  const x: Ordered = operand;
  const kind = typeof x;
  // Values of another type never match (Python would raise TypeError mid-stream, crashing the pipeline).
  const cmp: (v: Ordered) => boolean =
    op === "$gt" ? (v) => v > x : op === "$gte" ? (v) => v >= x : op === "$lt" ? (v) => v < x : (v) => v <= x;
  return (v) => {
    if (typeof v === kind) return cmp(v as Ordered);
    if (Array.isArray(v)) return v.some((e) => typeof e === kind && cmp(e as Ordered));
    return false;
  };
}

function inTest(op: string, operand: unknown, where: string): Test {
  if (!Array.isArray(operand)) throw new QueryError(`${at(where)}${op} needs a list, got ${show(operand)}`);
  const primitives = operand.every((x) => x === null || typeof x !== "object");
  if (primitives && operand.length <= 8) {
    // A short list: comparing with `===` beats hashing each value for a Set lookup (C1 bench).
    const xs: readonly unknown[] = operand;
    const has = (v: unknown): boolean => {
      for (let i = 0; i < xs.length; i++) if (xs[i] === v) return true;
      return false;
    };
    return (v) => has(v) || (Array.isArray(v) && v.some(has));
  }
  if (primitives) {
    const set = new Set<unknown>(operand);
    return (v) => set.has(v) || (Array.isArray(v) && v.some((e) => set.has(e)));
  }
  const tests = operand.map(equalsTest);
  return (v) => tests.some((t) => t(v));
}

const TYPE_ALIASES: Readonly<Record<string, number>> = {
  double: 1, string: 2, object: 3, array: 4, binData: 5, objectId: 7, bool: 8, date: 9, null: 10,
  regex: 11, javascript: 13, javascriptWithScope: 15, int: 16, timestamp: 17, long: 18,
};
// mongoquery's generic types: several BSON types are "a string" to it.
const TYPE_TESTS: Readonly<Record<number, Test>> = {
  1: (v) => typeof v === "number",
  2: (v) => typeof v === "string", 7: (v) => typeof v === "string", 9: (v) => typeof v === "string",
  11: (v) => v instanceof RegExp, 13: (v) => typeof v === "string", 15: (v) => typeof v === "string",
  3: isPlainObject,
  4: (v) => Array.isArray(v),
  5: (v) => v instanceof Uint8Array,
  8: (v) => typeof v === "boolean",
  10: (v) => v === null,
  16: Number.isInteger, 17: Number.isInteger, 18: Number.isInteger,
};

function typeTest(operand: unknown, where: string): Test {
  if (operand === "number") return (v) => typeof v === "number";
  const code = typeof operand === "string" ? TYPE_ALIASES[operand] : operand;
  const test = typeof code === "number" ? TYPE_TESTS[code] : undefined;
  if (!test) throw new QueryError(`${at(where)}$type has an unknown type ${show(operand)}`);
  return test;
}

function modTest(operand: unknown, where: string): Test {
  if (!Array.isArray(operand) || operand.length !== 2 || typeof operand[0] !== "number" || typeof operand[1] !== "number" || operand[0] === 0) {
    throw new QueryError(`${at(where)}$mod needs [divisor, remainder] with a non-zero divisor, got ${show(operand)}`);
  }
  const [d, r] = operand as [number, number];
  // Python's %: the result takes the divisor's sign.
  return (v) => typeof v === "number" && v - d * Math.floor(v / d) === r;
}

const REGEX_FORM = /^\/(.+)\/([a-z]*)$/s;

function regexTest(operand: unknown, where: string): Test {
  const m = typeof operand === "string" ? REGEX_FORM.exec(operand) : null;
  if (!m) throw new QueryError(`${at(where)}$regex must be a string of the form "/pattern/flags", got ${show(operand)}`);
  const flags = m[2]!;
  for (const f of flags) {
    if (!"ims".includes(f)) throw new QueryError(`${at(where)}$regex flag '${f}' is not supported (i, m, s)`);
  }
  let re: RegExp;
  try {
    re = new RegExp(m[1]!, flags);
  } catch (e) {
    throw new QueryError(`${at(where)}$regex ${show(operand)} is not a valid pattern: ${(e as Error).message}`);
  }
  return (v) => (typeof v === "string" ? re.test(v) : Array.isArray(v) && v.some((e) => typeof e === "string" && re.test(e)));
}

function queryList(op: string, operand: unknown, where: string): Test[] {
  if (!Array.isArray(operand)) throw new QueryError(`${at(where)}${op} needs a list of queries, got ${show(operand)}`);
  return operand.map((q, i) => {
    if (!isPlainObject(q)) throw new QueryError(`${at(where)}${op}[${i}] is not a query: ${show(q)}`);
    return compileCondition(q, child(where, `${op}[${i}]`));
  });
}

function operatorTest(op: string, operand: unknown, where: string): Test {
  switch (op) {
    case "$eq": return equalsTest(operand);
    case "$ne": { const eq = equalsTest(operand); return (v) => !eq(v); }
    case "$gt": case "$gte": case "$lt": case "$lte": return orderTest(op, operand, where);
    case "$in": return inTest(op, operand, where);
    case "$nin": { const t = inTest(op, operand, where); return (v) => !t(v); }
    case "$exists": { const want = Boolean(operand); return (v) => (v !== undefined) === want; }
    case "$not": { const t = compileOperand(operand, child(where, "$not")); return (v) => !t(v); }
    case "$and": { const ts = queryList(op, operand, where); return (v) => ts.every((t) => t(v)); }
    case "$or": { const ts = queryList(op, operand, where); return (v) => ts.some((t) => t(v)); }
    case "$nor": { const ts = queryList(op, operand, where); return (v) => !ts.some((t) => t(v)); }
    case "$type": return typeTest(operand, where);
    case "$mod": return modTest(operand, where);
    case "$regex": return regexTest(operand, where);
    case "$all": {
      if (!Array.isArray(operand)) throw new QueryError(`${at(where)}$all needs a list, got ${show(operand)}`);
      const ts = operand.map((x, i) => compileOperand(x, child(where, `$all[${i}]`)));
      return (v) => ts.every((t) => t(v));
    }
    case "$elemMatch": {
      if (!isPlainObject(operand)) throw new QueryError(`${at(where)}$elemMatch needs a query, got ${show(operand)}`);
      const t = compileCondition(operand, child(where, "$elemMatch"));
      return (v) => Array.isArray(v) && v.some(t);
    }
    case "$size": {
      if (isPlainObject(operand)) {
        // mongoquery: a query on the length, `{$size: {$gt: 2}}`.
        const t = compileCondition(operand, child(where, "$size"));
        return (v) => Array.isArray(v) && t(v.length);
      }
      if (!Number.isInteger(operand)) throw new QueryError(`${at(where)}$size needs an integer or a query, got ${show(operand)}`);
      return (v) => Array.isArray(v) && v.length === operand;
    }
    case "$comment": return always;
  }
  if (UNSUPPORTED.has(op)) throw new QueryError(`${at(where)}operator '${op}' is not supported (as in BSPump)`);
  throw new QueryError(`${at(where)}unknown operator '${op}' (known: ${QUERY_OPERATORS.join(" ")})`);
}

/** A condition on a value: a mapping is a sub-query on it (as mongoquery), anything else equality. */
function compileOperand(operand: unknown, where: string): Test {
  return isPlainObject(operand) ? compileCondition(operand, where) : equalsTest(operand);
}

function conjunction(tests: Test[]): Test {
  switch (tests.length) {
    case 0: return always;
    case 1: return tests[0]!;
    case 2: { const [a, b] = tests as [Test, Test]; return (v) => a(v) && b(v); }
    case 3: { const [a, b, c] = tests as [Test, Test, Test]; return (v) => a(v) && b(v) && c(v); }
    default: return (v) => {
      for (const t of tests) if (!t(v)) return false;
      return true;
    };
  }
}

/** Every key of a mapping must hold: `$op` keys test the value itself, other keys a field of it. */
function compileCondition(condition: Readonly<Record<string, unknown>>, where: string): Test {
  const tests: Test[] = [];
  for (const [key, given] of Object.entries(condition)) {
    let operand = given;
    if (key.startsWith("$")) {
      tests.push(operatorTest(key, operand, where));
      continue;
    }
    if (key === "") throw new QueryError(`${at(where)}an empty field name`);
    const read = compilePath(key);
    if (key.includes(".") && isPlainObject(operand) && "$exists" in operand) {
      // A dotted path's $exists walks the path itself (a path through null or a scalar does not exist).
      const parts = key.split(".");
      const want = Boolean(operand.$exists);
      tests.push((v) => pathExists(v, parts, 0) === want);
      const { $exists: _, ...rest } = operand;
      if (Object.keys(rest).length === 0) continue;
      operand = rest;
    }
    const t = compileOperand(operand, child(where, key));
    tests.push((v) => t(read(v)));
  }
  return conjunction(tests);
}

/**
 * Compiles a query into a matcher. Throws QueryError (a ConfigError) for anything malformed:
 * an unknown or unsupported operator, a wrong operand (`$in` without a list, `$regex` not in the
 * `/pattern/flags` form, `$mod` by zero, …). `where` prefixes the messages (the component).
 * `generate: false` skips the generated fast path (tests compare the two).
 */
export function compileQuery(query: unknown, where = "", options: { generate?: boolean } = {}): Matcher {
  const prefix = where ? `${at(where)}` : "";
  if (!isPlainObject(query)) throw new QueryError(`${prefix}a query must be a mapping, got ${show(query)}`);
  let slow: Test;
  try {
    slow = compileCondition(query, "");
  } catch (e) {
    if (e instanceof QueryError && prefix) throw new QueryError(prefix + e.message);
    throw e;
  }
  if (options.generate === false) return slow;
  // Valid: the fast path of dict events (queryCodegen.ts), with the closures for the rest.
  return generateMatcher(query, {
    slow,
    keyTest: (key, operand) => compileCondition({ [key]: operand }, ""),
    valueTest: (key, operand) => compileOperand(operand, key),
    operatorTest: (key, op, operand) => operatorTest(op, operand, key),
  }) ?? slow;
}

/** Throws QueryError when the query is malformed. */
export function validateQuery(query: unknown): void {
  compileQuery(query);
}

const compiled = new WeakMap<object, Matcher>();

/** Matches one event; the query is compiled once and remembered. Prefer `compileQuery` in a component. */
export function matchQuery(query: Query, event: unknown): boolean {
  let m = compiled.get(query);
  if (!m) {
    m = compileQuery(query);
    compiled.set(query, m);
  }
  return m(event);
}
