// @services opensearch
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { runBselastic } from "../../src/cli/bselastic.js";
import { stripJsonComments } from "../../src/elasticsearch/templates.js";
import { createIndex, deleteIndex, es, ES_URL, seed, uniqueName } from "./helpers.js";

const P = uniqueName("bspump-cli").replace(/-/g, "x");
const names = { jan1: `${P}_2024.01.01`, jan2: `${P}_2024.01.02`, feb1: `${P}_2024.02.01`, empty: `${P}_empty`, span: `${P}_span` };

async function bselastic(...args: string[]): Promise<{ code: number; out: string[]; err: string[]; progress: [number, number][] }> {
  const out: string[] = [];
  const err: string[] = [];
  const progress: [number, number][] = [];
  const code = await runBselastic(args, { out: (l) => out.push(l), err: (l) => err.push(l), progress: (d, t) => progress.push([d, t]) });
  return { code, out, err, progress };
}

async function status(): Promise<Record<string, string>> {
  const list = await es.json<{ index: string; status: string }[]>("GET", `_cat/indices/${P}_*?format=json&h=index,status&expand_wildcards=all`);
  return Object.fromEntries(list.map((i) => [i.index, i.status]));
}

const day = (d: string, h: number) => ({ "@timestamp": `${d}T${String(h).padStart(2, "0")}:00:00Z` });

before(async () => {
  for (const name of Object.values(names)) await createIndex(name, { mappings: { properties: { "@timestamp": { type: "date" } } } });
  await seed(names.jan1, 24, (i) => day("2024-01-01", i));
  await seed(names.jan2, 24, (i) => day("2024-01-02", i));
  await seed(names.feb1, 24, (i) => day("2024-02-01", i));
  await seed(names.span, 2, (i) => (i === 0 ? day("2024-01-01", 0) : day("2024-02-01", 0)));
});
after(() => deleteIndex(`${P}_*`));

