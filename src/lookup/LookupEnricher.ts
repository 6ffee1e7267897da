import { Processor, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Lookup, type Pipeline, type PumpService } from "../core/index.js";
import { AsyncLookup } from "./AsyncLookup.js";
import { compilePath, getField, setField, type FieldPath } from "./fieldpath.js";

const CONFIG = {
  lookup: { type: "string", default: "", doc: "Id of the lookup", required: true },
  key_field: { type: "string", default: "key", doc: "Field whose value is the key (dots for nested fields)" },
  target_field: { type: "string", default: "value", doc: "Field the found value goes into" },
  missing: { type: "string", default: "skip", doc: "When the key is not in the lookup: skip (leave the event), null (set null), drop (consume the event)", choices: ["skip", "null", "drop"] },
} satisfies ConfigSpec;

/**
 * Maps a field through a lookup: `target_field = lookup[key_field]`. Works with any lookup; with
 * an AsyncLookup a cache miss waits for the store. Lookup factories are asked per event when
 * registered (per-tenant lookups).
 */
export class LookupEnricher extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly keyPath: FieldPath;
  private readonly targetPath: FieldPath;
  private readonly missing: string;
  private readonly lookupId: string;
  private readonly pumps: PumpService;
  private lookupObj: Lookup | null = null;
  readonly counts = { found: 0, missing: 0 };

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions & { lookup?: string | Lookup } = {}) {
    const { lookup, ...rest } = options;
    super(app, pipeline, typeof lookup === "string" ? { ...rest, config: { ...rest.config, lookup } } : lookup ? { ...rest, config: { ...rest.config, lookup: lookup.id } } : rest);
    this.pumps = app.pumpServiceOrNull()!;
    if (lookup !== undefined && typeof lookup !== "string") this.lookupObj = lookup;
    this.lookupId = this.config.getString("lookup");
    this.keyPath = compilePath(this.config.getString("key_field"));
    this.targetPath = compilePath(this.config.getString("target_field"));
    this.missing = this.config.getString("missing");
  }

  private resolve(context: EventContext): Lookup {
    if (this.pumps.lookupFactories.length > 0) return this.pumps.locateLookup(this.lookupId, context);
    if (this.lookupObj === null) this.lookupObj = this.pumps.locateLookup(this.lookupId);
    return this.lookupObj;
  }

  process(context: EventContext, event: unknown): unknown {
    const key = getField(event, this.keyPath);
    if (key === undefined || key === null) return this.apply(event, undefined);
    const lookup = this.resolve(context);
    if (lookup instanceof AsyncLookup) {
      const value = lookup.lookup(key);
      if (value instanceof Promise) return value.then((v) => this.apply(event, v));
      return this.apply(event, value);
    }
    return this.apply(event, lookup.get(key));
  }

  private apply(event: unknown, value: unknown): unknown {
    if (value === undefined) {
      this.counts.missing++;
      if (this.missing === "drop") return null;
      if (this.missing === "null") setField(event, this.targetPath, null);
      return event;
    }
    this.counts.found++;
    setField(event, this.targetPath, value);
    return event;
  }
}
