/**
 * Where W2's time goes: ns/event of the plain Map loop, the TimeWindowAnalyzer called directly
 * (no pipeline; emit = window, columns, none), a pipeline with only a NullSink (no analyzer) fed by
 * a loop and by a Source, and the whole W2 pipeline (Source → TimeWindowAnalyzer → NullSink; the
 * results kept, as bench/w2-window.ts does), best of 5, interleaved.
 *
 *   node --expose-gc --import tsx bench/w2-window-parts.ts [events] [users]
 */
import { BSPumpApplication, Config, Pipeline } from "../src/core/index.js";
import { NullSink } from "../src/common/index.js";
import { TimeWindowAnalyzer } from "../src/analyzer/index.js";
import { ArraySource, RESOLUTION, generate, plainLoop, type Ev } from "./w2-events.js";

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const USERS = Number(process.argv[3] ?? 10_000);

const CONFIG = { resolution: RESOLUTION, columns: 60, dimension_attr: "user", value_attr: "bytes", aggregations: "count,sum", lateness: 10, max_future: 3600 };

function newApp(): BSPumpApplication {
  const app = new BSPumpApplication({ args: [], config: new Config(), handleSignals: false });
  app.logs.defaultLevel = "warn";
  return app;
}

/** The analyzer's process() called in a loop, then the final flush (with the result events built). */
function analyzerAlone(events: Ev[], emit = "window"): number {
  const app = newApp();
  const pipeline = new Pipeline(app, "P");
  const kept: unknown[] = [];
  const a = new TimeWindowAnalyzer(app, pipeline, { id: "A", config: { ...CONFIG, emit }, sink: (e) => kept.push(e) });
  const ctx = {};
  for (let i = 0; i < events.length; i++) a.process(ctx, events[i]);
  a.flushWindows();
  return kept.length;
}


/** pipeline.process() in a plain loop, pipeline = [NullSink] or [analyzer, NullSink]. */
function pipelineLoop(events: Ev[], withAnalyzer: boolean): number {
  const app = newApp();
  const pipeline = new Pipeline(app, "P");
  const source = new ArraySource(app, pipeline);
  let n = 0;
  if (withAnalyzer) pipeline.build(source, new TimeWindowAnalyzer(app, pipeline, { id: "A", config: CONFIG, sink: () => n++ }), new NullSink(app, pipeline));
  else pipeline.build(source, new NullSink(app, pipeline));
  for (let i = 0; i < events.length; i++) pipeline.process(events[i]);
  return n;
}

/** Source → (analyzer →) NullSink under app.run(), as bench/w2-window.ts times it. */
async function running(events: Ev[], withAnalyzer: boolean, emit = "window"): Promise<number> {
  const app = newApp();
  const pipeline = new Pipeline(app, "P");
  const source = new ArraySource(app, pipeline);
  source.events = events;
  const kept: unknown[] = [];
  const config = { ...CONFIG, emit };
  if (withAnalyzer) pipeline.build(source, new TimeWindowAnalyzer(app, pipeline, { id: "A", config, sink: (e) => kept.push(e) }), new NullSink(app, pipeline));
  else pipeline.build(source, new NullSink(app, pipeline));
  app.pumpService.addPipeline(pipeline);
  source.done = () => app.stop();
  let t0 = 0;
  app.pubsub.subscribe("Application.run!", () => {
    t0 = performance.now();
  });
  await app.run();
  return performance.now() - t0;
}

const events = generate(EVENTS, USERS);
const parts: Record<string, (ev: Ev[]) => Promise<number>> = {
  "plain Map loop": async (ev) => {
    const t = performance.now();
    plainLoop(ev);
    return performance.now() - t;
  },
  "analyzer.process() alone, emit=window": async (ev) => {
    const t = performance.now();
    analyzerAlone(ev);
    return performance.now() - t;
  },
  "analyzer.process() alone, emit=columns": async (ev) => {
    const t = performance.now();
    analyzerAlone(ev, "columns");
    return performance.now() - t;
  },
  "analyzer.process() alone, emit=none": async (ev) => {
    const t = performance.now();
    analyzerAlone(ev, "none");
    return performance.now() - t;
  },
  "pipeline.process(), NullSink only": async (ev) => {
    const t = performance.now();
    pipelineLoop(ev, false);
    return performance.now() - t;
  },
  "pipeline.process(), analyzer + NullSink": async (ev) => {
    const t = performance.now();
    pipelineLoop(ev, true);
    return performance.now() - t;
  },
  "Source + app.run, NullSink only": (ev) => running(ev, false),
  "Source + app.run, analyzer + NullSink (W2)": (ev) => running(ev, true),
  "the same, emit=columns": (ev) => running(ev, true, "columns"),
};
const best: Record<string, number> = {};
const small = events.slice(0, 100_000);
for (const f of Object.values(parts)) await f(small);
for (let round = 0; round < 5; round++) {
  for (const [name, f] of Object.entries(parts)) {
    globalThis.gc?.();
    const ms = await f(events);
    best[name] = Math.min(best[name] ?? Infinity, ms);
  }
}
for (const [name, ms] of Object.entries(best)) console.log(`${name.padEnd(44)} ${((ms * 1e6) / EVENTS).toFixed(1).padStart(6)} ns/event`);