describe("bselastic on real indices", () => {
  test("no command: a hint and exit 1; --help on every command; a bad date is an error", async () => {
    let r = await bselastic();
    assert.equal(r.code, 1);
    assert.match(r.err.join("\n"), /give a command/);
    for (const cmd of ["load_index_template", "cleanup", "reopen", "close", "delete", "force-merge"]) {
      r = await bselastic(cmd, "--help");
      assert.equal(r.code, 0);
      assert.match(r.out.join("\n"), new RegExp(`Usage: bselastic ${cmd}`));
      assert.match(r.out.join("\n"), /--dry-run/);
    }
    r = await bselastic("close", ES_URL, "--min-date", "2024-02-30");
    assert.equal(r.code, 1);
    assert.match(r.err.join("\n"), /--min-date must be a date/);
    r = await bselastic("close", ES_URL, "--min-date", "2024-02-02", "--max-date", "2024-02-01");
    assert.equal(r.code, 1);
  });

  test("close, reopen, delete and cleanup select indices by the time span of their documents", async () => {
    const all = ["--index", `${P}_*`];
    // close --dry-run lists, changes nothing
    let r = await bselastic("close", ES_URL, "--min-date", "2024-01-01", "--max-date", "2024-01-02", "--dry-run", ...all);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.deepEqual(r.out.filter((l) => l.startsWith("would close")).map((l) => l.split(" ")[2]), [names.jan1, names.jan2]);
    // Progress: one report before the first index and one after each of the 5 open indices.
    assert.deepEqual(r.progress, [0, 1, 2, 3, 4, 5].map((d) => [d, 5]));
    assert.equal(Object.values(await status()).every((s) => s === "open"), true);
    // close: only indices whose whole span is inside the range
    r = await bselastic("close", ES_URL, "--min-date", "2024-01-01", "--max-date", "2024-01-02", ...all);
    assert.equal(r.code, 0, r.err.join("\n"));
    let s = await status();
    assert.deepEqual([s[names.jan1], s[names.jan2], s[names.feb1], s[names.span], s[names.empty]], ["close", "close", "open", "open", "open"]);
    // reopen (crashed in BSPump): only jan2 is in range; jan1 is closed again
    r = await bselastic("reopen", ES_URL, "--min-date", "2024-01-02", "--max-date", "2024-01-02", ...all);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.match(r.out.at(-1)!, /closed: 2, reopened: 1/);
    s = await status();
    assert.deepEqual([s[names.jan1], s[names.jan2]], ["close", "open"]);
    // delete --dry-run, then delete: the closed jan1 is opened temporarily and deleted; the exclude prefix is honoured
    r = await bselastic("delete", ES_URL, "--min-date", "2024-01-01", "--max-date", "2024-01-02", "--dry-run", ...all);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.equal(Object.keys(await status()).length, 5);
    r = await bselastic("delete", ES_URL, "--min-date", "2024-01-01", "--max-date", "2024-01-02", "--exclude", names.jan2, ...all);
    assert.equal(r.code, 0, r.err.join("\n"));
    s = await status();
    assert.equal(s[names.jan1], undefined, "deleted");
    assert.equal(s[names.jan2], "open", "excluded");
    assert.equal(s[names.empty], "open", "an empty index has no span: never in range");
    // cleanup: deletes the empty index, closes feb1 (in range), leaves span and jan2
    r = await bselastic("cleanup", ES_URL, "--min-date", "2024-02-01", "--max-date", "2024-02-01", "--dry-run", ...all);
    assert.deepEqual(r.out.filter((l) => l.startsWith("would")).sort(), [`would close ${names.feb1} (2024-02-01T00:00:00.000Z .. 2024-02-01T23:00:00.000Z)`, `would delete ${names.empty} (empty)`]);
    r = await bselastic("cleanup", ES_URL, "--min-date", "2024-02-01", "--max-date", "2024-02-01", ...all);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.match(r.out.at(-1)!, /Total: 4, closed \(old\): 1, not green: 0, deleted \(empty\): 1/);
    s = await status();
    assert.deepEqual(s, { [names.jan2]: "open", [names.feb1]: "close", [names.span]: "open" });
  });

  test("load_index_template: composable and legacy templates, comments stripped outside strings, bad files reported", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bselastic-"));
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    mkdirSync(join(dir, "c"));
    const legacy = `${P}-legacy`;
    const composable = `${P}-composable`;
    writeFileSync(
      join(dir, "a", "es_index_template.json"),
      `// a legacy template\n{\n  "!deploy_to": "${legacy}", // its name\n  "index_patterns": ["${P}-legacy-*"],\n  "settings": {"number_of_replicas": 0},\n  "mappings": {"_meta": {"docs": "http://example.com//x"}, "properties": {"n": {"type": "long"}}}\n}\n`,
    );
    writeFileSync(
      join(dir, "a", "b", "es_index_template.json"),
      `{"!deploy_to": "${composable}", "index_patterns": ["${P}-comp-*"], "priority": 500, /* block */ "template": {"mappings": {"properties": {"ip": {"type": "ip"}}}}}`,
    );
    writeFileSync(join(dir, "c", "es_index_template.json"), `{"index_patterns": ["x"]}`);
    writeFileSync(join(dir, "c", "other.json"), `not even json`);
    try {
      let r = await bselastic("load_index_template", dir, ES_URL, "--dry-run");
      assert.equal(r.code, 1, "one file has no !deploy_to");
      assert.equal(r.out.length, 2);
      assert.match(r.out.join("\n"), new RegExp(`would PUT _template/${legacy}`));
      assert.match(r.out.join("\n"), new RegExp(`would PUT _index_template/${composable}`));
      assert.match(r.err.join("\n"), /"!deploy_to".*missing/);
      r = await bselastic("load_index_template", dir, ES_URL);
      assert.equal(r.code, 1);
      const lt = await es.json<Record<string, { mappings: { _meta: { docs: string } } }>>("GET", `_template/${legacy}`);
      assert.equal(lt[legacy]!.mappings._meta.docs, "http://example.com//x", "// inside a string survives");
      const ct = await es.json<{ index_templates: { name: string; index_template: { priority: number } }[] }>("GET", `_index_template/${composable}`);
      assert.equal(ct.index_templates[0]!.index_template.priority, 500);
    } finally {
      await es.request("DELETE", `_template/${legacy}`);
      await es.request("DELETE", `_index_template/${composable}`);
    }
  });

  test("force-merge: write block set, one segment left", async () => {
    const name = `${P}_merge`;
    await createIndex(name);
    for (let k = 0; k < 3; k++) await seed(name, 50, (i) => ({ n: i, k }), (i) => `${k}-${i}`);
    let r = await bselastic("force-merge", ES_URL, "--index", name, "--dry-run");
    assert.match(r.out.join("\n"), /would set index.blocks.write=true/);
    r = await bselastic("force-merge", ES_URL, "--index", name);
    assert.equal(r.code, 0, r.err.join("\n"));
    const settings = await es.json<Record<string, { settings: { index: { blocks?: { write?: string } } } }>>("GET", `${name}/_settings`);
    assert.equal(settings[name]!.settings.index.blocks?.write, "true");
    await es.json("POST", `${name}/_refresh`);
    const segments = await es.json<{ segment: string }[]>("GET", `_cat/segments/${name}?format=json`);
    assert.equal(segments.length, 1);
    r = await bselastic("force-merge", ES_URL);
    assert.equal(r.code, 1, "--index is required");
  });

  test("the bselastic command: a progress line of indices on a terminal (script(1)), none through a pipe", async () => {
    const cli = fileURLToPath(new URL("../../dist/src/cli/bselastic.js", import.meta.url));
    const args = ["close", ES_URL, "--dry-run", "--index", `${P}_*`];
    const run = promisify(execFile);
    const tty = await run("script", ["-qfec", `node ${cli} ${args.join(" ")}`, "/dev/null"], { timeout: 30_000 });
    assert.match(tty.stdout, /\rbselastic close {2}0 \/ \d+ indices {2}0%/, tty.stdout);
    assert.match(tty.stdout, /\rbselastic close {2}(\d+) \/ \1 indices {2}100% {2}ETA 0:00\x1b\[K/, "the last report: all done");
    assert.match(tty.stdout, /Total: \d+, open: \d+/, "the summary still prints");
    const piped = await run("node", [cli, ...args], { timeout: 30_000 });
    assert.match(piped.stdout, /Total: \d+, open: \d+/);
    assert.equal(/indices {2}\d+%|\r/.test(piped.stderr + piped.stdout), false, "no progress line through a pipe");
  });

  test("stripJsonComments keeps strings intact", () => {
    assert.equal(stripJsonComments(`{"a": "x//y", // c\n "b": "\\"//" /* d */}`), `{"a": "x//y", \n "b": "\\"//" }`);
  });
});
