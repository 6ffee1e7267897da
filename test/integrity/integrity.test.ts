import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { ConfigError } from "../../src/core/index.js";
import { dumpsOrdered, IntegrityChainCheck, IntegrityEnricher, IntegrityVerifier, parseOrdered } from "../../src/integrity/index.js";
import { runPipeline, runProcessor, UnitTestSink } from "../../src/unittest/index.js";
import { PY_ENRICHER } from "./helpers.js";

type Ev = Record<string, unknown>;

/** Runs Python 3 (a real, independent json/hashlib) with `input` on stdin; its stdout. */
function python(script: string, input: string): string {
  return execFileSync("python3", ["-c", script], { input }).toString("utf8");
}

const events = (): Ev[] => [
  { user: "ann", action: "login", n: 1 },
  { user: "bob", action: "buy", price: 12.5, items: [1, 2, { sku: "x-1" }], _id: "old-id-is-replaced" },
  { user: "čeněk", note: "žluťoučký kůň 🐎", nested: { b: true, a: null } },
  { user: "dan", tiny: 1e-7, big: 123456789012, neg: -0.25 },
  { user: "eve", raw: Buffer.from([0, 1, 2, 250, 255]), deep: { blob: new Uint8Array([104, 105]) } },
];

async function enrich(input: Ev[], config: Record<string, string | number> = {}): Promise<Ev[]> {
  const r = await runProcessor(IntegrityEnricher, input.map((e) => [{}, e] as const), { config });
  return r.events as Ev[];
}

test("IntegrityEnricher: salt, hash, chain of links, bytes as base64, the old hash replaced", async () => {
  const out = await enrich(events());
  assert.equal(out.length, 5);
  for (const [i, e] of out.entries()) {
    assert.match(e._s as string, /^[A-Za-z0-9_-]{4}$/, "3 random bytes, URL-safe base64");
    assert.match(e._id as string, /^[0-9a-f]{64}$/, "SHA256 hex digest");
    assert.equal(Object.keys(e).at(-1), "_id", "the hash is the last key");
    if (i === 0) assert.equal("_prev_id" in e, false);
    else assert.equal(e._prev_id, out[i - 1]!._id);
  }
  assert.notEqual(out[1]!._id, "old-id-is-replaced");
  assert.equal(out[4]!.raw, "AAEC+v8=");
  assert.deepEqual(out[4]!.deep, { blob: "aGk=" });
  assert.equal(new Set(out.map((e) => e._id)).size, 5);
});

test("IntegrityEnricher: another algorithm, keys and salt length; a non-dict event goes to the error rules", async () => {
  const config = { algorithm: "sha3_512", hash_key: "hash", prev_hash_key: "prev", salt_length: 6 };
  const out = await enrich([{ a: 1 }, { a: 2 }], config);
  assert.match(out[0]!.hash as string, /^[0-9a-f]{128}$/);
  assert.equal((out[0]!._s as string).length, 8);
  assert.equal(out[1]!.prev, out[0]!.hash);
  const v = await runProcessor(IntegrityVerifier, out.map((e) => [{}, e] as const), { config: { algorithm: "SHA3_512", hash_key: "hash", prev_hash_key: "prev" } });
  assert.equal(v.events.length, 2);

  const bad = await runPipeline([[{}, { a: 1 }], [{}, "not a dict"]], (app, pipeline) => [new IntegrityEnricher(app, pipeline), new UnitTestSink(app, pipeline)]);
  assert.equal(bad.events.length, 1);
  assert.equal(bad.pipeline.errors, 1);
});

test("integrity: an unknown algorithm is a ConfigError naming the section and key", async () => {
  await assert.rejects(
    () => runProcessor(IntegrityEnricher, [], { id: "E", config: { algorithm: "sha257" } }),
    (e: unknown) => e instanceof ConfigError && /\[pipeline:UnitTestPipeline:E\] key 'algorithm'/.test(e.message) && /unknown hash algorithm 'sha257'/.test(e.message),
  );
});

test("IntegrityVerifier: an intact chain verifies; a changed event, a removed event and a missing hash are found", async () => {
  const chain = await enrich(events());
  const ok = await runProcessor(IntegrityVerifier, chain.map((e) => [{}, e] as const), {});
  assert.equal(ok.events.length, 5);
  assert.deepEqual((ok.processor as IntegrityVerifier).counter.values, { verified: 5, no_hash: 0, broken_hash: 0, chain_break: 0, chains: 1 });

  const tampered = structuredClone(chain);
  tampered[1]!.price = 1.5;
  tampered.splice(3, 1);
  tampered.push({ user: "mallory" });
  const marked = await runProcessor(IntegrityVerifier, tampered.map((e) => [{}, e] as const), { config: { on_broken: "mark" } });
  assert.deepEqual(marked.output.map(([c]) => c.integrity), [undefined, "broken_hash", undefined, "chain_break", "no_hash"]);
  assert.deepEqual((marked.processor as IntegrityVerifier).counter.values, { verified: 2, no_hash: 1, broken_hash: 1, chain_break: 1, chains: 1 });

  const dropped = await runProcessor(IntegrityVerifier, tampered.map((e) => [{}, e] as const), { config: { on_broken: "drop" } });
  assert.deepEqual(dropped.events.map((e) => (e as Ev).user), ["ann", "čeněk"]);

  const errors = await runPipeline(
    tampered.map((e) => [{}, e] as const),
    (app, pipeline) => {
      pipeline.handleError = () => true; // soft: counted, the run goes on
      return [new IntegrityVerifier(app, pipeline), new UnitTestSink(app, pipeline)];
    },
  );
  assert.equal(errors.events.length, 2);
  assert.equal(errors.pipeline.warnings, 3);
});

