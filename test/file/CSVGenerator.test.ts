import { test } from "node:test";
import assert from "node:assert/strict";
import { IteratorSource } from "../../src/common/index.js";
import { CSVGenerator } from "../../src/file/index.js";
import { CollectSink, makePipeline, runOnce } from "./helpers.js";

/**
 * Issue 19 item 18: each bad row's dead letter carried the whole block (70 KB of input made 2.0 GB
 * of dead letters), and in strict mode one bad quote swallowed the good rows after it.
 */

/** A ~70 KB block: a header, then 2,000 rows of which every 10th is bad (a character after a closing quote, or a field too many); the last row has an unclosed quote. */
function block(): { text: string; good: Record<string, string>[]; bad: string[] } {
  const lines = ["id,name,note"];
  const good: Record<string, string>[] = [];
  const bad: string[] = [];
  for (let i = 0; i < 2000; i++) {
    let line: string;
    if (i % 20 === 5) bad.push((line = `${i},"name ${i}"x,bad quote`));
    else if (i % 20 === 15) bad.push((line = `${i},name ${i},note,extra`));
    else {
      line = `${i},"name, ${i}",note ${"n".repeat(i % 7)}${"-".repeat(10)}`;
      good.push({ id: String(i), name: `name, ${i}`, note: `note ${"n".repeat(i % 7)}${"-".repeat(10)}` });
    }
    lines.push(line);
  }
  const last = `2000,"never closed`;
  bad.push(last);
  lines.push(last);
  return { text: lines.join("\n"), good, bad };
}

for (const kind of ["string", "Buffer"] as const) {
  test(`CSVGenerator strict (${kind} block): one dead letter per bad row holding just that row; every good row comes out, also after a bad one`, async () => {
    const { text, good, bad } = block();
    assert.ok(text.length > 60_000 && text.length < 80_000, `${text.length} bytes`);
    const { app, pipeline } = makePipeline();
    const sink = new CollectSink(app, pipeline);
    const dead = new CollectSink(app, pipeline, { id: "dead" });
    pipeline.deadLetter = dead;
    const input = kind === "string" ? text : Buffer.from(text);
    await runOnce(app, pipeline, new IteratorSource(app, pipeline, [input]), [new CSVGenerator(app, pipeline, { config: { strict: true } }), sink]);

    assert.deepEqual(sink.events.map((e) => ({ ...(e as object) })), good);
    assert.equal(dead.events.length, bad.length);
    assert.equal(pipeline.warnings, bad.length);
    let total = 0;
    for (let i = 0; i < bad.length; i++) {
      const letter = dead.events[i] as { event: unknown; error: { message: string } };
      // The bad quote and the unclosed quote: the row's text; a field too many: the row's fields.
      const expected = bad[i]!.includes("extra") ? bad[i]!.split(",") : bad[i];
      assert.deepEqual(letter.event, expected, `dead letter ${i}`);
      const size = JSON.stringify(letter).length;
      assert.ok(size < bad[i]!.length + 300, `dead letter ${i}: ${size} bytes for a row of ${bad[i]!.length}`);
      total += size;
    }
    // The whole dead-letter output is of the order of the bad rows, not of the block per row.
    assert.ok(total < 300 * bad.length + bad.join("").length, `${total} bytes of dead letters`);
    // Each dead letter's context names the row's line in the block (header = line 1).
    const lines = text.split("\n");
    assert.deepEqual(dead.contexts.map((c) => c.line), bad.map((row) => lines.indexOf(row) + 1));
  });
}
