import { RunOnceTrigger, type BSPumpApplication } from "../core/index.js";
import { FileABCSource } from "../file/index.js";
import { formatBytes, ProgressLine } from "./progress.js";

/**
 * `bspump run`'s progress line: when file sources run on a RunOnceTrigger (a finite run), bytes
 * read of the files found, the events/s of their pipelines and the ETA, on stderr when it is a
 * terminal. Returns what stops it (and erases the line); a pump with no such source gets a no-op.
 */
export function runProgress(app: BSPumpApplication, stream: NodeJS.WriteStream = process.stderr): () => void {
  const sources: FileABCSource[] = [];
  for (const pipeline of app.pumpService.pipelines.values()) {
    for (const s of pipeline.sources) {
      if (s instanceof FileABCSource && [...s.triggers].some((t) => t instanceof RunOnceTrigger)) sources.push(s);
    }
  }
  if (sources.length === 0 || stream.isTTY !== true) return () => {};
  const pipelines = new Set(sources.map((s) => s.pipeline));
  const line = new ProgressLine(sources.length === 1 ? `${sources[0]!.pipeline.id}` : `${sources.length} file sources`, { stream, unit: "bytes" });
  const started = performance.now();
  const sample = () => {
    let done = 0;
    let total = 0;
    for (const s of sources) {
      const p = s.progress();
      done += p.read;
      total += p.total;
    }
    let events = 0;
    for (const p of pipelines) events += p.eventIn;
    return { done, total, events };
  };
  // Log lines go above the progress line, not through it.
  const write = app.logs.writer;
  app.logs.writer = (record) => line.print(() => write(record));
  line.poll(sample);
  return () => {
    line.finish();
    app.logs.writer = write;
    const { done, events } = sample();
    const seconds = (performance.now() - started) / 1000;
    stream.write(`${line.label}: ${formatBytes(done)} read, ${events.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s\n`);
  };
}
