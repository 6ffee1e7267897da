import { Processor, type EventContext, type ConfigSpec, type TypedConfig, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";
import { describeType } from "./StdJsonToDictParser.js";

const CONFIG = {
  encoding: { type: "string", default: "utf-8", doc: "Text encoding of the output", choices: ["utf-8", "utf8", "latin1", "ascii", "utf16le"] },
} satisfies ConfigSpec;

/** Object → JSON bytes (a Buffer). */
export class DictToJsonBytesParser extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.encoding = this.config.getString("encoding").replace("utf-8", "utf8") as BufferEncoding;
  }

  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new TypeError(`DictToJsonBytesParser expects an object, got ${describeType(event)}`);
    }
    return Buffer.from(JSON.stringify(event), this.encoding);
  }
}
