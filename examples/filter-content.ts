/**
 * JSON lines → only the events a Mongo-style query selects, without their secrets (BSPump's
 * bspump-content-filter.py): FileLineSource → StdJsonToDictParser → ContentFilter (on_miss drop)
 * → AttributeFilter → FileJSONSink.
 *
 *   node --import tsx examples/filter-content.ts [input.jsonl] [output.jsonl]
 *
 * Without arguments it makes a small sample in a temp folder.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "bspump-example-"));
const input = process.argv[2] ?? join(dir, "events.jsonl");
const output = process.argv[3] ?? join(dir, "out.jsonl");
if (!process.argv[2]) {
  const events = [
    { user: "ann", action: "login", ok: false, ip: "10.0.0.7", password: "hunter2" },
    { user: "bob", action: "purchase", total: 120, card: { country: "CZ" } },
    { user: "cid", action: "login", ok: true, password: "s3cret" },
    { user: "dan", action: "purchase", total: 9.5, card: { country: "DE" } },
  ];
  writeFileSync(input, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
}

class SuspiciousPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.file.FileLineSource(app, this, { config: { path: input, post: "noop" } }).on(new bspump.RunOnceTrigger(app)),
      new bspump.common.StdJsonToDictParser(app, this),
      // Failed logins, and purchases over 100 paid with a Czech card.
      new bspump.filter.ContentFilter(app, this, {
        query: { $or: [{ action: "login", ok: false }, { action: "purchase", total: { $gt: 100 }, "card.country": "CZ" }] },
        onMiss: "drop",
      }),
      new bspump.filter.AttributeFilter(app, this, { fields: ["password"] }),
      new bspump.file.FileJSONSink(app, this, { config: { path: output } }),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
const pipeline = new SuspiciousPipeline(app, "SuspiciousPipeline");
app.pumpService.addPipeline(pipeline);
pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
await app.run();
console.log(readFileSync(output, "utf8"));
