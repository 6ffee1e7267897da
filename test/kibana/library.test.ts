import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBskibana } from "../../src/cli/bskibana.js";
import { formatCompiled, normalize, pyDumps, type KibanaHit } from "../../src/kibana/index.js";

const FIXTURE = new URL("./fixtures/kibana-export.json", import.meta.url).pathname;
const TEMPLATES = new URL("./fixtures/templates", import.meta.url).pathname;
const fixture = (): KibanaHit[] => JSON.parse(readFileSync(FIXTURE, "utf8")) as KibanaHit[];
const tmp = (): string => mkdtempSync(join(tmpdir(), "bskibana-"));

async function bskibana(...args: string[]): Promise<{ code: number; out: string[]; err: string[]; text: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBskibana(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err, text: [...out, ...err].join("\n") };
}

function listFiles(dir: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) found.push(...listFiles(join(dir, e.name), rel + "/"));
    else found.push(rel);
  }
  return found.sort();
}

const snapshot = (dir: string): Map<string, string> => new Map(listFiles(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));

const byId = (a: KibanaHit, b: KibanaHit): number => (a._id < b._id ? -1 : 1);

describe("pyDumps writes JSON as Python's json.dumps does", () => {
  test("separators, indent and ensure_ascii", () => {
    assert.equal(pyDumps({ a: [1, "x"], b: {}, c: [] }), '{"a": [1, "x"], "b": {}, "c": []}');
    assert.equal(pyDumps({ a: [1], t: "š\"\n" }, "\t"), '{\n\t"a": [\n\t\t1\n\t],\n\t"t": "\\u0161\\"\\n"\n}');
    assert.equal(pyDumps("😀\x7f"), '"\\ud83d\\ude00\\u007f"');
  });
});

