import type { Application } from "./application.js";
import { ConfigObject, definitionOptions, type ComponentDefinition, type ComponentOptions } from "./component.js";
import { definitionConnection, type Connection, type ConnectionClass } from "./connection.js";
import type { EventContext } from "./context.js";
import { toError } from "./errors.js";
import type { Logger } from "./logging.js";
import type { Pipeline } from "./pipeline.js";
import type { Trigger } from "./trigger.js";
import type { WorkerSharing } from "./workers.js";

/**
 * Gets events from outside and hands them to its pipeline. Subclasses implement `main()`, which
 * runs from start until it returns or the source is stopped; it must watch `this.stopping` (or
 * race its waits with `this.untilStopped`) to end promptly.
 */
export abstract class Source extends ConfigObject {
  /**
   * Whether worker processes (`[bspump] workers`) can share this source's input; `single` (the
   * default) runs its pipeline in worker 0 only. See WorkerSharing in workers.ts.
   */
  static WorkerSharing: WorkerSharing = "single";
  readonly log: Logger;
  private task: Promise<void> | null = null;
  private stopRequested = false;
  private signalStop: (() => void) | null = null;
  private stoppedPromise: Promise<void> = Promise.resolve();

  constructor(
    app: Application,
    readonly pipeline: Pipeline,
    options: ComponentOptions = {},
  ) {
    super(app, (id) => `pipeline:${pipeline.id}:${id}`, options);
    this.log = pipeline.log.child(this.id, { component: this.id });
  }

  abstract main(): Promise<void>;

  /** True once stop() was called: main() should return. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Resolves when stop() is called: race long waits with it. */
  get untilStopped(): Promise<void> {
    return this.stoppedPromise;
  }

  /** For sources that only set up callbacks: `main() { setUp(); await this.stopped(); }`. */
  stopped(): Promise<void> {
    return this.stoppedPromise;
  }

  get running(): boolean {
    return this.task !== null;
  }

  start(): void {
    if (this.task) return;
    this.stopRequested = false;
    this.stoppedPromise = new Promise((resolve) => (this.signalStop = resolve));
    this.task = this.runMain();
  }

  private async runMain(): Promise<void> {
    try {
      await this.main();
    } catch (e) {
      if (!this.stopRequested) {
        this.log.error(`Exception in the source '${this.id}'`, { error: toError(e) });
        this.pipeline.setError(null, null, toError(e));
      }
    } finally {
      this.task = null;
    }
  }

  /** Stops taking input; resolves when main() has returned. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.signalStop?.();
    await this.onStop();
    if (this.task) await this.task;
  }

  /** Hook for sources that must close something to make main() return (a server, a consumer). */
  protected async onStop(): Promise<void> {}

  /** Called after the pipeline flushed on stop: acknowledge what was settled, close connections. */
  async finalize(): Promise<void> {}

  /** Starts main() again if it ended (after an error was cleared). */
  restart(): void {
    if (!this.task) this.start();
  }

  /**
   * Call before each event or batch. Returns `true` when the source may go on at once (the common
   * case, which allocates nothing); otherwise a promise of true once the pipeline is ready, or of
   * false when the source is stopping:
   * `const go = this.whenReady(); if (go !== true && !(await go)) return;`
   */
  whenReady(): true | Promise<boolean> {
    if (this.stopRequested) return Promise.resolve(false);
    const wait = this.pipeline.ready();
    if (wait === undefined) return true;
    return Promise.race([wait, this.stoppedPromise]).then(() => !this.stopRequested);
  }

  /** Waits for the pipeline to be ready; false when the source is stopping instead. */
  async waitReady(): Promise<boolean> {
    const go = this.whenReady();
    return go === true ? true : await go;
  }

  /** Sleeps, waking early on stop; false when stopping. */
  async sleep(seconds: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, seconds * 1000))), this.stoppedPromise]);
    clearTimeout(timer);
    return !this.stopRequested;
  }

  /** Convenience for simple sources: waits until ready, then processes one event. */
  async process(event: unknown, context?: EventContext): Promise<void> {
    const wait = this.pipeline.ready();
    if (wait) await wait;
    this.pipeline.process(event, context);
  }

  locateAddress(): string {
    return `${this.pipeline.id}.*${this.id}`;
  }

  describe(): Record<string, unknown> {
    return { Id: this.id, Class: this.constructor.name, Running: this.running, Config: this.config.toJSON() };
  }

  /** As ProcessorBase.ConnectionClass: the class of the connection the constructor takes after the pipeline. */
  static ConnectionClass: ConnectionClass<Connection> | null = null;

  /** Builds the source from a definition (PumpBuilder): `new Class(app, pipeline, [connection,] {id, config, ...args})`. */
  static construct(app: Application, pipeline: Pipeline, definition: ComponentDefinition): Source {
    const Ctor = this as unknown as new (app: Application, pipeline: Pipeline, ...rest: unknown[]) => Source;
    const connection = definitionConnection(app, this.name, this.ConnectionClass, definition);
    return new Ctor(app, pipeline, ...connection, { ...definitionOptions(definition, this.ConnectionClass !== null), id: definition.id });
  }
}

/**
 * A source that works in cycles, each started by a trigger (a timer, a PubSub message, once at
 * start). Implement `cycle()`. A trigger that fires while a cycle runs is absorbed by that cycle,
 * as in BSPump.
 */
export abstract class TriggerSource extends Source {
  readonly triggers = new Set<Trigger>();
  private triggered = false;
  private wake: (() => void) | null = null;

  abstract cycle(): Promise<void>;

  on(trigger: Trigger): this {
    trigger.add(this);
    this.triggers.add(trigger);
    return this;
  }

  /** Called by triggers. */
  fire(): void {
    this.triggered = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  get isTriggered(): boolean {
    return this.triggered;
  }

  async main(): Promise<void> {
    while (!this.stopping) {
      if (!(await this.waitReady())) return;
      if (!this.triggered) {
        await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.untilStopped]);
        if (this.stopping) return;
        if (!(await this.waitReady())) return;
      }
      this.pipeline.pubsub.publish("bspump.pipeline.cycle_begin!", { pipeline: this.pipeline, source: this });
      try {
        await this.cycle();
      } catch (e) {
        this.log.error(`Cycle of '${this.id}' failed`, { error: toError(e) });
        this.pipeline.setError(null, null, toError(e));
      }
      if (this.stopping) {
        this.pipeline.pubsub.publish("bspump.pipeline.cycle_canceled!", { pipeline: this.pipeline, source: this });
        return;
      }
      this.pipeline.pubsub.publish("bspump.pipeline.cycle_end!", { pipeline: this.pipeline, source: this });
      this.triggered = false;
      for (const trigger of this.triggers) trigger.done(this);
    }
  }

  protected override async onStop(): Promise<void> {
    this.wake?.();
  }

  override describe(): Record<string, unknown> {
    return { ...super.describe(), triggered: this.triggered };
  }
}
