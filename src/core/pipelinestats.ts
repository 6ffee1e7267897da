import type { MetricSample } from "./metrics.js";
import type { PipelineBase } from "./pipelinebase.js";
import type { ProcessorBase } from "./processor.js";
import { eventPreview } from "./preview.js";

/**
 * One processor's place in a depth, with what the hot path reads of it: one object per step,
 * so a step costs one array read (parallel arrays of kinds and profiles cost about twice as much
 * per event, measured).
 */
export class Stage {
  runs = 0;
  sampledRuns = 0;
  sampledSeconds = 0;
  constructor(
    readonly processor: ProcessorBase,
    readonly kind: number,
  ) {}
}

export interface ProfileEntry {
  component: string;
  runs: number;
  seconds: number;
}

/**
 * What a pipeline reports about itself, derived from its counters on demand (pull model: the hot
 * path only increments numbers): rates per second, the ready duty cycle, metric samples.
 */
export class PipelineStats {
  private eps = { in: 0, out: 0, drop: 0, lastIn: 0, lastOut: 0, lastDrop: 0, lastAt: 0 };
  private readySeconds = 0;
  private readySince = 0;
  private dutyCycle = { ready: 0, lastReady: 0, lastAt: 0 };

  constructor(private readonly pipeline: PipelineBase) {}

  /** The pipeline became ready or not ready at `now` (seconds). */
  readyChanged(ready: boolean, now: number): void {
    if (ready) this.readySince = now;
    else this.readySeconds += now - this.readySince;
  }

  /** Called every application tick: recomputes the rates. */
  updateRates(): void {
    const p = this.pipeline;
    const now = performance.now() / 1000;
    const e = this.eps;
    const dt = e.lastAt === 0 ? 0 : now - e.lastAt;
    if (dt > 0) {
      e.in = (p.eventIn - e.lastIn) / dt;
      e.out = (p.eventOut - e.lastOut) / dt;
      e.drop = (p.eventDrop - e.lastDrop) / dt;
      const readyTotal = this.readySeconds + (p.isReady() ? now - this.readySince : 0);
      this.dutyCycle.ready = Math.min(1, Math.max(0, (readyTotal - this.dutyCycle.lastReady) / dt));
      this.dutyCycle.lastReady = readyTotal;
    }
    e.lastIn = p.eventIn;
    e.lastOut = p.eventOut;
    e.lastDrop = p.eventDrop;
    e.lastAt = now;
  }

  metricSamples(): MetricSample[] {
    const p = this.pipeline;
    const tags = { pipeline: p.id };
    const samples: MetricSample[] = [
      {
        name: "bspump.pipeline",
        type: "counter",
        tags,
        fields: { "event.in": p.eventIn, "event.out": p.eventOut, "event.drop": p.eventDrop, warning: p.warnings, error: p.errors, "event.dead_letter": p.deadLettered },
        help: "Events into and out of the pipeline, drops, warnings and errors",
      },
      { name: "bspump.pipeline.eps", type: "gauge", tags, fields: { "eps.in": this.eps.in, "eps.out": this.eps.out, "eps.drop": this.eps.drop } },
      {
        name: "bspump.pipeline.gauge",
        type: "gauge",
        tags,
        fields: {
          "warning.ratio": p.eventIn ? p.warnings / p.eventIn : 0,
          "error.ratio": p.eventIn ? p.errors / p.eventIn : 0,
          ready: p.isReady() ? 1 : 0,
          "async.in_flight": p.asyncPending,
        },
      },
      { name: "bspump.pipeline.dutycycle", type: "gauge", tags, fields: { ready: this.dutyCycle.ready } },
    ];
    for (const prof of p.profile()) {
      samples.push({ name: "bspump.pipeline.profiler", type: "counter", tags: { pipeline: p.id, processor: prof.component }, fields: { run: prof.runs, duration: prof.seconds } });
    }
    return samples;
  }

  /** The pipeline's JSON view for the web API and the dashboard (BSPump's rest_get). */
  view(throttles: string[]): Record<string, unknown> {
    const p = this.pipeline;
    const view: Record<string, unknown> = {
      Id: p.id,
      Class: p.constructor.name,
      Ready: p.isReady(),
      Throttles: throttles,
      Sources: p.sources.map((s) => s.describe()),
      Processors: p.processors.map((depth) => depth.map((c) => c.describe())),
      Config: p.config.toJSON(),
      Metrics: this.metrics(),
      Profile: p.profile(),
      Log: p.recentLogs,
      Downstream: [...p.downstream].map((d) => d.id),
    };
    const error = p.error;
    if (error) {
      view.Error = error.error.message || error.error.name;
      view.ErrorTimestamp = error.time;
      if (error.event !== null && error.event !== undefined) view.ErrorEvent = eventPreview(error.event);
    }
    return view;
  }

  private metrics(): Record<string, number> {
    const p = this.pipeline;
    return {
      "event.in": p.eventIn,
      "event.out": p.eventOut,
      "event.drop": p.eventDrop,
      warning: p.warnings,
      error: p.errors,
      "event.dead_letter": p.deadLettered,
      "eps.in": this.eps.in,
      "eps.out": this.eps.out,
      "eps.drop": this.eps.drop,
      "dutycycle.ready": this.dutyCycle.ready,
      "async.in_flight": p.asyncPending,
    };
  }
}

/** Per-component counts and estimated seconds spent (timing is sampled). */
export function profileOf(stages: readonly (readonly Stage[])[]): ProfileEntry[] {
  const out: ProfileEntry[] = [];
  for (const depth of stages) {
    for (const s of depth) {
      const perRun = s.sampledRuns ? s.sampledSeconds / s.sampledRuns : 0;
      out.push({ component: s.processor.id, runs: s.runs, seconds: perRun * s.runs });
    }
  }
  return out;
}