describe("decompile and compile", () => {
  test("decompile writes the library with BSPump's file names, includes and normalization", async () => {
    const lib = tmp();
    const csv = join(lib, "..", `log-${Date.now()}.tsv`);
    const r = await bskibana("decompile", FIXTURE, lib, "--csv", csv);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /Decompiled 11 objects into 11 new, 0 unchanged, 0 updated/);
    const files = listFiles(lib);
    assert.deepEqual(files, [
      "new/config_6.8.0.json",
      "new/dashboard_d-dangling.json",
      "new/dashboard_d-dangling@optionsJSON.json",
      "new/dashboard_d-dangling@panelsJSON.json",
      "new/dashboard_d-dangling@searchSourceJSON.json",
      "new/dashboard_d-dangling@uiStateJSON.json",
      "new/dashboard_d-ok.json",
      "new/dashboard_d-ok@optionsJSON.json",
      "new/dashboard_d-ok@panelsJSON.json",
      "new/dashboard_d-ok@searchSourceJSON.json",
      "new/index-pattern_77aa-metrics.json",
      "new/index-pattern_9f0a-logs.json",
      "new/index-pattern_9f0a-logs@fieldFormatMap.json",
      "new/index-pattern_9f0a-logs@fields.json",
      "new/search_s-errors.json",
      "new/search_s-errors@searchSourceJSON.json",
      "new/timelion-sheet_t1.json",
      "new/visualization_v-cpu.json",
      "new/visualization_v-cpu@searchSourceJSON.json",
      "new/visualization_v-cpu@uiStateJSON.json",
      "new/visualization_v-cpu@visState.json",
      "new/visualization_v-status.json",
      "new/visualization_v-status@searchSourceJSON.json",
      "new/visualization_v-status@uiStateJSON.json",
      "new/visualization_v-status@visState.json",
      "new/x-lff-lookup_country.json",
      "new/x-lff-lookup_country@map.json",
      "new/x-lff-lookup_http-status.json",
      "new/x-lff-lookup_http-status@map.json",
    ]);
    // Fields sorted by name, name and type first, then the rest alphabetically; tab indent and a newline.
    const fields = readFileSync(join(lib, "new/index-pattern_9f0a-logs@fields.json"), "utf8");
    assert.equal(fields.split("\n")[1], "\t{");
    assert.ok(fields.endsWith("}\n]\n"));
    assert.deepEqual(
      (JSON.parse(fields) as { name: string }[]).map((f) => Object.keys(f).join(",") + "=" + f.name),
      ["name,type,aggregatable,count,searchable=@timestamp", "name,type,aggregatable,count,searchable=city", "name,type,aggregatable,count,searchable=status"],
    );
    const ip = JSON.parse(readFileSync(join(lib, "new/index-pattern_9f0a-logs.json"), "utf8")) as KibanaHit;
    assert.deepEqual(ip._source["index-pattern"], { title: "logs_*", timeFieldName: "@timestamp", fields: "@fields", fieldFormatMap: "@fieldFormatMap" });
    // An empty field list stays inline.
    const metrics = JSON.parse(readFileSync(join(lib, "new/index-pattern_77aa-metrics.json"), "utf8")) as KibanaHit;
    assert.equal((metrics._source["index-pattern"] as { fields: string }).fields, "[]");
    // Non-ASCII is escaped as Python's json.dump does.
    assert.match(readFileSync(join(lib, "new/search_s-errors.json"), "utf8"), /"title": "Errors \\u2014 v\\u0161echny"/);
    // The old .kibana lookup became an .x-lff-lookup document.
    const country = JSON.parse(readFileSync(join(lib, "new/x-lff-lookup_country.json"), "utf8")) as KibanaHit;
    assert.deepEqual(country, { _index: ".x-lff-lookup", _type: "lookup", _id: "x-lff-lookup:country", _source: { type: "x-lff-lookup", fieldType: "string", lookupType: "static", map: "@map" } });
    assert.deepEqual(JSON.parse(readFileSync(join(lib, "new/x-lff-lookup_country@map.json"), "utf8")), [
      { key: "CZ", value: "Czechia" },
      { key: "DE", value: "Germany" },
    ]);
    // The lookup without a type gets one.
    const status = JSON.parse(readFileSync(join(lib, "new/x-lff-lookup_http-status.json"), "utf8")) as KibanaHit;
    assert.equal(status._source.type, "x-lff-lookup");
    const lines = readFileSync(csv, "utf8").trimEnd().split("\n");
    assert.equal(lines.length, 11);
    assert.deepEqual(lines.find((l) => l.includes("search:s-errors"))!.split("\t"), ["new", "search", "search:s-errors", "Errors — všechny", join(lib, "new"), join(lib, "new/search_s-errors.json")]);
  });

  test("decompile → compile reproduces the normalized objects byte for byte; decompiling again changes nothing", async () => {
    const lib = tmp();
    assert.equal((await bskibana("-s", "decompile", FIXTURE, lib)).code, 0);
    const out = join(lib, "..", `compiled-${Date.now()}.json`);
    const r = await bskibana("compile", lib, "-o", out);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /11 Kibana objects compiled into/);
    assert.ok(!existsSync(out + "~"));
    const expected = formatCompiled(fixture().map(normalize).sort(byId));
    assert.equal(readFileSync(out, "utf8"), expected);
    // The compiled file is what Python's bskibana writes: one json.dumps object per line.
    assert.match(readFileSync(out, "utf8"), /^\[\n\{"_index": "\.kibana", "_type": "doc", "_id": "config:6\.8\.0", /);
    // And the same content as the input, once normalized.
    const compiled = JSON.parse(readFileSync(out, "utf8")) as KibanaHit[];
    assert.equal(compiled.length, 11);
    const before = snapshot(lib);
    const again = await bskibana("decompile", out, lib);
    assert.match(again.text, /Decompiled 11 objects into 0 new, 11 unchanged, 0 updated/);
    assert.deepEqual(snapshot(lib), before);
    // A second compile is identical too.
    const out2 = out + ".2";
    await bskibana("-s", "compile", lib, "-o", out2);
    assert.equal(readFileSync(out2, "utf8"), readFileSync(out, "utf8"));
  });

  test("an updated object is re-saved where it lives in the library; skip: true objects are left alone", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    mkdirSync(join(lib, "web"));
    for (const f of readdirSync(join(lib, "new")).filter((f) => f.startsWith("visualization_v-status"))) renameSync(join(lib, "new", f), join(lib, "web", f));
    const cpu = join(lib, "new/visualization_v-cpu.json");
    const cpuObj = JSON.parse(readFileSync(cpu, "utf8")) as KibanaHit & { skip?: boolean };
    cpuObj.skip = true;
    writeFileSync(cpu, JSON.stringify(cpuObj));
    const hits = fixture();
    const vis = hits.find((h) => h._id === "visualization:v-status")!;
    (vis._source.visualization as { visState: string }).visState = JSON.stringify({ title: "Status codes", type: "bar" });
    (hits.find((h) => h._id === "visualization:v-cpu")!._source.visualization as { title: string }).title = "changed";
    const changed = join(lib, "..", `changed-${Date.now()}.json`);
    writeFileSync(changed, JSON.stringify(hits));
    const r = await bskibana("decompile", changed, lib);
    assert.match(r.text, /Skipping visualization:v-cpu/);
    assert.match(r.text, /Decompiled 11 objects into 0 new, 9 unchanged, 1 updated/);
    assert.ok(!existsSync(join(lib, "new/visualization_v-status.json")));
    assert.deepEqual(JSON.parse(readFileSync(join(lib, "web/visualization_v-status@visState.json"), "utf8")), { title: "Status codes", type: "bar" });
    assert.match(readFileSync(cpu, "utf8"), /"skip":true/);
    // compile leaves the skipped object out.
    const out = join(lib, "..", `c-${Date.now()}.json`);
    await bskibana("-s", "compile", lib, "-o", out);
    const ids = (JSON.parse(readFileSync(out, "utf8")) as KibanaHit[]).map((h) => h._id);
    assert.equal(ids.length, 10);
    assert.ok(!ids.includes("visualization:v-cpu"));
  });

  test("older @ref-<name> includes are still read", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    const f = join(lib, "new/search_s-errors.json");
    writeFileSync(f, readFileSync(f, "utf8").replace('"@searchSourceJSON"', '"@ref-searchSourceJSON"'));
    renameSync(join(lib, "new/search_s-errors@searchSourceJSON.json"), join(lib, "new/search_s-errors@ref-searchSourceJSON.json"));
    const out = join(lib, "..", `r-${Date.now()}.json`);
    await bskibana("-s", "compile", lib, "-o", out);
    assert.equal(readFileSync(out, "utf8"), formatCompiled(fixture().map(normalize).sort(byId)));
  });
});

