/**
 * Apache access log → JSON lines, the parser being a declaration (examples/declarations/apache.yaml,
 * which includes include/status-class.yaml from the library folder). Lines that do not parse are
 * dropped (the declaration gives None).
 *
 *   node --import tsx examples/declarative-apache.ts [access.log] [output.jsonl]
 *
 * Without arguments it makes a small sample in a temp folder.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as bspump from "../src/index.js";

const library = fileURLToPath(new URL("./declarations", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bspump-example-"));
const input = process.argv[2] ?? join(dir, "access.log");
const output = process.argv[3] ?? join(dir, "out.jsonl");
if (!process.argv[2]) {
  writeFileSync(
    input,
    [
      '10.0.0.7 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08"',
      '203.0.113.9 - - [10/Oct/2000:13:56:01 -0700] "GET /missing HTTP/1.1" 404 - "-" "curl/8.0"',
      "not a log line",
    ].join("\n") + "\n",
  );
}

const app = new bspump.BSPumpApplication({ args: [] });
const pipeline = new bspump.Pipeline(app, "ApacheLogPipeline");
pipeline.build(
  new bspump.file.FileLineSource(app, pipeline, { config: { path: input, post: "noop" } }).on(new bspump.RunOnceTrigger(app)),
  new bspump.declarative.DeclarativeProcessor(app, pipeline, { declaration: "apache", library }),
  new bspump.file.FileJSONSink(app, pipeline, { config: { path: output } }),
);
app.pumpService.addPipeline(pipeline);
pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => app.stop());
await app.run();
console.log(`wrote ${output}`);
