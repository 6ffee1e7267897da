import { Processor, type EventContext, type ConfigSpec, type TypedConfig, type Application, type ComponentOptions, type Pipeline } from "../core/index.js";
import { describeType } from "./StdJsonToDictParser.js";

const CONFIG = {
  encoding: { type: "string", default: "utf-8", doc: "Text encoding", choices: ["utf-8", "utf8", "latin1", "ascii", "utf16le"] },
} satisfies ConfigSpec;

/** Bytes → string. */
export class BytesToStringParser extends Processor {
  static override ConfigDefaults: ConfigSpec = CONFIG;
  declare readonly config: TypedConfig<typeof CONFIG>;

  private readonly encoding: BufferEncoding;

  constructor(app: Application, pipeline: Pipeline, options: ComponentOptions = {}) {
    super(app, pipeline, options);
    this.encoding = this.config.getString("encoding").replace("utf-8", "utf8") as BufferEncoding;
  }

  process(_context: EventContext, event: unknown): unknown {
    if (!(event instanceof Uint8Array)) throw new TypeError(`BytesToStringParser expects bytes, got ${describeType(event)}`);
    return Buffer.from(event.buffer, event.byteOffset, event.byteLength).toString(this.encoding);
  }
}