describe("compile --index-pattern", () => {
  test("keeps only the related objects; a dangling dashboard panel skips that dashboard instead of aborting", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    const out = join(lib, "..", `logs-${Date.now()}.json`);
    const r = await bskibana("-v", "compile", lib, "-o", out, "-i", "logs");
    assert.equal(r.code, 0, r.text);
    // [BUG] fixed: the verbose print crashed on obj['_id'].
    assert.match(r.text, /index-pattern:9f0a-logs compiled/);
    assert.match(r.text, /Cannot find 'visualization:v-gone' referenced from dashboard dashboard:d-dangling/);
    assert.match(r.text, /1 dashboard\(s\) added out of 2/);
    assert.match(r.text, /1 index-pattern\(s\) added out of 2/);
    assert.match(r.text, /1 x-lff-lookup\(s\) added out of 2/);
    assert.ok(!existsSync(out + "~"));
    const hits = JSON.parse(readFileSync(out, "utf8")) as KibanaHit[];
    assert.deepEqual(
      hits.map((h) => h._id),
      ["config:6.8.0", "dashboard:d-ok", "index-pattern:9f0a-logs", "search:s-errors", "timelion-sheet:t1", "visualization:v-status", "x-lff-lookup:http-status"],
    );
    assert.equal((hits[0]!._source.config as { defaultIndex?: string }).defaultIndex, "9f0a-logs");
  });

  test("config loses a defaultIndex that is not compiled; a pattern given with _* is taken as is", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    const out = join(lib, "..", `m-${Date.now()}.json`);
    const r = await bskibana("compile", lib, "-o", out, "--index-pattern", "metrics_*");
    assert.equal(r.code, 0, r.text);
    const hits = JSON.parse(readFileSync(out, "utf8")) as KibanaHit[];
    assert.deepEqual(hits.map((h) => h._id), ["config:6.8.0", "index-pattern:77aa-metrics", "timelion-sheet:t1", "visualization:v-cpu"]);
    assert.equal((hits[0]!._source.config as { defaultIndex?: string }).defaultIndex, undefined);
    // The library itself is untouched.
    assert.match(readFileSync(join(lib, "new/config_6.8.0.json"), "utf8"), /"defaultIndex": "9f0a-logs"/);
  });
});

