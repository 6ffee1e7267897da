import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ConfigError } from "../../src/core/index.js";
import { FileCSVSource } from "../../src/file/index.js";
import { CollectSink, makePipeline, runOnce, withTempDir } from "./helpers.js";

async function readCsv(content: string | Buffer, config: Record<string, string | number | boolean> = {}, fieldnames?: string[], name = "a.csv") {
  return withTempDir(async (dir) => {
    await writeFile(join(dir, name), content);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const dead = new CollectSink(app, pipeline, { id: "dead" });
    pipeline.deadLetter = dead;
    const source = new FileCSVSource(app, pipeline, { config: { path: join(dir, name), ...(fieldnames ? { fieldnames } : {}), ...config } });
    await runOnce(app, pipeline, source, [sink]);
    return { events: sink.events, lines: sink.contexts.map((c) => c.line), dead, warnings: pipeline.warnings, files: await readdir(dir) };
  });
}

test("FileCSVSource: short and long rows as csv.DictReader (null for missing values, extras as a list under 'null')", async () => {
  const r = await readCsv("a,b,c\n1,2\n1,2,3,4,5\n\n\n7,8,9\n");
  assert.deepEqual(r.events, [
    { a: "1", b: "2", c: null },
    { a: "1", b: "2", c: "3", null: ["4", "5"] },
    { a: "7", b: "8", c: "9" },
  ]);
  assert.deepEqual(r.lines, [2, 3, 6]);
  assert.equal(r.warnings, 0);
});

test("FileCSVSource strict: short and long rows are bad input naming file and line; the others go on", async () => {
  const r = await readCsv("a,b,c\n1,2\n1,2,3,4\n5,6,7\n", { strict: true });
  assert.deepEqual(r.events, [{ a: "5", b: "6", c: "7" }]);
  assert.equal(r.warnings, 2);
  assert.deepEqual(r.dead.contexts.map((c) => c.line), [2, 3]);
  assert.match(JSON.stringify(r.dead.events[0]), /a\.csv:2/);
  assert.deepEqual(r.files, ["a.csv-processed"]);
});

test("FileCSVSource: an unterminated quote at the end of the file is a warning with its line; the rows after its first line are read", async () => {
  const r = await readCsv('h1,h2\n1,2\n3,"never closed\n4,5\n');
  assert.deepEqual(r.events, [{ h1: "1", h2: "2" }, { h1: "4", h2: "5" }]);
  assert.equal(r.warnings, 1);
  assert.deepEqual(r.dead.contexts.map((c) => c.line), [3]);
  assert.match(JSON.stringify(r.dead.events[0]), /a\.csv:3/);
  assert.match(JSON.stringify(r.dead.events[0]), /never closed/);
});

test("FileCSVSource: BOM, CRLF, quoted header, excel-tab, skipinitialspace, escapechar, quoting none, latin1", async () => {
  assert.deepEqual((await readCsv('\ufeff"id","na,me"\r\n1,"a\r\nb"\r\n')).events, [{ id: "1", "na,me": "a\r\nb" }]);
  assert.deepEqual((await readCsv("a\tb\n1,2\t3\n", { dialect: "excel-tab" })).events, [{ a: "1,2", b: "3" }]);
  assert.deepEqual((await readCsv('a, b\n1, "x,y"\n', { skipinitialspace: true })).events, [{ a: "1", b: "x,y" }]);
  assert.deepEqual((await readCsv('a,b\n"1\\"",2\\,3\n', { doublequote: false })).events, [{ a: '1"', b: "2,3" }]);
  // With doublequote (the default), escapechar is not used.
  assert.deepEqual((await readCsv("a,b\n1\\,2\n")).events, [{ a: "1\\", b: "2" }]);
  assert.deepEqual((await readCsv('a,b\n"1",2\n', { quoting: 3 })).events, [{ a: '"1"', b: "2" }]);
  assert.deepEqual((await readCsv(Buffer.from("n\u00e9,v\n\u00e9t\u00e9,1\n", "latin1"), { encoding: "latin1" })).events, [{ "n\u00e9": "\u00e9t\u00e9", v: "1" }]);
  assert.deepEqual((await readCsv("1;2\n", { delimiter: ";" }, ["x", "y"])).events, [{ x: "1", y: "2" }]);
  assert.deepEqual((await readCsv("__proto__,b\n1,2\n")).events.map((e) => Object.entries(e as object)), [[["__proto__", "1"], ["b", "2"]]]);
});

test("FileCSVSource: rows and quoted newlines across read chunks (read_size 4096), gzip, nothing lost", async () => {
  const rows: string[] = [];
  for (let i = 0; i < 3000; i++) rows.push(i % 7 === 0 ? `${i},"multi\nline, ""${i}"""` : `${i},plain ${i}`);
  const text = "n,t\n" + rows.join("\r\n") + "\n";
  for (const [name, content] of [["a.csv", text], ["a.csv.gz", gzipSync(text)]] as const) {
    const r = await readCsv(content, { read_size: 4096 }, undefined, name);
    assert.equal(r.events.length, 3000);
    assert.equal(r.warnings, 0);
    r.events.forEach((e, i) => assert.deepEqual(e, { n: String(i), t: i % 7 === 0 ? `multi\nline, "${i}"` : `plain ${i}` }));
    // line = the row's last line: 1 header line, then one line per row plus one per embedded newline.
    let line = 1;
    r.lines.forEach((l, i) => {
      line += i % 7 === 0 ? 2 : 1;
      assert.equal(l, line);
    });
  }
});

test("FileCSVSource: a delimiter that is not one ASCII character is a config error", () => {
  const { app, pipeline } = makePipeline();
  assert.throws(() => new FileCSVSource(app, pipeline, { config: { path: "/nonexistent/*.csv", delimiter: "::" } }), ConfigError);
});
