/**
 * JSON lines → CSV: reads `*.jsonl` files line by line, parses each line, and writes the objects as
 * CSV rows (header from the first event; quoting per RFC 4180). A malformed line is a counted
 * warning (the pipeline treats JSON syntax errors as soft) and the other lines go on.
 *
 *   node --import tsx examples/file-json-to-csv.ts [input-folder] [output.csv]
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "bspump-example-"));
const output = process.argv[3] ?? join(dir, "out.csv");
if (!process.argv[2]) writeFileSync(join(dir, "people.jsonl"), '{"id":1,"name":"Ann","city":"Prague, CZ"}\n{not json}\n{"id":2,"name":"Bob \\"B\\"","city":"Brno"}\n');

class JSONToCSVPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.file.FileLineSource(app, this, { config: { path: join(dir, "*.jsonl"), post: "move", files_per_cycle: 0 } }).on(new bspump.RunOnceTrigger(app)),
      new bspump.common.StdJsonToDictParser(app, this),
      new bspump.file.FileCSVSink(app, this, { config: { path: output } }),
    );
  }

  override handleError(error: Error): boolean {
    return error instanceof SyntaxError;
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
const pipeline = new JSONToCSVPipeline(app, "JSONToCSVPipeline");
app.pumpService.addPipeline(pipeline);
await app.run();
console.log(readFileSync(output, "utf8"));
console.log(`${pipeline.eventOut} rows written, ${pipeline.warnings} bad line(s) skipped`);