describe("rename", () => {
  test("all index patterns get ids from their titles; files and references follow", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    const r = await bskibana("-v", "rename", lib);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /BSKibana made changes in 5 files and renamed 2\./);
    const files = listFiles(lib);
    assert.ok(files.includes("new/index-pattern_logs.json") && files.includes("new/index-pattern_logs@fields.json") && files.includes("new/index-pattern_logs@fieldFormatMap.json"));
    assert.ok(files.includes("new/index-pattern_metrics.json"));
    assert.ok(!files.some((f) => f.includes("9f0a") || f.includes("77aa")));
    const out = join(lib, "..", `ren-${Date.now()}.json`);
    await bskibana("-s", "compile", lib, "-o", out);
    const text = readFileSync(out, "utf8");
    assert.ok(!text.includes("9f0a-logs") && !text.includes("77aa-metrics"));
    const hits = JSON.parse(text) as KibanaHit[];
    const search = hits.find((h) => h._id === "search:s-errors")!;
    const ssj = JSON.parse((search._source.search as { kibanaSavedObjectMeta: { searchSourceJSON: string } }).kibanaSavedObjectMeta.searchSourceJSON) as { index: string; filter: { meta: { index: string } }[] };
    assert.equal(ssj.index, "logs");
    assert.equal(ssj.filter[0]!.meta.index, "logs");
    assert.equal((hits.find((h) => h._id === "config:6.8.0")!._source.config as { defaultIndex: string }).defaultIndex, "logs");
    // compile --index-pattern still finds everything through the new ids.
    const r2 = await bskibana("compile", lib, "-o", out, "-i", "logs");
    assert.match(r2.text, /7 Kibana objects compiled/);
    // Renaming again changes nothing.
    assert.match((await bskibana("rename", lib)).text, /made changes in 0 files and renamed 0/);
  });

  test("one pattern with --new-id; an unknown id is an error", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    const r = await bskibana("rename", lib, "-i", "9f0a-logs", "-o", "weblogs");
    assert.match(r.text, /made changes in 3 files and renamed 1\./);
    assert.ok(existsSync(join(lib, "new/index-pattern_weblogs@fields.json")));
    assert.ok(existsSync(join(lib, "new/index-pattern_77aa-metrics.json")));
    const bad = await bskibana("rename", lib, "-i", "nope");
    assert.equal(bad.code, 1);
    assert.match(bad.text, /Unknown index pattern 'nope'/);
  });
});

