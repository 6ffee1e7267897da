import { Processor, type EventContext, type ConfigSpec, type TypedConfig, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";
import { describeType } from "./StdJsonToDictParser.js";

const CONFIG = {
  encoding: { type: "string", default: "utf-8", doc: "Text encoding", choices: ["utf-8", "utf8", "latin1", "ascii", "utf16le"] },
} satisfies ConfigSpec;

/** String → bytes (a Buffer). */
export class StringToBytesParser extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.encoding = this.config.getString("encoding").replace("utf-8", "utf8") as BufferEncoding;
  }

  process(_context: EventContext, event: unknown): unknown {
    if (typeof event !== "string") throw new TypeError(`StringToBytesParser expects a string, got ${describeType(event)}`);
    return Buffer.from(event, this.encoding);
  }
}
