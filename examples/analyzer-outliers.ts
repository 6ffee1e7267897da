/**
 * Events from a file → TimeWindowAnalyzer counting per user per minute → outliers printed.
 *
 *   node --import tsx examples/analyzer-outliers.ts [events.csv]
 *
 * The CSV has the columns `timestamp,user,bytes` (timestamp in seconds). Without an argument, a
 * small file is generated in the temp directory: 50 users over 10 minutes, and in minute 6 user
 * "mallory" sends far more requests than anyone else. The analyzer's detectors emit into a second
 * pipeline (InternalSource), whose sink prints each finding.
 */
import { createReadStream, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { BSPumpApplication, Pipeline, RunOnceTrigger, Sink, TriggerSource, type EventContext } from "../src/core/index.js";
import { InternalSource, NullSink } from "../src/common/index.js";
import { DropToZeroDetector, OutlierDetector, TimeWindowAnalyzer } from "../src/analyzer/index.js";

/** A tiny CSV line reader (the file family has its own sources). */
class CSVLineSource extends TriggerSource {
  constructor(app: BSPumpApplication, pipeline: Pipeline, private readonly path: string) {
    super(app, pipeline);
  }
  async cycle(): Promise<void> {
    let header: string[] | null = null;
    for await (const line of createInterface({ input: createReadStream(this.path), crlfDelay: Infinity })) {
      if (line === "") continue;
      const cells = line.split(",");
      if (header === null) {
        header = cells;
        continue;
      }
      const event: Record<string, string> = {};
      header.forEach((name, i) => (event[name] = cells[i] ?? ""));
      const go = this.whenReady();
      if (go !== true && !(await go)) return;
      this.pipeline.process(event, { filename: this.path });
    }
  }
}

class FindingPrinter extends Sink {
  process(_context: EventContext, event: unknown): null {
    const e = event as Record<string, unknown>;
    const minute = new Date((e.window_start as number) * 1000).toISOString().slice(11, 16);
    if (e.type === "outlier") console.log(`${minute}  outlier       ${e.dimension}: ${e.value} requests (median ${e.median}, robust z ${(e.score as number).toFixed(1)})`);
    else console.log(`${minute}  ${String(e.type).padEnd(13)} ${e.dimension}: ${e.value}`);
    return null;
  }
}

function sampleFile(): string {
  const path = join(tmpdir(), "bspump-analyzer-example.csv");
  const lines = ["timestamp,user,bytes"];
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const t0 = 1_700_000_040; // a minute boundary
  for (let minute = 0; minute < 10; minute++) {
    for (let u = 0; u < 50; u++) {
      if (u === 7 && minute >= 3) continue; // user7 goes silent after minute 3
      const n = 8 + Math.floor(rnd() * 5);
      for (let i = 0; i < n; i++) lines.push(`${t0 + minute * 60 + Math.floor(rnd() * 60)},user${u},${100 + Math.floor(rnd() * 900)}`);
    }
    if (minute === 5) for (let i = 0; i < 120; i++) lines.push(`${t0 + minute * 60 + (i % 60)},mallory,64`);
  }
  // roughly time-ordered, as a log would be
  const body = lines.slice(1).sort((a, b) => Number(a.split(",")[0]) - Number(b.split(",")[0]));
  writeFileSync(path, [lines[0], ...body].join("\n") + "\n");
  return path;
}

const app = new BSPumpApplication({ args: [] });
const path = process.argv[2] ?? sampleFile();

const findings = new Pipeline(app, "Findings");
findings.build(new InternalSource(app, findings, { id: "In", config: { queue_max_size: 1000 } }), new FindingPrinter(app, findings));

const counting = new Pipeline(app, "Counting");
const source = new CSVLineSource(app, counting, path);
source.on(new RunOnceTrigger(app));
counting.build(
  source,
  new TimeWindowAnalyzer(app, counting, {
    id: "PerUserPerMinute",
    config: { timestamp_attr: "timestamp", dimension_attr: "user", value_attr: "bytes", resolution: 60, columns: 10, lateness: 5, emit: "none", target: "Findings.*In" },
    detectors: [new OutlierDetector({ metric: "count", threshold: 3.5 }), new DropToZeroDetector({ windows: 2 })],
  }),
  new NullSink(app, counting),
);
app.pumpService.addPipelines(findings, counting);
console.log(`Reading ${path}`);
process.exitCode = await app.run();
