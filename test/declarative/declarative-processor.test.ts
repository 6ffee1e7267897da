import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigErrors, Pipeline } from "../../src/index.js";
import { DeclarationError, DeclarativeGenerator, DeclarativeProcessor, PumpBuilder } from "../../src/declarative/index.js";
import { runPipeline, runProcessor, UnitTestSink } from "../../src/unittest/index.js";
import { BatchSource, CollectSink, runUntil, testApp } from "../helpers/components.js";

const ENRICH = `---
!DICT
with: !EVENT
set:
  total: !ADD [!ITEM EVENT a, !ITEM {with: !EVENT, item: b, default: 0}]
---
!IF {test: !GT [!ITEM EVENT total, 2], then: !EVENT, else: null}
`;

test("DeclarativeProcessor from code: each document feeds the next; None drops the event; falsy results pass", async () => {
  const r = await runProcessor(DeclarativeProcessor, [[null, { a: 1, b: 5 }], [null, { a: 1 }], [null, { a: 3 }]], { declaration: ENRICH });
  assert.deepEqual(r.events, [{ a: 1, b: 5, total: 6 }, { a: 3, total: 3 }]);
  assert.equal(r.pipeline.eventOut, 2);
  // BSPump dropped a falsy final result too; here 0 and {} are events.
  const zero = await runProcessor(DeclarativeProcessor, [[null, { x: 0 }], [null, {}]], { declaration: "---\n!ITEM {with: !EVENT, item: x, default: {}}" });
  assert.deepEqual(zero.events, [0, {}]);
});

test("DeclarativeProcessor from INI: the declaration is a file; BSPump's positional form works", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-decl-"));
  const file = join(dir, "upper.yaml");
  writeFileSync(file, "---\n!UPPER {what: !EVENT}\n");
  const r = await runProcessor(DeclarativeProcessor, [[null, "abc"]], {}, { config: `[pipeline:UnitTestPipeline:DeclarativeProcessor]\ndeclaration = ${file}\n` });
  assert.deepEqual(r.events, ["ABC"]);
  const positional = await runPipeline([[null, "x"]], (app, p) => [new DeclarativeProcessor(app, p, "---\n!ADD [!EVENT, y]"), new UnitTestSink(app, p)]);
  assert.deepEqual(positional.events, ["xy"]);
});

test("a runtime failure goes to the pipeline's error rules (dead letter), with its location; the pump goes on", async () => {
  const app = testApp();
  const pipeline = new Pipeline(app, "P");
  const source = new BatchSource(app, pipeline);
  source.events = [{ a: 1 }, { a: "x" }, { a: 2 }, { a: null }, { a: 3 }];
  const sink = new CollectSink(app, pipeline);
  const dead = new CollectSink(app, pipeline, { id: "dead" });
  pipeline.deadLetter = dead;
  pipeline.build(source, new DeclarativeProcessor(app, pipeline, { declaration: "---\n!MUL [!ITEM EVENT a, 10]" }), sink);
  app.pumpService.addPipeline(pipeline);
  await runUntil(app, () => sink.events.length + dead.events.length >= 5);
  assert.deepEqual(sink.events, [10, "xxxxxxxxxx", 20, 30]);
  assert.equal(dead.events.length, 1);
  assert.match(JSON.stringify(dead.events[0]), /<declaration>:2:\d+: !MUL: unsupported operand type\(s\) for \*: 'NoneType' and 'int'/);
  assert.equal(pipeline.isError(), false);
});

test("from a YAML pipeline definition; a bad declaration is a build error naming file, line, column and tag — every one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-decl-"));
  const ok = `
pipelines:
  - id: P
    sources: [{class: common.InternalSource}]
    processors:
      - class: declarative.DeclarativeProcessor
        args:
          declaration: |
            ---
            !DICT {with: !EVENT, set: {seen: true}}
    sink: {class: common.NullSink}
`;
  const app = testApp();
  await new PumpBuilder(join(dir, "ok.yaml"), ok).constructPump(app);
  const proc = app.pumpService.locatePipeline("P")!.processors[0]![0] as DeclarativeProcessor;
  assert.deepEqual(proc.process({}, { a: 1 }), { a: 1, seen: true });

  const declFile = join(dir, "bad-decl.yaml");
  writeFileSync(declFile, "---\n!DICT\nwith: !EVENT\nset:\n  a: !ADDD [1, 2]\n  b: !REGEX {what: x, regex: '('}\n  c: !UPPER {text: x}\n");
  const bad = ok.replace(/declaration: \|[\s\S]*?set: \{seen: true\}\}/, `declaration: ${JSON.stringify(declFile)}`);
  await assert.rejects(new PumpBuilder(join(dir, "bad.yaml"), bad).constructPump(testApp()), (e: Error) => {
    const text = e instanceof ConfigErrors ? e.errors.map((x) => x.message).join("\n") : e.message;
    assert.match(text, /bad-decl.yaml:5:\d+: Unknown declarative expression '!ADDD'; did you mean !ADD\?/);
    assert.match(text, /bad-decl.yaml:6:\d+: !REGEX: invalid regex/);
    assert.match(text, /bad-decl.yaml:7:\d+: !UPPER: unexpected argument 'text' \(expected what\)/);
    return true;
  });
});

test("DeclarativeGenerator: a list result fans out, a dict is injected once, None injects nothing", async () => {
  const r = await runPipeline([[null, { items: [1, 2, 3] }], [null, { items: null }], [null, { one: 1 }]], (app, p) => [
    new DeclarativeGenerator(app, p, { declaration: "---\n!IF {test: !IN {what: one, where: !EVENT}, then: !EVENT, else: !ITEM EVENT items}" }),
    new UnitTestSink(app, p),
  ]);
  assert.deepEqual(r.events, [1, 2, 3, { one: 1 }]);
});

test("DeclarationError: a missing declaration is a config error naming the section", () => {
  const app = testApp();
  assert.throws(() => new DeclarativeProcessor(app, new Pipeline(app, "P")), /\[pipeline:P:DeclarativeProcessor\] declaration: required/);
  assert.throws(() => new DeclarativeProcessor(app, new Pipeline(app, "P"), "---\n!NOPE x"), (e: Error) => e instanceof DeclarationError && e.loc.line === 2);
});
