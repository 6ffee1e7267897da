import type { Application, ComponentOptions, ConfigSpec, EventContext, Pipeline, TypedConfig } from "../core/index.js";
import { BufferEncodingProcessor } from "./BufferEncodingProcessor.js";
import { JSON_FORMAT_CONFIG, jsonBytesWriter, type JsonBytesWriter } from "./jsonFormat.js";
import { describeType } from "./StdJsonToDictParser.js";

const CONFIG = { ...JSON_FORMAT_CONFIG } satisfies ConfigSpec;

/** Object → JSON bytes (a Buffer), in BSPump's `json.dumps` form unless `json_format = compact`. */
export class DictToJsonBytesParser extends BufferEncodingProcessor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG> & BufferEncodingProcessor["config"];

  private readonly write: JsonBytesWriter;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.write = jsonBytesWriter(this.config.getString("json_format"), this.encoding);
  }

  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new TypeError(`DictToJsonBytesParser expects an object, got ${describeType(event)}`);
    }
    return this.write(event)!;
  }
}
