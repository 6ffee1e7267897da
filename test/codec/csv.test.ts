// Every CSV component parses the same text the same way (one dialect declaration, one parser), and
// `encoding` keys are validated when the component is made.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, type ConfigInput } from "../../src/core/index.js";
import { CSVGenerator, CSVParserProcessor, FileCSVSource, FileLineSource } from "../../src/file/index.js";
import { HTTPClientCSVSource, HTTPClientLineSource } from "../../src/http/index.js";
import { DictionaryLookup } from "../../src/lookup/index.js";
import { StreamServerSource } from "../../src/socket/index.js";
import { CollectSink, makeApp, makePipeline, runOnce, withTempDir } from "../file/helpers.js";

/** Texts with a header row "k,v" and the rows every component must read from them. */
const CASES: { name: string; dialect: ConfigInput; text: string; rows: [string, string][] }[] = [
  { name: "quoted delimiter, doubled quote, CRLF", dialect: {}, text: 'k,v\r\n1,"a,b"\r\n2,"say ""hi"""\r\n', rows: [["1", "a,b"], ["2", 'say "hi"']] },
  { name: "quoted newline", dialect: {}, text: 'k,v\n1,"two\nlines"\n2,x\n', rows: [["1", "two\nlines"], ["2", "x"]] },
  { name: "escapechar without doublequote", dialect: { doublequote: false }, text: 'k,v\n1,"a\\"b"\n2,c\\,d\n', rows: [["1", 'a"b'], ["2", "c,d"]] },
  { name: "escapechar unused with doublequote (the default)", dialect: {}, text: "k,v\n1,c\\d\n", rows: [["1", "c\\d"]] },
  { name: "text after a closing quote kept (not strict)", dialect: {}, text: 'k,v\n1,"a"b\n', rows: [["1", "ab"]] },
  { name: "quoting 3: quotes are data", dialect: { quoting: 3 }, text: 'k,v\n1,"a"\n', rows: [["1", '"a"']] },
  { name: "skipinitialspace, BOM, empty lines skipped", dialect: { skipinitialspace: true }, text: '\ufeffk,v\n\n1,  "x,y"\n\n2, z\n', rows: [["1", "x,y"], ["2", "z"]] },
  { name: "semicolon delimiter", dialect: { delimiter: ";" }, text: 'k;v\n1;"a;b"\n', rows: [["1", "a;b"]] },
  { name: "excel-tab", dialect: { dialect: "excel-tab" }, text: "k\tv\n1\ta,b\n", rows: [["1", "a,b"]] },
];

const asObjects = (rows: [string, string][]) => rows.map(([k, v]) => ({ k, v }));

async function viaFile(text: string, dialect: ConfigInput): Promise<unknown[]> {
  return withTempDir(async (dir) => {
    await writeFile(join(dir, "a.csv"), text);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    await runOnce(app, pipeline, new FileCSVSource(app, pipeline, { config: { path: join(dir, "a.csv"), ...dialect } }), [sink]);
    assert.equal(pipeline.warnings, 0);
    return sink.events;
  });
}

function viaGenerator(text: string, dialect: ConfigInput): unknown[] {
  const { app, pipeline } = makePipeline();
  const gen = new CSVGenerator(app, pipeline, { config: dialect });
  const sink = new CollectSink(app, pipeline);
  pipeline.build([], gen, sink);
  gen.generate({}, text, 1);
  gen.generate({}, Buffer.from(text), 1);
  assert.equal(pipeline.warnings, 0);
  const half = sink.events.length / 2;
  assert.deepEqual(sink.events.slice(half), sink.events.slice(0, half), "a string and a Buffer parse alike");
  return sink.events.slice(0, half);
}

/** The processor gets one row per event: the data rows of the text, without the header and empty lines. */
function viaProcessor(text: string, dialect: ConfigInput): unknown[] {
  const { app, pipeline } = makePipeline();
  const processor = new CSVParserProcessor(app, pipeline, { config: { fieldnames: ["k", "v"], ...dialect } });
  // Rows split at line ends outside quotes (the cases' quotes are balanced per row).
  const rows: string[] = [];
  let row = "";
  for (const line of text.split("\n").slice(1)) {
    row = row === "" ? line : `${row}\n${line}`;
    if ((row.split('"').length - 1) % 2 === 0 || dialect.quoting === 3 || dialect.doublequote === false) {
      // As a line source hands it over: without its "\r".
      if (row.replace(/\r$/, "") !== "") rows.push(row.replace(/\r$/, ""));
      row = "";
    }
  }
  return rows.map((r) => processor.process({}, r));
}

