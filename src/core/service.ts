import type { Application, Service } from "./application.js";
import type { Connection, ConnectionClass } from "./connection.js";
import type { EventContext } from "./context.js";
import { toError } from "./errors.js";
import type { Lookup } from "./lookup.js";
import type { Pipeline } from "./pipeline.js";
import type { ProcessorBase } from "./processor.js";
import type { Source } from "./source.js";
import { runsInEveryWorker } from "./workers.js";

/** Chooses a lookup per event context (for example per tenant); answers undefined when it has none. */
export interface LookupFactory {
  locateLookup(id: string, context?: EventContext): Lookup | undefined;
}

/** Anything registered as a matrix (the analyzer family's matrices). */
export interface Matrix {
  readonly id: string;
}

/** Registry of pipelines, connections, lookups and matrices (BSPump's `bspump.PumpService`). */
export class PumpService implements Service {
  readonly pipelines = new Map<string, Pipeline>();
  readonly connections = new Map<string, Connection>();
  readonly lookups = new Map<string, Lookup>();
  readonly lookupFactories: LookupFactory[] = [];
  readonly matrixes = new Map<string, Matrix>();
  /** In a worker process: its index; worker 0 runs every pipeline, the others the shareable ones. */
  workerIndex: number | null = null;
  /** In the supervisor of worker processes: nothing starts here (the workers run the pipelines). */
  supervised = false;

  constructor(readonly app: Application) {}

  /** Whether this process runs the pipeline (src/core/workers.ts says which pipelines share work). */
  runs(pipeline: Pipeline): boolean {
    if (this.supervised) return false;
    return this.workerIndex === null || this.workerIndex === 0 || runsInEveryWorker(pipeline);
  }

  /** The pipelines this process runs. */
  runningPipelines(): Pipeline[] {
    return [...this.pipelines.values()].filter((p) => this.runs(p));
  }

  addPipeline(pipeline: Pipeline): Pipeline {
    if (this.pipelines.has(pipeline.id)) throw new Error(`Pipeline with id '${pipeline.id}' is already registered`);
    this.pipelines.set(pipeline.id, pipeline);
    if (this.app.isRunning && this.runs(pipeline)) pipeline.start();
    return pipeline;
  }

  addPipelines(...pipelines: Pipeline[]): void {
    for (const p of pipelines) this.addPipeline(p);
  }

  /** Removes the pipeline from the registry (it is not stopped). */
  delPipeline(pipeline: Pipeline): void {
    this.pipelines.delete(pipeline.id);
  }

  locatePipeline(id: string): Pipeline | undefined {
    return this.pipelines.get(id);
  }

  addConnection<C extends Connection>(connection: C): C {
    if (this.connections.has(connection.id)) throw new Error(`Connection '${connection.id}' already created`);
    this.connections.set(connection.id, connection);
    return connection;
  }

  addConnections(...connections: Connection[]): void {
    for (const c of connections) this.addConnection(c);
  }

  /**
   * Finds a connection by id (an object passes through). With `expected`, a connection of another
   * class is an error that says which class it is.
   */
  locateConnection<C extends Connection = Connection>(idOrConnection: string | C, expected?: ConnectionClass<C>): C {
    if (typeof idOrConnection !== "string") return idOrConnection;
    const found = this.connections.get(idOrConnection);
    if (!found) {
      const known = [...this.connections.keys()];
      throw new Error(`Connection '${idOrConnection}' not found (known: ${known.join(", ") || "none"}); did you call addConnection() before building the pipeline?`);
    }
    if (expected && !(found instanceof expected)) {
      throw new Error(`Connection '${idOrConnection}' is a ${found.constructor.name}, not a ${expected.name}`);
    }
    return found as C;
  }

  addLookup<L extends Lookup>(lookup: L): L {
    if (this.lookups.has(lookup.id)) throw new Error(`Lookup '${lookup.id}' already created`);
    this.lookups.set(lookup.id, lookup);
    return lookup;
  }