describe("document", () => {
  test("renders a page per object with uses / used_by, fields per pattern, index.md; unchanged pages are not rewritten", async () => {
    const lib = tmp();
    await bskibana("-s", "decompile", FIXTURE, lib);
    // A dedicated template next to an object file wins over object.md ([BUG] d[0]: the DIR itself is searched).
    writeFileSync(join(lib, "new/dashboard_d-ok.md"), "Dedicated: {{ obj.title }} has {{ obj.uses | length }} panels\n");
    // A visualization whose saved search is missing ([BUG]: the message used an undefined variable).
    const v = JSON.parse(readFileSync(join(lib, "new/visualization_v-cpu.json"), "utf8")) as KibanaHit;
    (v._source.visualization as { savedSearchId: string }).savedSearchId = "s-missing";
    writeFileSync(join(lib, "new/visualization_v-cpu.json"), JSON.stringify(v));
    const out = join(lib, "..", `doc-${Date.now()}`);
    const r = await bskibana("document", lib, "-t", TEMPLATES, "-o", out);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /Cannot find 'visualization:v-gone' object referenced from dashboard 'dashboard:d-dangling'/);
    assert.match(r.text, /Cannot find 'search:s-missing' object referenced from visualization 'visualization:v-cpu'/);
    assert.deepEqual(listFiles(out), [
      "dashboard/dashboard_d-dangling.md",
      "dashboard/dashboard_d-ok.md",
      "fieldcategory/fieldcategory_index-pattern_77aa-metrics.md",
      "fieldcategory/fieldcategory_index-pattern_9f0a-logs.md",
      "index-pattern/index-pattern_77aa-metrics.md",
      "index-pattern/index-pattern_9f0a-logs.md",
      "index.md",
      "search/search_s-errors.md",
      "timelion-sheet/timelion-sheet_t1.md",
      "visualization/visualization_v-cpu.md",
      "visualization/visualization_v-status.md",
    ]);
    assert.equal(readFileSync(join(out, "dashboard/dashboard_d-ok.md"), "utf8"), "Dedicated: Web traffic has 2 panels\n");
    const search = readFileSync(join(out, "search/search_s-errors.md"), "utf8");
    assert.match(search, /# Errors — všechny/);
    assert.match(search, /- used by dashboard Web traffic\n- used by visualization Status codes/);
    const vis = readFileSync(join(out, "visualization/visualization_v-status.md"), "utf8");
    assert.match(vis, /- uses search Errors — všechny/);
    assert.match(vis, /- used by dashboard Web traffic/);
    const ip = readFileSync(join(out, "index-pattern/index-pattern_9f0a-logs.md"), "utf8");
    assert.match(ip, /## Fields\n\n- @timestamp \(date\)\n- city \(string\)\n- status \(string\)/);
    const index = readFileSync(join(out, "index.md"), "utf8");
    assert.ok(!index.includes("Czechia") && !index.includes("6.8.0"), "config and lookups are left out");
    assert.match(index, /- dashboard: Broken/);
    const again = await bskibana("document", lib, "-t", TEMPLATES, "-o", out);
    assert.ok(!again.text.includes("Generating"), again.text);
  });
});

describe("the command line", () => {
  test("--help everywhere, no command is exit 1, a missing file is an error", async () => {
    for (const cmd of ["export", "import", "decompile", "compile", "rename", "document"]) {
      const r = await bskibana(cmd, "--help");
      assert.equal(r.code, 0, cmd);
      assert.match(r.text, new RegExp(`Usage: bskibana ${cmd}`));
    }
    assert.equal((await bskibana("--help")).code, 0);
    const none = await bskibana();
    assert.equal(none.code, 1);
    assert.match(none.text, /give a command/);
    const missing = await bskibana("decompile", "/nonexistent/file.json", tmp());
    assert.equal(missing.code, 1);
    assert.match(missing.text, /ENOENT/);
  });

  test("import --dry-run sends nothing and shows the targets", async () => {
    const dir = tmp();
    cpSync(FIXTURE, join(dir, "f.json"));
    const r = await bskibana("import", join(dir, "f.json"), "http://127.0.0.1:1/", "--dry-run", "--index", ".kibana_4");
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /would import config:6\.8\.0 into \.kibana_4/);
    assert.match(r.text, /would import x-lff-lookup:http-status into \.x-lff-lookup/);
    assert.match(r.text, /11 objects would be imported/);
  });
});
