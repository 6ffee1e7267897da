// @services opensearch
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { runBsintegrity } from "../../src/cli/bsintegrity.js";
import { IntegrityEnricher, IntegrityVerifier } from "../../src/integrity/index.js";
import { runProcessor } from "../../src/unittest/index.js";
import { PumpBuilder } from "../../src/declarative/index.js";
import { count, createIndex, deleteIndex, es, ES_URL, makeApp, runApp, uniqueName } from "../elasticsearch/helpers.js";
import { PY_ENRICHER } from "./helpers.js";

type Ev = Record<string, unknown>;
const indices: string[] = [];
after(async () => {
  for (const i of indices) await deleteIndex(i);
  es.close();
});

/** Indexes NDJSON bulk text and refreshes. */
async function bulk(index: string, lines: string[]): Promise<void> {
  const r = await es.json<{ errors: boolean; items: unknown[] }>("POST", `${index}/_bulk?refresh=true`, Buffer.from(lines.join("\n") + "\n"));
  assert.equal(r.errors, false, JSON.stringify(r.items));
}

/** Stores events as the Elasticsearch sink does: `_id` taken out of the event, the document id. */
async function store(index: string, events: Ev[]): Promise<void> {
  await createIndex(index);
  indices.push(index);
  await bulk(
    index,
    events.flatMap(({ _id, ...doc }) => [JSON.stringify({ index: { _id } }), JSON.stringify(doc)]),
  );
}

