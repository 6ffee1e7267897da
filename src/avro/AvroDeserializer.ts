import type avro from "avsc";
import { Generator, type Application, type ComponentOptions, type ConfigSpec, type TypedConfig, type EventContext, type Pipeline } from "../core/index.js";
import { MAX_BLOCK_BYTES_KEY, decodeContainer, loadAvroSchema } from "./schema.js";

const CONFIG = {
  schema_file: { type: "string", default: "", doc: "Reader schema (.avsc); empty: the writer's schema from the container" },
  max_block_bytes: MAX_BLOCK_BYTES_KEY,
} satisfies ConfigSpec;

/**
 * An Avro container (bytes) in, one event per record out (BSPump's AvroDeserializer). With
 * `schema_file`, records are resolved to that reader schema. Logical types (timestamp-millis,
 * timestamp-micros, date) come out as Dates. A corrupt container (a block over `max_block_bytes`,
 * compressed or inflated, included) throws (the pipeline's error rules
 * decide); records decoded before the corruption are not emitted.
 */
export class AvroDeserializer extends Generator {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;
  readonly readerType: avro.Type | null;
  readonly maxBlockBytes: number;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.readerType = loadAvroSchema(this.config.getString("schema_file"), `[${this.config.section}] schema_file`);
    this.maxBlockBytes = this.config.getInt("max_block_bytes");
  }

  async generate(context: EventContext, event: unknown, depth: number): Promise<void> {
    if (!(event instanceof Uint8Array)) throw new TypeError(`AvroDeserializer expects bytes, got ${event === null ? "null" : typeof event}`);
    const data = Buffer.isBuffer(event) ? event : Buffer.from(event.buffer, event.byteOffset, event.byteLength);
    const records = await decodeContainer(data, this.readerType, this.maxBlockBytes);
    for (let i = 0; i < records.length; i++) this.pipeline.inject({ ...context, record: i }, records[i], depth);
  }
}
