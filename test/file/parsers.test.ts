import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { EventContext } from "../../src/core/index.js";
import { runProcessor } from "../../src/unittest/index.js";
import { CSVGenerator, CSVParserProcessor, FileJSONSource, formatRow, type FileEntry } from "../../src/file/index.js";
import { XMLParserProcessor } from "../../src/xml/index.js";
import { CollectSink, makePipeline } from "./helpers.js";

const FMT = { delimiter: ",", quotechar: '"', escapechar: "", doublequote: true, quoting: 0, lineterminator: "\n" };

function bench() {
  const { app, pipeline } = makePipeline();
  pipeline.handleError = () => true;
  return { app, pipeline };
}

test("CSVParserProcessor: one line in, one object out; bad lines go to the error rules", async () => {
  const res = await runProcessor(CSVParserProcessor, [[null, 'a,"b,c",d'], [null, '"unterminated'], [null, Buffer.from("1,2")]], { config: { fieldnames: ["x", "y", "z"] } }, {
    prepare: (app) => void app,
  });
  assert.deepEqual(res.events.slice(0, 1), [{ x: "a", y: "b,c", z: "d" }]);
  assert.equal(res.pipeline.isError(), true); // default rules: a hard error
});

test("CSVGenerator: a block in, one event per row, header from the first row, bad rows reported", () => {
  const { app, pipeline } = bench();
  const gen = new CSVGenerator(app, pipeline, { config: { strict: true } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build([], gen, sink);
  gen.generate({ filename: "f.csv" }, 'a,b\n1,2\n3,4,5\n"x\ny",z\n', 1);
  assert.deepEqual(sink.events, [{ a: "1", b: "2" }, { a: "x\ny", b: "z" }]);
  assert.deepEqual(sink.contexts.map((c: EventContext) => c.line), [2, 5]);
  assert.equal(pipeline.warnings, 1);
});

test("property: CSV rows written by formatRow are read back unchanged by the CSV generator", () => {
  const { app, pipeline } = bench();
  const gen = new CSVGenerator(app, pipeline, { config: { fieldnames: ["a", "b", "c"] } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build([], gen, sink);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.string(), fc.string(), fc.string()), { minLength: 1, maxLength: 5 }), (rows) => {
      sink.events.length = 0;
      gen.generate({}, rows.map((r) => formatRow(r, FMT)).join(""), 1);
      assert.deepEqual(sink.events, rows.map(([a, b, c]) => ({ a, b, c })));
    }),
    { numRuns: 10000 },
  );
});

test("property: random and mutated CSV never crashes or hangs the parsers; every input is accounted for", () => {
  const { app, pipeline } = bench();
  const gen = new CSVGenerator(app, pipeline, { config: { strict: true } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build([], gen, sink);
  const lineParser = new CSVParserProcessor(app, pipeline, { config: { fieldnames: ["a", "b"] } });
  const csvChars = fc.constantFrom(",", '"', "\n", "\r", "a", "1", " ", "\\", "\u00e9", ";");
  let parsed = 0;
  let reported = 0;
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.array(csvChars, { maxLength: 40 }).map((a) => a.join(""))), (text) => {
      const w0 = pipeline.warnings;
      const e0 = sink.events.length;
      try {
        gen.generate({}, "h1,h2\n" + text, 1);
      } catch {
        reported++;
      }
      if (sink.events.length > e0 || pipeline.warnings > w0) parsed++;
      else {
        // nothing out and nothing reported: only when the text holds no row at all
        assert.match(text, /^[\r\n]*$/);
        parsed++;
      }
      try {
        const out = lineParser.process({}, text) as Record<string, string>;
        assert.equal(typeof out, "object");
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }),
    { numRuns: 10000 },
  );
  assert.equal(parsed + reported, 10000);
});

test("XMLParserProcessor: attributes, repeated elements as arrays, namespaces; malformed XML throws with line", () => {
  const { app, pipeline } = bench();
  const xml = new XMLParserProcessor(app, pipeline, { config: { always_array: ["single"] } });
  const out = xml.process({}, '<?xml version="1.0"?>\n<r xmlns:a="urn:a"><a:item id="1">x</a:item><a:item id="2">y</a:item><single>s</single><n>5</n></r>');
  assert.deepEqual(out, {
    r: { "a:item": [{ "#text": "x", "@id": "1" }, { "#text": "y", "@id": "2" }], single: ["s"], n: "5", "@xmlns:a": "urn:a" },
  });
  const noNs = new XMLParserProcessor(app, pipeline, { id: "x2", config: { remove_ns_prefix: true, parse_values: true } });
  assert.deepEqual(noNs.process({}, '<r xmlns:a="urn:a"><a:n>5</a:n></r>'), { r: { n: 5 } });
  assert.throws(() => xml.process({}, "<a>\n<b></a>"), /line 2/);
});

test("property: random and mutated XML never crashes the XML parser (10,000 inputs)", () => {
  const { app, pipeline } = bench();
  const xml = new XMLParserProcessor(app, pipeline);
  const seed = '<root a="1"><x>t</x><y b="2"/><!-- c --><![CDATA[z]]></root>';
  let ok = 0;
  let bad = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.tuple(fc.nat(seed.length), fc.nat(seed.length), fc.constantFrom("<", ">", "/", '"', "&", "=", "", "<x>", "]]>")).map(([a, b, ins]) => seed.slice(0, a) + ins + seed.slice(Math.min(a, b))),
      ),
      (text) => {
        try {
          xml.process({}, text);
          ok++;
        } catch (e) {
          assert.ok(e instanceof Error);
          bad++;
        }
      },
    ),
    { numRuns: 10000 },
  );
  assert.equal(ok + bad, 10000);
  assert.ok(ok > 0 && bad > 0);
});

test("property: JSON lines — every line is an event or a warning (10,000 inputs)", () => {
  const { app, pipeline } = bench();
  const src = new FileJSONSource(app, pipeline, { config: { path: "/nonexistent/*", format: "lines" } });
  const sink = new CollectSink(app, pipeline);
  pipeline.build(src, sink);
  const emit = (line: string, lineNo: number, filename: string, receipt: undefined) => src.emitLine(line, lineNo, { path: filename, receipt } as unknown as FileEntry);
  let lines = 0;
  fc.assert(
    fc.property(fc.oneof(fc.json(), fc.string()), (line) => {
      const oneLine = line.replace(/\n/g, " ");
      if (oneLine.length === 0) return;
      lines++;
      emit(oneLine, lines, "f.jsonl", undefined);
    }),
    { numRuns: 10000 },
  );
  assert.equal(sink.events.length + pipeline.warnings, lines);
});
