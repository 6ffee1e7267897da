import { Processor, Sink, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type TypedConfig, type Pipeline } from "../core/index.js";
import { DictionaryLookup } from "./DictionaryLookup.js";
import { compilePath, getField, type FieldPath } from "./fieldpath.js";

type UpdateOptions = ComponentOptions & { lookup?: string | DictionaryLookup };

const UPDATE_CONFIG = {
  lookup: { type: "string", default: "", doc: "Id of the DictionaryLookup to update", required: true },
  key_field: { type: "string", default: "key", doc: "Field with the key" },
  value_field: { type: "string", default: "value", doc: "Field with the value; empty: the whole event" },
  action_field: { type: "string", default: "", doc: "Field saying 'set' or 'delete' (empty: always set)" },
  delete_on_null: { type: "bool", default: true, doc: "A null or missing value deletes the key" },
} satisfies ConfigSpec;

/** Shared by the processor and the sink: applies one event to the lookup. */
class LookupUpdater {
  readonly counts = { set: 0, deleted: 0, ignored: 0 };
  private target: DictionaryLookup | null;
  private readonly keyPath: FieldPath;
  private readonly valuePath: FieldPath | null;
  private readonly actionPath: FieldPath | null;
  private readonly deleteOnNull: boolean;

  constructor(
    private readonly app: Application,
    private readonly owner: Processor | Sink,
    lookup: DictionaryLookup | undefined,
  ) {
    const c = owner.config;
    this.target = lookup ?? null;
    this.keyPath = compilePath(c.getString("key_field"));
    const vf = c.getString("value_field");
    this.valuePath = vf === "" ? null : compilePath(vf);
    const af = c.getString("action_field");
    this.actionPath = af === "" ? null : compilePath(af);
    this.deleteOnNull = c.getBool("delete_on_null");
  }

  private lookup(): DictionaryLookup {
    if (this.target === null) {
      const found = this.app.pumpServiceOrNull()!.locateLookup(this.owner.config.getString("lookup"));
      if (!(found instanceof DictionaryLookup)) throw new Error(`Lookup '${found.id}' is not a DictionaryLookup`);
      this.target = found;
    }
    return this.target;
  }

  apply(event: unknown): void {
    const key = getField(event, this.keyPath);
    if (key === undefined || key === null || typeof key === "object") {
      this.counts.ignored++;
      return;
    }
    const k = String(key);
    const action = this.actionPath === null ? "set" : getField(event, this.actionPath);
    const value = this.valuePath === null ? event : getField(event, this.valuePath);
    if (action === "delete" || (this.deleteOnNull && (value === undefined || value === null))) {
      this.lookup().delete(k);
      this.counts.deleted++;
    } else {
      this.lookup().set(k, value);
      this.counts.set++;
    }
  }
}

/**
 * Keeps a DictionaryLookup up to date from events while the pump runs (`{key, value}` sets,
 * `{key, value: null}` or an action field 'delete' deletes); the event passes on.
 */
export class LookupUpdateProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = UPDATE_CONFIG;
  declare readonly config: TypedConfig<typeof UPDATE_CONFIG>;
  private readonly updater: LookupUpdater;

  constructor(app: Application, pipeline: Pipeline, options: UpdateOptions = {}) {
    super(app, pipeline, withLookupId(options));
    this.updater = new LookupUpdater(app, this, typeof options.lookup === "object" ? options.lookup : undefined);
  }

  get counts(): Readonly<Record<string, number>> {
    return this.updater.counts;
  }

  process(_context: EventContext, event: unknown): unknown {
    this.updater.apply(event);
    return event;
  }
}

/** As LookupUpdateProcessor, as the pipeline's sink (the event is consumed). */
export class LookupUpdateSink extends Sink {
  static override ConfigDefaults: ConfigSpec = UPDATE_CONFIG;
  declare readonly config: TypedConfig<typeof UPDATE_CONFIG>;
  private readonly updater: LookupUpdater;

  constructor(app: Application, pipeline: Pipeline, options: UpdateOptions = {}) {
    super(app, pipeline, withLookupId(options));
    this.updater = new LookupUpdater(app, this, typeof options.lookup === "object" ? options.lookup : undefined);
  }

  get counts(): Readonly<Record<string, number>> {
    return this.updater.counts;
  }

  process(_context: EventContext, event: unknown): null {
    this.updater.apply(event);
    return null;
  }
}

function withLookupId(options: UpdateOptions): ComponentOptions {
  const { lookup, ...rest } = options;
  if (lookup === undefined) return rest;
  return { ...rest, config: { ...rest.config, lookup: typeof lookup === "string" ? lookup : lookup.id } };
}
