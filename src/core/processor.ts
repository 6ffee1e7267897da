import type { Application } from "./application.js";
import { ConfigObject, definitionOptions, type ComponentDefinition, type ComponentOptions } from "./component.js";
import { definitionConnection, type Connection, type ConnectionClass } from "./connection.js";
import type { EventContext } from "./context.js";
import type { Pipeline } from "./pipeline.js";

/**
 * Base of processors, generators and sinks. `process(context, event)` returns the event to pass on
 * (the same or a new one), or `null`/`undefined` to consume it. It may return a Promise for work
 * that must wait (an enricher asking a server); the pipeline then continues that event when it
 * resolves, within `async_concurency_limit`.
 */
export abstract class ProcessorBase extends ConfigObject {
  /**
   * True for components that keep state per key (the analyzers): with worker processes their
   * pipeline runs in every worker only when its input is partitioned (Kafka), so that one key is
   * always seen by the same worker; otherwise in worker 0 only.
   */
  static PartitionedInput = false;
  /**
   * True for components that settle delivery receipts themselves, later (buffered sinks settle
   * after the write is confirmed). Otherwise the pipeline settles when `process` consumes the event.
   */
  readonly settlesReceipts: boolean = false;

  constructor(
    app: Application,
    readonly pipeline: Pipeline,
    options: ComponentOptions = {},
  ) {
    super(app, (id) => `pipeline:${pipeline.id}:${id}`, options);
  }

  abstract process(context: EventContext, event: unknown): unknown;

  /** Called when the pipeline starts. */
  start(): void {}

  /** Called when the pipeline stops, after the sources stopped: flush what is buffered. */
  async stop(): Promise<void> {}

  locateAddress(): string {
    return `${this.pipeline.id}.${this.id}`;
  }

  describe(): Record<string, unknown> {
    return { Id: this.id, Class: this.constructor.name, PipelineId: this.pipeline.id, Config: this.config.toJSON() };
  }

  /**
   * The connection class of a component whose constructor takes a connection after the pipeline,
   * `(app, pipeline, connection, options)`; `construct` then resolves `args.connection` to one of
   * this class. Null: the constructor is `(app, pipeline, options)`.
   */
  static ConnectionClass: ConnectionClass<Connection> | null = null;

  /** Builds the component from a definition (PumpBuilder): `new Class(app, pipeline, [connection,] {id, config, ...args})`. */
  static construct(app: Application, pipeline: Pipeline, definition: ComponentDefinition): ProcessorBase {
    const Ctor = this as unknown as new (app: Application, pipeline: Pipeline, ...rest: unknown[]) => ProcessorBase;
    const connection = definitionConnection(app, this.name, this.ConnectionClass, definition);
    return new Ctor(app, pipeline, ...connection, { ...definitionOptions(definition, this.ConnectionClass !== null), id: definition.id });
  }
}

export abstract class Processor extends ProcessorBase {}

/** The last component of a pipeline: writes events out and consumes them. */
export abstract class Sink extends ProcessorBase {}

/**
 * One event in, any number out: `generate` calls `this.pipeline.inject(context, item, depth)` for
 * each output. It may be async (fan-out after a lookup); the pipeline then bounds how many run at
 * once and keeps the parent's delivery receipt open until it finishes.
 */
export abstract class Generator extends ProcessorBase {
  /** The depth this generator feeds (its own depth + 1); set by the pipeline. */
  depth = -1;

  process(_context: EventContext, event: unknown): unknown {
    return event;
  }

  abstract generate(context: EventContext, event: unknown, depth: number): void | Promise<void>;
}
