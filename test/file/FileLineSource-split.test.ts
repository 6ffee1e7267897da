// FileLineSource splits exactly as `text.split("\n")` would (minus a final empty line and "\r"),
// whatever the read size, reads in flight, mode, decode pieces, empty lines, CRLF, multi-byte characters or long lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BSPumpApplication, Config, Pipeline, PubSubTrigger, Sink, type EventContext } from "../../src/core/index.js";
import { FileLineSource } from "../../src/file/index.js";
import { makeRandom } from "../../src/random/index.js";

class Collect extends Sink {
  readonly lines: unknown[] = [];
  process(_c: EventContext, e: unknown): null {
    this.lines.push(e);
    return null;
  }
}

async function readLines(text: string, readSize: number, readAhead = 3, mode = "r"): Promise<unknown[]> {
  const dir = mkdtempSync(join(tmpdir(), "bspump-lines-"));
  writeFileSync(join(dir, "a.txt"), text);
  const app = new BSPumpApplication({ args: [], config: Config.fromString(""), handleSignals: false });
  app.logs.writer = () => {};
  const p = new Pipeline(app, "P");
  const sink = new Collect(app, p);
  const source = new FileLineSource(app, p, { config: { path: join(dir, "*.txt"), read_size: readSize, read_ahead: readAhead, mode, post: "noop" } });
  source.on(new PubSubTrigger(app, "Application.run!"));
  p.build(source, sink);
  app.pumpService.addPipeline(p);
  p.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  await app.run();
  return mode === "rb" ? sink.lines.map((l) => (l as Buffer).toString("utf8")) : sink.lines;
}

test("lines match a plain split for random texts at several read sizes", async () => {
  const random = makeRandom(1234);
  const pick = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) {
      const r = random();
      s += r < 0.1 ? "\n" : r < 0.12 ? "\r\n" : r < 0.15 ? "é€" : r < 0.16 ? "\n\n" : String.fromCharCode(97 + Math.floor(random() * 26));
    }
    return s;
  };
  for (let t = 0; t < 24; t++) {
    const text =
      t % 4 === 3 ? "x".repeat(100_000) + "\n" + "y".repeat(70_000) + "\n\n" + pick(150_000) : t % 2 === 0 ? pick(200_000) : pick(3000) + (t % 3 ? "\n" : "");
    const expected = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
    if (expected.at(-1) === "") expected.pop();
    // Read sizes that cut lines and characters anywhere; 1 to 7 reads in flight; text and bytes mode.
    const got = await readLines(text, [4096, 70_000, 1_048_576][t % 3]!, [1, 3, 7][Math.floor(t / 3) % 3]!, t % 5 === 4 ? "rb" : "r");
    assert.equal(got.length, expected.length, `case ${t}`);
    assert.deepEqual(got, expected, `case ${t}`);
  }
});

test("a file that grows while it is read is read to its new end, nothing skipped", async () => {
  // Lines appended while the first chunk is processed: reads in flight beyond the old end may see
  // the new data or not; either way every line must arrive once, in order.
  for (const readAhead of [1, 3, 7]) {
    const dir = mkdtempSync(join(tmpdir(), "bspump-grow-"));
    const path = join(dir, "a.txt");
    const line = (i: number) => `line ${i} ${"x".repeat(i % 50)}`;
    const first = Array.from({ length: 300 }, (_, i) => line(i));
    const appended = Array.from({ length: 3000 }, (_, i) => line(300 + i));
    writeFileSync(path, first.join("\n") + "\n");
    const app = new BSPumpApplication({ args: [], config: Config.fromString(""), handleSignals: false });
    app.logs.writer = () => {};
    const p = new Pipeline(app, "P");
    let grown = false;
    class GrowOnFirstLine extends Sink {
      readonly lines: unknown[] = [];
      process(_c: EventContext, e: unknown): null {
        if (!grown) {
          grown = true;
          // The source renamed the file to "-locked" while it reads it.
          appendFileSync(path + "-locked", appended.join("\n") + "\n");
        }
        this.lines.push(e);
        return null;
      }
    }
    const sink = new GrowOnFirstLine(app, p);
    const source = new FileLineSource(app, p, { config: { path: join(dir, "*.txt"), read_size: 4096, read_ahead: readAhead, post: "noop" } });
    source.on(new PubSubTrigger(app, "Application.run!"));
    p.build(source, sink);
    app.pumpService.addPipeline(p);
    p.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
    await app.run();
    assert.deepEqual(sink.lines, [...first, ...appended], `read_ahead ${readAhead}`);
  }
});
