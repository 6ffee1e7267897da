import { Processor, type Application, type ComponentOptions, type ConfigSpec, type EventContext, type Pipeline, type TypedConfig } from "../core/index.js";
import { JSON_FORMAT_CONFIG, jsonWriter, type JsonWriter } from "./jsonFormat.js";

const CONFIG = { ...JSON_FORMAT_CONFIG } satisfies ConfigSpec;

/** Object → JSON string, in BSPump's `json.dumps` form unless `json_format = compact`. */
export class StdDictToJsonParser extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly write: JsonWriter;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.write = jsonWriter(this.config.getString("json_format"));
  }

  process(_context: EventContext, event: unknown): unknown {
    return this.write(event);
  }
}

/** Older BSPump name. */
export class DictToJsonParser extends StdDictToJsonParser {}
