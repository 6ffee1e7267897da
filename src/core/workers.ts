import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import type { Config, ConfigSpec } from "./config.js";
import { ConfigError } from "./errors.js";
import type { Pipeline } from "./pipeline.js";
import { checkSection } from "./resolve.js";

/**
 * How a source behaves when the application runs several worker processes (`[bspump] workers`):
 * - `single`: it cannot share its work (a periodic query would run N times): its pipeline runs
 *   in worker 0 only. The default, so a source nobody thought about is never duplicated.
 * - `shared`: every worker runs it and the input is split among them, any event to any worker
 *   (AMQP competing consumers, file sources through the `-locked` rename, servers sharing one
 *   listening socket).
 * - `partitioned`: shared, and one key always lands in the same worker (Kafka: a partition
 *   belongs to one member of the consumer group), so state kept per key stays correct.
 * - `inherited`: fed from inside the process (InternalSource): it runs wherever its feeders run
 *   and does not decide on its own.
 */
export type WorkerSharing = "single" | "shared" | "partitioned" | "inherited";

/** The `[bspump]` keys of worker processes. */
export const WORKER_KEYS = {
  workers: { type: "string", default: "1", doc: "Worker processes running the pipelines: a number ≥ 1, or 'auto' (one per available core)" },
  worker_restart_delay: { type: "float", default: 1, min: 0.01, max: 3600, doc: "Seconds before a dead worker is started again; doubles after each quick death" },
  worker_restart_max_delay: { type: "float", default: 30, min: 0.01, max: 86400, doc: "Longest delay between restarts of a worker" },
  worker_start_tries: { type: "int", default: 5, min: 1, max: 1000, doc: "A worker that dies this many times in a row before it is ready stops the whole pump (exit code 1)" },
} satisfies ConfigSpec;

/** More than this is a typing error, not a machine (and would be a fork bomb). */
const MAX_WORKERS = 256;

export interface WorkerSettings {
  workers: number;
  restartDelay: number;
  restartMaxDelay: number;
  startTries: number;
}

/** `[bspump]` worker settings, checked: `workers = 0` or `workers = lots` is a ConfigError naming the key. */
export function workerSettings(config: Config): WorkerSettings {
  const values = checkSection(config, "bspump", WORKER_KEYS);
  const raw = String(values.workers).trim();
  const entry = config.entries("bspump").get("workers");
  const where = `${entry ? `${entry.file}:${entry.line}: ` : ""}[bspump] key 'workers'`;
  let workers: number;
  if (raw === "auto") workers = availableParallelism();
  else if (/^\d+$/.test(raw)) workers = Number(raw);
  else throw new ConfigError(`${where}: expected a number of worker processes or 'auto', got '${raw.slice(0, 100)}'`);
  if (workers < 1 || workers > MAX_WORKERS) throw new ConfigError(`${where}: expected 1 to ${MAX_WORKERS} worker processes (or 'auto'), got ${raw}`);
  return {
    workers,
    restartDelay: values.worker_restart_delay as number,
    restartMaxDelay: values.worker_restart_max_delay as number,
    startTries: values.worker_start_tries as number,
  };
}

/** The environment variable that tells a forked process which worker it is. */
export const WORKER_ENV = "BSPUMP_WORKER";

/** How many workers the supervisor runs (set for each worker with WORKER_ENV). */
export const WORKERS_ENV = "BSPUMP_WORKERS";

/** This worker's index and the number of workers, or null when this process is not a worker. */
export function workerShare(): { index: number; count: number } | null {
  const index = workerIndex();
  const count = Number(process.env[WORKERS_ENV]);
  return index === null || !(count >= 1) ? null : { index, count };
}

/**
 * The items in the order this worker should try them: worker i of n starts i/n of the way into
 * the list and wraps around, so workers taking from one shared list (files to lock) mostly meet
 * only at the ends of their slices instead of all racing for the first item.
 */
export function inWorkerOrder<T>(items: T[]): T[] {
  const share = workerShare();
  if (share === null || share.count < 2 || items.length < 2) return items;
  const at = Math.floor((share.index * items.length) / share.count) % items.length;
  return at === 0 ? items : items.slice(at).concat(items.slice(0, at));
}

/** This process's worker index when it is a worker of a supervisor, else null. */
export function workerIndex(): number | null {
  const raw = process.env[WORKER_ENV];
  if (!cluster.isWorker || raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

interface SharingClass {
  WorkerSharing?: WorkerSharing;
  PartitionedInput?: boolean;
}

/**
 * Whether every worker runs the pipeline (true) or only worker 0. A pipeline runs everywhere when
 * none of its sources is `single`; a pipeline with a processor that keeps state per key
 * (`static PartitionedInput = true`: the analyzers) runs everywhere only when its sources are
 * partitioned (or inherited), since with shared input one key would be split among workers.
 */
export function runsInEveryWorker(pipeline: Pipeline): boolean {
  const sharing = pipeline.sources.map((s) => (s.constructor as SharingClass).WorkerSharing ?? "single");
  // No source at all: fed by other pipelines of the same process, like `inherited`.
  if (sharing.includes("single")) return false;
  const keyed = [...pipeline.iterProcessors()].some((p) => (p.constructor as SharingClass).PartitionedInput === true);
  return !keyed || sharing.every((s) => s === "partitioned" || s === "inherited");
}
