/**
 * A tamper-evident audit log (BSPump's bspump-integrity-enricher.py): JSON lines →
 * IntegrityEnricher (hash chain) → FileJSONSink; then one stored line is changed and the file is
 * read back through IntegrityVerifier, which marks the changed event (broken_hash).
 * (For an Elasticsearch index: `bsintegrity check URL INDEX`.)
 *
 *   node --import tsx examples/integrity-chain.ts
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "bspump-example-"));
const input = join(dir, "events.jsonl");
const chained = join(dir, "chained.jsonl");
writeFileSync(input, ["login", "read", "transfer", "logout"].map((action, i) => JSON.stringify({ user: "ann", action, seq: i })).join("\n") + "\n");

async function runOnce(build: (app: bspump.Application, pipeline: bspump.Pipeline) => void): Promise<bspump.Pipeline> {
  const app = new bspump.BSPumpApplication({ args: [] });
  const pipeline = new bspump.Pipeline(app, "Integrity");
  build(app, pipeline);
  app.pumpService.addPipeline(pipeline);
  pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
  await app.run();
  return pipeline;
}

await runOnce((app, p) =>
  p.build(
    new bspump.file.FileLineSource(app, p, { config: { path: input, post: "noop" } }).on(new bspump.RunOnceTrigger(app)),
    new bspump.common.StdJsonToDictParser(app, p),
    new bspump.integrity.IntegrityEnricher(app, p),
    new bspump.file.FileJSONSink(app, p, { config: { path: chained } }),
  ),
);
const lines = readFileSync(chained, "utf8").trimEnd().split("\n");
console.log(`chained:\n${lines.join("\n")}\n`);

// Someone changes the third event in the stored log.
lines[2] = lines[2]!.replace('"transfer"', '"transfer-to-mallory"');
const tampered = join(dir, "tampered.jsonl");
writeFileSync(tampered, lines.join("\n") + "\n");

let verifier: bspump.integrity.IntegrityVerifier | undefined;
await runOnce((app, p) =>
  p.build(
    new bspump.file.FileLineSource(app, p, { config: { path: tampered, post: "noop" } }).on(new bspump.RunOnceTrigger(app)),
    new bspump.common.StdJsonToDictParser(app, p),
    (verifier = new bspump.integrity.IntegrityVerifier(app, p, { config: { on_broken: "mark" } })),
    new bspump.common.NullSink(app, p),
  ),
);
console.log("verified:", verifier!.counter.values);
