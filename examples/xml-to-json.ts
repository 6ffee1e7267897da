/**
 * XML → JSON lines: each `*.xml` file is one document (FileBlockSource), parsed by
 * XMLParserProcessor (attributes as `@name`, repeated elements as arrays), written as one JSON line.
 *
 *   node --import tsx examples/xml-to-json.ts [input-folder] [output.jsonl]
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "bspump-example-"));
const output = process.argv[3] ?? join(dir, "out.jsonl");
if (!process.argv[2]) {
  writeFileSync(join(dir, "order.xml"), '<order id="7"><item sku="a1">Tea</item><item sku="b2">Cups</item><note>fragile</note></order>');
}

class XMLToJSONPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.file.FileBlockSource(app, this, { config: { path: join(dir, "*.xml"), post: "noop", files_per_cycle: 0 } }).on(new bspump.RunOnceTrigger(app)),
      new bspump.xml.XMLParserProcessor(app, this, { config: { parse_values: true } }),
      new bspump.file.FileJSONSink(app, this, { config: { path: output } }),
    );
  }
}

const app = new bspump.BSPumpApplication({ args: [] });
app.pumpService.addPipeline(new XMLToJSONPipeline(app, "XMLToJSONPipeline"));
await app.run();
console.log(readFileSync(output, "utf8"));