async function viaHTTP(text: string, dialect: ConfigInput): Promise<unknown[]> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/csv" });
    // In two pieces, cut inside the first data row: the parser streams.
    const cut = text.indexOf("\n") + 3;
    res.write(text.slice(0, cut));
    setTimeout(() => res.end(text.slice(cut)), 5);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await runOnce(app, pipeline, new HTTPClientCSVSource(app, pipeline, { config: { url, ...dialect } }), [sink]);
    assert.equal(pipeline.warnings, 0);
    return sink.events;
  } finally {
    server.close();
  }
}

async function viaLookup(text: string, dialect: ConfigInput): Promise<unknown[]> {
  return withTempDir(async (dir) => {
    await writeFile(join(dir, "d.csv"), text);
    const lookup = new DictionaryLookup(makeApp(), "L", { config: { source_url: join(dir, "d.csv"), value_column: "v", use_cache: false, ...dialect } });
    await lookup.update();
    return [...lookup.entries()].map(([k, v]) => ({ k, v }));
  });
}

for (const c of CASES) {
  test(`CSV components agree: ${c.name}`, async () => {
    const expected = asObjects(c.rows);
    assert.deepEqual(await viaFile(c.text, c.dialect), expected, "FileCSVSource");
    assert.deepEqual(viaGenerator(c.text, c.dialect), expected, "CSVGenerator");
    assert.deepEqual(viaProcessor(c.text, c.dialect), expected, "CSVParserProcessor");
    assert.deepEqual(await viaHTTP(c.text, c.dialect), expected, "HTTPClientCSVSource");
    assert.deepEqual(await viaLookup(c.text, c.dialect), expected, "DictionaryLookup");
  });
}

test("encoding keys are validated when a component is made: a ConfigError naming the key", () => {
  const { app, pipeline } = makePipeline();
  const made: [string, () => unknown][] = [
    ["FileLineSource", () => new FileLineSource(app, pipeline, { config: { path: "/nonexistent/*", encoding: "klingon" } })],
    ["FileCSVSource", () => new FileCSVSource(app, pipeline, { config: { path: "/nonexistent/*", encoding: "hex" } })],
    ["CSVParserProcessor", () => new CSVParserProcessor(app, pipeline, { config: { fieldnames: ["a"], encoding: "utf-9" } })],
    ["HTTPClientLineSource", () => new HTTPClientLineSource(app, pipeline, { config: { url: "http://127.0.0.1:1/", encoding: "nope" } })],
    ["StreamServerSource", () => new StreamServerSource(app, pipeline, { config: { address: "127.0.0.1 0", decode: "nope" } })],
  ];
  for (const [name, make] of made) {
    assert.throws(make, (e: unknown) => e instanceof ConfigError && /encoding|decode/.test(e.message) && /expected a text encoding|unknown encoding/.test(e.message), name);
  }
  // Names Node or the WHATWG decoder know are accepted, in any spelling.
  for (const encoding of ["utf-8", "UTF8", "latin1", "iso-8859-1", "utf-16le", "windows-1250", "koi8-r"]) {
    assert.doesNotThrow(() => new FileLineSource(app, pipeline, { config: { path: "/nonexistent/*", encoding } }), encoding);
  }
});

test("a WHATWG-only encoding decodes file lines (windows-1250)", async () => {
  await withTempDir(async (dir) => {
    // "Příliš žluťoučký" in windows-1250.
    await writeFile(join(dir, "a.txt"), Buffer.from([0x50, 0xf8, 0xed, 0x6c, 0x69, 0x9a, 0x0a, 0x9e, 0x6c, 0x75, 0x9d, 0x6f, 0x75, 0xe8, 0x6b, 0xfd, 0x0a]));
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    await runOnce(app, pipeline, new FileLineSource(app, pipeline, { config: { path: join(dir, "a.txt"), encoding: "windows-1250" } }), [sink]);
    assert.deepEqual(sink.events, ["P\u0159\u00edli\u0161", "\u017elu\u0165ou\u010dk\u00fd"]);
  });
});

test("CSVGenerator: each bad row is its own bad input holding that row; the good rows after it still come out", () => {
  const { app, pipeline } = makePipeline();
  pipeline.handleError = () => true;
  const gen = new CSVGenerator(app, pipeline, { config: { strict: true } });
  const sink = new CollectSink(app, pipeline);
  const dead = new CollectSink(app, pipeline, { id: "dead" });
  pipeline.deadLetter = dead;
  pipeline.build([], gen, sink);
  const good = Array.from({ length: 200 }, (_, i) => `${i},v${i}`);
  gen.generate({}, ["k,v", ...good.slice(0, 100), '1,"x"y', "2,3,4", ...good.slice(100)].join("\n") + "\n", 1);
  assert.equal(sink.events.length, 200);
  assert.deepEqual(sink.events.at(-1), { k: "199", v: "v199" });
  assert.deepEqual(
    dead.events.map((d) => (d as { event: unknown }).event),
    ['1,"x"y', ["2", "3", "4"]],
  );
  assert.equal(pipeline.warnings, 2);
});
