import type { Application } from "./application.js";
import { ConfigObject, definitionOptions, type ComponentDefinition, type ComponentOptions } from "./component.js";
import { definitionConnection, type Connection, type ConnectionClass } from "./connection.js";
import type { Logger } from "./logging.js";
import { PubSub } from "./pubsub.js";
import { toError } from "./errors.js";

export interface LookupOptions extends Omit<ComponentOptions, "id"> {
  /** A lazy lookup is not loaded before the pipelines start. */
  lazy?: boolean;
}

/**
 * A named key → value table shared by processors (enrichers, transformers). Subclasses hold the
 * data and say how it is loaded and (de)serialised; the lookup family adds providers, persistence
 * and master/slave synchronisation. Configured from `[lookup:<id>]`.
 */
export abstract class Lookup extends ConfigObject {
  readonly pubsub: PubSub;
  readonly log: Logger;
  readonly lazy: boolean;
  /** Changes on every content change; served as the HTTP ETag. */
  etag: string | null = null;
  /** When the content last changed (seconds since the epoch), for the web API; null: never. */
  updatedAt: number | null = null;

  constructor(app: Application, id?: string, options: LookupOptions = {}) {
    super(app, (lid) => `lookup:${lid}`, { ...options, id: id ?? new.target.name });
    this.lazy = options.lazy ?? false;
    this.log = app.logs.logger(`bspump.lookup.${this.id}`, { lookup: this.id });
    this.pubsub = new PubSub((message, error) => this.log.error(`Subscriber of '${message}' failed`, { error: toError(error) }));
  }

  abstract get(key: unknown): unknown;
  abstract has(key: unknown): boolean;
  abstract get size(): number;

  /** Bytes for persistence and for slaves; the lookup family's lookups implement it. */
  abstract serialize(): Buffer;
  abstract deserialize(data: Buffer): void;

  /** Loads the content; returns true when it changed. The base loads nothing. */
  async load(): Promise<boolean> {
    return false;
  }

  /** Loads and, when something changed, publishes `bspump.Lookup.changed!`. */
  async update(): Promise<boolean> {
    const changed = await this.load();
    if (changed) this.changed();
    return changed;
  }

  /** Call after changing the content: notifies subscribers. */
  changed(): void {
    this.updatedAt = Date.now() / 1000;
    this.pubsub.publish("bspump.Lookup.changed!", { lookup: this });
  }

  isMaster(): boolean {
    return true;
  }

  /** Called by the PumpService on stop. */
  async finalize(): Promise<void> {}

  describe(): Record<string, unknown> {
    return { Id: this.id, Class: this.constructor.name, Size: this.size, ETag: this.etag, Master: this.isMaster(), Updated: this.updatedAt };
  }

  /** The class of the connection the constructor takes first, `(app, connection, id, options)`; null: `(app, id, options)`. */
  static ConnectionClass: ConnectionClass<Connection> | null = null;

  /** Builds the lookup from a definition (PumpBuilder): `new Class(app, [connection,] id, {config, ...args})`. */
  static construct(app: Application, definition: ComponentDefinition): Lookup {
    const Ctor = this as unknown as new (app: Application, ...rest: unknown[]) => Lookup;
    const connection = definitionConnection(app, this.name, this.ConnectionClass, definition);
    return new Ctor(app, ...connection, definition.id, definitionOptions(definition, this.ConnectionClass !== null));
  }
}
