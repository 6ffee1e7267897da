import { Processor, type EventContext, type ConfigSpec, type TypedConfig, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";

const CONFIG = {
  separator: { type: "string", default: ".", doc: "Joins the keys of nested objects" },
} satisfies ConfigSpec;

/**
 * Flattens nested objects: `{a: {b: 1}}` → `{"a.b": 1}`. Arrays are kept as values; an empty nested
 * object is kept as is under its key.
 */
export class FlattenDictProcessor extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly separator: string;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.separator = this.config.getString("separator");
  }

  process(_context: EventContext, event: unknown): unknown {
    if (!isPlainObject(event)) return event;
    const out: Record<string, unknown> = {};
    this.flatten(event, "", out);
    return out;
  }

  private flatten(obj: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
    for (const key in obj) {
      const value = obj[key];
      const name = prefix === "" ? key : prefix + this.separator + key;
      if (isPlainObject(value) && Object.keys(value).length > 0) this.flatten(value, name, out);
      else out[name] = value;
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
