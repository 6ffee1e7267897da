import cluster, { type Worker } from "node:cluster";
import type { Application, Service } from "./application.js";
import type { Logger } from "./logging.js";
import type { MetricSample } from "./metrics.js";
import { WORKER_ENV, WORKERS_ENV, type WorkerSettings } from "./workers.js";

/** What a worker answers to `gather`: its pipelines as the web API describes them, metrics, lookups. */
export interface WorkerReport {
  worker: number;
  pid: number;
  /** `describePipelines()` of the worker, for the pipelines it runs. */
  pipelines: Record<string, Record<string, unknown>>;
  /** The pipelines this worker runs (the others are single-instance and run in worker 0). */
  running: string[];
  metrics: MetricSample[];
  lookups: unknown[];
}

export interface WorkerStatus {
  worker: number;
  pid: number | null;
  state: "starting" | "ready" | "restarting" | "stopping" | "stopped";
  restarts: number;
}

/** Messages between the supervisor and its workers (over the cluster IPC channel). */
export type SupervisorMessage =
  | { bspump: "gather"; id: number }
  | { bspump: "stop" }
  | { bspump: "clear-error"; id: number; pipeline: string };
export type WorkerMessage =
  | { bspump: "ready" }
  | { bspump: "report"; id: number; json: string }
  | { bspump: "cleared"; id: number; found: boolean; cleared: boolean };

interface Slot {
  index: number;
  worker: Worker | null;
  state: WorkerStatus["state"];
  restarts: number;
  /** Deaths in a row before the worker said it was ready. */
  startFailures: number;
  /** Deaths in a row of workers that lived less than a minute: the restart delay doubles with each. */
  quickDeaths: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

/** A worker that lived at least this long before dying is restarted after the shortest delay again. */
const STABLE_MS = 60_000;

/**
 * The supervisor of `[bspump] workers = N`: forks N copies of this program (node:cluster, so
 * servers in the workers share one listening socket), restarts a dead worker with a growing delay,
 * gives up (the application stops with exit code 1) when one dies `worker_start_tries` times in
 * a row before it is ready — a config or code error, not bad luck — and on stop tells every worker
 * to stop gracefully and waits for them. It runs no pipeline itself; the web API asks the workers
 * over IPC (`gather()`).
 */
export class WorkerSupervisor implements Service {
  readonly log: Logger;
  private readonly slots: Slot[] = [];
  private stopping = false;
  private nextId = 1;
  private readonly waiting = new Map<number, { answers: Map<number, unknown>; expect: Set<number>; done: () => void }>();
  private allExited: (() => void) | null = null;
  /** Restarts of all workers, for the metrics. */
  restartsTotal = 0;

  constructor(
    readonly app: Application,
    readonly settings: WorkerSettings,
  ) {
    this.log = app.logs.logger("bspump.supervisor");
    for (let index = 0; index < settings.workers; index++) {
      this.slots.push({ index, worker: null, state: "stopped", restarts: 0, startFailures: 0, quickDeaths: 0, startedAt: 0, timer: null });
    }
    app.metrics.addCollector((): MetricSample[] => [
      { name: "bspump.supervisor", type: "counter", tags: {}, fields: { restarts: this.restartsTotal } },
      { name: "bspump.supervisor.workers", type: "gauge", tags: {}, fields: { configured: this.slots.length, ready: this.slots.filter((s) => s.state === "ready").length } },
    ]);
  }

  async initialize(): Promise<void> {
    this.log.info(`Starting ${this.slots.length} worker processes`);
    for (const slot of this.slots) this.fork(slot);
  }

