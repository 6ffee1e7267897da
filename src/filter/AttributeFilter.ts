import { ConfigError, Processor, type Application, type ComponentOptions, type EventContext, type Lookup, type Pipeline } from "../core/index.js";

export interface AttributeFilterOptions extends ComponentOptions {
  /** A lookup (or its id), located once and kept in `lookup` for subclasses, as in BSPump. */
  lookup?: string | Lookup;
  /** false (BSPump's default): remove the fields named; true: keep only them. */
  inclusive?: boolean;
  /** The fields of the default `getFields` (BSPump's returns none; a subclass overrides it). */
  fields?: readonly string[];
}

/**
 * BSPump's AttributeFilter: removes attributes from dict events. When `predicate(event)` holds
 * (default: always), every key is checked against `getFields(event)`: with `inclusive: false` the
 * keys in it are removed, with `inclusive: true` the keys not in it. The event itself is changed
 * and passed on. An event that is not a dict is an error (the pipeline's error rules).
 */
export class AttributeFilter extends Processor {
  readonly lookup: Lookup | null;
  readonly inclusive: boolean;
  private readonly fields: ReadonlySet<string>;

  constructor(app: Application, pipeline: Pipeline, options: AttributeFilterOptions = {}) {
    super(app, pipeline, options);
    this.inclusive = options.inclusive ?? false;
    this.fields = new Set(options.fields ?? []);
    const lookup = options.lookup;
    if (typeof lookup === "string") {
      const pumps = app.pumpServiceOrNull();
      if (!pumps) throw new ConfigError(`[pipeline:${pipeline.id}:${this.id}] lookup '${lookup}': the application has no pump service to find it in`);
      this.lookup = pumps.locateLookup(lookup);
    } else this.lookup = lookup ?? null;
  }

  /** Whether to filter this event at all (BSPump's hook; default true). */
  predicate(_event: Record<string, unknown>): boolean {
    return true;
  }

  /** The field names to remove (or, inclusive, to keep) for this event. */
  getFields(_event: Record<string, unknown>): ReadonlySet<string> {
    return this.fields;
  }

  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "object" || event === null || Array.isArray(event) || event instanceof Uint8Array) {
      throw new TypeError(`${this.constructor.name} '${this.id}' expects a dict event, got ${Array.isArray(event) ? "a list" : event === null ? "null" : typeof event}`);
    }
    const record = event as Record<string, unknown>;
    if (!this.predicate(record)) return event;
    const fields = this.getFields(record);
    for (const key of Object.keys(record)) {
      if (fields.has(key) !== this.inclusive) delete record[key];
    }
    return event;
  }
}
