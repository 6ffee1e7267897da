import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sink, type EventContext } from "../../src/core/index.js";
import { FileJSONSink } from "../../src/file/index.js";
import { runProcessor, UnitTestSink } from "../../src/unittest/index.js";

/** A sink in the style of a BSPump user's: it keeps what it consumed and fails on a marked event. */
class UpperSink extends Sink {
  readonly seen: string[] = [];
  process(_context: EventContext, event: unknown): null {
    const e = event as { name: string };
    if (e.name === "boom") throw new Error("refused");
    this.seen.push(e.name.toUpperCase());
    return null;
  }
}

test("a sink under test ends the pipeline and the harness returns what it consumed", async () => {
  const { events, output, processor, pipeline } = await runProcessor(UpperSink, [
    [null, { name: "a" }],
    [{ tag: 1 }, { name: "b" }],
  ]);
  assert.ok(processor instanceof UpperSink);
  assert.equal(pipeline.sink, processor, "the sink under test is the pipeline's sink (no UnitTestSink after it)");
  assert.ok(!(pipeline.sink instanceof UnitTestSink));
  assert.deepEqual(events, [{ name: "a" }, { name: "b" }]);
  assert.equal(output[1]![0].tag, 1, "contexts reach the sink");
  assert.deepEqual(processor.seen, ["A", "B"]);
});

test("a sink that throws puts the pipeline in error; what it was given is still reported", async () => {
  const { events, pipeline } = await runProcessor(UpperSink, [
    [null, { name: "a" }],
    [null, { name: "boom" }],
    [null, { name: "never" }],
  ]);
  assert.equal(pipeline.isError(), true);
  assert.deepEqual(events, [{ name: "a" }, { name: "boom" }]);
});

test("a real sink (FileJSONSink) under test writes its file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bspump-unittest-"));
  try {
    const path = join(dir, "out.jsonl");
    const { events } = await runProcessor(FileJSONSink, [[null, { n: 1 }], [null, { n: 2 }]], { config: { path } });
    assert.deepEqual(events, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as unknown), [{ n: 1 }, { n: 2 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
