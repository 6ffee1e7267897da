// The pump of bench/workers.mjs: W1 (JSON lines → StdJsonToDictParser → enrich → count) over the
// files of a folder, with `--workers N` from the command line. Files are deleted once read.
// Usage: node bench/workers-pump.mjs <folder> --workers N -w 127.0.0.1:<port>
import * as core from "../dist/src/core/index.js";
import * as common from "../dist/src/common/index.js";
import * as file from "../dist/src/file/index.js";
import "../dist/src/web/index.js"; // the web API (the bench reads /metrics)
import { enrich } from "./work.mjs";

const [folder, ...args] = process.argv.slice(2);

class Enrich extends core.Processor {
  process(_context, event) {
    return enrich(event);
  }
}

const config = core.Config.fromString("[logging]\nlevel = warn\nlevels = bspump.web = info, bspump.supervisor = info\n", "<bench workers>");
const app = new core.BSPumpApplication({ args, config });
const pipeline = new core.Pipeline(app, "W1");
const source = new file.FileLineSource(app, pipeline, { config: { path: `${folder}/*.jsonl`, post: "delete", files_per_cycle: 0 } });
source.on(new core.PeriodicTrigger(app, 0.05));
pipeline.build(source, new common.StdJsonToDictParser(app, pipeline), new Enrich(app, pipeline), new common.NullSink(app, pipeline));
app.pumpService.addPipeline(pipeline);
process.exitCode = await app.run();
