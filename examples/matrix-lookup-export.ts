/**
 * A MatrixLookup of network ranges: a TreeRangeIndex answers which range holds an address and a
 * BitMapIndex which ranges an owner has; then a MatrixSource hands the lookup's SessionMatrix to
 * SessionMatrixExportCSVGenerator and FileCSVSink writes it as CSV (one row per range).
 *
 *   node --import tsx examples/matrix-lookup-export.ts [output.csv]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bspump from "../src/index.js";

const output = process.argv[2] ?? join(mkdtempSync(join(tmpdir(), "bspump-example-")), "networks.csv");
const ip = (s: string): number => s.split(".").reduce((n, part) => n * 256 + Number(part), 0);

const app = new bspump.BSPumpApplication({ args: [] });
const networks = new bspump.matrix.MatrixLookup(app, "Networks", { dtype: [["lo", "f8"], ["hi", "f8"], ["owner", "U30"]] });
app.pumpService.addLookup(networks);
const m = networks.matrix;
for (const [name, lo, hi, owner] of [["office", "10.0.0.0", "10.0.1.0", "it"], ["lab", "10.0.1.0", "10.0.2.0", "research"], ["vpn", "10.8.0.0", "10.9.0.0", "it"]] as const) {
  m.storeEvent(m.addRow(name), { lo: ip(lo), hi: ip(hi), owner });
}
const ranges = networks.createIndex(bspump.matrix.TreeRangeIndex, "lo", "hi", m);
const owners = networks.createIndex(bspump.matrix.BitMapIndex, "owner", m);
for (const address of ["10.0.0.77", "10.0.1.5", "10.8.3.3", "192.168.0.1"]) {
  console.log(`${address} → ${networks.search(ranges.search(ip(address)), "owner") ?? "(no range)"}`);
}
console.log(`ranges of 'it': ${[...owners.search("it")].map((r) => m.getRowName(r)).join(", ")}`);

class ExportPipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.matrix.MatrixSource(app, this, "NetworksMatrix").on(new bspump.RunOnceTrigger(app)),
      new bspump.matrix.SessionMatrixExportCSVGenerator(app, this),
      new bspump.file.FileCSVSink(app, this, { config: { path: output } }),
    );
  }
}
app.pumpService.addPipeline(new ExportPipeline(app, "ExportPipeline"));
await app.run();
console.log(readFileSync(output, "utf8"));
