import cluster from "node:cluster";
import type { BSPumpApplication } from "./application.js";
import type { SupervisorMessage, WorkerMessage, WorkerReport } from "./supervisor.js";

/**
 * The worker's end of the supervisor's IPC channel: answers `gather` with a report for the web
 * API, clears pipeline errors, stops gracefully on `stop` — and when the supervisor is gone (the
 * channel closes), so a killed supervisor leaves no workers behind. Reports travel as JSON text
 * made here, so what `describe()` returns (Maps, bigints) reads the same as from a single process.
 */
export class WorkerAgent {
  constructor(
    readonly app: BSPumpApplication,
    readonly index: number,
    /** Pipelines that run in this worker. */
    readonly running: () => string[],
  ) {
    process.on("message", (message: SupervisorMessage) => this.onMessage(message));
    process.on("disconnect", () => {
      if (app.isRunning) app.log.warn("The supervisor is gone: stopping");
      app.stop(0);
    });
    app.pubsub.subscribe("Application.run!", () => this.send({ bspump: "ready" }));
    // The IPC channel keeps the event loop alive: once the application stopped, let go of it.
    // Not process.disconnect(), and marked as an expected disconnect: node:cluster otherwise
    // ends a worker whose channel closes with process.exit(0), losing the application's exit code.
    app.pubsub.subscribe("Application.exit!", () => {
      if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
      process.channel?.unref();
    });
  }

  private onMessage(message: SupervisorMessage): void {
    if (typeof message !== "object" || message === null) return;
    switch (message.bspump) {
      case "stop":
        this.app.stop(0);
        return;
      case "gather":
        this.send({ bspump: "report", id: message.id, json: JSON.stringify(this.report(), replacer) });
        return;
      case "clear-error": {
        const pipeline = this.app.pumpService.locatePipeline(message.pipeline);
        const cleared = pipeline?.isError() ?? false;
        if (pipeline && cleared) pipeline.setError(null, null, null);
        this.send({ bspump: "cleared", id: message.id, found: pipeline !== undefined, cleared });
        return;
      }
    }
  }

  private report(): WorkerReport {
    const pumps = this.app.pumpService;
    const running = this.running();
    const pipelines: Record<string, Record<string, unknown>> = {};
    for (const id of running) {
      const p = pumps.pipelines.get(id);
      if (p) pipelines[id] = p.describe();
    }
    const lookups: unknown[] = [];
    for (const l of pumps.lookups.values()) {
      try {
        lookups.push(l.describe());
      } catch (e) {
        lookups.push({ Id: l.id, Class: l.constructor.name, Error: (e as Error).message });
      }
    }
    // Metrics of pipelines this worker does not run would be zeros next to worker 0's real ones.
    const idle = new Set([...pumps.pipelines.keys()].filter((id) => !running.includes(id)));
    const metrics = this.app.metrics.collect().filter((s) => !(s.tags.pipeline !== undefined && idle.has(s.tags.pipeline)));
    return { worker: this.index, pid: process.pid, pipelines, running, metrics, lookups };
  }

  private send(message: WorkerMessage): void {
    if (!process.connected || !process.send) return;
    process.send(message, undefined, undefined, () => {});
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}
