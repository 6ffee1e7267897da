import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { pythonJsonDumps } from "../../src/codec/index.js";

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
