import { ConfigError, Processor, type Application, type ComponentDefinition, type ComponentOptions, type EventContext, type Pipeline } from "../core/index.js";

/** Keys as given to KafkaKeyFilter: one key or several, as bytes or strings. */
export type KafkaKeys = Buffer | Uint8Array | string | Iterable<Buffer | Uint8Array | string>;

/**
 * Passes an event only when its Kafka key (`context.kafka_key`, set by KafkaSource) is one of
 * `keys`; drops it otherwise. Place it after a KafkaSource.
 */
export class KafkaKeyFilter extends Processor {
  private readonly keys = new Set<string>();

  constructor(app: Application, pipeline: Pipeline, keys: KafkaKeys, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    const list = typeof keys === "string" || keys instanceof Uint8Array ? [keys] : [...keys];
    // Keys are compared byte for byte: each byte is one latin1 character.
    for (const key of list) this.keys.add(typeof key === "string" ? Buffer.from(key, "utf8").toString("latin1") : Buffer.from(key).toString("latin1"));
  }

  static override construct(app: Application, pipeline: Pipeline, definition: ComponentDefinition): KafkaKeyFilter {
    const keys = definition.args?.keys;
    const list = typeof keys === "string" ? [keys] : Array.isArray(keys) ? keys.map(String) : null;
    if (list === null) throw new ConfigError(`${definition.origin ?? "KafkaKeyFilter"}: 'keys' (a string or a list of strings) is required`);
    return new KafkaKeyFilter(app, pipeline, list, { id: definition.id, config: definition.config, configOrigin: definition.origin });
  }

  process(context: EventContext, event: unknown): unknown {
    const key = context.kafka_key;
    if (key === undefined) throw new Error("KafkaKeyFilter: the context has no kafka_key (put the filter after a KafkaSource)");
    if (key === null) return null;
    const text = typeof key === "string" ? Buffer.from(key, "utf8").toString("latin1") : (key as Buffer).toString("latin1");
    return this.keys.has(text) ? event : null;
  }
}
