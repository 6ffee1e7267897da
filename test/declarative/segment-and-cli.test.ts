import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ConfigErrors, Pipeline } from "../../src/index.js";
import { SegmentBuilder } from "../../src/declarative/index.js";
import { BatchSource, CollectSink, runUntil, testApp } from "../helpers/components.js";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../dist/src/cli/bspump.js");

test("SegmentBuilder inserts declarative processors before the sink (or insert_before) and lookups first", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-seg-"));
  mkdirSync(join(dir, "processors"));
  writeFileSync(join(dir, "processors", "10-lookup.json"), JSON.stringify({ id: "Names", class: "lookup.DictionaryLookup" }));
  writeFileSync(join(dir, "processors", "20-double.yml"), "pipeline_id: P\nid: Double\nprocessor: |\n  ---\n  !DICT {with: !EVENT, set: {double: !MUL [!ITEM EVENT n, 2]}}\n");
  writeFileSync(join(dir, "processors", "30-first.yml"), "pipeline_id: P\nid: First\ninsert_before: Double\nprocessor: |\n  ---\n  !DICT {with: !EVENT, set: {n: !ADD [!ITEM EVENT n, 1]}}\n");
  const app = testApp(`[SegmentBuilder]\npath = ${join(dir, "processors", "*")}\n`);
  const pipeline = new Pipeline(app, "P");
  const source = new BatchSource(app, pipeline);
  source.events = [{ n: 1 }, { n: 5 }];
  const sink = new CollectSink(app, pipeline);
  pipeline.build(source, sink);
  app.pumpService.addPipeline(pipeline);
  const built = await new SegmentBuilder(app).constructSegment(app);
  assert.deepEqual(built.map((p) => p.id), ["Double", "First"]);
  assert.deepEqual(pipeline.processors[0]!.map((p) => p.id), ["First", "Double", "CollectSink"]);
  assert.ok(app.pumpService.lookups.has("Names"));
  await runUntil(app, () => sink.events.length >= 2);
  assert.deepEqual(sink.events, [{ n: 2, double: 4 }, { n: 6, double: 12 }]);

  // Every error of every file, each with its file (and line and column for declarations).
  writeFileSync(join(dir, "processors", "40-bad.yml"), "pipeline_id: P\nprocessor: |\n  ---\n  !DICT {with: !EVENT, set: {a: !NOPE 1, b: !ADD {x: 1}}}\n");
  writeFileSync(join(dir, "processors", "50-bad.yml"), "pipeline_id: Nowhere\nprocessor: \"---\\n!EVENT\"\n");
  const app2 = testApp(`[SegmentBuilder]\npath = ${join(dir, "processors", "4*")}\n`);
  const p2 = new Pipeline(app2, "P");
  p2.build(new BatchSource(app2, p2), new CollectSink(app2, p2));
  app2.pumpService.addPipeline(p2);
  await assert.rejects(new SegmentBuilder(app2, { config: { path: join(dir, "processors", "[45]*") } }).constructSegment(app2), (e: Error) => {
    assert.ok(e instanceof ConfigErrors);
    const text = e.errors.map((x) => x.message).join("\n");
    assert.match(text, /40-bad.yml: declaration:2:\d+: Unknown declarative expression '!NOPE'/);
    assert.match(text, /40-bad.yml: declaration:2:\d+: !ADD: expected a sequence/);
    assert.match(text, /50-bad.yml: pipeline_id: no pipeline 'Nowhere'/);
    return true;
  });
});

test("bspump expr prints the optimized form and the result; bspump check lists every error of a declaration file", async () => {
  const decl = "---\n!WHEN\n- test: !EQ [!ITEM EVENT s, 200]\n  then: ok\n- test: !EQ [!ITEM EVENT s, 404]\n  then: missing\n- else: !ADD [1, 2]\n";
  const { stdout } = await run(process.execPath, [CLI, "expr", "--event", '{"s": 404}', "--", decl]);
  assert.equal(stdout, "# optimized form\n---\n!MAP\nwhat: !ITEM EVENT s\nin:\n  200: ok\n  404: missing\nelse: 3\n# results\n\"missing\"\n");
  const piped = run(process.execPath, [CLI, "expr", "--no-optimize", "!HASH {what: !ITEM EVENT s}"]);
  piped.child.stdin!.end('{"s": "hello"}\n{"s": ""}\n');
  assert.match((await piped).stdout, /# unoptimized form\n---\n!HASH\nwhat: !ITEM EVENT s\n# results\n2794345569481354659\n17241709254077376921\n$/);

  const dir = mkdtempSync(join(tmpdir(), "bspump-expr-"));
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "---\n!DICT\nwith: !EVENT\nset:\n  a: !ADDD [1]\n  b: !LOWER {what: x, extra: 1}\n");
  const failed = await run(process.execPath, [CLI, "check", bad]).then(
    () => assert.fail("check should fail"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(failed.code, 2);
  assert.equal(failed.stderr, `bspump: declaration error: ${bad}:5:6: Unknown declarative expression '!ADDD'; did you mean !ADD?\nbspump: declaration error: ${bad}:6:30: !LOWER: unexpected argument 'extra' (expected what)\n`);
  // A FUNCTION's arguments from --kwargs, its default otherwise.
  const fn = "!FUNCTION {arguments: {greeting: Hello}, apply: !JOIN {items: [!ARGUMENT greeting, !ITEM EVENT name]}}";
  assert.match((await run(process.execPath, [CLI, "expr", "--event", '{"name": "Sam"}', "--kwargs", '{"greeting": "Hi"}', fn])).stdout, /# results\n"Hi Sam"\n$/);
  assert.match((await run(process.execPath, [CLI, "expr", "--event", '{"name": "Sam"}', fn])).stdout, /# results\n"Hello Sam"\n$/);
  for (const [flag, value, message] of [["--kwargs", "[1]", "--kwargs: expected a JSON object, got [1]"], ["--context", "nope", "--context: not JSON: "]]) {
    const bad = await run(process.execPath, [CLI, "expr", flag!, value!, "!EVENT"]).then(
      () => assert.fail(`${flag} ${value} should fail`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(bad.code, 2);
    assert.ok(bad.stderr.startsWith(`bspump: configuration error: ${message}`) && bad.stderr.trimEnd().split("\n").length === 1, bad.stderr);
  }
  const good = join(dir, "good.yaml");
  writeFileSync(good, "# a parser\n---\n!UPPER {what: !EVENT}\n");
  assert.equal((await run(process.execPath, [CLI, "check", good])).stdout, `${good}: OK (declaration)\n`);
});

test("bspump check reports every error of every document of a declaration file: unknown tags, syntax errors, bad arguments", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-check-"));
  const file = join(dir, "multi.yaml");
  writeFileSync(file, "---\n!ADDD [1]\n---\n!UPPER {what: [ok}\n---\n!FUNCTION {arguments: [a], apply: !ARGUMENT b}\n---\n!ACCESS NOPE x\n---\n!LOWER {x: 1}\n");
  const failed = await run(process.execPath, [CLI, "check", file]).then(
    () => assert.fail("check should fail"),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(failed.code, 2);
  const lines = failed.stderr.trimEnd().split("\n");
  const at = lines.map((l) => /multi\.yaml:(\d+):\d+: (.*)$/.exec(l)).map((m) => `${m![1]} ${m![2]!.split(":")[0]}`);
  assert.deepEqual(at, ["2 Unknown declarative expression '!ADDD'; did you mean !ADD?", "4 Syntax error", "4 Syntax error", "6 !ARGUMENT", "8 !ACCESS", "10 !LOWER", "10 !LOWER"]);
});
