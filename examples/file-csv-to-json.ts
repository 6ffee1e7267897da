/**
 * CSV → JSON lines: reads every `*.csv` in a folder (glob, sorted) with FileCSVSource and writes each
 * row as a line of JSON. Each input file is moved to `<name>-processed` once all its rows were written.
 *
 *   node --import tsx examples/file-csv-to-json.ts [input-folder] [output.jsonl]
 *
 * Without arguments it makes a small sample in a temp folder.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "bspump-example-"));
const output = process.argv[3] ?? join(dir, "out.jsonl");
if (!process.argv[2]) writeFileSync(join(dir, "people.csv"), 'id,name,city\n1,Ann,"Prague, CZ"\n2,Bob,Brno\n');

class CSVToJSONPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.file.FileCSVSource(app, this, { config: { path: join(dir, "*.csv"), post: "move", files_per_cycle: 0 } }).on(new bspump.RunOnceTrigger(app)),
      new bspump.file.FileJSONSink(app, this, { config: { path: output } }),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addPipeline(new CSVToJSONPipeline(app, "CSVToJSONPipeline"));
await app.run();
console.log(readFileSync(output, "utf8"));