test("integrity cross-check with Python: Python verifies a chain made here, and a chain made by BSPump's algorithm verifies here", async () => {
  const chain = await enrich(events());
  const verdicts = python(
    `
import hashlib, json, sys
prev = None
for line in sys.stdin.read().splitlines():
    event = json.loads(line)
    h = event.pop("_id")
    ok = hashlib.new("SHA256", json.dumps(event).encode()).hexdigest() == h and event.get("_prev_id") == prev
    prev = h
    print("ok" if ok else "broken")
`,
    chain.map((e) => JSON.stringify(e)).join("\n"),
  );
  assert.deepEqual(verdicts.trim().split("\n"), ["ok", "ok", "ok", "ok", "ok"]);

  const input = [{ a: "x", b: [1, 2.5, null, true] }, { s: "ünïcödé ✓ 🐍", n: -3 }, { e: 1e-7, f: 123.456, deep: { z: { y: "" } } }, { last: false }];
  const fromPython = python(PY_ENRICHER, input.map((e) => JSON.stringify(e)).join("\n")).trim().split("\n");
  const parsed = fromPython.map((l) => JSON.parse(l) as Ev);
  const v = await runProcessor(IntegrityVerifier, parsed.map((e) => [{}, e] as const), {});
  assert.deepEqual((v.processor as IntegrityVerifier).counter.values, { verified: 4, no_hash: 0, broken_hash: 0, chain_break: 0, chains: 1 });
});

test("parseOrdered/dumpsOrdered: Python's json.dumps of stored text, key order and number text kept", () => {
  const docs = [
    '{"b":1,"a":2,"7":"seven","1":"one"}',
    '{"f":1.0,"g":-0.0,"big":12345678901234567890123,"e":1E5,"e2":2.5e-7,"s":"\\u00e9\\ud83d\\udc0d \\"q\\" \\\\ /","u":"žluť"}',
    ' { "x" : [ ] , "y" : { } , "z" : [ true , false , null , { "k" : [ 1 , [ 2 ] ] } ] } ',
    '"top"',
    "[1.5e300, 0.001, 1e-05]",
  ];
  const expected = python(
    `
import json, sys
for line in sys.stdin.read().splitlines():
    print(json.dumps(json.loads(line)))
`,
    docs.join("\n"),
  ).split("\n");
  for (const [i, doc] of docs.entries()) assert.equal(dumpsOrdered(parseOrdered(doc)), expected[i], doc);
  assert.equal(dumpsOrdered(parseOrdered('{"_id":"h","a":1}'), "_id"), '{"a": 1}');
  for (const bad of ['{"a":1', '{"a" 1}', "[1,]", '{"a":1} x', "'a'"]) assert.throws(() => parseOrdered(bad), SyntaxError, bad);
});

test("IntegrityChainCheck: documents in any order; broken hash, missing predecessor, fork, duplicate and loop named", () => {
  const ok = new IntegrityChainCheck();
  for (const [id, prev] of [["c", "b"], ["a", null], ["b", "a"], ["x", null], ["y", "x"]] as const) ok.add(id, prev, id);
  assert.deepEqual(ok.finish(), { documents: 5, chains: 2, findings: [] });

  const bad = new IntegrityChainCheck();
  bad.add("a", null, "a");
  bad.add("b", "a", "B!");
  bad.add("d", "c", "d"); // c was deleted
  bad.add("e", "d", "e");
  bad.add("f", "d", "f"); // fork after d
  bad.add("e", "d", "e"); // the same hash twice
  bad.add("p", "q", "p"); // p and q follow each other: a loop no chain start reaches
  bad.add("q", "p", "q");
  const report = bad.finish();
  assert.equal(report.documents, 8);
  assert.deepEqual(report.findings, [
    { kind: "broken_hash", id: "b", computed: "B!" },
    { kind: "duplicate", id: "e" },
    { kind: "missing", id: "d", prev: "c" },
    { kind: "fork", prev: "d", ids: ["e", "f"] },
    { kind: "unreachable", ids: ["p", "q"] },
  ]);
});
