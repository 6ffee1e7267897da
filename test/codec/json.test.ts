import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { pythonFloatRepr, pythonJsonDumps, pythonJsonDumpsBytes } from "../../src/codec/index.js";

/** Python's own json.dumps of each value (sent as JSON, one output line per value). */
function pythonDumps(values: unknown[]): string[] {
  const script = "import json,sys\nfor v in json.load(sys.stdin): print(json.dumps(v))";
  return execFileSync("python3", ["-c", script], { input: JSON.stringify(values) }).toString("utf8").split("\n").slice(0, values.length);
}

test("pythonJsonDumps writes what Python's json.dumps writes, byte for byte", () => {
  const samples: unknown[] = [
    { foo: "bar" },
    { a: 1, b: [1, 2, { c: null }], d: true, e: 'x,y:z "q" \\ , :', f: -2.5e-7, g: 1e21 },
    [], {}, [{}], [[], [[]]],
    "é😀\u007f\u0001\n\t\u2028",
    { "ключ": "значение", 'a\\"b': 'x\\\\"y,:' },
    12345678901234, 0.1, -0.0,
  ];
  assert.deepEqual(samples.map((s) => pythonJsonDumps(s)), pythonDumps(samples));
});

test("pythonJsonDumps equals json.dumps on random JSON values (keys and strings with quotes, backslashes, separators, non-ASCII)", () => {
  const text = fc.string({ unit: fc.constantFrom("a", '"', "\\", ",", ":", " ", "é", "😀", "\u0000", "\n", "{", "]") });
  const values = fc.sample(fc.jsonValue({ maxDepth: 3 }).chain((v) => fc.tuple(fc.constant(v), fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean())))), { numRuns: 300, seed: 7 }).flat();
  // JSON round trip first: what Python reads is what we serialize (e.g. -0 becomes 0 on the way).
  const plain = values.map((v) => JSON.parse(JSON.stringify(v)) as unknown);
  const ours = plain.map((v) => pythonJsonDumps(v));
  const theirs = pythonDumps(plain);
  for (let i = 0; i < plain.length; i++) assert.equal(ours[i], theirs[i], `value ${JSON.stringify(plain[i])}`);
});

test("pythonJsonDumps of what JSON cannot hold is undefined, as JSON.stringify's", () => {
  assert.equal(pythonJsonDumps(undefined), undefined);
  assert.equal(pythonJsonDumps(() => 1), undefined);
});

test("pythonFloatRepr is Python's repr(float); pythonJsonDumps writes numbers below 1e-4 with an exponent, as Python", () => {
  const floats = [0.1, 1.5, 100, 1e15, 1e16, 1.5e16, 123456789.125, 1e-4, 1.5e-5, 1e-5, 9.99e-5, 1e-7, 1.2345e-300, 5e-324, 1.7976931348623157e308, -2.5, -1e-5, 0.30000000000000004];
  const script = "import json,sys\nfor v in json.load(sys.stdin): print(repr(float(v)))";
  const reprs = execFileSync("python3", ["-c", script], { input: JSON.stringify(floats) }).toString("utf8").split("\n").slice(0, floats.length);
  assert.deepEqual(floats.map((x) => pythonFloatRepr(x)), reprs);
  assert.equal(pythonFloatRepr(-0), "-0.0");
  const values = [{ a: 0.00001, b: -0.000015, c: [0.0001, 0.00009999, 10.00001, 1e-7] }];
  assert.deepEqual(values.map((v) => pythonJsonDumps(v)), pythonDumps(values));
});

test("pythonJsonDumpsBytes is pythonJsonDumps' text as bytes (its byte pass, and what it hands to the text form)", () => {
  const text = fc.string({ unit: fc.constantFrom("a", '"', "\\", ",", ":", " ", "e", "1", "é", "😀", "\u007f", "\n") });
  const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1e-5, 0.00001234, 1e-7, 2.5e21, 0.5, 10.00001));
  const values = fc.sample(fc.dictionary(text, fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.array(number, { maxLength: 3 }))), { numRuns: 2000, seed: 11 });
  const long = { text: "x,y:".repeat(20_000), list: Array.from({ length: 2000 }, (_, i) => i / 3) };
  for (const v of [...values, long, {}, [], "plain", 1e-5, { a: "é" }]) {
    const expected = Buffer.from(pythonJsonDumps(v)!, "latin1");
    assert.deepEqual(pythonJsonDumpsBytes(v), expected, JSON.stringify(v).slice(0, 200));
  }
  assert.equal(pythonJsonDumpsBytes(undefined), undefined);
});