  /** Tells every worker to stop (each drains its pipelines) and waits until all have exited. */
  async finalize(): Promise<void> {
    this.stopping = true;
    const exited = new Promise<void>((resolve) => (this.allExited = resolve));
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      if (slot.worker) {
        slot.state = "stopping";
        this.send(slot.worker, { bspump: "stop" });
      } else slot.state = "stopped";
    }
    this.checkAllExited();
    await exited;
    this.log.info("All workers stopped");
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({ worker: s.index, pid: s.worker?.process.pid ?? null, state: s.state, restarts: s.restarts }));
  }

  /** Asks each live worker for its report; a worker that does not answer within `timeoutMs` is left out. */
  async gather(timeoutMs = 2000): Promise<WorkerReport[]> {
    const answers = await this.ask((id) => ({ bspump: "gather", id }), timeoutMs);
    const reports: WorkerReport[] = [];
    for (const answer of answers.values()) reports.push(JSON.parse((answer as { json: string }).json) as WorkerReport);
    return reports.sort((a, b) => a.worker - b.worker);
  }

  /** Clears the error of a pipeline in every worker; whether any had the pipeline, and any cleared one. */
  async clearError(pipeline: string): Promise<{ found: boolean; cleared: boolean }> {
    const answers = await this.ask((id) => ({ bspump: "clear-error", id, pipeline }), 2000);
    const all = [...answers.values()] as { found: boolean; cleared: boolean }[];
    return { found: all.some((a) => a.found), cleared: all.some((a) => a.cleared) };
  }

  private ask(message: (id: number) => SupervisorMessage, timeoutMs: number): Promise<Map<number, unknown>> {
    const id = this.nextId++;
    const live = this.slots.filter((s) => s.worker && (s.state === "ready" || s.state === "stopping"));
    const expect = new Set(live.map((s) => s.index));
    const answers = new Map<number, unknown>();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answers);
      };
      this.waiting.set(id, { answers, expect, done });
      if (expect.size === 0) return done();
      for (const slot of live) this.send(slot.worker!, message(id));
    });
  }

  private fork(slot: Slot): void {
    slot.timer = null;
    if (this.stopping) return;
    const worker = cluster.fork({ [WORKER_ENV]: String(slot.index), [WORKERS_ENV]: String(this.slots.length) });
    slot.worker = worker;
    slot.state = "starting";
    slot.startedAt = Date.now();
    worker.on("message", (message: WorkerMessage) => this.onMessage(slot, message));
    // An IPC write to a worker that just died: the exit handler deals with the death.
    worker.on("error", (e) => this.log.debug(`Worker ${slot.index}: ${e.message}`));
    worker.on("exit", (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (typeof message !== "object" || message === null) return;
    if (message.bspump === "ready") {
      if (slot.state === "starting") slot.state = "ready";
      slot.startFailures = 0;
      this.log.info(`Worker ${slot.index} (pid ${slot.worker?.process.pid}) is ready`);
      return;
    }
    if (message.bspump === "report" || message.bspump === "cleared") {
      const waiting = this.waiting.get(message.id);
      if (!waiting) return;
      waiting.answers.set(slot.index, message);
      if (waiting.answers.size >= waiting.expect.size) waiting.done();
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    // A request waiting for this worker's answer does not wait for the timeout.
    for (const waiting of this.waiting.values()) {
      waiting.expect.delete(slot.index);
      if (waiting.answers.size >= waiting.expect.size) waiting.done();
    }
    if (this.stopping) {
      slot.state = "stopped";
      if (code !== 0) this.log.warn(`Worker ${slot.index} stopped with ${how}`);
      return this.checkAllExited();
    }
    const wasReady = slot.state === "ready";
    if (wasReady && code === 0 && signal === null) {
      // A worker that ended by itself, cleanly, has finished its work (a RunOnceTrigger stops the
      // application when its cycle is done): the pump stops, as a single process would.
      slot.state = "stopped";
      this.log.info(`Worker ${slot.index} finished (exit code 0): stopping the pump`);
      this.app.stop(0);
      return;
    }
    if (!wasReady) slot.startFailures++;
    slot.quickDeaths = Date.now() - slot.startedAt < STABLE_MS ? slot.quickDeaths + 1 : 1;
    if (slot.startFailures >= this.settings.startTries) {
      slot.state = "stopped";
      this.log.error(
        `Worker ${slot.index} died before it was ready ${slot.startFailures} times in a row (last: ${how}); ` +
          `giving up ([bspump] worker_start_tries = ${this.settings.startTries}) and stopping the pump. The worker's log above says why.`,
      );
      this.app.stop(1);
      return;
    }
    const delay = Math.min(this.settings.restartDelay * 2 ** (slot.quickDeaths - 1), this.settings.restartMaxDelay);
    slot.state = "restarting";
    slot.restarts++;
    this.restartsTotal++;
    this.log.warn(`Worker ${slot.index} (pid ${worker.process.pid}) died (${how}${wasReady ? "" : ", before it was ready"}); starting it again in ${formatSeconds(delay)}`);
    slot.timer = setTimeout(() => this.fork(slot), delay * 1000);
  }

  private checkAllExited(): void {
    if (this.slots.every((s) => s.worker === null)) this.allExited?.();
  }

  private send(worker: Worker, message: SupervisorMessage): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch (e) {
      this.log.debug(`Cannot send to worker: ${(e as Error).message}`);
    }
  }
}

function formatSeconds(s: number): string {
  return s < 10 ? `${Math.round(s * 100) / 100} s` : `${Math.round(s)} s`;
}