async function bsintegrity(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBsintegrity(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

test("bsintegrity check: an intact chain, then one changed and one deleted document found in a real index", { timeout: 60_000 }, async () => {
  const input = Array.from({ length: 30 }, (_, i) => ({ seq: i, user: `u${i % 4}`, value: i * 1.25, note: i % 7 === 0 ? "žluť ✓" : "plain" }));
  const chain = (await runProcessor(IntegrityEnricher, input.map((e) => [{}, e] as const))).events as Ev[];
  const index = uniqueName("integrity");
  await store(index, chain);

  const intact = await bsintegrity("check", ES_URL, index, "--items_size", "7");
  assert.deepEqual(intact.err, []);
  assert.deepEqual(intact.out, [`${index}: 30 documents, 1 chain(s), intact`]);
  assert.equal(intact.code, 0);

  const changed = chain[5]!;
  const deleted = chain[12]!;
  const { _id: changedId, ...doc } = changed;
  await es.json("PUT", `${index}/_doc/${String(changedId)}?refresh=true`, { ...doc, value: 1_000_000 });
  await es.json("DELETE", `${index}/_doc/${String(deleted._id)}?refresh=true`);

  const broken = await bsintegrity("check", ES_URL, index, "--items_size", "4", "--scroll", "2");
  assert.equal(broken.code, 1);
  assert.deepEqual(broken.out.slice(0, -1).sort(), [
    `broken hash: document ${String(changedId)} hashes to ${broken.out.find((l) => l.startsWith("broken"))!.split(" hashes to ")[1]!.split(" ")[0]} (changed after it was hashed)`,
    `chain break: document ${String(chain[13]!._id)} follows ${String(deleted._id)} (_prev_id), which is not in the index (deleted)`,
  ].sort());
  assert.equal(broken.out.filter((l) => l.startsWith("broken hash")).length, 1);
  assert.equal(broken.out.at(-1), `${index}: 29 documents, 2 chain(s), 2 finding(s)`);
});

test("bsintegrity check: a chain made and stored by BSPump's algorithm in Python (1.0 floats, integer-like keys, big integers, non-ASCII) verifies", { timeout: 60_000 }, async () => {
  const events = [
    '{"b": 1.0, "a": "x", "7": "seven", "1": "one"}',
    '{"big": 9007199254740993, "f": 1e-05, "g": 100000.0, "h": -0.0}',
    '{"s": "\\u017elu\\u0165 \\ud83d\\udc0d", "nested": {"z": [1.5, {"9": null}], "a": true}}',
    '{"e": 1.5e+16, "n": 0}',
  ];
  const made = execFileSync("python3", ["-c", PY_ENRICHER], { input: events.join("\n") }).toString("utf8").trim().split("\n");
  // Stored as BSPump's Elasticsearch sink stores them: `_id` popped, the rest written compactly without ASCII escapes (orjson).
  const lines = execFileSync("python3", ["-c", `
import json, sys
for line in sys.stdin.read().splitlines():
    event = json.loads(line)
    _id = event.pop("_id")
    print(json.dumps({"index": {"_id": _id}}))
    print(json.dumps(event, separators=(",", ":"), ensure_ascii=False))
`], { input: made.join("\n") }).toString("utf8").trim().split("\n");
  const index = uniqueName("integrity-py");
  await createIndex(index, { mappings: { dynamic: false } }); // the source is kept as sent; nothing needs mapping
  indices.push(index);
  await bulk(index, lines);

  const r = await bsintegrity("check", ES_URL, index);
  assert.deepEqual(r.err, []);
  assert.deepEqual(r.out, [`${index}: 4 documents, 1 chain(s), intact`]);
  assert.equal(r.code, 0);
});

test("bsintegrity: the hash in a stored field (--hash_key), usage errors and an unreachable server", { timeout: 60_000 }, async () => {
  const chain = (await runProcessor(IntegrityEnricher, [{ a: 1 }, { a: 2 }, { a: 3 }].map((e) => [{}, e] as const), { config: { hash_key: "hash", prev_hash_key: "prev", algorithm: "sha512" } })).events as Ev[];
  const index = uniqueName("integrity-field");
  await createIndex(index);
  indices.push(index);
  await bulk(index, chain.flatMap((e) => [JSON.stringify({ index: {} }), JSON.stringify(e)]));
  const ok = await bsintegrity("check", ES_URL, index, "--hash_key", "hash", "--prev_hash_key", "prev", "--algorithm", "SHA512");
  assert.deepEqual(ok.out, [`${index}: 3 documents, 1 chain(s), intact`]);
  const wrongAlgorithm = await bsintegrity("check", ES_URL, index, "--hash_key", "hash", "--prev_hash_key", "prev");
  assert.equal(wrongAlgorithm.code, 1);
  assert.equal(wrongAlgorithm.out.filter((l) => l.startsWith("broken hash")).length, 3);

  const unknown = await bsintegrity("check", ES_URL, index, "--algorithm", "sha999");
  assert.equal(unknown.code, 2);
  assert.match(unknown.err.join("\n"), /--algorithm: unknown hash algorithm 'sha999'/);
  const usage = await bsintegrity("check", ES_URL);
  assert.notEqual(usage.code, 0);
  assert.match(usage.err.join("\n"), /missing required argument 'index'/);
  const none = await bsintegrity();
  assert.equal(none.code, 2);
  const down = await bsintegrity("check", "http://127.0.0.1:1", index);
  assert.equal(down.code, 2);
  assert.match(down.err.join("\n"), /^bsintegrity: /);
  const missing = await bsintegrity("check", ES_URL, `${index}-nonexistent`);
  assert.equal(missing.code, 2);
  assert.match(missing.err.join("\n"), /404/);
});

test("YAML: RandomSource → integrity.IntegrityEnricher → ElasticSearchSink, and bsintegrity finds the stored chain intact", { timeout: 60_000 }, async () => {
  const index = uniqueName("integrity-yaml");
  indices.push(index);
  const yaml = `
connections:
  - {id: ES, class: elasticsearch.ElasticSearchConnection, config: {url: "${ES_URL}"}}
pipelines:
  - id: Audit
    sources:
      - {id: Src, class: random.RandomSource, config: {field: n, number: 250, upper_bound: 100000}, trigger: {class: RunOnceTrigger}}
    processors:
      - {id: Chain, class: integrity.IntegrityEnricher, config: {algorithm: BLAKE2B}}
    sink: {id: Sink, class: elasticsearch.ElasticSearchSink, args: {connection: ES}, config: {index: "${index}", action: index}}
`;
  const app = makeApp();
  await new PumpBuilder("audit.yaml", yaml).constructPump(app);
  assert.equal(await runApp(app), 0);
  assert.equal(await count(index), 250);
  const r = await bsintegrity("check", ES_URL, index, "--algorithm", "blake2b", "--items_size", "100");
  assert.deepEqual(r.out, [`${index}: 250 documents, 1 chain(s), intact`]);
  assert.equal(r.code, 0);

  // Read back in index order by ElasticSearchSource (the hash is the document id, in context.es_hit):
  // IntegrityVerifier checks each hash; the chain is not in that order, so only hashes are checked.
  const check = makeApp();
  const yaml2 = `
connections:
  - {id: ES, class: elasticsearch.ElasticSearchConnection, config: {url: "${ES_URL}"}}
pipelines:
  - id: Check
    sources:
      - {id: Src, class: elasticsearch.ElasticSearchSource, args: {connection: ES}, config: {index: "${index}", timestamp: ""}, trigger: {class: RunOnceTrigger}}
    processors:
      - {id: Verify, class: integrity.IntegrityVerifier, config: {algorithm: blake2b, check_chain: false}}
    sink: {class: common.NullSink}
`;
  await new PumpBuilder("check.yaml", yaml2).constructPump(check);
  const verifier = check.pumpService.locatePipeline("Check")!.locateProcessor("Verify") as IntegrityVerifier;
  assert.equal(await runApp(check), 0);
  assert.deepEqual(verifier.counter.values, { verified: 250, no_hash: 0, broken_hash: 0, chain_break: 0, chains: 0 });
});
