// @services opensearch
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBskibana } from "../../src/cli/bskibana.js";
import { BSPumpApplication } from "../../src/core/index.js";
import { LibraryObject, formatCompiled, lookupHit, normalize, type KibanaHit } from "../../src/kibana/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";

const ES_URL = (process.env.ES_URL ?? "http://127.0.0.1:9200").replace(/\/*$/, "/");
const FIXTURE = new URL("./fixtures/kibana-export.json", import.meta.url).pathname;
const P = `bspump-kibana-${process.pid}-${Date.now().toString(36)}`;
const K = `${P}-kibana`;
const L = `${P}-lookup`;
const tmp = (): string => mkdtempSync(join(tmpdir(), "bskibana-os-"));

async function bskibana(...args: string[]): Promise<{ code: number; text: string; progress: [number, number][] }> {
  const lines: string[] = [];
  const progress: [number, number][] = [];
  const code = await runBskibana(args, { out: (l) => lines.push(l), err: (l) => lines.push(l), progress: (d, t) => progress.push([d, t]) });
  return { code, text: lines.join("\n"), progress };
}

async function es(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(ES_URL + path, { method, headers: { "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

after(async () => {
  await es("DELETE", `${P}-*?ignore_unavailable=true&allow_no_indices=true`);
});

describe("bskibana against OpenSearch", () => {
  test("compile → import → export → decompile: every object arrives in its index and comes back the same", async () => {
    const lib = tmp();
    assert.equal((await bskibana("-s", "decompile", FIXTURE, lib)).code, 0);
    // A BSPump lookup goes into the library next to the saved objects (§3.3).
    const app = new BSPumpApplication({ args: [] });
    const lookup = new DictionaryLookup(app, "Protocols");
    lookup.set("6", "TCP");
    lookup.set("17", "UDP");
    new LibraryObject(join(lib, "lookups", "x-lff-lookup_Protocols.json"), normalize(lookupHit(lookup, { fieldType: "number" }))).save();

    const compiled = join(lib, "..", `compiled-${P}.json`);
    assert.equal((await bskibana("-s", "compile", lib, "-o", compiled)).code, 0);
    const r = await bskibana("-v", "import", compiled, ES_URL, "--index", K, "--lookup-index", L);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /Kibana index with 12 objects imported into/);
    assert.match(r.text, /x-lff-lookup:Protocols imported/);
    const k = await es("GET", `${K}/_count`);
    const l = await es("GET", `${L}/_count`);
    assert.equal(k.json.count, 9);
    assert.equal(l.json.count, 3);
    const doc = await es("GET", `${L}/_doc/${encodeURIComponent("x-lff-lookup:Protocols")}`);
    assert.deepEqual(doc.json._source, { type: "x-lff-lookup", fieldType: "number", lookupType: "static", map: [{ key: "6", value: "TCP" }, { key: "17", value: "UDP" }] });

    // Export both indexes, plus one that does not exist: it is reported and left out.
    const exported = join(lib, "..", `exported-${P}.json`);
    const e = await bskibana("export", ES_URL, exported, "--index", K, "--index", `${P}-missing`, "--index", L);
    assert.equal(e.code, 0, e.text);
    assert.match(e.text, new RegExp(`Index ${P}-missing is not available \\(404\\)`));
    assert.match(e.text, /12 objects exported from Kibana index/);
    assert.deepEqual(e.progress, [[9, 9], [3, 3]], "objects read of each index's total (one scroll page each)");
    assert.ok(!existsSync(exported + "~"));
    const hits = JSON.parse(readFileSync(exported, "utf8")) as KibanaHit[];
    assert.deepEqual(hits.map((h) => h._index), [...Array(9).fill(K), ...Array(3).fill(L)]);
    // Per index, sorted by _id; the sources are exactly what was compiled.
    const source = new Map((JSON.parse(readFileSync(compiled, "utf8")) as KibanaHit[]).map((h) => [h._id, h._source]));
    for (const h of hits) assert.deepEqual(h._source, source.get(h._id), h._id);
    assert.deepEqual(hits.slice(0, 9).map((h) => h._id), [...hits.slice(0, 9).map((h) => h._id)].sort());

    // Decompile straight from the server into the library: the content is unchanged, only _index/_type differ.
    const fresh = tmp();
    const d = await bskibana("decompile", ES_URL, fresh, "--index", K, "--index", L);
    assert.equal(d.code, 0, d.text);
    assert.match(d.text, /Decompiled 12 objects into 12 new/);
    const out = join(fresh, "..", `again-${P}.json`);
    await bskibana("-s", "compile", fresh, "-o", out);
    const again = JSON.parse(readFileSync(out, "utf8")) as KibanaHit[];
    assert.equal(again.length, 12);
    for (const h of again) assert.deepEqual(h._source, source.get(h._id), h._id);
    // Restoring _index and _type gives back the compiled file byte for byte.
    const orig = new Map((JSON.parse(readFileSync(compiled, "utf8")) as KibanaHit[]).map((h) => [h._id, h]));
    const restored = again.map((h) => normalize({ ...orig.get(h._id)!, _source: h._source }));
    assert.equal(formatCompiled(restored), readFileSync(compiled, "utf8"));
  });

  test("import errors: a rejected object is printed and the exit code is 1", async () => {
    const dir = tmp();
    const file = join(dir, "bad.json");
    const good: KibanaHit = { _index: ".kibana", _type: "doc", _id: "config:1", _source: { type: "config", config: {} } };
    writeFileSync(file, JSON.stringify([good]));
    const r = await bskibana("import", file, ES_URL, "--index", `${P}-UPPER`);
    assert.equal(r.code, 1);
    assert.match(r.text, /Error\(s\) during Kibana index import:/);
    assert.match(r.text, /invalid_index_name_exception/);
    const ok = await bskibana("import", file, ES_URL, "--index", `${P}-single`);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /Kibana index with 1 objects imported/);
  });
});

describe("exportLookupToKibana against OpenSearch", () => {
  test("the lookup arrives as the Kibana lookup plugin's document; a refused write is a clear error", async () => {
    const { exportLookupToKibana, kibanaLookupDocument, KIBANA_LOOKUP_INDEX } = await import("../../src/lookup/index.js");
    const app = new BSPumpApplication({ args: [] });
    const lookup = new DictionaryLookup(app, `${P}-Severity`);
    lookup.replace({ "1": "low", "2": "high", "3": { label: "x" } });
    const docId = `x-lff-lookup:${lookup.id}`;
    try {
      const put = await exportLookupToKibana(lookup, ES_URL, { fieldType: "number" });
      assert.ok(put.status === 200 || put.status === 201, `status ${put.status}`);
      const got = await es("GET", `${KIBANA_LOOKUP_INDEX}/_doc/${encodeURIComponent(docId)}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.json._source, kibanaLookupDocument(lookup, { fieldType: "number" }));
      assert.deepEqual((got.json._source as { map: unknown[] }).map.length, 3);
      // Exported again after a change: the document is replaced, not duplicated.
      lookup.replace({ "1": "low" });
      await exportLookupToKibana(lookup, ES_URL, { fieldType: "number" });
      const again = await es("GET", `${KIBANA_LOOKUP_INDEX}/_doc/${encodeURIComponent(docId)}`);
      assert.deepEqual((again.json._source as { map: unknown[] }).map, [{ key: "1", value: "low" }]);
    } finally {
      await es("DELETE", `${KIBANA_LOOKUP_INDEX}/_doc/${encodeURIComponent(docId)}?refresh=true`);
    }
    // An index name OpenSearch refuses (upper case): the error names the lookup and the server's answer.
    await assert.rejects(exportLookupToKibana(lookup, `${ES_URL}NOT_AN_INDEX`), new RegExp(`Kibana lookup export of '${lookup.id}' failed: 4\\d\\d`));
  });
});