  addLookups(...lookups: Lookup[]): void {
    for (const l of lookups) this.addLookup(l);
  }

  addLookupFactory(factory: LookupFactory): void {
    this.lookupFactories.push(factory);
  }

  locateLookup<L extends Lookup = Lookup>(idOrLookup: string | L, context?: EventContext): L {
    if (typeof idOrLookup !== "string") return idOrLookup;
    for (const factory of this.lookupFactories) {
      const found = factory.locateLookup(idOrLookup, context);
      if (found) return found as L;
    }
    const found = this.lookups.get(idOrLookup);
    if (!found) throw new Error(`Lookup '${idOrLookup}' not found (known: ${[...this.lookups.keys()].join(", ") || "none"})`);
    return found as L;
  }

  addMatrix<M extends Matrix>(matrix: M): M {
    if (this.matrixes.has(matrix.id)) throw new Error(`Matrix '${matrix.id}' already created`);
    this.matrixes.set(matrix.id, matrix);
    return matrix;
  }

  locateMatrix<M extends Matrix = Matrix>(idOrMatrix: string | M): M {
    if (typeof idOrMatrix !== "string") return idOrMatrix;
    const found = this.matrixes.get(idOrMatrix);
    if (!found) throw new Error(`Matrix '${idOrMatrix}' not found`);
    return found as M;
  }

  /**
   * `"Pipeline"` → the pipeline; `"Pipeline.Component"` → a processor or sink at any depth;
   * `"Pipeline.*Source"` → a source. Splits on the first dot; undefined when nothing matches.
   */
  locate(address: string): Pipeline | ProcessorBase | Source | undefined {
    const dot = address.indexOf(".");
    if (dot < 0) return this.pipelines.get(address);
    const pipeline = this.pipelines.get(address.slice(0, dot));
    if (!pipeline) return undefined;
    const rest = address.slice(dot + 1);
    if (rest.startsWith("*")) return pipeline.locateSource(rest.slice(1));
    return pipeline.locateProcessor(rest);
  }

  /** Connections, then non-lazy lookups are ready before any pipeline starts. */
  async initialize(): Promise<void> {
    if (this.supervised) return;
    for (const connection of this.connections.values()) await connection.initialize();
    await Promise.all(
      [...this.lookups.values()]
        .filter((l) => !l.lazy)
        .map(async (l) => {
          try {
            await l.update();
          } catch (e) {
            l.log.error(`Lookup '${l.id}' failed to load`, { error: toError(e) });
          }
        }),
    );
    for (const pipeline of this.runningPipelines()) pipeline.start();
  }

  /**
   * Stops pipelines upstream first: a pipeline stops only after every pipeline routing into it has
   * stopped and flushed, so routed events are not stranded.
   */
  async finalize(): Promise<void> {
    if (this.supervised) return;
    const all = this.runningPipelines();
    const stopped = new Set<Pipeline>();
    while (stopped.size < all.length) {
      const upstreamRunning = (p: Pipeline) => all.some((q) => !stopped.has(q) && q !== p && q.downstream.has(p));
      let wave = all.filter((p) => !stopped.has(p) && !upstreamRunning(p));
      // A routing cycle has no pipeline without a running upstream: stop the rest together.
      if (wave.length === 0) wave = all.filter((p) => !stopped.has(p));
      await Promise.all(wave.map((p) => p.stop()));
      for (const p of wave) stopped.add(p);
    }
    for (const lookup of this.lookups.values()) await lookup.finalize();
    for (const connection of this.connections.values()) {
      try {
        await connection.finalize();
      } catch (e) {
        connection.log.error(`Connection '${connection.id}' failed to close`, { error: toError(e) });
      }
    }
  }

  describePipelines(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [id, p] of this.pipelines) out[id] = p.describe();
    return out;
  }
}
