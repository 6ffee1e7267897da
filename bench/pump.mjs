// The pump side of the benchmark: real bspump components from the compiled dist/.
// Usage: node bench/pump.mjs <workload> <data-file> [variant]; prints one JSON line.
//   variant "file" (default): bspump.file.FileLineSource / FileCSVSource.
//   variant "nocheck": the same with check_open = false (a diagnostic: what the open-file check costs).
//   variant "procwalk": check_open answered by walking /proc, as without the native lease check.
//   variant "files": <data-file> is a glob; every file it matches is read in one cycle (files_per_cycle = 0).
//   variant "if" (C1 only): a hand-written `if` Processor instead of the ContentFilter.
//   variant "core": a minimal line source written here (1 MiB reads, byte search, one Buffer per
//   line, whenReady() per line) — a diagnostic that isolates the core engine from the file source.
import { closeSync, openSync, readSync } from "node:fs";
// Only the families the workload uses, as a user importing `bspump/file` would: importing the
// whole package loads every connector (~30 MB more RSS before the first event).
import * as core from "../dist/src/core/index.js";
import * as common from "../dist/src/common/index.js";
// Imported after the variant is known: the file family reads BSPUMP_NO_NATIVE when it loads.
if (process.argv[4] === "procwalk") process.env.BSPUMP_NO_NATIVE = "1";
const fileFamily = await import("../dist/src/file/index.js");

const bspump = { ...core, common, file: fileFamily, analyzer: process.argv.includes("W2") ? await import("../dist/src/analyzer/index.js") : undefined };
import { C1_QUERY, c1Keep, enrich } from "./work.mjs";

const [workload, file, variant = "file"] = process.argv.slice(2);

function pending(reason) {
  process.stdout.write(JSON.stringify({ system: "pump", workload, pending: reason }) + "\n");
  process.exit(0);
}

class CountingSink extends bspump.Sink {
  count = 0;
  process() {
    this.count++;
    return null;
  }
}

class Enrich extends bspump.Processor {
  process(_context, event) {
    return enrich(event);
  }
}

/** C1's hand-written `if`, as a user would write it instead of a ContentFilter. */
class KeepIf extends bspump.Processor {
  process(_context, event) {
    return c1Keep(event) ? event : null;
  }
}

/** Diagnostic source: what the core costs on top of a plain read loop. */
class HarnessLineSource extends bspump.Source {
  constructor(app, pipeline, path) {
    super(app, pipeline, { id: "HarnessLineSource" });
    this.path = path;
  }
  async main() {
    const pipeline = this.pipeline;
    pipeline.pubsub.publish("bspump.pipeline.cycle_begin!", { pipeline, source: this });
    const fd = openSync(this.path, "r");
    let buf = Buffer.allocUnsafe(1 << 20);
    let filled = 0;
    const filename = this.path;
    try {
      for (;;) {
        const n = readSync(fd, buf, filled, buf.length - filled, null);
        const end = filled + n;
        let start = 0;
        let nl;
        while ((nl = buf.indexOf(10, start)) !== -1 && nl < end) {
          const go = this.whenReady();
          if (go !== true && !(await go)) return;
          // Each chunk is a fresh Buffer, so a line can be a view into it (no copy).
          pipeline.process(buf.subarray(start, nl + 1), { filename });
          start = nl + 1;
        }
        if (n === 0) {
          if (start < end) pipeline.process(buf.subarray(start, end), { filename });
          break;
        }
        const next = Buffer.allocUnsafe(Math.max(1 << 20, 2 * (end - start)));
        buf.copy(next, 0, start, end);
        buf = next;
        filled = end - start;
      }
    } finally {
      closeSync(fd);
    }
    pipeline.pubsub.publish("bspump.pipeline.cycle_end!", { pipeline, source: this });
    this.app.stop();
  }
}

const app = new bspump.BSPumpApplication({ args: [], handleSignals: false, config: undefined });
const pipeline = new bspump.Pipeline(app, "BenchPipeline");
const sink = new CountingSink(app, pipeline);
const fileConfig = { path: file, post: "noop", ...(variant === "nocheck" ? { check_open: false } : {}), ...(variant === "files" ? { files_per_cycle: 0 } : {}) };

let source;
if (variant === "core") {
  if (workload !== "W1" && workload !== "W3") pending("the core variant reads lines only");
  source = new HarnessLineSource(app, pipeline, file);
} else {
  const family = bspump.file;
  if (workload === "W1" || workload === "W3" || workload === "C1") {
    if (!family?.FileLineSource) pending("bspump.file.FileLineSource is not on main yet");
    source = new family.FileLineSource(app, pipeline, { config: fileConfig });
  } else {
    if (!family?.FileCSVSource) pending("bspump.file.FileCSVSource is not on main yet");
    source = new family.FileCSVSource(app, pipeline, { config: fileConfig });
  }
  source.on(new bspump.RunOnceTrigger(app));
}

let analyzer = null;
const chain = [];
if (workload === "W1") chain.push(new bspump.common.StdJsonToDictParser(app, pipeline), new Enrich(app, pipeline));
if (workload === "C1") {
  const { ContentFilter } = await import("../dist/src/filter/index.js");
  chain.push(new bspump.common.StdJsonToDictParser(app, pipeline));
  chain.push(variant === "if" ? new KeepIf(app, pipeline) : new ContentFilter(app, pipeline, { query: C1_QUERY, onMiss: "drop" }));
}
if (workload === "W2") {
  if (!bspump.analyzer?.TimeWindowAnalyzer) pending("bspump.analyzer.TimeWindowAnalyzer is not on main yet");
  const { makeWindowAnalyzer } = await import("./pump-w2.mjs");
  analyzer = makeWindowAnalyzer(bspump, app, pipeline, file);
  chain.push(analyzer);
}
pipeline.build(source, ...chain, sink);
app.pumpService.addPipeline(pipeline);

let t0 = 0;
let t1 = 0;
pipeline.pubsub.subscribe("bspump.pipeline.cycle_begin!", () => { if (t0 === 0) t0 = performance.now(); });
pipeline.pubsub.subscribe("bspump.pipeline.cycle_end!", () => { t1 = performance.now(); });
const code = await app.run();
if (pipeline.isError()) throw pipeline.error.error;
const check = analyzer?.benchCheck?.() ?? null;
process.stdout.write(JSON.stringify({
  system: "pump", workload, variant, events: pipeline.eventIn, out: sink.count, seconds: (t1 - t0) / 1000,
  maxrss_kb: process.resourceUsage().maxRSS, check, exit: code,
}) + "\n");
