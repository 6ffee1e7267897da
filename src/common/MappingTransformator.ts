import { Processor, type Application, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";
import { entriesOf } from "./mapping.js";

export type KeyTransform = (key: string, value: unknown) => [string, unknown];

/**
 * Rewrites an object key by key. Subclasses implement `build()` returning `{key: fn}`; keys without
 * a function use `defaultTransform` when set, else pass through.
 */
export abstract class MappingTransformator extends Processor {
  private readonly transforms: Record<string, KeyTransform>;
  protected defaultTransform: KeyTransform | null = null;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.transforms = this.build(app);
  }

  abstract build(app: Application): Record<string, KeyTransform>;

  process(_context: EventContext, event: unknown): unknown {
    const out: Record<string, unknown> = {};
    for (const [key, value] of entriesOf(event, this.constructor.name)) {
      const k = String(key);
      const fn = this.transforms[k] ?? this.defaultTransform;
      if (fn) {
        const [nk, nv] = fn(k, value);
        out[nk] = nv;
      } else out[k] = value;
    }
    return out;
  }
}
